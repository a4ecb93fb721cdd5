package sip_test

import (
	"context"
	"errors"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"phoned/switchboard"
)

// legEngine answers every call and hands over its leg.
type legEngine struct{ legs chan switchboard.Incoming }

func (e legEngine) Inbound(ctx context.Context, in switchboard.Incoming, _ switchboard.InboundInfo) {
	go func() {
		sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
		if in.Answer(context.Background(), []byte(sdp)) == nil {
			e.legs <- in
		}
	}()
}

// phoned's DTMF by SIP INFO goes to the caller within the dialog (its
// Call-ID, tags and a new CSeq), as application/dtmf-relay, and returns
// once answered.
func TestSendInfoDTMFInDialog(t *testing.T) {
	eng := legEngine{legs: make(chan switchboard.Incoming, 1)}
	rc := startRawCall(t, eng, "infosend-1@test")
	rc.invite()
	rc.inDialog("ACK", 1, "", nil, "")
	var leg switchboard.Incoming
	select {
	case leg = <-eng.legs:
	case <-time.After(10 * time.Second):
		t.Fatal("the call was not answered")
	}

	sent := make(chan error, 1)
	go func() { sent <- leg.SendInfoDTMF(context.Background(), '7', 160*time.Millisecond) }()
	raw := rc.readPrefix("INFO ")
	msg, err := gosip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	req := msg.(*gosip.Request)
	if req.CallID().Value() != "infosend-1@test" {
		t.Errorf("Call-ID %q", req.CallID().Value())
	}
	if ft, _ := req.From().Params.Get("tag"); ft != rc.tag {
		t.Errorf("From tag %q, want phoned's %q", ft, rc.tag)
	}
	if tt, _ := req.To().Params.Get("tag"); tt != "caller1" {
		t.Errorf("To tag %q, want caller1", tt)
	}
	if req.Recipient.User != "caller" {
		t.Errorf("request URI %s, want the caller's Contact", req.Recipient.String())
	}
	if cs := req.CSeq(); cs.MethodName != gosip.INFO {
		t.Errorf("CSeq %v", cs)
	}
	if ct := req.ContentType(); ct == nil || ct.Value() != "application/dtmf-relay" {
		t.Errorf("Content-Type %v", ct)
	}
	if string(req.Body()) != "Signal=7\r\nDuration=160\r\n" {
		t.Errorf("body %q", req.Body())
	}
	select {
	case err := <-sent:
		t.Fatalf("SendInfoDTMF returned %v before the answer", err)
	case <-time.After(50 * time.Millisecond):
	}
	res := gosip.NewResponseFromRequest(req, 200, "OK", nil)
	rc.write(res.String())
	select {
	case err := <-sent:
		if err != nil {
			t.Fatalf("SendInfoDTMF: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("SendInfoDTMF did not return after the 200")
	}

	// A refusal is a *switchboard.StatusError.
	go func() { sent <- leg.SendInfoDTMF(context.Background(), '8', 0) }()
	msg, err = gosip.ParseMessage([]byte(rc.readPrefix("INFO ")))
	if err != nil {
		t.Fatal(err)
	}
	res = gosip.NewResponseFromRequest(msg.(*gosip.Request), 415, "Unsupported Media Type", nil)
	rc.write(res.String())
	select {
	case err := <-sent:
		var se *switchboard.StatusError
		if !errors.As(err, &se) || se.Status != 415 {
			t.Fatalf("refused INFO: %v, want a StatusError 415", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("SendInfoDTMF did not return after the 415")
	}
}
