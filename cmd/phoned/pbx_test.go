package main

import (
	"strconv"
	"testing"
	"time"

	"phoned/comm"
	"phoned/internal/peertest"
)

// PBX mode end to end with Kamailio as the PBX: phoned registers ann's
// extension 201 there with her SIP password, and a call that reaches
// Kamailio for 201 flows Kamailio → phoned → ann's phone (a SIPp phone
// registered to phoned), with RTP, and back for the BYE.
func TestKamailioPBXModeRegistersAndCallsFlowThroughIt(t *testing.T) {
	kam := peertest.StartKamailio(t, "testdata/kamailio/kamailio.cfg", 90*time.Second)
	r := newCallRig(t, "--pbx", "sip:"+kam.Addr)
	client := newClient(t)
	login(t, client, r.d.url, "ann", "ann-password")

	// phoned registered 201 with the PBX.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var states []map[string]any
		getJSON(t, client, r.d.url+"api/sip/pbx", &states)
		if len(states) == 1 && states[0]["state"] == "registered" && states[0]["extension"] == "201" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("201 did not register with the PBX: %v\nkamailio log:\n%s", states, kam.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	kam.WaitLog(5*time.Second, "REGISTER 201")

	// The PBX's caller calls 201 at Kamailio; Kamailio sends it to phoned,
	// which rings ann's phone.
	port := r.registerPhone()
	phone := r.phone(port, "uas-answer-echo.xml", "-rtp_echo")
	code := peertest.RunSIPp(t, scenario("uac-call.xml"), 60*time.Second, "-i", "127.0.0.1", "-p", strconv.Itoa(peertest.FreePort(t, "127.0.0.1")),
		"-mi", "127.0.0.1", "-mp", strconv.Itoa(sippMediaPort(t)), "-s", "201", "-m", "1", "-timeout", "40s", "-timeout_error", kam.Addr)
	if code != 0 {
		t.Fatalf("the call through Kamailio failed (exit %d)\nkamailio log:\n%s", code, kam.Log())
	}
	if code := phone.Wait(); code != 0 {
		t.Fatalf("ann's phone's side failed (exit %d)", code)
	}
	kam.WaitLog(5*time.Second, "INVITE to registered 201")
	ev := r.lastEvent()
	if ev.Outcome != comm.OutcomeAnswered || ev.Direction != comm.DirectionIn || ev.DurationSeconds() < 5 || len(ev.Parties) != 1 {
		t.Fatalf("event %+v", ev)
	}

	// An agent added while phoned runs is registered with the PBX too.
	r.addAgent("bob", "202")
	kam.WaitLog(15*time.Second, "REGISTER 202")
}

// The other way through Kamailio: ann's click-to-dial to an outside
// number leaves phoned for the PBX, which routes it to its carrier (a SIPp
// UAS echoing RTP); ann's phone (registered to phoned) rings first. The
// hang-up from the API sends both BYEs.
func TestKamailioPBXCarriesClickToDial(t *testing.T) {
	carrier := peertest.FreePort(t, "127.0.0.1")
	kam := peertest.StartKamailio(t, "testdata/kamailio/kamailio.cfg", 90*time.Second, `CARRIER="sip:127.0.0.1:`+strconv.Itoa(carrier)+`"`)
	r := &dialRig{callRig: newCallRig(t, "--pbx", "sip:"+kam.Addr, "--pbx-register=false", "--dial-allow", "+32"), carrierPort: carrier, client: newClient(t)}
	login(t, r.client, r.d.url, "ann", "ann-password")
	port := r.registerPhone()
	phone := r.phone(port, "uas-answer-echo.xml", "-rtp_echo")
	partner := peertest.StartSIPp(t, scenario("uas-answer-echo.xml"), 60*time.Second, "-i", "127.0.0.1", "-p", strconv.Itoa(carrier),
		"-mi", "127.0.0.1", "-mp", strconv.Itoa(sippMediaPort(t)), "-rtp_echo", "-m", "1", "-timeout", "40s", "-timeout_error")
	status, live := r.post("api/dial", map[string]any{"number": "+32 2 200 11 22", "device": "phone"})
	if status != 201 {
		t.Fatalf("POST /api/dial = %d %v", status, live)
	}
	id := live["id"].(string)
	r.waitLive(id, "answered")
	time.Sleep(time.Second) // a second of audio both ways
	if status, body := r.post("api/live-calls/"+id+"/hangup", nil); status != 204 {
		t.Fatalf("hang up = %d %v", status, body)
	}
	if code := partner.Wait(); code != 0 {
		t.Fatalf("the carrier's side failed (exit %d)\nkamailio log:\n%s", code, kam.Log())
	}
	if code := phone.Wait(); code != 0 {
		t.Fatalf("ann's phone failed (exit %d)", code)
	}
	kam.WaitLog(5*time.Second, "INVITE to +3222001122 -> carrier")
	ev := r.lastEvent()
	if ev.Outcome != comm.OutcomeAnswered || ev.Direction != comm.DirectionOut || ev.HangupBy != comm.HangupAgent || ev.ToNumber != "+3222001122" {
		t.Fatalf("event %+v", ev)
	}
}
