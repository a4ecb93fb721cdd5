package media

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// sdpText joins lines with CRLF, as SIP bodies are written.
func sdpText(lines ...string) []byte { return []byte(strings.Join(lines, "\r\n") + "\r\n") }

var head = []string{"v=0", "o=- 42 7 IN IP4 192.0.2.1", "s=-"}

func withHead(lines ...string) []byte {
	return sdpText(append(append([]string{}, head...), lines...)...)
}

func TestParseSDP(t *testing.T) {
	pcmu0, pcma8, te101 := Format{0, PCMU}, Format{8, PCMA}, Format{101, TelephoneEvent}
	tests := []struct {
		name string
		body []byte
		want Description // mlines/audio not compared
	}{
		{
			name: "softphone offer",
			body: withHead("c=IN IP4 192.0.2.10", "t=0 0", "m=audio 49170 RTP/AVP 0 8 101",
				"a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000",
				"a=fmtp:101 0-16", "a=ptime:20", "a=sendrecv"),
			want: Description{Addr: netip.MustParseAddrPort("192.0.2.10:49170"), Formats: []Format{pcmu0, pcma8, te101},
				Ptime: 20, Direction: SendRecv, SessionID: 42, SessionVersion: 7},
		},
		{
			name: "static types without rtpmap, unknown ones left out, no direction",
			body: withHead("c=IN IP4 192.0.2.10", "t=0 0", "m=audio 4000 RTP/AVP 18 8 3 0"),
			want: Description{Addr: netip.MustParseAddrPort("192.0.2.10:4000"), Formats: []Format{pcma8, pcmu0},
				Direction: SendRecv, SessionID: 42, SessionVersion: 7},
		},
		{
			name: "media-level c= wins, dynamic PCMU, telephone-event on 96, IPv6",
			body: withHead("c=IN IP4 192.0.2.10", "t=0 0", "m=audio 5004 RTP/AVP 97 96", "c=IN IP6 2001:db8::5",
				"a=rtpmap:97 pcmu/8000/1", "a=rtpmap:96 TELEPHONE-EVENT/8000", "a=ptime:30", "a=recvonly"),
			want: Description{Addr: netip.MustParseAddrPort("[2001:db8::5]:5004"), Formats: []Format{{97, PCMU}, {96, TelephoneEvent}},
				Ptime: 30, Direction: RecvOnly, SessionID: 42, SessionVersion: 7},
		},
		{
			name: "hold with sendonly at session level",
			body: withHead("c=IN IP4 192.0.2.10", "t=0 0", "a=sendonly", "m=audio 4000 RTP/AVP 0"),
			want: Description{Addr: netip.MustParseAddrPort("192.0.2.10:4000"), Formats: []Format{pcmu0},
				Direction: SendOnly, SessionID: 42, SessionVersion: 7},
		},
		{
			name: "hold with inactive",
			body: withHead("c=IN IP4 192.0.2.10", "t=0 0", "m=audio 4000 RTP/AVP 0", "a=inactive"),
			want: Description{Addr: netip.MustParseAddrPort("192.0.2.10:4000"), Formats: []Format{pcmu0},
				Direction: Inactive, SessionID: 42, SessionVersion: 7},
		},
		{
			name: "RFC 2543 hold: c=0.0.0.0",
			body: withHead("c=IN IP4 0.0.0.0", "t=0 0", "m=audio 4000 RTP/AVP 8"),
			want: Description{Addr: netip.MustParseAddrPort("0.0.0.0:4000"), Formats: []Format{pcma8},
				Direction: SendOnly, LegacyHold: true, SessionID: 42, SessionVersion: 7},
		},
		{
			name: "RFC 2543 hold with recvonly reads inactive",
			body: withHead("c=IN IP4 0.0.0.0", "t=0 0", "m=audio 4000 RTP/AVP 8", "a=recvonly"),
			want: Description{Addr: netip.MustParseAddrPort("0.0.0.0:4000"), Formats: []Format{pcma8},
				Direction: Inactive, LegacyHold: true, SessionID: 42, SessionVersion: 7},
		},
		{
			name: "video first, a rejected audio line, then ours; LF line ends",
			body: []byte(strings.Join(append(append([]string{}, head...), "c=IN IP4 192.0.2.10", "t=0 0",
				"m=video 5000 RTP/AVP 31", "m=audio 0 RTP/AVP 0", "m=audio 6000 RTP/AVPF 0", ""), "\n")),
			want: Description{Addr: netip.MustParseAddrPort("192.0.2.10:6000"), Formats: []Format{pcmu0},
				Direction: SendRecv, SessionID: 42, SessionVersion: 7},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSDP(tt.body)
			if err != nil {
				t.Fatal(err)
			}
			got.mlines, got.audio = nil, 0
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseSDPRefuses(t *testing.T) {
	tests := []struct {
		name string
		body []byte
		want error
	}{
		{"empty", nil, ErrMalformedSDP},
		{"not SDP", []byte("INVITE sip:bob@example.com SIP/2.0\r\n"), ErrMalformedSDP},
		{"no media", withHead("c=IN IP4 192.0.2.10", "t=0 0"), ErrNoAudio},
		{"video only", withHead("c=IN IP4 192.0.2.10", "t=0 0", "m=video 5000 RTP/AVP 31"), ErrNoAudio},
		{"audio rejected", withHead("c=IN IP4 192.0.2.10", "t=0 0", "m=audio 0 RTP/AVP 0"), ErrStreamRejected},
		{"SRTP", withHead("c=IN IP4 192.0.2.10", "t=0 0", "m=audio 4000 RTP/SAVP 0"), ErrUnsupportedTransport},
		{"WebRTC", withHead("c=IN IP4 192.0.2.10", "t=0 0", "m=audio 9 UDP/TLS/RTP/SAVPF 0"), ErrUnsupportedTransport},
		{"no connection", withHead("t=0 0", "m=audio 4000 RTP/AVP 0"), ErrNoConnection},
		{"host name", withHead("c=IN IP4 pbx.example.com", "t=0 0", "m=audio 4000 RTP/AVP 0"), ErrUnsupportedAddress},
		{"multicast", withHead("c=IN IP4 224.2.1.1/127", "t=0 0", "m=audio 4000 RTP/AVP 0"), ErrUnsupportedAddress},
		{"multicast without TTL", withHead("c=IN IP4 224.2.1.1", "t=0 0", "m=audio 4000 RTP/AVP 0"), ErrUnsupportedAddress},
		{"IPv6 address as IP4", withHead("c=IN IP4 2001:db8::1", "t=0 0", "m=audio 4000 RTP/AVP 0"), ErrUnsupportedAddress},
		{"G.729 only", withHead("c=IN IP4 192.0.2.10", "t=0 0", "m=audio 4000 RTP/AVP 18"), ErrNoCommonCodec},
		{"Opus only", withHead("c=IN IP4 192.0.2.10", "t=0 0", "m=audio 4000 RTP/AVP 111", "a=rtpmap:111 opus/48000/2"), ErrNoCommonCodec},
		{"telephone-event only", withHead("c=IN IP4 192.0.2.10", "t=0 0", "m=audio 4000 RTP/AVP 101", "a=rtpmap:101 telephone-event/8000"), ErrNoCommonCodec},
		{"PCMU at 16 kHz", withHead("c=IN IP4 192.0.2.10", "t=0 0", "m=audio 4000 RTP/AVP 96", "a=rtpmap:96 PCMU/16000"), ErrNoCommonCodec},
		{"payload type not a number", withHead("c=IN IP4 192.0.2.10", "t=0 0", "m=audio 4000 RTP/AVP x"), ErrMalformedSDP},
		{"payload type too big", withHead("c=IN IP4 192.0.2.10", "t=0 0", "m=audio 4000 RTP/AVP 128"), ErrMalformedSDP},
		{"bad rtpmap", withHead("c=IN IP4 192.0.2.10", "t=0 0", "m=audio 4000 RTP/AVP 0", "a=rtpmap:zero PCMU/8000"), ErrMalformedSDP},
		{"bad ptime", withHead("c=IN IP4 192.0.2.10", "t=0 0", "m=audio 4000 RTP/AVP 0", "a=ptime:-20"), ErrMalformedSDP},
		{"port out of range", withHead("c=IN IP4 192.0.2.10", "t=0 0", "m=audio 70000 RTP/AVP 0"), ErrMalformedSDP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseSDP(tt.body)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %+v, %v; want %v", d, err, tt.want)
			}
		})
	}
}

var (
	local = netip.MustParseAddrPort("198.51.100.1:10000")
	all   = []Codec{PCMU, PCMA, TelephoneEvent}
)

func mustParse(t *testing.T, body []byte) Description {
	t.Helper()
	d, err := ParseSDP(body)
	if err != nil {
		t.Fatalf("%v in\n%s", err, body)
	}
	return d
}

func TestAnswer(t *testing.T) {
	offer := mustParse(t, withHead("c=IN IP4 192.0.2.10", "t=0 0",
		"m=video 5000 RTP/AVP 31",
		"m=audio 49170 RTP/AVP 18 8 0 96", "a=rtpmap:96 telephone-event/8000", "a=ptime:30",
		"m=audio 49172 RTP/AVP 0"))
	s := NewSession()
	body, n, err := s.Answer(offer, local, all, SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	want := Negotiated{Remote: netip.MustParseAddrPort("192.0.2.10:49170"), Direction: SendRecv,
		Audio: Format{8, PCMA}, Event: Format{96, TelephoneEvent}, Ptime: 30}
	if !reflect.DeepEqual(n, want) {
		t.Errorf("negotiated %+v, want %+v", n, want)
	}
	text := string(body)
	for _, line := range []string{"m=video 0 RTP/AVP 31\r\n", "m=audio 10000 RTP/AVP 8 96\r\n", "m=audio 0 RTP/AVP 0\r\n",
		"a=rtpmap:96 telephone-event/8000\r\n", "a=fmtp:96 0-16\r\n", "a=ptime:30\r\n", "a=sendrecv\r\n", "c=IN IP4 198.51.100.1\r\n"} {
		if !strings.Contains(text, line) {
			t.Errorf("answer lacks %q:\n%s", line, text)
		}
	}
	if strings.Index(text, "m=video") > strings.Index(text, "m=audio 10000") {
		t.Errorf("m-lines out of the offer's order:\n%s", text)
	}
	back := mustParse(t, body)
	if back.Addr != local || back.Audio() != (Format{8, PCMA}) {
		t.Errorf("answer reads back as %+v", back)
	}

	// Only what the other leg uses: PCMU, no events.
	_, n, err = NewSession().Answer(offer, local, []Codec{PCMU}, SendRecv)
	if err != nil || n.Audio != (Format{0, PCMU}) || n.HasEvents() {
		t.Errorf("PCMU only: %+v, %v", n, err)
	}
	if _, _, err := NewSession().Answer(offer, local, []Codec{TelephoneEvent}, SendRecv); !errors.Is(err, ErrNoCommonCodec) {
		t.Errorf("nothing in common: %v", err)
	}
	if _, _, err := NewSession().Answer(offer, netip.MustParseAddrPort("0.0.0.0:4000"), all, SendRecv); !errors.Is(err, ErrUnsupportedAddress) {
		t.Errorf("unspecified local address: %v", err)
	}
}

func TestAnswerDirections(t *testing.T) {
	tests := []struct {
		offer string // an extra line, or a c= replacement
		ours  Direction
		want  Direction
	}{
		{"a=sendrecv", SendRecv, SendRecv},
		{"a=sendonly", SendRecv, RecvOnly}, // we are held
		{"a=recvonly", SendRecv, SendOnly},
		{"a=inactive", SendRecv, Inactive},
		{"c=IN IP4 0.0.0.0", SendRecv, RecvOnly}, // RFC 2543 hold
		{"a=sendrecv", SendOnly, SendOnly},       // we hold them
		{"a=sendonly", SendOnly, Inactive},       // both hold
		{"a=sendrecv", DirectionUnknown, SendRecv},
	}
	for _, tt := range tests {
		t.Run(tt.offer+"/"+tt.ours.String(), func(t *testing.T) {
			lines := []string{"c=IN IP4 192.0.2.10", "t=0 0", "m=audio 4000 RTP/AVP 0"}
			if strings.HasPrefix(tt.offer, "c=") {
				lines[0] = tt.offer
			} else {
				lines = append(lines, tt.offer)
			}
			body, n, err := NewSession().Answer(mustParse(t, withHead(lines...)), local, all, tt.ours)
			if err != nil {
				t.Fatal(err)
			}
			if n.Direction != tt.want || !strings.Contains(string(body), "a="+tt.want.String()+"\r\n") {
				t.Errorf("direction %v, want %v; answer:\n%s", n.Direction, tt.want, body)
			}
		})
	}
}

func TestSessionVersion(t *testing.T) {
	s := NewSession()
	version := func(body []byte) uint64 { return mustParse(t, body).SessionVersion }
	first, err := s.Offer(local, all, SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	same, _ := s.Offer(local, all, SendRecv)
	if version(same) != version(first) {
		t.Errorf("unchanged re-offer bumped the version: %d -> %d", version(first), version(same))
	}
	hold, _ := s.Offer(local, all, SendOnly)
	if version(hold) != version(first)+1 || mustParse(t, hold).Direction != SendOnly {
		t.Errorf("hold re-offer: version %d after %d", version(hold), version(first))
	}
	resume, _ := s.Offer(local, all, SendRecv)
	if version(resume) != version(first)+2 {
		t.Errorf("resume re-offer: version %d after %d", version(resume), version(first))
	}
	if a, b := mustParse(t, first).SessionID, mustParse(t, resume).SessionID; a != b {
		t.Errorf("session id changed: %d -> %d", a, b)
	}
}

func TestOfferAccept(t *testing.T) {
	s := NewSession()
	if _, err := s.Accept(Description{}); !errors.Is(err, ErrNoOffer) {
		t.Errorf("accept with no offer: %v", err)
	}
	body, err := s.Offer(local, all, SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	offer := mustParse(t, body)
	if want := []Format{{0, PCMU}, {8, PCMA}, {101, TelephoneEvent}}; !reflect.DeepEqual(offer.Formats, want) || offer.Ptime != 20 {
		t.Errorf("offer formats %v ptime %d", offer.Formats, offer.Ptime)
	}
	// The answerer picked PCMA and renumbered telephone-event.
	answer := mustParse(t, withHead("c=IN IP4 192.0.2.20", "t=0 0", "m=audio 7000 RTP/AVP 8 96",
		"a=rtpmap:96 telephone-event/8000", "a=recvonly"))
	n, err := s.Accept(answer)
	if err != nil {
		t.Fatal(err)
	}
	want := Negotiated{Remote: netip.MustParseAddrPort("192.0.2.20:7000"), Direction: SendOnly,
		Audio: Format{8, PCMA}, Event: Format{96, TelephoneEvent}, Recv: []Format{{101, TelephoneEvent}}, Ptime: 20}
	if !reflect.DeepEqual(n, want) {
		t.Errorf("negotiated %+v\nwant       %+v", n, want)
	}
	if _, err := s.Accept(answer); !errors.Is(err, ErrNoOffer) {
		t.Errorf("second accept: %v", err)
	}

	if _, err := s.Offer(local, []Codec{PCMU}, SendRecv); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Accept(answer); !errors.Is(err, ErrNoCommonCodec) {
		t.Errorf("answer with a codec we did not offer: %v", err)
	}
	if _, err := s.Offer(local, []Codec{TelephoneEvent}, SendRecv); !errors.Is(err, ErrNoCommonCodec) {
		t.Errorf("offer without audio: %v", err)
	}
	if _, err := s.Offer(local, []Codec{Codec(9)}, SendRecv); !errors.Is(err, ErrInvalidCodec) {
		t.Errorf("offer of an unknown codec: %v", err)
	}
}

func TestCodecAndDirectionNames(t *testing.T) {
	for c, want := range map[Codec]string{PCMU: "PCMU", PCMA: "PCMA", TelephoneEvent: "telephone-event", CodecUnknown: "unknown"} {
		if c.String() != want {
			t.Errorf("%d: %q", c, c.String())
		}
	}
	for d, want := range map[Direction]string{SendRecv: "sendrecv", SendOnly: "sendonly", RecvOnly: "recvonly", Inactive: "inactive", DirectionUnknown: "unknown"} {
		if d.String() != want {
			t.Errorf("%d: %q", d, d.String())
		}
	}
	for r, want := range map[EndReason]string{EndClosed: "closed", EndInactivity: "inactivity", EndLegClosed: "leg closed", EndTransport: "transport failed", EndUnknown: "unknown"} {
		if r.String() != want {
			t.Errorf("%d: %q", r, r.String())
		}
	}
}
