package webphone

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"phoned/media"
)

const mimeTelephoneEvent = "audio/telephone-event"

// ErrNoCommonCodec refuses a browser offer without PCMU or PCMA.
var ErrNoCommonCodec = errors.New("the browser offered neither PCMU nor PCMA audio")

// codecParams are the only formats phoned's WebRTC side knows: what SIP
// speaks, so audio relays without transcoding.
var codecParams = map[media.Codec]webrtc.RTPCodecParameters{
	media.PCMU:           {RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, PayloadType: 0},
	media.PCMA:           {RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMA, ClockRate: 8000}, PayloadType: 8},
	media.TelephoneEvent: {RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: mimeTelephoneEvent, ClockRate: 8000}, PayloadType: 101},
}

// newAPI builds the one pion API of the process: a MediaEngine with only
// PCMU, PCMA and telephone-event, and a SettingEngine with the UDP port
// range, the address to gather candidates on, and the NAT 1:1 address.
func newAPI(cfg Config) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	for _, c := range []media.Codec{media.PCMU, media.PCMA, media.TelephoneEvent} {
		if err := m.RegisterCodec(codecParams[c], webrtc.RTPCodecTypeAudio); err != nil {
			return nil, fmt.Errorf("registering %s: %w", c, err)
		}
	}
	var s webrtc.SettingEngine
	if cfg.PortMin != 0 || cfg.PortMax != 0 {
		if err := s.SetEphemeralUDPPortRange(cfg.PortMin, cfg.PortMax); err != nil {
			return nil, fmt.Errorf("WebRTC port range %d-%d: %w", cfg.PortMin, cfg.PortMax, err)
		}
	}
	s.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	// No multicast DNS: candidates are plain addresses, and phoned sends
	// nothing to the LAN's multicast group.
	s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if ip := cfg.IP; ip.IsValid() && !ip.IsUnspecified() {
		want := net.IP(ip.AsSlice())
		s.SetIPFilter(func(got net.IP) bool { return got.Equal(want) })
		if ip.IsLoopback() {
			s.SetIncludeLoopbackCandidate(true)
		}
	}
	if cfg.NAT1To1IP != "" {
		s.SetNAT1To1IPs([]string{cfg.NAT1To1IP}, webrtc.ICECandidateTypeHost)
	}
	// No interceptors: pion's defaults (NACK, TWCC, RTCP reports, stats)
	// serve video and congestion control, and would cost every G.711
	// packet of every call a few goroutine hops.
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(s), webrtc.WithInterceptorRegistry(&interceptor.Registry{})), nil
}

// browserOffer is what phoned needs of a browser's SDP offer: the audio
// codec it will use with the browser (the first of the allowed ones the
// browser offers) and the payload types of that codec and of
// telephone-event/8000 in the browser's numbering.
type browserOffer struct {
	codec media.Codec
	pts   ptPlan
}

// readOffer reads a browser's offer; allowed is phoned's preference order.
func readOffer(offer string, allowed []media.Codec) (browserOffer, error) {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(offer); err != nil {
		return browserOffer{}, fmt.Errorf("the browser's SDP offer: %w", err)
	}
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media != "audio" {
			continue
		}
		found := map[media.Codec]int16{}
		for _, f := range m.MediaName.Formats {
			pt, err := strconv.Atoi(f)
			if err != nil || pt < 0 || pt > 127 {
				continue
			}
			c, err := d.GetCodecForPayloadType(uint8(pt))
			name := strings.ToUpper(c.Name)
			switch {
			case err != nil && pt == 0, name == "PCMU" && c.ClockRate == 8000:
				setOnce(found, media.PCMU, int16(pt))
			case err != nil && pt == 8, name == "PCMA" && c.ClockRate == 8000:
				setOnce(found, media.PCMA, int16(pt))
			case name == "TELEPHONE-EVENT" && c.ClockRate == 8000:
				setOnce(found, media.TelephoneEvent, int16(pt))
			}
		}
		for _, want := range allowed {
			if pt, ok := found[want]; ok {
				o := browserOffer{codec: want, pts: ptPlan{audio: pt, event: -1}}
				if ev, ok := found[media.TelephoneEvent]; ok {
					o.pts.event = ev
				}
				return o, nil
			}
		}
		return browserOffer{}, ErrNoCommonCodec
	}
	return browserOffer{}, errors.New("the browser's SDP offer has no audio")
}

func setOnce(m map[media.Codec]int16, c media.Codec, pt int16) {
	if _, ok := m[c]; !ok {
		m[c] = pt
	}
}

// mimeOf is the WebRTC MIME type of an audio codec.
func mimeOf(c media.Codec) string { return codecParams[c].MimeType }

// codecPreferences restricts a transceiver to the codec chosen and
// telephone-event, on the browser's payload types (pion would otherwise
// answer with its own numbers, and Chrome's telephone-event is not 101).
func codecPreferences(o browserOffer) []webrtc.RTPCodecParameters {
	audio := codecParams[o.codec]
	audio.PayloadType = webrtc.PayloadType(o.pts.audio)
	prefs := []webrtc.RTPCodecParameters{audio}
	if o.pts.event >= 0 {
		ev := codecParams[media.TelephoneEvent]
		ev.PayloadType = webrtc.PayloadType(o.pts.event)
		prefs = append(prefs, ev)
	}
	return prefs
}

// localSDPAddr is the address the engine-facing SDP of a browser leg shows:
// none, the media go through the leg's transport.
var localSDPAddr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), 9)
