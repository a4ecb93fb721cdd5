package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"phoned/auth"
	"phoned/comm"
	"phoned/internal/peertest"
	"phoned/store"
)

// Mid-call control end to end: hold and resume re-INVITE the remote
// party, a SIPp that answers them.

// answeredCall waits for ann's only live call to be answered and returns
// its id.
func (r *dialRig) answeredCall() string {
	r.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var calls []map[string]any
		getJSON(r.t, r.client, r.d.url+"api/live-calls", &calls)
		if len(calls) == 1 && calls[0]["state"] == "answered" {
			return calls[0]["id"].(string)
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("no answered live call: %v", calls)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The PBX calls 201, ann's phone answers; ann holds the caller (re-INVITE
// sendonly, answered recvonly) and resumes (sendrecv); the caller hangs up.
func TestSIPpHoldAndResumeTheCaller(t *testing.T) {
	r := newDialRig(t)
	port := r.registerPhone()
	phone := r.phone(port, "uas-answer-echo.xml", "-rtp_echo")
	caller := r.startCall("uac-call-hold.xml")
	id := r.answeredCall()

	if status, body := r.post("api/live-calls/"+id+"/resume", nil); status != http.StatusConflict {
		t.Fatalf("resume of a call not held = %d %v, want 409", status, body)
	}
	if status, body := r.post("api/live-calls/"+id+"/hold", nil); status != http.StatusNoContent {
		t.Fatalf("hold = %d %v", status, body)
	}
	r.waitLive(id, "held")
	if status, body := r.post("api/live-calls/"+id+"/hold", nil); status != http.StatusConflict {
		t.Fatalf("second hold = %d %v, want 409", status, body)
	}
	if status, body := r.post("api/live-calls/"+id+"/resume", nil); status != http.StatusNoContent {
		t.Fatalf("resume = %d %v", status, body)
	}
	r.waitLive(id, "answered")
	if code := caller.Wait(); code != 0 {
		t.Fatalf("the caller's side failed (exit %d)", code)
	}
	if code := phone.Wait(); code != 0 {
		t.Fatalf("the phone's side failed (exit %d)", code)
	}
	if ev := r.lastEvent(); ev.Outcome != comm.OutcomeAnswered || ev.HangupBy != comm.HangupCaller {
		t.Fatalf("event %+v", ev)
	}
	if status, _ := r.post("api/live-calls/"+id+"/hold", nil); status != http.StatusNotFound {
		t.Fatalf("hold of an ended call = %d, want 404", status)
	}
}

// The caller holds phoned itself (re-INVITE sendonly): phoned answers
// recvonly, then sendrecv when it resumes; the call goes on to its BYE.
func TestSIPpCallerHoldsPhoned(t *testing.T) {
	r := newCallRig(t)
	port := r.registerPhone()
	phone := r.phone(port, "uas-answer-echo.xml", "-rtp_echo")
	if code := r.call("uac-call-holds.xml"); code != 0 {
		t.Fatalf("the caller's hold failed (exit %d)", code)
	}
	if code := phone.Wait(); code != 0 {
		t.Fatalf("the phone's side failed (exit %d)", code)
	}
	if ev := r.lastEvent(); ev.Outcome != comm.OutcomeAnswered || ev.HangupBy != comm.HangupCaller {
		t.Fatalf("event %+v", ev)
	}
}

// Click-to-dial to the partner, whose SIPp (uas-refer.xml) accepts a
// REFER: ann forwards the partner to another number; the partner answers
// 202, NOTIFYs 100 then 200, and phoned leaves the call with BYEs.
func TestSIPpForwardByREFER(t *testing.T) {
	r := newDialRig(t)
	port := r.registerPhone()
	phone := r.phone(port, "uas-answer-echo.xml", "-rtp_echo")
	referLog := filepath.Join(t.TempDir(), "refer.log")
	partner := peertest.StartSIPp(t, scenario("uas-refer.xml"), 60*time.Second, "-i", "127.0.0.1", "-p", strconv.Itoa(r.carrierPort),
		"-mi", "127.0.0.1", "-mp", strconv.Itoa(sippMediaPort(t)), "-rtp_echo", "-m", "1", "-timeout", "40s", "-timeout_error",
		"-trace_logs", "-log_file", referLog)
	status, live := r.post("api/dial", map[string]any{"number": "+3222001122", "device": "phone"})
	if status != http.StatusCreated {
		t.Fatalf("POST /api/dial = %d %v", status, live)
	}
	id := live["id"].(string)
	r.waitLive(id, "answered")

	if status, body := r.post("api/live-calls/"+id+"/transfer", map[string]any{"number": "+33 1 23 45 67 89"}); status != http.StatusBadRequest || body["field"] != "number" {
		t.Fatalf("forward outside the dial plan = %d %v", status, body)
	}
	if status, body := r.post("api/live-calls/"+id+"/transfer", map[string]any{"number": "02 555 66 77"}); status != http.StatusAccepted {
		t.Fatalf("forward = %d %v", status, body)
	}
	if code := partner.Wait(); code != 0 {
		t.Fatalf("the partner's side failed (exit %d)", code)
	}
	if code := phone.Wait(); code != 0 {
		t.Fatalf("ann's phone failed (exit %d)", code)
	}
	// phoned's PBX (the carrier, --pbx) carries the forwarded call.
	wantLogged(t, referLog, "REFER to <sip:+3225556677@127.0.0.1:"+strconv.Itoa(r.carrierPort)+">")
	ev := r.lastEvent()
	if ev.Outcome != comm.OutcomeForwarded || ev.Target != "+3225556677" || ev.HangupBy != comm.HangupAgent {
		t.Fatalf("event %+v", ev)
	}
}

// addAgent adds an agent with an extension to the running daemon's
// database and registers a SIPp phone for it; it returns the phone's port.
func (r *callRig) addAgent(login, ext string) int {
	r.t.Helper()
	st, err := store.Open(context.Background(), r.db, store.Options{})
	if err != nil {
		r.t.Fatal(err)
	}
	nu := store.NewUser{User: auth.User{Login: login, Name: login, Role: auth.RoleAgent, Extension: ext, Active: true},
		PasswordHash: auth.HashPassword(login + "-password"), SIPPassword: "secret" + ext}
	err = st.CreateUser(context.Background(), &nu)
	st.Close()
	if err != nil {
		r.t.Fatal(err)
	}
	port := peertest.FreePort(r.t, "127.0.0.1")
	if code := peertest.RunSIPp(r.t, scenario("uac-register.xml"), 20*time.Second, "-i", "127.0.0.1", "-p", strconv.Itoa(port),
		"-s", ext, "-au", ext, "-ap", "secret"+ext, "-m", "1", "-timeout", "10s", "-timeout_error", r.sipAddr); code != 0 {
		r.t.Fatalf("REGISTER %s to phoned failed (exit %d)", ext, code)
	}
	return port
}

// The PBX's caller takes no REFER (501): phoned calls bob's phone (202)
// itself, bridges the caller to it and lets ann's phone go; the caller's
// BYE later ends bob's leg too.
func TestSIPpTransferFallsBackWhenTheCallerRefusesREFER(t *testing.T) {
	r := newDialRig(t)
	annPort := r.registerPhone()
	bobPort := r.addAgent("bob", "202")
	ann := r.phone(annPort, "uas-answer-echo.xml", "-rtp_echo")
	bob := r.phone(bobPort, "uas-answer-echo.xml", "-rtp_echo")
	caller := r.startCall("uac-call-norefer.xml")
	id := r.answeredCall()
	if status, body := r.post("api/live-calls/"+id+"/transfer", map[string]any{"extension": "202"}); status != http.StatusAccepted {
		t.Fatalf("transfer = %d %v", status, body)
	}
	if code := ann.Wait(); code != 0 {
		t.Fatalf("ann's phone got no BYE (exit %d)", code)
	}
	if code := caller.Wait(); code != 0 {
		t.Fatalf("the caller's side failed (exit %d)", code)
	}
	if code := bob.Wait(); code != 0 {
		t.Fatalf("bob's phone failed (exit %d)", code)
	}
	ev := r.lastEvent()
	if ev.Outcome != comm.OutcomeTransferred || ev.Target != "202" || ev.HangupBy != comm.HangupCaller {
		t.Fatalf("event %+v", ev)
	}
}

// Attended transfer end to end: ann clicks to dial the partner (a SIPp
// carrier), consults bob (202, a registered SIPp phone) while the partner
// is held, then transfers: the partner gets a REFER whose Refer-To names
// bob's dialog with Replaces; after its NOTIFY 200 phoned hangs up the
// partner, bob and ann.
func TestSIPpAttendedTransferByREFERWithReplaces(t *testing.T) {
	r := newDialRig(t)
	annPort := r.registerPhone()
	bobPort := r.addAgent("bob", "202")
	ann := r.phone(annPort, "uas-answer-echo.xml", "-rtp_echo")
	bob := r.phone(bobPort, "uas-answer-echo.xml", "-rtp_echo")
	referLog := filepath.Join(t.TempDir(), "refer.log")
	partner := peertest.StartSIPp(t, scenario("uas-refer-replaces.xml"), 60*time.Second, "-i", "127.0.0.1", "-p", strconv.Itoa(r.carrierPort),
		"-mi", "127.0.0.1", "-mp", strconv.Itoa(sippMediaPort(t)), "-rtp_echo", "-m", "1", "-timeout", "40s", "-timeout_error",
		"-trace_logs", "-log_file", referLog)
	status, live := r.post("api/dial", map[string]any{"number": "+3222001122", "device": "phone"})
	if status != http.StatusCreated {
		t.Fatalf("POST /api/dial = %d %v", status, live)
	}
	id := live["id"].(string)
	r.waitLive(id, "answered")

	if status, body := r.post("api/live-calls/"+id+"/consult/transfer", nil); status != http.StatusConflict {
		t.Fatalf("transfer without a consult = %d %v", status, body)
	}
	if status, body := r.post("api/live-calls/"+id+"/consult", map[string]any{"extension": "202"}); status != http.StatusAccepted {
		t.Fatalf("consult = %d %v", status, body)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		var c map[string]any
		var calls []map[string]any
		getJSON(t, r.client, r.d.url+"api/live-calls", &calls)
		for _, lc := range calls {
			if lc["id"] == id {
				c = lc
			}
		}
		if co, _ := c["consult"].(map[string]any); co != nil && co["state"] == "answered" && c["state"] == "held" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the consult was not answered: %v", c)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if status, body := r.post("api/live-calls/"+id+"/consult/transfer", nil); status != http.StatusAccepted {
		t.Fatalf("complete the transfer = %d %v", status, body)
	}
	if code := partner.Wait(); code != 0 {
		t.Fatalf("the partner's side failed (exit %d): no REFER with Replaces?", code)
	}
	for name, p := range map[string]*peertest.SIPp{"ann's phone": ann, "bob's phone": bob} {
		if code := p.Wait(); code != 0 {
			t.Fatalf("%s got no BYE (exit %d)", name, code)
		}
	}
	wantLogged(t, referLog, "?Replaces=")
	ev := r.lastEvent()
	if ev.Outcome != comm.OutcomeTransferred || ev.Target != "202" {
		t.Fatalf("event %+v", ev)
	}
}

// The agent's own phone transfers the call with its transfer key: a REFER
// in the dialog phoned placed to it. phoned accepts it (202), transfers
// the caller to bob (202) — the PBX's caller refuses REFER, so phoned
// bridges — and tells the phone "100 Trying" then "200 OK" in NOTIFYs
// before its BYE.
func TestSIPpPhoneTransfersWithREFER(t *testing.T) {
	r := newDialRig(t)
	annPort := r.registerPhone()
	bobPort := r.addAgent("bob", "202")
	csv := filepath.Join(t.TempDir(), "target.csv")
	if err := os.WriteFile(csv, []byte("SEQUENTIAL\n202;\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ann := r.phone(annPort, "uas-answer-refer.xml", "-rtp_echo", "-inf", csv)
	bob := r.phone(bobPort, "uas-answer-echo.xml", "-rtp_echo")
	caller := r.startCall("uac-call-norefer.xml")
	if code := ann.Wait(); code != 0 {
		t.Fatalf("ann's phone: REFER, NOTIFYs or BYE went wrong (exit %d)", code)
	}
	if code := caller.Wait(); code != 0 {
		t.Fatalf("the caller's side failed (exit %d)", code)
	}
	if code := bob.Wait(); code != 0 {
		t.Fatalf("bob's phone failed (exit %d)", code)
	}
	ev := r.lastEvent()
	if ev.Outcome != comm.OutcomeTransferred || ev.Target != "202" {
		t.Fatalf("event %+v", ev)
	}
}

// wantLogged fails the test unless the SIPp log at path (-trace_logs, the
// scenario's <log> lines) holds want.
func wantLogged(t *testing.T, path, want string) {
	t.Helper()
	logged, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(logged), want) {
		t.Fatalf("SIPp logged %q, want %q", logged, want)
	}
}
