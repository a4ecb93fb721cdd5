package media

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// Description is what phoned needs from a peer's SDP: where its audio goes,
// the formats it offers or accepted, and its direction.
type Description struct {
	// Addr is where the peer receives RTP (c= and the audio m= port). Its
	// address is unspecified (0.0.0.0) for an RFC 2543 hold.
	Addr netip.AddrPort
	// Formats are the peer's payload types that phoned understands, in the
	// peer's order of preference; others on the m-line are left out. There
	// is always at least one audio format.
	Formats []Format
	// Ptime is the packet time in milliseconds, 0 when not given.
	Ptime int
	// Direction is the peer's direction. An RFC 2543 hold (c=0.0.0.0) is
	// folded in: the peer no longer receives, so sendrecv reads as sendonly.
	Direction Direction
	// LegacyHold is set when the connection address is unspecified.
	LegacyHold bool
	// SessionID and SessionVersion are the o= line's; an unchanged version
	// in a re-INVITE means an unchanged description.
	SessionID, SessionVersion uint64

	mlines []mline // every m-line, to answer in the same order
	audio  int     // index in mlines of the audio stream described above
}

// mline is what an answer must echo of an m-line it rejects.
type mline struct {
	media, proto, format string
}

// Audio returns the peer's preferred audio format.
func (d Description) Audio() Format {
	for _, f := range d.Formats {
		if f.Codec.IsAudio() {
			return f
		}
	}
	return Format{}
}

// Event returns the peer's telephone-event format, if it has one.
func (d Description) Event() (Format, bool) { return d.find(TelephoneEvent) }

// find returns the peer's first format for codec c.
func (d Description) find(c Codec) (Format, bool) {
	for _, f := range d.Formats {
		if f.Codec == c {
			return f, true
		}
	}
	return Format{}, false
}

// ParseSDP reads a peer's session description. It takes the first audio
// m-line that phoned can use (plain RTP, a port, PCMU or PCMA) and reports
// why none can otherwise, naming the first audio m-line's problem.
func ParseSDP(body []byte) (Description, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return Description{}, fmt.Errorf("%w: empty body", ErrMalformedSDP)
	}
	var s sdp.SessionDescription
	if err := s.Unmarshal(body); err != nil {
		return Description{}, fmt.Errorf("%w: %v", ErrMalformedSDP, err)
	}
	d := Description{
		SessionID:      s.Origin.SessionID,
		SessionVersion: s.Origin.SessionVersion,
		audio:          -1,
	}
	var firstErr error
	for i, m := range s.MediaDescriptions {
		ml := mline{media: m.MediaName.Media, proto: strings.Join(m.MediaName.Protos, "/")}
		if len(m.MediaName.Formats) > 0 {
			ml.format = m.MediaName.Formats[0]
		}
		d.mlines = append(d.mlines, ml)
		if m.MediaName.Media != "audio" || d.audio >= 0 {
			continue
		}
		err := d.readAudio(&s, m)
		if err == nil {
			d.audio = i
		} else if firstErr == nil {
			firstErr = err
		}
	}
	if d.audio < 0 {
		if firstErr == nil {
			firstErr = ErrNoAudio
		}
		return Description{}, firstErr
	}
	return d, nil
}

// readAudio fills d from one audio m-line, or says why it cannot be used.
func (d *Description) readAudio(s *sdp.SessionDescription, m *sdp.MediaDescription) error {
	port := m.MediaName.Port.Value
	if port == 0 {
		return ErrStreamRejected
	}
	if port < 0 || port > 65535 {
		return fmt.Errorf("%w: port %d", ErrMalformedSDP, port)
	}
	proto := strings.Join(m.MediaName.Protos, "/")
	if proto != "RTP/AVP" && proto != "RTP/AVPF" {
		return fmt.Errorf("%w: %q", ErrUnsupportedTransport, proto)
	}
	formats, err := readFormats(m)
	if err != nil {
		return err
	}
	ci := m.ConnectionInformation
	if ci == nil {
		ci = s.ConnectionInformation
	}
	addr, err := readConnection(ci)
	if err != nil {
		return err
	}
	ptime, err := readPtime(s, m)
	if err != nil {
		return err
	}
	dir := readDirection(m.Attributes)
	if dir == DirectionUnknown {
		dir = readDirection(s.Attributes)
	}
	dir = dir.orDefault()
	if addr.IsUnspecified() {
		d.LegacyHold = true
		dir = makeDirection(dir.Sends(), false)
	}
	d.Addr = netip.AddrPortFrom(addr, uint16(port))
	d.Formats = formats
	d.Ptime = ptime
	d.Direction = dir
	return nil
}

// readFormats maps the m-line's payload types to the codecs we know, in
// order, dropping the others.
func readFormats(m *sdp.MediaDescription) ([]Format, error) {
	rtpmap := map[uint8]string{}
	for _, a := range m.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		ptText, enc, ok := strings.Cut(strings.TrimSpace(a.Value), " ")
		pt, err := strconv.ParseUint(ptText, 10, 7)
		if !ok || err != nil {
			return nil, fmt.Errorf("%w: a=rtpmap:%s", ErrMalformedSDP, a.Value)
		}
		if _, dup := rtpmap[uint8(pt)]; !dup {
			rtpmap[uint8(pt)] = strings.TrimSpace(enc)
		}
	}
	var formats []Format
	audio, events := false, false
	for _, text := range m.MediaName.Formats {
		pt, err := strconv.ParseUint(text, 10, 7)
		if err != nil {
			return nil, fmt.Errorf("%w: payload type %q", ErrMalformedSDP, text)
		}
		c := staticCodec(uint8(pt))
		if enc, ok := rtpmap[uint8(pt)]; ok {
			c, _ = ParseCodec(enc) // an encoding we do not know is left out
		}
		if c == CodecUnknown {
			continue
		}
		if c == TelephoneEvent {
			if events {
				continue // one telephone-event PT is enough
			}
			events = true
		}
		audio = audio || c.IsAudio()
		formats = append(formats, Format{PT: uint8(pt), Codec: c})
	}
	if !audio {
		return nil, fmt.Errorf("%w: offered %v", ErrNoCommonCodec, m.MediaName.Formats)
	}
	return formats, nil
}

// readConnection checks a c= line and returns its unicast IP.
func readConnection(ci *sdp.ConnectionInformation) (netip.Addr, error) {
	if ci == nil || ci.Address == nil {
		return netip.Addr{}, ErrNoConnection
	}
	addr, err := netip.ParseAddr(ci.Address.Address)
	if err != nil || addr.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%w: %q (an IP literal is required)", ErrUnsupportedAddress, ci.Address.Address)
	}
	if (ci.AddressType == "IP4") != addr.Is4() {
		return netip.Addr{}, fmt.Errorf("%w: %s is not an %s address", ErrUnsupportedAddress, addr, ci.AddressType)
	}
	if addr.IsMulticast() {
		return netip.Addr{}, fmt.Errorf("%w: multicast %s", ErrUnsupportedAddress, addr)
	}
	return addr, nil
}

// readPtime reads a=ptime at media level, else at session level.
func readPtime(s *sdp.SessionDescription, m *sdp.MediaDescription) (int, error) {
	v, ok := m.Attribute("ptime")
	if !ok {
		v, ok = s.Attribute("ptime")
	}
	if !ok {
		return 0, nil
	}
	// Some agents write fractional ptimes ("20.0"); the integer part is
	// what matters for G.711.
	whole, _, _ := strings.Cut(strings.TrimSpace(v), ".")
	ms, err := strconv.Atoi(whole)
	if err != nil || ms <= 0 || ms > 1000 {
		return 0, fmt.Errorf("%w: a=ptime:%s", ErrMalformedSDP, v)
	}
	return ms, nil
}

// readDirection returns the first direction attribute in attrs.
func readDirection(attrs []sdp.Attribute) Direction {
	for _, a := range attrs {
		if d, ok := parseDirection(a.Key); ok {
			return d
		}
	}
	return DirectionUnknown
}
