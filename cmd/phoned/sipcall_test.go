package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"phoned/auth"
	"phoned/comm"
	"phoned/crm"
	"phoned/internal/peertest"
	"phoned/store"
)

// The daemon end to end with real SIP peers on loopback: SIPp stands in
// for the PBX (a trusted address) calling extension 201, and for the
// agent's phone registered to phoned's registrar.

var sipLine = regexp.MustCompile(`SIP address (127\.0\.0\.1:\d+)\)`)

// callRig is a running daemon with agent ann (extension 201) and a partner
// whose number is the one the SIPp caller sends.
type callRig struct {
	t       *testing.T
	d       *daemon
	db      string
	sipAddr string
	partner int64
}

func newCallRig(t *testing.T, extra ...string) *callRig {
	peertest.Require(t, "sipp")
	db := filepath.Join(t.TempDir(), "phoned.db")
	ctx := context.Background()
	st, err := store.Open(ctx, db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	nu := store.NewUser{User: auth.User{Login: "ann", Name: "Ann Agent", Role: auth.RoleAgent, Extension: "201", Active: true},
		PasswordHash: auth.HashPassword("ann-password"), SIPPassword: "secret201"}
	if err := st.CreateUser(ctx, &nu); err != nil {
		t.Fatal(err)
	}
	p := &crm.Partner{Name: "Carla Caller", Phones: []crm.Phone{{Number: "+32 2 200 11 22"}}}
	if err := p.Normalize("BE"); err != nil {
		t.Fatal(err)
	}
	if err := st.CreatePartners(ctx, []*crm.Partner{p}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	d := startServe(t, db, append([]string{"--trust", "127.0.0.1", "--rtp-ports", "31000-31999"}, extra...)...)
	m := sipLine.FindStringSubmatch(d.stdout.String())
	if m == nil {
		t.Fatalf("no SIP address in %q", d.stdout.String())
	}
	return &callRig{t: t, d: d, db: db, sipAddr: m[1], partner: p.ID}
}

func scenario(name string) string { return filepath.Join("testdata", "sipp", name) }

// registerPhone registers extension 201 from a free port and returns it.
func (r *callRig) registerPhone() int {
	port := peertest.FreePort(r.t, "127.0.0.1")
	if code := peertest.RunSIPp(r.t, scenario("uac-register.xml"), 20*time.Second, "-i", "127.0.0.1", "-p", strconv.Itoa(port),
		"-s", "201", "-au", "201", "-ap", "secret201", "-m", "1", "-timeout", "10s", "-timeout_error", r.sipAddr); code != 0 {
		r.t.Fatalf("REGISTER 201 to phoned failed (exit %d)", code)
	}
	return port
}

// phone starts the registered phone (on port) with a callee scenario.
func (r *callRig) phone(port int, sc string, extra ...string) *peertest.SIPp {
	args := append([]string{"-i", "127.0.0.1", "-p", strconv.Itoa(port), "-mi", "127.0.0.1",
		"-mp", strconv.Itoa(sippMediaPort(r.t)), "-m", "1", "-timeout", "40s", "-timeout_error"}, extra...)
	return peertest.StartSIPp(r.t, scenario(sc), 60*time.Second, args...)
}

// call runs the PBX's caller scenario against extension 201 of phoned.
func (r *callRig) call(sc string) int { return r.startCall(sc).Wait() }

// startCall starts the PBX's caller scenario against extension 201 of
// phoned, for tests that act while the call is up.
func (r *callRig) startCall(sc string) *peertest.SIPp {
	return peertest.StartSIPp(r.t, scenario(sc), 60*time.Second, "-i", "127.0.0.1", "-p", strconv.Itoa(peertest.FreePort(r.t, "127.0.0.1")),
		"-mi", "127.0.0.1", "-mp", strconv.Itoa(sippMediaPort(r.t)), "-s", "201", "-m", "1", "-timeout", "40s", "-timeout_error", r.sipAddr)
}

// lastEvent reads the newest communication event from the database.
func (r *callRig) lastEvent() comm.Event {
	r.t.Helper()
	st, err := store.Open(context.Background(), r.db, store.Options{})
	if err != nil {
		r.t.Fatal(err)
	}
	defer st.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		evs, err := st.Events(context.Background(), store.EventFilter{Limit: 1})
		if err != nil {
			r.t.Fatal(err)
		}
		if len(evs) == 1 && evs[0].State == comm.EventCompleted {
			return evs[0]
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("no completed event: %+v", evs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSIPpPBXCallsARegisteredPhoneWithAudio(t *testing.T) {
	r := newCallRig(t)
	port := r.registerPhone()
	phone := r.phone(port, "uas-answer-echo.xml", "-rtp_echo")
	if code := r.call("uac-call.xml"); code != 0 {
		t.Fatalf("the PBX's call failed (exit %d)", code)
	}
	if code := phone.Wait(); code != 0 {
		t.Fatalf("the phone's side failed (exit %d)", code)
	}
	ev := r.lastEvent()
	if ev.Direction != comm.DirectionIn || ev.Outcome != comm.OutcomeAnswered || ev.AnsweredAt.IsZero() || ev.DurationSeconds() < 5 ||
		ev.HangupBy != comm.HangupCaller || ev.SIPCallID == "" || ev.FromNumber != "+3222001122" || ev.ToNumber != "201" || ev.UserLogin != "ann" {
		t.Fatalf("event %+v", ev)
	}
	if len(ev.Parties) != 1 || ev.Parties[0].PartnerID != r.partner {
		t.Fatalf("the caller was not identified: parties %+v", ev.Parties)
	}
	// phoned counted the RTP both ways: the caller's 7 s of PCMA in, and
	// the phone's echo of it back.
	var q map[string]struct {
		PacketsIn  uint64 `json:"packets_in"`
		PacketsOut uint64 `json:"packets_out"`
	}
	if err := json.Unmarshal(ev.Quality, &q); err != nil {
		t.Fatalf("quality %s: %v", ev.Quality, err)
	}
	if q["caller"].PacketsIn < 200 || q["agent"].PacketsIn < 200 || q["agent"].PacketsOut < 200 || q["caller"].PacketsOut < 200 {
		t.Fatalf("RTP counts %s: want about 236 packets each way", ev.Quality)
	}
}

func TestSIPpBusyPhone(t *testing.T) {
	r := newCallRig(t)
	port := r.registerPhone()
	phone := r.phone(port, "uas-busy.xml")
	if code := r.call("uac-busy.xml"); code != 0 {
		t.Fatalf("the PBX did not get 486 (exit %d)", code)
	}
	phone.Wait()
	if ev := r.lastEvent(); ev.Outcome != comm.OutcomeBusy || ev.SIPStatus != 486 {
		t.Fatalf("event %+v", ev)
	}
}

func TestSIPpCallerCancelsWhileItRings(t *testing.T) {
	r := newCallRig(t)
	port := r.registerPhone()
	phone := r.phone(port, "uas-noanswer.xml")
	if code := r.call("uac-cancel.xml"); code != 0 {
		t.Fatalf("the PBX's CANCEL failed (exit %d)", code)
	}
	if code := phone.Wait(); code != 0 {
		t.Fatalf("the phone was not cancelled (exit %d)", code)
	}
	if ev := r.lastEvent(); ev.Outcome != comm.OutcomeMissed || ev.HangupBy != comm.HangupCaller {
		t.Fatalf("event %+v", ev)
	}
}

func TestSIPpUnansweredCallIsMissed(t *testing.T) {
	r := newCallRig(t, "--ring-timeout", "2s")
	port := r.registerPhone()
	phone := r.phone(port, "uas-noanswer.xml")
	if code := r.call("uac-unavailable.xml"); code != 0 {
		t.Fatalf("the PBX did not get 480 (exit %d)", code)
	}
	if code := phone.Wait(); code != 0 {
		t.Fatalf("the phone was not cancelled after the ring timeout (exit %d)", code)
	}
	if ev := r.lastEvent(); ev.Outcome != comm.OutcomeMissed || ev.SIPStatus != 480 || ev.HangupBy != comm.HangupTimeout {
		t.Fatalf("event %+v", ev)
	}
}

func TestSIPpNoRegisteredPhoneIsMissed(t *testing.T) {
	r := newCallRig(t)
	if code := r.call("uac-unavailable.xml"); code != 0 {
		t.Fatalf("the PBX did not get 480 (exit %d)", code)
	}
	if ev := r.lastEvent(); ev.Outcome != comm.OutcomeMissed || ev.SIPStatus != 480 || len(ev.Parties) != 1 {
		t.Fatalf("event %+v", ev)
	}
}

// A SIP trunk addresses its calls to the account phoned registered
// (--pbx-user trunk) with the number called in To: phoned rings that
// extension.
func TestSIPpTrunkCallIsRoutedByTheNumberInTo(t *testing.T) {
	unused := peertest.FreePort(t, "127.0.0.1")
	r := newCallRig(t, "--pbx", "sip:127.0.0.1:"+strconv.Itoa(unused), "--pbx-user", "trunk", "--pbx-password", "trunk-secret", "--pbx-register=false")
	port := r.registerPhone()
	phone := r.phone(port, "uas-answer-echo.xml", "-rtp_echo")
	if code := r.call("uac-call-trunk.xml"); code != 0 {
		t.Fatalf("the trunk's call failed (exit %d)", code)
	}
	if code := phone.Wait(); code != 0 {
		t.Fatalf("ann's phone failed (exit %d)", code)
	}
	ev := r.lastEvent()
	if ev.Outcome != comm.OutcomeAnswered || ev.ToNumber != "201" || len(ev.Parties) != 1 || ev.Parties[0].PartnerID != r.partner {
		t.Fatalf("event %+v", ev)
	}
}
