package webphone

import (
	"testing"

	"phoned/media"
)

// FuzzParseMessage: any bytes from a page give a message or an error in
// words, never a panic; an accepted message has what its type needs.
func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{
		`{"type":"dial","req":"r1","leg":"l1","sdp":"v=0","number":"+3222"}`,
		`{"type":"answer","call":"c1","leg":"l1","sdp":"v=0"}`,
		`{"type":"reattach","call":"c1","leg":"l2","sdp":"v=0"}`,
		`{"type":"ice","leg":"l1","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}}`,
		`{"type":"hangup","call":"c1"}`, `{"type":"focus","visible":true}`, `{"type":""}`, `[]`, `{"type":"dial","call_id":1e400}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseMessage(b)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without words")
			}
			return
		}
		switch m.Type {
		case "dial":
			if !idPattern.MatchString(m.Leg) || m.SDP == "" {
				t.Fatalf("dial accepted without leg or sdp: %+v", m)
			}
		case "answer", "reattach":
			if !idPattern.MatchString(m.Call) || !idPattern.MatchString(m.Leg) || m.SDP == "" {
				t.Fatalf("%s accepted without call, leg or sdp: %+v", m.Type, m)
			}
		case "reject", "hangup":
			if !idPattern.MatchString(m.Call) {
				t.Fatalf("%s accepted without call: %+v", m.Type, m)
			}
		case "ice":
			if !idPattern.MatchString(m.Leg) {
				t.Fatalf("ice accepted without leg: %+v", m)
			}
		case "focus":
			if m.Visible == nil {
				t.Fatal("focus accepted without visible")
			}
		default:
			t.Fatalf("type %q accepted", m.Type)
		}
	})
}

// FuzzReadOffer: a browser's SDP offer, whatever it holds, gives a codec
// phoned relays or an error, never a panic.
func FuzzReadOffer(f *testing.F) {
	f.Add("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 0 8 126\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:126 telephone-event/8000\r\n")
	f.Add("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP 8\r\n")
	f.Add("v=0\r\nm=video 9 RTP/AVP 96\r\n")
	f.Fuzz(func(t *testing.T, offer string) {
		o, err := readOffer(offer, []media.Codec{media.PCMU, media.PCMA})
		if err != nil {
			return
		}
		if o.codec != media.PCMU && o.codec != media.PCMA {
			t.Fatalf("codec %v", o.codec)
		}
		if o.pts.audio < 0 || o.pts.audio > 127 || o.pts.event > 127 || o.pts.event == o.pts.audio {
			t.Fatalf("payload types %+v", o.pts)
		}
	})
}
