package api

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"phoned/auth"
	"phoned/comm"
)

// eventsEnv is an API with three calls already made (the SIP engine that
// will write events does not exist yet, so they go through the store):
//   - done: alice's answered call to Paula, from a planned call, transferred;
//   - live: bob's call to Quentin, still in progress;
//   - missed: an inbound call from Paula's number that nobody took.
type eventsEnv struct {
	*env
	paula, quentin     int64
	planned            int64 // alice's planned call to Paula, dialled by done
	done, live, missed int64
	t0                 time.Time
}

func newEventsEnv(t *testing.T) *eventsEnv {
	t.Helper()
	e := &eventsEnv{env: newEnv(t, fixedClock("2026-03-02T12:00:00Z")), t0: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	ctx := context.Background()
	e.paula = e.addPartner(always("", "Paula"))
	e.quentin = e.addPartner(map[string]any{"name": "Quentin", "phones": []map[string]string{{"number": "+32 2 345 67 89"}}})
	e.do(auth.RoleSupervisor, "POST", "/api/purposes", map[string]any{"name": "Renewal"}).want(t, http.StatusCreated)
	r := e.do(auth.RoleSupervisor, "POST", "/api/calls", map[string]any{"partner_id": e.paula, "due": "2026-03-02T09:00:00Z",
		"summary": "Renewal", "user": "alice"}).want(t, http.StatusCreated)
	e.planned = int64(r.obj()["id"].(float64))

	start := func(s comm.EventStart) int64 {
		t.Helper()
		id, err := e.st.StartEvent(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	alice, bob := e.users["alice"].ID, e.users["bob"].ID
	e.done = start(comm.EventStart{Direction: comm.DirectionOut, At: e.t0, UserID: alice, ActivityID: e.planned,
		SIPCallID: "c1@phoned", FromNumber: "101", ToNumber: "+3222123456"})
	must(e.st.AnswerEvent(ctx, e.done, e.t0.Add(4*time.Second)))
	must(e.st.SetEventTarget(ctx, e.done, "102"))
	must(e.st.EndEvent(ctx, e.done, comm.EventEnd{At: e.t0.Add(64 * time.Second), Outcome: comm.OutcomeTransferred,
		SIPStatus: 200, HangupBy: comm.HangupAgent, Quality: json.RawMessage(`{"mos":4.3}`)}))
	e.live = start(comm.EventStart{Direction: comm.DirectionOut, At: e.t0.Add(time.Hour), UserID: bob, PartnerIDs: []int64{e.quentin},
		SIPCallID: "c2@phoned", FromNumber: "102", ToNumber: "+3223456789"})
	e.missed = start(comm.EventStart{Direction: comm.DirectionIn, At: e.t0.Add(2 * time.Hour), PartyE164: "+3222123456",
		FromNumber: "+3222123456", ToNumber: "101"})
	must(e.st.EndEvent(ctx, e.missed, comm.EventEnd{At: e.t0.Add(2*time.Hour + 30*time.Second), Outcome: comm.OutcomeMissed,
		SIPStatus: 480, HangupBy: comm.HangupTimeout}))
	return e
}

// ids returns the ids of a listing, in order.
func ids(list []any) []int64 {
	out := []int64{}
	for _, v := range list {
		out = append(out, int64(v.(map[string]any)["id"].(float64)))
	}
	return out
}

func TestEventJSONHasTheCallsFields(t *testing.T) {
	e := newEventsEnv(t)
	got := e.as("alice", "GET", "/api/events/"+itoa(e.done), nil).want(t, http.StatusOK).obj()
	// alice reads in Brussels time (the default zone).
	want := map[string]any{
		"id": float64(e.done), "type": "phone", "direction": "out", "state": "completed", "outcome": "transferred",
		"user_id": float64(e.users["alice"].ID), "user": "alice",
		"parties":     []any{map[string]any{"partner_id": float64(e.paula), "name": "Paula"}},
		"case_id":     nil,
		"activity_id": float64(e.planned),
		"start":       "2026-03-02T10:00:00+01:00", "answered_at": "2026-03-02T10:00:04+01:00", "end": "2026-03-02T10:01:04+01:00",
		"duration_seconds": float64(60), "purpose": "", "note": "",
		"sip_call_id": "c1@phoned", "from_number": "101", "to_number": "+3222123456", "target": "102",
		"sip_status": float64(200), "hangup_by": "agent", "quality": map[string]any{"mos": 4.3}, "follow_ups": []any{},
	}
	contacts, _ := got["contacts"].([]any)
	delete(got, "contacts")
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("event\n got %v\nwant %v", got, want)
	}
	if len(contacts) != 1 || contacts[0].(map[string]any)["e164"] != "+3222123456" {
		t.Fatalf("contacts %v", contacts)
	}
	// The planned call it dialled is done.
	if c := e.as("alice", "GET", "/api/calls/"+itoa(e.planned), nil).want(t, http.StatusOK).obj(); c["state"] != "done" {
		t.Fatalf("planned call %v", c["state"])
	}
	// A call in progress: no end, no outcome, no hangup_by yet; sam reads New York time.
	live := e.do(auth.RoleSupervisor, "GET", "/api/events/"+itoa(e.live), nil).want(t, http.StatusOK).obj()
	if live["state"] != "in_progress" || live["outcome"] != nil || live["end"] != nil || live["answered_at"] != nil ||
		live["hangup_by"] != nil || live["duration_seconds"] != float64(0) || live["start"] != "2026-03-02T05:00:00-05:00" {
		t.Fatalf("live event %v", live)
	}
	// A missed call nobody took has no user.
	missed := e.do(auth.RoleSupervisor, "GET", "/api/events/"+itoa(e.missed), nil).want(t, http.StatusOK).obj()
	if missed["user_id"] != nil || missed["user"] != "" || missed["outcome"] != "missed" || missed["direction"] != "in" {
		t.Fatalf("missed event %v", missed)
	}
}

func TestEventsVisibilityByRole(t *testing.T) {
	e := newEventsEnv(t)
	// Agents: their own events only; another's is not found, a filter for another is forbidden.
	if got := ids(e.as("alice", "GET", "/api/events", nil).want(t, http.StatusOK).arr()); !reflect.DeepEqual(got, []int64{e.done}) {
		t.Fatalf("alice lists %v", got)
	}
	if got := ids(e.as("bob", "GET", "/api/events?user=bob", nil).want(t, http.StatusOK).arr()); !reflect.DeepEqual(got, []int64{e.live}) {
		t.Fatalf("bob lists %v", got)
	}
	e.as("alice", "GET", "/api/events?user=bob", nil).wantError(t, http.StatusForbidden, "")
	e.as("alice", "GET", "/api/events/"+itoa(e.live), nil).wantError(t, http.StatusNotFound, "")
	e.as("alice", "GET", "/api/events/"+itoa(e.missed), nil).wantError(t, http.StatusNotFound, "")
	e.as("bob", "PATCH", "/api/events/"+itoa(e.done), map[string]any{"note": "mine now"}).wantError(t, http.StatusNotFound, "")
	// Supervisors and admins: everything, newest first.
	all := []int64{e.missed, e.live, e.done}
	for _, role := range []auth.Role{auth.RoleSupervisor, auth.RoleAdmin} {
		if got := ids(e.do(role, "GET", "/api/events", nil).want(t, http.StatusOK).arr()); !reflect.DeepEqual(got, all) {
			t.Fatalf("%s lists %v, want %v", role, got, all)
		}
	}
	e.do("", "GET", "/api/events", nil).wantError(t, http.StatusUnauthorized, "")
	e.do("", "GET", "/api/events/"+itoa(e.done), nil).wantError(t, http.StatusUnauthorized, "")
	e.do(auth.RoleSupervisor, "GET", "/api/events/999", nil).wantError(t, http.StatusNotFound, "")
	e.do(auth.RoleSupervisor, "GET", "/api/events/x", nil).wantError(t, http.StatusNotFound, "")
}

func TestEventsFiltersAndBadQueries(t *testing.T) {
	e := newEventsEnv(t)
	tests := []struct {
		query string
		want  []int64
	}{
		{"partner_id=" + itoa(e.paula), []int64{e.missed, e.done}},
		{"partner_id=" + itoa(e.quentin), []int64{e.live}},
		{"user=alice", []int64{e.done}},
		{"since=2026-03-02T10:00:00Z", []int64{e.missed, e.live}},
		{"since=2026-03-02T11:00:00%2B01:00", []int64{e.missed, e.live}},
		{"state=in_progress", []int64{e.live}},
		{"state=completed&outcome=missed", []int64{e.missed}},
		{"outcome=answered", []int64{}},
		{"limit=1&offset=1", []int64{e.live}},
		{"partner_id=999", []int64{}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			if got := ids(e.do(auth.RoleSupervisor, "GET", "/api/events?"+tt.query, nil).want(t, http.StatusOK).arr()); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
	bad := []struct{ query, field string }{
		{"partner_id=x", "partner_id"},
		{"partner_id=-1", "partner_id"},
		{"user=zed", "user"},
		{"since=yesterday", "since"},
		{"since=2026-03-02", "since"},
		{"state=done", "state"},
		{"outcome=great", "outcome"},
		{"limit=-1", "limit"},
		{"limit=5000", "limit"},
		{"offset=x", "offset"},
	}
	for _, tt := range bad {
		t.Run(tt.query, func(t *testing.T) {
			e.do(auth.RoleSupervisor, "GET", "/api/events?"+tt.query, nil).wantError(t, http.StatusBadRequest, tt.field)
		})
	}
}

func TestWrapUpWithAFollowUp(t *testing.T) {
	e := newEventsEnv(t)
	before := e.counts()
	r := e.as("alice", "PATCH", "/api/events/"+itoa(e.done), map[string]any{
		"outcome": "answered", "note": "  Wants a quote for 20 seats ", "purpose": "renewal",
		"follow_up": map[string]any{"due": "2026-03-05T14:00:00+01:00", "summary": "Send the quote"},
	}).want(t, http.StatusOK)
	got := r.obj()
	if got["outcome"] != "answered" || got["note"] != "Wants a quote for 20 seats" || got["purpose"] != "Renewal" || got["state"] != "completed" {
		t.Fatalf("wrapped-up event %s", r.body)
	}
	fus, _ := got["follow_ups"].([]any)
	if len(fus) != 1 {
		t.Fatalf("follow-ups %v", got["follow_ups"])
	}
	fu := fus[0].(map[string]any)
	if fu["name"] != "Send the quote" || fu["state"] != "open" || fu["due"] != "2026-03-05T14:00:00+01:00" || fu["activity_id"] == nil {
		t.Fatalf("follow-up %v", fu)
	}
	after := e.counts()
	if after["follow_ups"] != before["follow_ups"]+1 || after["phone_calls"] != before["phone_calls"]+1 || after["comm_events"] != before["comm_events"] {
		t.Fatalf("counts %v -> %v", before, after)
	}
	// The follow-up call is in alice's plans: planned, by hand, to Paula, with the purpose.
	call := e.as("alice", "GET", "/api/calls/"+itoa(int64(fu["activity_id"].(float64))), nil).want(t, http.StatusOK).obj()
	if call["state"] != "planned" || call["origin"] != "manual" || call["partner_id"] != float64(e.paula) || call["user"] != "alice" ||
		call["purpose"] != "Renewal" || call["summary"] != "Send the quote" || call["phone"] != "+3222123456" {
		t.Fatalf("follow-up call %v", call)
	}
	// A supervisor wraps up the missed call nobody took: the follow-up is the supervisor's.
	r = e.do(auth.RoleSupervisor, "PATCH", "/api/events/"+itoa(e.missed), map[string]any{
		"note": "Called while we were closed", "follow_up": map[string]any{"due": "2026-03-03T09:00:00Z"}}).want(t, http.StatusOK)
	fu = r.obj()["follow_ups"].([]any)[0].(map[string]any)
	call = e.do(auth.RoleSupervisor, "GET", "/api/calls/"+itoa(int64(fu["activity_id"].(float64))), nil).want(t, http.StatusOK).obj()
	if call["user"] != "sam" || call["summary"] != "Call back Paula" || fu["name"] != "Call back Paula" {
		t.Fatalf("callback %v / %v", fu, call)
	}
	// An empty wrap-up changes nothing and answers the event; "" clears the purpose.
	e.as("alice", "PATCH", "/api/events/"+itoa(e.done), map[string]any{}).want(t, http.StatusOK)
	if got := e.as("alice", "PATCH", "/api/events/"+itoa(e.done), map[string]any{"purpose": ""}).want(t, http.StatusOK).obj(); got["purpose"] != "" {
		t.Fatalf("purpose %v", got["purpose"])
	}
}

func TestWrapUpRefusesBadInputAndWritesNothing(t *testing.T) {
	e := newEventsEnv(t)
	path := "/api/events/" + itoa(e.done)
	due := map[string]any{"due": "2026-03-05T14:00:00+01:00"}
	tests := []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"unknown purpose, with a note and a follow-up", map[string]any{"note": "n", "purpose": "Nope", "follow_up": due}, 400, "purpose"},
		{"unknown outcome", map[string]any{"note": "n", "outcome": "great"}, 400, "outcome"},
		{"empty outcome", map[string]any{"outcome": ""}, 400, "outcome"},
		{"interrupted by hand", map[string]any{"outcome": "interrupted"}, 400, "outcome"},
		{"follow-up without due", map[string]any{"note": "n", "follow_up": map[string]any{"summary": "s"}}, 400, "follow_up.due"},
		{"follow-up due not RFC 3339", map[string]any{"follow_up": map[string]any{"due": "2026-03-05 14:00"}}, 400, "follow_up.due"},
		{"follow-up due a number", `{"follow_up": {"due": 5}}`, 400, "follow_up.due"},
		{"follow-up to an unknown partner", map[string]any{"follow_up": map[string]any{"due": "2026-03-05T14:00:00Z", "partner_id": 999}}, 400, "follow_up.partner_id"},
		{"follow-up summary on two lines", map[string]any{"follow_up": map[string]any{"due": "2026-03-05T14:00:00Z", "summary": "a\nb"}}, 400, "follow_up.summary"},
		{"note too long", map[string]any{"note": strings.Repeat("x", comm.MaxNoteLen+1)}, 400, "note"},
		{"note a number", `{"note": 5}`, 400, "note"},
		{"unknown field", map[string]any{"notes": "n"}, 400, "notes"},
		{"not an object", `[1]`, 400, ""},
		{"malformed JSON", `{"note": `, 400, ""},
	}
	before := e.counts()
	event := e.as("alice", "GET", path, nil).want(t, http.StatusOK).obj()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.as("alice", "PATCH", path, tt.body).wantError(t, tt.status, tt.field)
		})
	}
	// The outcome of a call in progress waits for its end (bob's live call).
	e.as("bob", "PATCH", "/api/events/"+itoa(e.live), map[string]any{"note": "n", "outcome": "answered"}).wantError(t, http.StatusConflict, "outcome")
	e.unchanged(before)
	if again := e.as("alice", "GET", path, nil).obj(); !reflect.DeepEqual(again, event) {
		t.Fatalf("refused wrap-ups changed the event:\n%v\n%v", event, again)
	}
	if live := e.as("bob", "GET", "/api/events/"+itoa(e.live), nil).obj(); live["note"] != "" {
		t.Fatalf("a refused wrap-up wrote the note %q", live["note"])
	}
	// A call from a number two partners share needs the one to call back named.
	ctx := context.Background()
	shared := e.addPartner(map[string]any{"name": "Paula's colleague", "phones": []map[string]string{{"number": "+32 2 212 34 56"}}})
	two, err := e.st.StartEvent(ctx, comm.EventStart{Direction: comm.DirectionIn, UserID: e.users["alice"].ID, PartyE164: "+3222123456"})
	if err != nil {
		t.Fatal(err)
	}
	before = e.counts()
	e.as("alice", "PATCH", "/api/events/"+itoa(two), map[string]any{"note": "n", "follow_up": due}).wantError(t, http.StatusBadRequest, "follow_up.partner_id")
	e.unchanged(before)
	r := e.as("alice", "PATCH", "/api/events/"+itoa(two), map[string]any{"follow_up": map[string]any{"due": "2026-03-05T14:00:00Z", "partner_id": shared}}).
		want(t, http.StatusOK)
	if fu := r.obj()["follow_ups"].([]any); len(fu) != 1 || fu[0].(map[string]any)["name"] != "Call back Paula's colleague" {
		t.Fatalf("follow-ups %v", fu)
	}
}
