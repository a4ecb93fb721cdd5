package sip_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"phoned/switchboard"
)

// answerEngine answers every call at once and reports what Answer returned.
type answerEngine struct {
	answered chan error
	digits   chan rune // SIP INFO digits the caller's leg reports (nil: not taken)
}

func (e answerEngine) Inbound(ctx context.Context, in switchboard.Incoming, _ switchboard.InboundInfo) {
	if ds, ok := in.(switchboard.DigitSource); ok && e.digits != nil {
		ds.OnDigit(func(d rune) { e.digits <- d })
	}
	go func() {
		sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
		e.answered <- in.Answer(context.Background(), []byte(sdp))
	}()
}

// A caller's BYE that overtakes its ACK (sipgo runs each request on its
// own goroutine; a busy PBX does this) still means the call was answered.
func TestByeBeforeAckIsAnAnsweredCall(t *testing.T) {
	eng := answerEngine{answered: make(chan error, 1)}
	rc := startRawCall(t, eng, "byeack-1@test")
	rc.invite()
	// The BYE, and no ACK before it.
	rc.inDialog("BYE", 2, "", nil, "")
	if res := rc.readFinal("2 BYE"); !strings.HasPrefix(res, "SIP/2.0 200") {
		t.Fatalf("BYE answered %q", res)
	}
	select {
	case err := <-eng.answered:
		if err != nil {
			t.Fatalf("Answer returned %v: a BYE before the ACK made an answered call fail", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Answer did not return")
	}
}
