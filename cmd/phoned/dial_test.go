package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"phoned/comm"
	"phoned/internal/peertest"
	"phoned/store"
)

// Click-to-dial end to end with real SIP peers: ann's SIPp phone,
// registered as 201, rings and answers first; then phoned calls the
// partner's number through a SIPp carrier standing in as the PBX.

// dialRig is a callRig whose PBX is at carrierPort, with ann logged in.
type dialRig struct {
	*callRig
	carrierPort int
	client      *http.Client
}

func newDialRig(t *testing.T, extra ...string) *dialRig {
	carrier := peertest.FreePort(t, "127.0.0.1")
	// The SIPp carrier answers calls only: it is a trunk that knows phoned
	// by its address, so phoned does not register with it (unless a test
	// asks for it again after these flags).
	args := append([]string{"--pbx", "sip:127.0.0.1:" + strconv.Itoa(carrier), "--pbx-register=false", "--dial-allow", "+32"}, extra...)
	r := &dialRig{callRig: newCallRig(t, args...), carrierPort: carrier, client: newClient(t)}
	login(t, r.client, r.d.url, "ann", "ann-password")
	return r
}

// post sends a JSON body as ann and returns the status and decoded body.
func (r *dialRig) post(path string, body any) (int, map[string]any) {
	r.t.Helper()
	status, b := do(r.t, r.client, http.MethodPost, r.d.url+path, body)
	var m map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			r.t.Fatalf("POST %s: %v in %s", path, err, b)
		}
	}
	return status, m
}

// liveState polls ann's live call until it is in state want.
func (r *dialRig) waitLive(id, want string) {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var calls []map[string]any
		getJSON(r.t, r.client, r.d.url+"api/live-calls", &calls)
		for _, c := range calls {
			if c["id"] == id && c["state"] == want {
				return
			}
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("live call %s never reached %s: %v", id, want, calls)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestSIPpClickToDialThroughThePBX(t *testing.T) {
	r := newDialRig(t)
	port := r.registerPhone()
	phone := r.phone(port, "uas-answer-echo.xml", "-rtp_echo")
	carrier := peertest.StartSIPp(t, scenario("uas-answer-echo.xml"), 60*time.Second, "-i", "127.0.0.1", "-p", strconv.Itoa(r.carrierPort),
		"-mi", "127.0.0.1", "-mp", strconv.Itoa(sippMediaPort(t)), "-rtp_echo", "-m", "1", "-timeout", "40s", "-timeout_error")

	status, planned := r.post("api/calls", map[string]any{"partner_id": r.partner, "due": time.Now().UTC().Format(time.RFC3339), "summary": "Renewal"})
	if status != http.StatusCreated {
		t.Fatalf("plan a call = %d %v", status, planned)
	}
	callID := int64(planned["id"].(float64))
	status, live := r.post("api/dial", map[string]any{"call_id": callID, "device": "phone"})
	if status != http.StatusCreated || live["number"] != "+3222001122" || live["state"] != "dialling" {
		t.Fatalf("POST /api/dial = %d %v", status, live)
	}
	id := live["id"].(string)
	r.waitLive(id, "answered") // ann's phone answered, then the carrier

	if status, body := r.post("api/live-calls/"+id+"/hangup", nil); status != http.StatusNoContent {
		t.Fatalf("hang up = %d %v", status, body)
	}
	if code := phone.Wait(); code != 0 {
		t.Fatalf("ann's phone failed (exit %d)", code)
	}
	if code := carrier.Wait(); code != 0 {
		t.Fatalf("the carrier failed (exit %d)", code)
	}
	ev := r.lastEvent()
	if ev.Direction != comm.DirectionOut || ev.Outcome != comm.OutcomeAnswered || ev.AnsweredAt.IsZero() || ev.HangupBy != comm.HangupAgent ||
		ev.SIPStatus != 200 || ev.ToNumber != "+3222001122" || ev.FromNumber != "201" || ev.UserLogin != "ann" || ev.ActivityID != callID || ev.SIPCallID == "" {
		t.Fatalf("event %+v", ev)
	}
	if len(ev.Parties) != 1 || ev.Parties[0].PartnerID != r.partner {
		t.Fatalf("parties %+v", ev.Parties)
	}
	var c map[string]any
	getJSON(t, r.client, fmt.Sprintf("%sapi/calls/%d", r.d.url, callID), &c)
	if c["state"] != "done" {
		t.Fatalf("the planned call is %v after it was dialled", c["state"])
	}
}

// A number outside the dial plan is refused before anything rings: no
// INVITE to the phone or to the PBX, no event.
func TestSIPpDialOutsideTheDialPlanIsRefused(t *testing.T) {
	const password = "trunk-secret-42"
	r := newDialRig(t, "--pbx-user", "trunk1", "--pbx-password", password, "--pbx-register=true")
	port := r.registerPhone()
	var quiet []net.PacketConn // the phone's port and the PBX's: nothing may arrive
	for _, p := range []int{port, r.carrierPort} {
		c, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		quiet = append(quiet, c)
	}
	for _, number := range []string{"+33 1 23 45 67 89", "+882 1234 5678", "+3222001122\r\nX-Evil: 1"} {
		status, body := r.post("api/dial", map[string]any{"number": number})
		if status != http.StatusBadRequest || body["field"] != "number" || body["error"] == "" {
			t.Fatalf("POST /api/dial %q = %d %v, want 400 on number", number, status, body)
		}
	}
	// PBX mode registers the trunk with the PBX (REGISTER, and its
	// retransmissions as nobody answers): that is expected; an INVITE is not.
	for _, c := range quiet {
		deadline := time.Now().Add(500 * time.Millisecond)
		buf := make([]byte, 2048)
		for {
			c.SetReadDeadline(deadline)
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				break
			}
			if !strings.HasPrefix(string(buf[:n]), "REGISTER ") {
				t.Fatalf("a refused dial sent SIP to %s: %q", c.LocalAddr(), buf[:n])
			}
		}
	}
	st, err := store.Open(context.Background(), r.db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if evs, err := st.Events(context.Background(), store.EventFilter{}); err != nil || len(evs) != 0 {
		t.Fatalf("events after refused dials: %+v, %v", evs, err)
	}
	if logs := r.d.stderr.String() + r.d.stdout.String(); strings.Contains(logs, password) || !strings.Contains(logs, "pbx_user=trunk1") {
		t.Fatalf("the log shows the PBX password, or not the PBX user:\n%s", logs)
	}
}
