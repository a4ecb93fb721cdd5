package media

import "errors"

// SDP errors. ParseSDP wraps them with the detail ("%w: ...") so that callers
// can both match the kind with errors.Is and log what was wrong.
var (
	// ErrMalformedSDP means the body is not valid SDP, or a line we rely on
	// (m=, c=, a=rtpmap, a=ptime) cannot be read.
	ErrMalformedSDP = errors.New("media: malformed SDP")
	// ErrNoAudio means the description has no audio m-line.
	ErrNoAudio = errors.New("media: no audio stream in SDP")
	// ErrStreamRejected means the audio m-line has port 0: the peer declined
	// (or removed) the stream.
	ErrStreamRejected = errors.New("media: audio stream rejected (port 0)")
	// ErrUnsupportedTransport means the audio stream is not plain RTP
	// (RTP/AVP or RTP/AVPF); SRTP and DTLS are not spoken on SIP legs.
	ErrUnsupportedTransport = errors.New("media: unsupported media transport")
	// ErrNoConnection means no usable c= line applies to the audio stream.
	ErrNoConnection = errors.New("media: no connection address for audio")
	// ErrUnsupportedAddress means the connection address is a host name, a
	// multicast group, or does not match its address type.
	ErrUnsupportedAddress = errors.New("media: unsupported connection address")
	// ErrNoCommonCodec means neither PCMU nor PCMA is on offer (or, for
	// Answer and Accept, none of the offered audio codecs is acceptable).
	ErrNoCommonCodec = errors.New("media: no common audio codec")
	// ErrNoOffer means Session.Accept was called with no offer outstanding.
	ErrNoOffer = errors.New("media: no outstanding offer")
	// ErrInvalidCodec means a codec outside the closed set was given.
	ErrInvalidCodec = errors.New("media: invalid codec")
)

// Port errors.
var (
	// ErrInvalidPortRange means a PortRange is empty, inverted or does not
	// start on an even port.
	ErrInvalidPortRange = errors.New("media: invalid RTP port range")
	// ErrNoPorts means every RTP port pair of the range is taken.
	ErrNoPorts = errors.New("media: no free RTP port")
)

// Relay errors.
var (
	// ErrLegClosed means the leg has been closed.
	ErrLegClosed = errors.New("media: leg closed")
	// ErrLegBridged means the leg already belongs to a live relay; close
	// that relay first (as a transfer does).
	ErrLegBridged = errors.New("media: leg already bridged")
	// ErrSameLeg means a leg was bridged to itself.
	ErrSameLeg = errors.New("media: cannot bridge a leg to itself")
	// ErrCodecMismatch means the two legs negotiated different audio codecs;
	// the relay does not transcode.
	ErrCodecMismatch = errors.New("media: legs use different audio codecs")
	// ErrNoAudioFormat means a leg was configured without an audio format.
	ErrNoAudioFormat = errors.New("media: leg has no audio format")
)

// DTMF errors.
var (
	// ErrInvalidDigit means a digit outside 0-9, *, #, A-D.
	ErrInvalidDigit = errors.New("media: invalid DTMF digit")
	// ErrInvalidDuration means a DTMF duration longer than RFC 4733 can
	// express at 8 kHz (about 8 s).
	ErrInvalidDuration = errors.New("media: invalid DTMF duration")
	// ErrNoTelephoneEvent means the leg's peer did not negotiate
	// telephone-event, so RFC 4733 digits cannot be sent to it (the caller
	// may fall back to SIP INFO).
	ErrNoTelephoneEvent = errors.New("media: telephone-event not negotiated")
	// ErrNotSending means the leg's direction does not allow sending to the
	// peer (held, recvonly or inactive).
	ErrNotSending = errors.New("media: leg is not sending")
	// ErrNoRemote means the leg has no address to send to yet.
	ErrNoRemote = errors.New("media: leg has no remote address")
)
