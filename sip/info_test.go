package sip

import (
	"errors"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// The INFO phoned sends parses back to the digit it carries.
func TestInfoDTMFRequestParsesBack(t *testing.T) {
	target := gosip.Uri{Scheme: "sip", User: "caller", Host: "192.0.2.7", Port: 5062}
	for _, digit := range "0159*#AD" {
		req, err := newInfoDTMF(target, "192.0.2.7:5062", digit, 160*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		// The headers a dialog's Do adds, so the text is a whole request.
		req.AppendHeader(gosip.NewHeader("Via", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-1"))
		req.AppendHeader(gosip.NewHeader("From", "<sip:phoned@127.0.0.1>;tag=a"))
		req.AppendHeader(gosip.NewHeader("To", "<sip:caller@192.0.2.7:5062>;tag=b"))
		req.AppendHeader(gosip.NewHeader("Call-ID", "info@test"))
		req.AppendHeader(gosip.NewHeader("CSeq", "3 INFO"))

		msg, err := gosip.ParseMessage([]byte(req.String()))
		if err != nil {
			t.Fatalf("parse %q: %v", req.String(), err)
		}
		got, ok := msg.(*gosip.Request)
		if !ok || got.Method != gosip.INFO {
			t.Fatalf("parsed %v, want an INFO", msg)
		}
		if got.Recipient.String() != target.String() {
			t.Errorf("request URI %s, want %s", got.Recipient.String(), target.String())
		}
		if ct := got.ContentType(); ct == nil || ct.Value() != "application/dtmf-relay" {
			t.Fatalf("Content-Type %v", ct)
		}
		if want := "Signal=" + string(digit) + "\r\nDuration=160\r\n"; string(got.Body()) != want {
			t.Fatalf("body %q, want %q", got.Body(), want)
		}
		d, err := parseInfoDTMF(got.ContentType().Value(), got.Body())
		if err != nil || d != digit {
			t.Fatalf("parsed back %q, %v; want %q", d, err, digit)
		}
	}
	if _, err := newInfoDTMF(target, "", 'x', 0); err == nil {
		t.Fatal("an INFO with digit x was built")
	}
}

func TestParseInfoDTMF(t *testing.T) {
	for _, c := range []struct {
		ct, body string
		want     rune
		err      error
	}{
		{"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", '5', nil},
		{"Application/DTMF-Relay; charset=x", "signal= #\nduration=100", '#', nil},
		{"application/dtmf-relay", "Signal=10\r\n", '*', nil},
		{"application/dtmf-relay", "Signal=11\r\n", '#', nil},
		{"application/dtmf-relay", "Signal=b\r\n", 'B', nil},
		{"application/dtmf", "7", '7', nil},
		{"application/dtmf", "7\r\n", '7', nil},
		{"application/dtmf-relay", "Duration=160\r\n", 0, errInfoBody},
		{"application/dtmf-relay", "Signal=E\r\n", 0, errInfoBody},
		{"application/dtmf", "12", 0, errInfoBody},
		{"text/plain", "5", 0, errInfoContentType},
		{"", "", 0, errInfoContentType},
	} {
		got, err := parseInfoDTMF(c.ct, []byte(c.body))
		if !errors.Is(err, c.err) || got != c.want {
			t.Errorf("parseInfoDTMF(%q, %q) = %q, %v; want %q, %v", c.ct, c.body, got, err, c.want, c.err)
		}
	}
}
