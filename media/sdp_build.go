package media

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// Negotiated is the outcome of an offer/answer exchange on one leg: what
// the relay sends to the peer and accepts from it.
type Negotiated struct {
	// Remote is where the peer receives RTP (may be unspecified on hold).
	Remote netip.AddrPort
	// Direction is ours towards the peer: SendOnly means we send and
	// ignore what it sends.
	Direction Direction
	// Audio is the audio codec and the payload type the peer expects.
	Audio Format
	// Event is telephone-event with the payload type the peer expects;
	// its Codec is CodecUnknown when the peer has no RFC 4733 support.
	Event Format
	// Recv lists further payload types the peer may send us: those we
	// declared in our own description, when they differ from the peer's.
	Recv []Format
	// Ptime is the negotiated packet time in milliseconds (20 by default).
	Ptime int
}

// HasEvents reports whether telephone-event was negotiated.
func (n Negotiated) HasEvents() bool { return n.Event.Codec == TelephoneEvent }

// defaultPtime is the packet time phoned offers, and assumes when a peer
// does not say.
const defaultPtime = 20

// Session is our side of the SDP offer/answer exchanges of one dialog: the
// o= line's session id, its version (bumped whenever the description we send
// changes, as re-offers for hold and resume do), and the offer awaiting its
// answer. A Session belongs to its call and is not safe for concurrent use.
type Session struct {
	id, version uint64
	last        []byte // the last description sent, to tell a change

	pending    bool     // an offer awaits its answer
	offered    []Format // what that offer listed
	offeredDir Direction
}

// NewSession starts a dialog's SDP with a random session id.
func NewSession() *Session {
	id := rand.Uint64() >> 2 // fits a signed 64-bit field, for picky peers
	return &Session{id: id, version: 1}
}

// Offer describes our audio at local (the address peers should send to)
// with codecs in order of preference (telephone-event on DefaultEventPT)
// and our direction dir. Accept takes the answer.
func (s *Session) Offer(local netip.AddrPort, codecs []Codec, dir Direction) ([]byte, error) {
	var formats []Format
	audio := false
	for _, c := range codecs {
		if !c.valid() {
			return nil, fmt.Errorf("offer: %w: %d", ErrInvalidCodec, c)
		}
		f := c.DefaultFormat()
		if !slices.Contains(formats, f) {
			formats = append(formats, f)
		}
		audio = audio || c.IsAudio()
	}
	if !audio {
		return nil, fmt.Errorf("offer: %w: no audio codec among %v", ErrNoCommonCodec, codecs)
	}
	dir = dir.orDefault()
	body, err := s.describe(local, nil, -1, formats, dir, defaultPtime)
	if err != nil {
		return nil, fmt.Errorf("offer: %w", err)
	}
	s.pending, s.offered, s.offeredDir = true, formats, dir
	return body, nil
}

// Answer answers offer with our audio at local. It picks the first offered
// audio codec in supported (the call engine passes the other leg's codec, as
// nothing is transcoded), keeps the offerer's payload types (telephone-event
// included, when supported lists it), rejects every other m-line with port
// 0, and narrows dir to what the offer allows (an offer to send only is
// answered recvonly).
func (s *Session) Answer(offer Description, local netip.AddrPort, supported []Codec, dir Direction) ([]byte, Negotiated, error) {
	var audio Format
	for _, f := range offer.Formats {
		if f.Codec.IsAudio() && slices.Contains(supported, f.Codec) {
			audio = f
			break
		}
	}
	if audio.Codec == CodecUnknown {
		return nil, Negotiated{}, fmt.Errorf("answer: %w: offered %v, supported %v", ErrNoCommonCodec, offer.Formats, supported)
	}
	formats := []Format{audio}
	var event Format
	if f, ok := offer.Event(); ok && slices.Contains(supported, TelephoneEvent) {
		event = f
		formats = append(formats, f)
	}
	dir = dir.orDefault().intersect(offer.Direction.orDefault().Reverse())
	ptime := offer.Ptime
	if ptime == 0 {
		ptime = defaultPtime
	}
	body, err := s.describe(local, offer.mlines, offer.audio, formats, dir, ptime)
	if err != nil {
		return nil, Negotiated{}, fmt.Errorf("answer: %w", err)
	}
	s.pending = false
	return body, Negotiated{
		Remote:    offer.Addr,
		Direction: dir,
		Audio:     audio,
		Event:     event,
		Ptime:     ptime,
	}, nil
}

// Accept completes our last Offer with the peer's answer.
func (s *Session) Accept(answer Description) (Negotiated, error) {
	if !s.pending {
		return Negotiated{}, ErrNoOffer
	}
	n := Negotiated{
		Remote:    answer.Addr,
		Direction: s.offeredDir.intersect(answer.Direction.orDefault().Reverse()),
		Ptime:     answer.Ptime,
	}
	if n.Ptime == 0 {
		n.Ptime = defaultPtime
	}
	for _, f := range answer.Formats {
		if f.Codec.IsAudio() && slices.ContainsFunc(s.offered, func(o Format) bool { return o.Codec == f.Codec }) {
			n.Audio = f
			break
		}
	}
	if n.Audio.Codec == CodecUnknown {
		return Negotiated{}, fmt.Errorf("accept: %w: offered %v, answered %v", ErrNoCommonCodec, s.offered, answer.Formats)
	}
	if f, ok := answer.Event(); ok && slices.ContainsFunc(s.offered, func(o Format) bool { return o.Codec == TelephoneEvent }) {
		n.Event = f
	}
	// The peer should send with the payload types we offered; accept those
	// too where its answer renumbered them.
	for _, o := range s.offered {
		if (o.Codec == n.Audio.Codec && o != n.Audio) || (o.Codec == TelephoneEvent && n.HasEvents() && o != n.Event) {
			n.Recv = append(n.Recv, o)
		}
	}
	s.pending = false
	return n, nil
}

// describe writes our description, with version bumped if it changed.
// mlines/audio place our stream among the offer's m-lines (nil: ours only).
func (s *Session) describe(local netip.AddrPort, mlines []mline, audio int, formats []Format, dir Direction, ptime int) ([]byte, error) {
	ip := local.Addr().Unmap()
	if !ip.IsValid() || ip.IsUnspecified() || local.Port() == 0 {
		return nil, fmt.Errorf("%w: local address %v", ErrUnsupportedAddress, local)
	}
	body, err := s.marshal(ip, local.Port(), mlines, audio, formats, dir, ptime)
	if err != nil || s.last == nil || bytes.Equal(body, s.last) {
		s.last = body
		return body, err
	}
	s.version++
	body, err = s.marshal(ip, local.Port(), mlines, audio, formats, dir, ptime)
	s.last = body
	return body, err
}

func (s *Session) marshal(ip netip.Addr, port uint16, mlines []mline, audio int, formats []Format, dir Direction, ptime int) ([]byte, error) {
	addrType := "IP4"
	if ip.Is6() {
		addrType = "IP6"
	}
	desc := sdp.SessionDescription{
		Origin: sdp.Origin{
			Username: "phoned", SessionID: s.id, SessionVersion: s.version,
			NetworkType: "IN", AddressType: addrType, UnicastAddress: ip.String(),
		},
		SessionName: "phoned",
		ConnectionInformation: &sdp.ConnectionInformation{
			NetworkType: "IN", AddressType: addrType, Address: &sdp.Address{Address: ip.String()},
		},
		TimeDescriptions: []sdp.TimeDescription{{}},
	}
	if mlines == nil {
		mlines, audio = []mline{{media: "audio"}}, 0
	}
	for i, ml := range mlines {
		if i != audio {
			format := ml.format
			if format == "" {
				format = "0"
			}
			desc.MediaDescriptions = append(desc.MediaDescriptions, &sdp.MediaDescription{
				MediaName: sdp.MediaName{Media: ml.media, Port: sdp.RangedPort{Value: 0}, Protos: splitProto(ml.proto), Formats: []string{format}},
			})
			continue
		}
		m := &sdp.MediaDescription{
			MediaName: sdp.MediaName{Media: "audio", Port: sdp.RangedPort{Value: int(port)}, Protos: []string{"RTP", "AVP"}},
		}
		for _, f := range formats {
			pt := strconv.Itoa(int(f.PT))
			m.MediaName.Formats = append(m.MediaName.Formats, pt)
			m.Attributes = append(m.Attributes, sdp.NewAttribute("rtpmap", f.String()))
			if f.Codec == TelephoneEvent {
				m.Attributes = append(m.Attributes, sdp.NewAttribute("fmtp", pt+" 0-16"))
			}
		}
		m.Attributes = append(m.Attributes,
			sdp.NewAttribute("ptime", strconv.Itoa(ptime)),
			sdp.NewPropertyAttribute(dir.String()))
		desc.MediaDescriptions = append(desc.MediaDescriptions, m)
	}
	return desc.Marshal()
}

// splitProto turns "RTP/AVP" back into pion's list form.
func splitProto(proto string) []string {
	if proto == "" {
		return []string{"RTP", "AVP"}
	}
	return strings.Split(proto, "/")
}
