// Package media owns the audio plumbing of a call: G.711 SDP offer/answer,
// RTP ports, and the relay that joins two call legs without transcoding.
//
// The pieces, in the order a call uses them:
//
//   - [ParseSDP] reads a peer's description and a [Session] writes ours
//     ([Session.Offer], [Session.Answer], [Session.Accept]); the result of a
//     finished exchange is a [Negotiated] value. Only PCMU, PCMA and
//     telephone-event ([Codec]) are understood; payloads are never transcoded,
//     so the call engine offers each leg the codec the other leg uses.
//   - A [PortAllocator] hands out RTP sockets ([RTPConn]) on even ports of a
//     configured range, keeping the odd port above each one for RTCP.
//   - A [Leg] is one RTP endpoint: its socket (or any [Transport], such as a
//     WebRTC track pair) and the far end it talks to. A UDP leg does symmetric
//     RTP: see [LegConfig.AllowAnySource] for when it follows a new source.
//   - [Bridge] joins two legs into a [Relay]. Each leg owns the stream it
//     sends, with its own SSRC, and rewrites sequence numbers and timestamps
//     so that its peer sees one continuous stream even when the source
//     behind it changes (re-INVITE, transfer). RFC 4733 telephone-events pass
//     through with their payload type mapped; [Leg.SendDTMF] injects new ones
//     and [LegConfig.OnDTMF] reports received ones.
//
// Every leg has exactly one goroutine, reading its socket into one reused
// buffer and writing straight to the peer's socket; nothing is allocated per
// packet. The goroutine ends when the leg is closed.
package media
