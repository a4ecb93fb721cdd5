package media

import "encoding/binary"

const (
	// fixedHeaderLen is the RTP header without CSRCs or extension.
	fixedHeaderLen = 12
	// readBufferSize holds any UDP datagram a G.711 peer sends; a larger
	// one would arrive truncated and fail the header check.
	readBufferSize = 2048
)

// rtpHeaderLen checks pkt as an RTP packet (version 2, lengths consistent)
// and returns its header length, or -1.
func rtpHeaderLen(pkt []byte) int {
	if len(pkt) < fixedHeaderLen || pkt[0]>>6 != 2 {
		return -1
	}
	n := fixedHeaderLen + 4*int(pkt[0]&0x0f)
	if pkt[0]&0x10 != 0 { // header extension
		if len(pkt) < n+4 {
			return -1
		}
		n += 4 + 4*int(binary.BigEndian.Uint16(pkt[n+2:]))
	}
	if n > len(pkt) {
		return -1
	}
	if pkt[0]&0x20 != 0 { // padding: its length is the last byte
		pad := int(pkt[len(pkt)-1])
		if pad == 0 || n+pad > len(pkt) {
			return -1
		}
	}
	return n
}

// isRTCP tells RTCP multiplexed on the RTP port (RFC 5761 §4): packet
// types 192-223 occupy the marker bit and payload type byte.
func isRTCP(pkt []byte) bool { return pkt[1] >= 192 && pkt[1] <= 223 }

// stripHeader drops CSRCs and header extensions, which mean nothing to the
// other leg's peer, leaving a 12-byte header before the payload.
func stripHeader(pkt []byte, headerLen int) []byte {
	n := copy(pkt[fixedHeaderLen:], pkt[headerLen:])
	pkt[0] &^= 0x1f // no extension, no CSRCs; version and padding stay
	return pkt[:fixedHeaderLen+n]
}

// payloadOf returns the payload of a checked packet, without padding.
func payloadOf(pkt []byte, headerLen int) []byte {
	end := len(pkt)
	if pkt[0]&0x20 != 0 {
		end -= int(pkt[end-1])
	}
	return pkt[headerLen:end]
}
