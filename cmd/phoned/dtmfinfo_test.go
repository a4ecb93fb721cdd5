package main

import (
	"net/http"
	"testing"

	"phoned/comm"
)

// The PBX calls 201 from a phone that offers no telephone-event; ann's
// phone answers. ann's DTMF reaches the caller as SIP INFO, one per
// digit; the caller's own DTMF INFO is answered 200, other INFO bodies
// 415; the caller hangs up.
func TestSIPpDTMFBySIPInfo(t *testing.T) {
	r := newDialRig(t)
	port := r.registerPhone()
	phone := r.phone(port, "uas-answer-echo.xml", "-rtp_echo")
	caller := r.startCall("uac-call-info.xml")
	id := r.answeredCall()

	if status, body := r.post("api/live-calls/"+id+"/dtmf", map[string]any{"digits": "5#"}); status != http.StatusNoContent {
		t.Fatalf("dtmf = %d %v", status, body)
	}
	if code := caller.Wait(); code != 0 {
		t.Fatalf("the caller's side failed (exit %d)", code)
	}
	if code := phone.Wait(); code != 0 {
		t.Fatalf("the phone's side failed (exit %d)", code)
	}
	if ev := r.lastEvent(); ev.Outcome != comm.OutcomeAnswered || ev.HangupBy != comm.HangupCaller {
		t.Fatalf("event %+v", ev)
	}
}
