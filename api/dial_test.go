package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"phoned/auth"
	"phoned/media"
	"phoned/store"
	"phoned/switchboard"
)

// apiAgents finds agents in the store; their phones are registered where
// the test says.
type apiAgents struct {
	st *store.Store
	mu sync.Mutex
	// contacts are the registered phones by extension.
	contacts map[string][]switchboard.Contact
}

func (a *apiAgents) AgentByExtension(ctx context.Context, ext string) (switchboard.Agent, error) {
	u, err := a.st.UserByExtension(ctx, ext)
	if errors.Is(err, store.ErrNotFound) {
		return switchboard.Agent{}, fmt.Errorf("extension %s: %w", ext, switchboard.ErrNoAgent)
	}
	if err != nil {
		return switchboard.Agent{}, err
	}
	return switchboard.Agent{UserID: u.ID, Login: u.Login, Name: u.Name, Extension: u.Extension}, nil
}

func (a *apiAgents) Contacts(_ context.Context, ext string) ([]switchboard.Contact, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.contacts[ext], nil
}

// ringingDialer places calls that ring until they are cancelled.
type ringingDialer struct {
	mu      sync.Mutex
	reqs    []switchboard.DialRequest
	outside bool
}

func (d *ringingDialer) Dial(_ context.Context, req switchboard.DialRequest) (switchboard.Outgoing, error) {
	d.mu.Lock()
	d.reqs = append(d.reqs, req)
	d.mu.Unlock()
	return ringing{}, nil
}

func (d *ringingDialer) DialsOutside() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.outside
}

func (d *ringingDialer) requests() []switchboard.DialRequest {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]switchboard.DialRequest(nil), d.reqs...)
}

type ringing struct{}

func (ringing) Wait(ctx context.Context, onRinging func(int)) ([]byte, error) {
	onRinging(180)
	<-ctx.Done()
	return nil, ctx.Err()
}
func (ringing) Ack(context.Context) error    { return nil }
func (ringing) Hangup(context.Context) error { return nil }
func (ringing) Gone() <-chan struct{}        { return nil }
func (ringing) SendInfoDTMF(context.Context, rune, time.Duration) error {
	return &switchboard.StatusError{Status: 501, Reason: "Not Implemented"}
}
func (ringing) Refer(context.Context, switchboard.ReferTarget) error {
	return &switchboard.StatusError{Status: 501, Reason: "Not Implemented"}
}
func (ringing) Reinvite(context.Context, []byte) ([]byte, error) {
	return nil, &switchboard.StatusError{Status: 501, Reason: "Not Implemented"}
}

// withCalls gives the API a call engine over the env's store whose calls
// ring for ever; alice (101) and bob (102) have a phone registered.
func (e *env) withCalls(t *testing.T) (*ringingDialer, *apiAgents) {
	t.Helper()
	ports, err := media.NewPortAllocator(media.PortRange{Min: 33000, Max: 33999})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := switchboard.NewDialPlan("BE", []string{"+32"})
	if err != nil {
		t.Fatal(err)
	}
	d := &ringingDialer{outside: true}
	ag := &apiAgents{st: e.st, contacts: map[string][]switchboard.Contact{
		"101": {{URI: "sip:101@desk"}}, "102": {{URI: "sip:102@desk"}}, "103": {{URI: "sip:103@desk"}},
	}}
	eng := switchboard.New(switchboard.Config{RingTimeout: time.Minute, DialPlan: plan}, switchboard.Deps{Agents: ag, Events: e.st, Dialer: d, Ports: ports})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Serve(ctx, 0) }()
	t.Cleanup(func() { cancel(); <-done })
	e.api.SetCalls(eng)
	return d, ag
}

// plannedCall plans a call to a partner for login and returns its id.
func (e *env) plannedCall(login string, partner int64) string {
	e.t.Helper()
	r := e.do(auth.RoleSupervisor, "POST", "/api/calls", map[string]any{"partner_id": partner, "due": "2026-12-02T10:00:00Z", "summary": "Renewal", "user": login})
	r.want(e.t, http.StatusCreated)
	return fmt.Sprint(r.obj()["id"])
}

func TestDialAPlannedCallThenHangUp(t *testing.T) {
	e := newEnv(t, nil)
	d, _ := e.withCalls(t)
	partner := e.addPartner(always("", "Carla Partner"))
	callID := e.plannedCall("alice", partner)

	r := e.as("alice", "POST", "/api/dial", fmt.Sprintf(`{"call_id": %s, "device": "phone"}`, callID)).want(t, http.StatusCreated)
	live := r.obj()
	id, _ := live["id"].(string)
	if live["number"] != "+3222123456" || live["state"] != "dialling" || live["direction"] != "out" || live["user"] != "alice" ||
		live["partner_name"] != "Carla Partner" || id == "" || r.header.Get("Location") != "/api/live-calls/"+id {
		t.Fatalf("live call %s, Location %q", r.body, r.header.Get("Location"))
	}
	// alice's phone rings first, showing whom it will call.
	deadline := time.Now().Add(3 * time.Second)
	for len(d.requests()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if reqs := d.requests(); len(reqs) != 1 || reqs[0].Contact.URI != "sip:101@desk" || reqs[0].FromUser != "+3222123456" || reqs[0].FromName != "Carla Partner" {
		t.Fatalf("dial requests %+v", reqs)
	}
	eventPath := fmt.Sprintf("/api/events/%v", live["event_id"])
	ev := e.as("alice", "GET", eventPath, nil).want(t, http.StatusOK).obj()
	if ev["direction"] != "out" || ev["state"] != "in_progress" || ev["to_number"] != "+3222123456" || ev["from_number"] != "101" ||
		fmt.Sprint(ev["activity_id"]) != callID || len(ev["parties"].([]any)) != 1 {
		t.Fatalf("event %v", ev)
	}

	// Who sees and acts on the live call.
	if got := e.as("alice", "GET", "/api/live-calls", nil).want(t, http.StatusOK).arr(); len(got) != 1 {
		t.Fatalf("alice sees %d live calls", len(got))
	}
	if got := e.as("bob", "GET", "/api/live-calls", nil).want(t, http.StatusOK).arr(); len(got) != 0 {
		t.Fatalf("bob sees %d live calls of others", len(got))
	}
	if got := e.as("sam", "GET", "/api/live-calls", nil).want(t, http.StatusOK).arr(); len(got) != 1 {
		t.Fatalf("the supervisor sees %d live calls", len(got))
	}
	e.as("bob", "POST", "/api/live-calls/"+id+"/hangup", nil).wantError(t, http.StatusNotFound, "")
	e.as("bob", "POST", "/api/live-calls/"+id+"/dtmf", map[string]string{"digits": "1"}).wantError(t, http.StatusNotFound, "")
	e.as("alice", "POST", "/api/live-calls/"+id+"/dtmf", map[string]string{"digits": "1"}).wantError(t, http.StatusConflict, "")
	for _, bad := range []string{`{"digits": "12E"}`, `{"digits": ""}`, `{}`, `{"digits": "1\r\n"}`, `{"digits": "` + strings.Repeat("1", 33) + `"}`} {
		e.as("alice", "POST", "/api/live-calls/"+id+"/dtmf", bad).wantError(t, http.StatusBadRequest, "digits")
	}
	// The attended transfer's routes: another agent's call is not found, a
	// call not answered yet has nothing to consult, transfer or cancel.
	e.as("bob", "POST", "/api/live-calls/"+id+"/consult", map[string]string{"extension": "102"}).wantError(t, http.StatusNotFound, "")
	e.as("alice", "POST", "/api/live-calls/"+id+"/consult", map[string]string{"extension": "102"}).wantError(t, http.StatusConflict, "")
	e.as("alice", "POST", "/api/live-calls/"+id+"/consult", map[string]string{"extension": "101"}).wantError(t, http.StatusBadRequest, "extension")
	e.as("alice", "POST", "/api/live-calls/"+id+"/consult", `{}`).wantError(t, http.StatusBadRequest, "extension")
	e.as("alice", "POST", "/api/live-calls/"+id+"/consult/transfer", nil).wantError(t, http.StatusConflict, "")
	e.as("alice", "POST", "/api/live-calls/"+id+"/consult/cancel", nil).wantError(t, http.StatusConflict, "")
	e.as("alice", "POST", "/api/live-calls/nope/consult/cancel", nil).wantError(t, http.StatusNotFound, "")

	e.as("alice", "POST", "/api/live-calls/"+id+"/hangup", nil).want(t, http.StatusNoContent)
	if got := e.as("alice", "GET", "/api/live-calls", nil).want(t, http.StatusOK).arr(); len(got) != 0 {
		t.Fatalf("%d live calls after the hang-up", len(got))
	}
	e.as("alice", "POST", "/api/live-calls/"+id+"/hangup", nil).wantError(t, http.StatusNotFound, "")
	ev = e.as("alice", "GET", eventPath, nil).want(t, http.StatusOK).obj()
	if ev["state"] != "completed" || ev["outcome"] != "no_answer" || ev["hangup_by"] != "agent" {
		t.Fatalf("event after the hang-up %v", ev)
	}
	if c := e.as("alice", "GET", "/api/calls/"+callID, nil).want(t, http.StatusOK).obj(); c["state"] != "done" {
		t.Fatalf("the planned call is %v after it was dialled", c["state"])
	}
}

func TestDialNumbersExtensionsAndSupervisors(t *testing.T) {
	e := newEnv(t, nil)
	e.withCalls(t)
	// An extension of another agent needs no dial plan.
	r := e.as("alice", "POST", "/api/dial", map[string]string{"number": "102"}).want(t, http.StatusCreated)
	if r.obj()["number"] != "102" {
		t.Fatalf("live call %s", r.body)
	}
	// A number as typed is normalised.
	r = e.as("bob", "POST", "/api/dial", map[string]string{"number": "02 212 34 56"}).want(t, http.StatusCreated)
	if r.obj()["number"] != "+3222123456" {
		t.Fatalf("live call %s", r.body)
	}
	// A supervisor with an extension dials too, even an agent's planned
	// call, and may hang up anyone's call.
	e.do(auth.RoleAdmin, "PATCH", fmt.Sprintf("/api/users/%d", e.users["sam"].ID), map[string]string{"extension": "103"}).want(t, http.StatusOK)
	partner := e.addPartner(always("", "P"))
	e.as("sam", "POST", "/api/dial", fmt.Sprintf(`{"call_id": %s}`, e.plannedCall("alice", partner))).want(t, http.StatusCreated)
	calls := e.as("sam", "GET", "/api/live-calls", nil).want(t, http.StatusOK).arr()
	if len(calls) != 3 {
		t.Fatalf("the supervisor sees %d live calls, want 3", len(calls))
	}
	for _, c := range calls {
		e.as("sam", "POST", "/api/live-calls/"+c.(map[string]any)["id"].(string)+"/hangup", nil).want(t, http.StatusNoContent)
	}
}

// Refused dials answer with words, ring nobody and write nothing.
func TestDialRefusals(t *testing.T) {
	e := newEnv(t, nil)
	d, ag := e.withCalls(t)
	partner := e.addPartner(always("", "P"))
	bobs := e.plannedCall("bob", partner)
	cancelled := e.plannedCall("alice", partner)
	e.as("alice", "PATCH", "/api/calls/"+cancelled, map[string]string{"state": "cancelled"}).want(t, http.StatusOK)
	for _, tc := range []struct {
		name   string
		login  string
		body   string
		status int
		field  string
		words  string
	}{
		{"outside the dial plan", "alice", `{"number": "+33 1 23 45 67 89"}`, 400, "number", "does not start with +32"},
		{"premium-rate elsewhere", "alice", `{"number": "+882 1234 5678"}`, 400, "number", "dial plan"},
		{"CR LF", "alice", `{"number": "+3222123456\r\nX-Evil: 1"}`, 400, "number", "control characters"},
		{"quotes", "alice", `{"number": "\"+3222123456\""}`, 400, "number", "quotes"},
		{"letters", "alice", `{"number": "bob"}`, 400, "number", "not a phone number"},
		{"own extension", "alice", `{"number": "101"}`, 400, "number", "your own extension"},
		{"nothing to dial", "alice", `{"device": "phone"}`, 400, "number", "required"},
		{"another device", "alice", `{"number": "102", "device": "webrtc"}`, 400, "device", "phone"},
		{"unknown field", "alice", `{"number": "102", "to": "x"}`, 400, "to", "unknown"},
		{"unknown planned call", "alice", `{"call_id": 999}`, 400, "call_id", "unknown"},
		{"another agent's planned call", "alice", `{"call_id": ` + bobs + `}`, 403, "call_id", "not yours"},
		{"a cancelled planned call", "alice", `{"call_id": ` + cancelled + `}`, 409, "call_id", "cancelled"},
		{"no extension (admin)", "root", `{"number": "102"}`, 403, "", "extension"},
		{"no extension (supervisor)", "sam", `{"number": "102"}`, 403, "", "extension"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.counts()
			r := e.as(tc.login, "POST", "/api/dial", tc.body)
			r.wantError(t, tc.status, tc.field)
			if msg := r.obj()["error"].(string); !strings.Contains(msg, tc.words) {
				t.Fatalf("error %q does not say %q", msg, tc.words)
			}
			e.unchanged(before)
			if n := len(d.requests()); n != 0 {
				t.Fatalf("a refused dial rang %d phones", n)
			}
		})
	}
	t.Run("no PBX for outside numbers", func(t *testing.T) {
		d.mu.Lock()
		d.outside = false
		d.mu.Unlock()
		defer func() { d.mu.Lock(); d.outside = true; d.mu.Unlock() }()
		r := e.as("alice", "POST", "/api/dial", `{"number": "+32 2 212 34 56"}`)
		r.wantError(t, http.StatusConflict, "")
		if msg := r.obj()["error"].(string); !strings.Contains(msg, "no PBX is configured for outside numbers") {
			t.Fatalf("error %q", msg)
		}
	})
	t.Run("no registered phone", func(t *testing.T) {
		ag.mu.Lock()
		delete(ag.contacts, "101")
		ag.mu.Unlock()
		r := e.as("alice", "POST", "/api/dial", `{"number": "102"}`)
		r.wantError(t, http.StatusConflict, "")
		if msg := r.obj()["error"].(string); !strings.Contains(msg, "no phone registered") || !strings.Contains(msg, "101") {
			t.Fatalf("error %q", msg)
		}
		if n := len(d.requests()); n != 0 {
			t.Fatalf("a refused dial rang %d phones", n)
		}
	})
}

// Without a call engine the call routes say so (503), they do not crash.
func TestCallRoutesWithoutAnEngine(t *testing.T) {
	e := newEnv(t, nil)
	for _, path := range []string{"/api/dial", "/api/live-calls", "/api/live-calls/x/hangup", "/api/live-calls/x/dtmf",
		"/api/live-calls/x/hold", "/api/live-calls/x/resume", "/api/live-calls/x/transfer"} {
		method := "POST"
		if path == "/api/live-calls" {
			method = "GET"
		}
		req := httptest.NewRequest(method, path, strings.NewReader(`{"number":"102"}`))
		req.Header.Set("Authorization", "Bearer "+e.byLogin["alice"])
		rec := httptest.NewRecorder()
		e.api.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "call engine") {
			t.Errorf("%s %s = %d %s", method, path, rec.Code, rec.Body)
		}
	}
	// Agents need a session or token like everywhere else.
	e.do("", "POST", "/api/dial", `{"number":"102"}`).wantError(t, http.StatusUnauthorized, "")
	e.do("", "GET", "/api/live-calls", nil).wantError(t, http.StatusUnauthorized, "")
}
