package sip

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	gosip "github.com/emiago/sipgo/sip"
)

func TestCheckDialString(t *testing.T) {
	for _, s := range []string{"101", "+3222001122", "0032470123456", "alice", "a.b-c_d", "*67", "9*1"} {
		if err := CheckDialString(s); err != nil {
			t.Errorf("%q refused: %v", s, err)
		}
	}
	for _, s := range []string{"", "+", "1+2", "++32", "101\r\nVia: x", "101\n", "10 1", "101;user=phone", "101@evil.example",
		"10%0D1", "<sip:101>", "101>", "\"101", "101,102", "101\x00", "１０１", "#31#", "101?Route=x", strings.Repeat("1", 65)} {
		if err := CheckDialString(s); !errors.Is(err, ErrBadDialString) {
			t.Errorf("%q accepted (%v)", s, err)
		}
	}
}

func TestCheckDisplayName(t *testing.T) {
	for _, s := range []string{"", "Alice", "Zoë Müller-Lüdenscheidt", "李小龙", "O'Brien & Sons (Gold)", "\uFFFD literal"} {
		if err := CheckDisplayName(s); err != nil {
			t.Errorf("%q refused: %v", s, err)
		}
	}
	for _, s := range []string{"a\rb", "a\nb", "a\tb", "a\x00", "a\x7f", "\"Boss\" <sip:ceo@x>", `back\slash`, "evil\u202Eslip", "a\u2028b",
		"\xff\xfe", "\u0085next line", strings.Repeat("x", 129)} {
		if err := CheckDisplayName(s); !errors.Is(err, ErrBadDisplayName) {
			t.Errorf("%q accepted (%v)", s, err)
		}
	}
}

// Whatever CheckDialString accepts, written as the user of a URI in a
// header, reads back as the same user with nothing else added.
func FuzzCheckDialString(f *testing.F) {
	for _, s := range []string{"101", "+3222001122", "a.b-c_d*", "101\r\nVia: x", "101;x=y", "%0d", "+", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if CheckDialString(s) != nil {
			return
		}
		if len(s) == 0 || len(s) > maxDialString || hasControl(s) || strings.ContainsAny(s, " <>\"@:;,?&=%#/\\") {
			t.Fatalf("accepted %q", s)
		}
		raw := "OPTIONS sip:x@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:" + s + "@example.com>;tag=1\r\n" +
			"To: <sip:x@h>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
		m, err := gosip.ParseMessage([]byte(raw))
		if err != nil {
			t.Fatalf("accepted %q breaks the message: %v", s, err)
		}
		from := m.(*gosip.Request).From()
		if from.Address.User != s || from.Address.Host != "example.com" || len(from.Address.UriParams) != 0 {
			t.Fatalf("accepted %q reads back as user %q host %q params %v", s, from.Address.User, from.Address.Host, from.Address.UriParams)
		}
	})
}

// Whatever CheckDisplayName accepts, quoted in a From header, reads back
// as the same name in one header.
func FuzzCheckDisplayName(f *testing.F) {
	for _, s := range []string{"Alice", "Zoë", "a\r\nb", `"x" <sip:y>`, "\u202E", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if CheckDisplayName(s) != nil {
			return
		}
		if !utf8.ValidString(s) || hasControl(s) || strings.ContainsAny(s, "\"\\") || len(s) > maxDisplayName {
			t.Fatalf("accepted %q", s)
		}
		raw := "OPTIONS sip:x@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: \"" + s + "\" <sip:101@example.com>;tag=1\r\n" +
			"To: <sip:x@h>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
		m, err := gosip.ParseMessage([]byte(raw))
		if err != nil {
			t.Fatalf("accepted %q breaks the message: %v", s, err)
		}
		req := m.(*gosip.Request)
		from := req.From()
		if from.DisplayName != s || from.Address.User != "101" || len(req.GetHeaders("From")) != 1 {
			t.Fatalf("accepted %q reads back as %q <%s>", s, from.DisplayName, from.Address.String())
		}
	})
}
