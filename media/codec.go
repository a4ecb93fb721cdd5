package media

import (
	"fmt"
	"strings"
)

// Codec is one of the payload formats phoned relays. The set is closed: a
// payload type that maps to none of them is not relayed.
type Codec uint8

// The codecs. CodecUnknown is the zero value and never negotiated.
const (
	CodecUnknown Codec = iota
	// PCMU is G.711 µ-law, static payload type 0.
	PCMU
	// PCMA is G.711 A-law, static payload type 8.
	PCMA
	// TelephoneEvent is RFC 4733 telephone-event/8000 on a dynamic payload
	// type (DefaultEventPT unless the offerer chose another).
	TelephoneEvent
)

// DefaultEventPT is the payload type phoned offers for telephone-event.
const DefaultEventPT uint8 = 101

// clockRate is the RTP clock of every codec in the set.
const clockRate = 8000

// String returns the SDP encoding name ("PCMU", "PCMA", "telephone-event").
func (c Codec) String() string {
	switch c {
	case PCMU:
		return "PCMU"
	case PCMA:
		return "PCMA"
	case TelephoneEvent:
		return "telephone-event"
	default:
		return "unknown"
	}
}

// IsAudio reports whether c carries audio (PCMU or PCMA).
func (c Codec) IsAudio() bool { return c == PCMU || c == PCMA }

// valid reports whether c is in the closed set.
func (c Codec) valid() bool { return c >= PCMU && c <= TelephoneEvent }

// ClockRate is the codec's RTP clock rate in Hz (8000 for the whole set).
func (c Codec) ClockRate() uint32 { return clockRate }

// DefaultFormat is the payload type phoned uses for c in its own offers.
func (c Codec) DefaultFormat() Format {
	switch c {
	case PCMU:
		return Format{PT: 0, Codec: PCMU}
	case PCMA:
		return Format{PT: 8, Codec: PCMA}
	case TelephoneEvent:
		return Format{PT: DefaultEventPT, Codec: TelephoneEvent}
	default:
		return Format{}
	}
}

// ParseCodec maps an rtpmap encoding ("PCMU/8000", "telephone-event/8000",
// case-insensitive, optional "/1" channel count) to a Codec.
func ParseCodec(rtpmap string) (Codec, error) {
	parts := strings.Split(rtpmap, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return CodecUnknown, fmt.Errorf("%w: encoding %q", ErrInvalidCodec, rtpmap)
	}
	if parts[1] != "8000" || (len(parts) == 3 && parts[2] != "1") {
		return CodecUnknown, fmt.Errorf("%w: %q is not 8 kHz mono", ErrInvalidCodec, rtpmap)
	}
	switch strings.ToLower(parts[0]) {
	case "pcmu":
		return PCMU, nil
	case "pcma":
		return PCMA, nil
	case "telephone-event":
		return TelephoneEvent, nil
	}
	return CodecUnknown, fmt.Errorf("%w: %q", ErrInvalidCodec, rtpmap)
}

// staticCodec is the codec of a static payload type given without rtpmap.
func staticCodec(pt uint8) Codec {
	switch pt {
	case 0:
		return PCMU
	case 8:
		return PCMA
	}
	return CodecUnknown
}

// Format is a codec bound to an RTP payload type in one description.
type Format struct {
	PT    uint8
	Codec Codec
}

// String renders the format as in an rtpmap: "101 telephone-event/8000".
func (f Format) String() string {
	return fmt.Sprintf("%d %s/%d", f.PT, f.Codec, clockRate)
}
