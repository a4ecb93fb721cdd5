package media

import (
	"testing"
)

// FuzzParseSDP: no input panics, and what parses is usable.
// Seeds: testdata/fuzz/FuzzParseSDP, plus the ones below.
func FuzzParseSDP(f *testing.F) {
	f.Add(withHead("c=IN IP4 192.0.2.10", "t=0 0", "m=audio 49170 RTP/AVP 0 8 101",
		"a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16", "a=ptime:20", "a=sendrecv"))
	f.Add(withHead("c=IN IP4 0.0.0.0", "t=0 0", "m=audio 4000 RTP/AVP 8"))
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := ParseSDP(body)
		if err != nil {
			return
		}
		if d.Addr.Port() == 0 || !d.Addr.Addr().IsValid() {
			t.Fatalf("parsed with address %v", d.Addr)
		}
		if !d.Audio().Codec.IsAudio() {
			t.Fatalf("parsed with no audio codec: %v", d.Formats)
		}
		// Whatever parses can be answered, and the answer parses.
		body, n, err := NewSession().Answer(d, local, all, SendRecv)
		if err != nil {
			t.Fatalf("answer: %v", err)
		}
		if _, err := ParseSDP(body); err != nil {
			t.Fatalf("our answer does not parse: %v\n%s", err, body)
		}
		if _, err := newFormatTable(n); err != nil {
			t.Fatalf("negotiated %+v: %v", n, err)
		}
	})
}
