package sip_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A peer's SIP INFO in an answered call: DTMF gets 200 (and is logged),
// another content type 415, an INFO outside any dialog 481.
func TestInfoInDialog(t *testing.T) {
	eng := answerEngine{answered: make(chan error, 1)}
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
	rc.log.mu.Lock()
	logged := rc.log.b.String()
	rc.log.mu.Unlock()
	for _, d := range []string{"digit=5", "digit=#"} {
		if !strings.Contains(logged, "DTMF received by SIP INFO") || !strings.Contains(logged, d) {
			t.Errorf("log lacks the DTMF %s:\n%s", d, logged)
		}
	}
}
