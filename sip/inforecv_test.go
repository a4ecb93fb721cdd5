package sip_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A peer's SIP INFO in an answered call: DTMF gets 200 and its digit goes
// to the engine, another content type 415, an INFO outside any dialog 481.
func TestInfoInDialog(t *testing.T) {
	eng := answerEngine{answered: make(chan error, 1), digits: make(chan rune, 4)}
	rc := startRawCall(t, eng, "info-1@test")
	rc.invite()
	rc.inDialog("ACK", 1, "", nil, "")
	select {
	case err := <-eng.answered:
		if err != nil {
			t.Fatalf("Answer: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Answer did not return")
	}

	info := func(cseq int, toTag, ctype, body string) string {
		rc.inDialog("INFO", cseq, toTag, []string{"Content-Type: " + ctype}, body)
		return rc.readFinal(fmt.Sprintf("%d INFO", cseq))
	}
	if res := info(2, "", "application/dtmf-relay", "Signal=5\r\nDuration=160\r\n"); !strings.HasPrefix(res, "SIP/2.0 200") {
		t.Fatalf("DTMF INFO answered %q", res)
	}
	if res := info(3, "", "application/dtmf", "#"); !strings.HasPrefix(res, "SIP/2.0 200") {
		t.Fatalf("application/dtmf INFO answered %q", res)
	}
	if res := info(4, "", "text/plain", "hello"); !strings.HasPrefix(res, "SIP/2.0 415") {
		t.Fatalf("text/plain INFO answered %q", res)
	}
	if res := info(5, "not-our-tag", "application/dtmf-relay", "Signal=5\r\n"); !strings.HasPrefix(res, "SIP/2.0 481") {
		t.Fatalf("INFO outside the dialog answered %q", res)
	}
	for _, want := range []rune{'5', '#'} {
		select {
		case d := <-eng.digits:
			if d != want {
				t.Fatalf("the engine got digit %q, want %q", d, want)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("the engine got no digit %q", want)
		}
	}
	rc.log.mu.Lock()
	logged := rc.log.b.String()
	rc.log.mu.Unlock()
	if strings.Contains(logged, "digit=5") {
		t.Errorf("a received digit is in the info log (it may be a PIN):\n%s", logged)
	}
}
