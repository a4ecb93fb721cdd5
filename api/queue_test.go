package api

import (
	"encoding/json"
	"net/http"
	"testing"

	"phoned/auth"
)

// spanJSON is a window span as mustJSON renders it once decoded into a
// map (keys sorted), for comparing.
func spanJSON(start, end string) string { return `{"end":"` + end + `","start":"` + start + `"}` }

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Each queue item carries its partner's windows on the agent's day and
// the next one, read in the partner's zone and shown in the agent's.
func TestQueueItemsCarryCallWindows(t *testing.T) {
	// Wednesday 2 December 2026, 10:30 in Brussels (alice's zone).
	e := newEnv(t, fixedClock("2026-12-02T09:30:00Z"))
	office := e.addPartner(map[string]any{"name": "Office", "call_windows": []map[string]string{
		{"weekday": "wed", "from": "09:00", "to": "12:00"}, {"weekday": "fri", "from": "14:00", "to": "16:00"}}})
	none := e.addPartner(map[string]any{"name": "Nowin"})
	// Thursday morning in Tokyo is Wednesday night in Brussels.
	tokyo := e.addPartner(map[string]any{"name": "Tokyo", "tz": "Asia/Tokyo", "call_windows": []map[string]string{
		{"weekday": "thu", "from": "07:00", "to": "08:30"}}})
	// 03:00-04:00 in New York was 09:00-10:00 in Brussels: over for today.
	early := e.addPartner(map[string]any{"name": "Early", "tz": "America/New_York", "call_windows": []map[string]string{
		{"weekday": "wed", "from": "03:00", "to": "04:00"}, {"weekday": "thu", "from": "03:00", "to": "04:00"}}})
	for _, c := range []struct {
		partner int64
		due     string
	}{
		{office, "2026-12-02T11:00:00+01:00"},
		{none, "2026-12-02T12:00:00+01:00"},
		{tokyo, "2026-12-02T13:00:00+01:00"},
		{early, "2026-12-02T14:00:00+01:00"},
		{office, "2026-12-02T15:00:00+01:00"},
	} {
		e.do(auth.RoleSupervisor, "POST", "/api/calls", map[string]any{"partner_id": c.partner, "due": c.due, "summary": "s", "user": "alice"}).
			want(t, http.StatusCreated)
	}
	officeToday := spanJSON("2026-12-02T09:00:00+01:00", "2026-12-02T12:00:00+01:00")
	tokyoToday := spanJSON("2026-12-02T23:00:00+01:00", "2026-12-03T00:30:00+01:00")
	want := []struct {
		name, today, next string
	}{
		{"Office", "[" + officeToday + "]", officeToday}, // open now
		{"Nowin", "[]", "null"},
		{"Tokyo", "[" + tokyoToday + "]", tokyoToday}, // whole, past the agent's midnight
		{"Early", "[" + spanJSON("2026-12-02T09:00:00+01:00", "2026-12-02T10:00:00+01:00") + "]",
			spanJSON("2026-12-03T09:00:00+01:00", "2026-12-03T10:00:00+01:00")}, // rolled to tomorrow
		{"Office", "[" + officeToday + "]", officeToday},
	}
	q := e.as("alice", "GET", "/api/queue", nil).want(t, http.StatusOK).arr()
	if len(q) != len(want) {
		t.Fatalf("queue of %d, want %d: %v", len(q), len(want), q)
	}
	for i, w := range want {
		item := q[i].(map[string]any)
		if item["partner_name"] != w.name {
			t.Fatalf("item %d is %v, want %s", i, item["partner_name"], w.name)
		}
		if got := mustJSON(t, item["windows_today"]); got != w.today {
			t.Errorf("%s: windows_today %s, want %s", w.name, got, w.today)
		}
		next, present := item["next_window"]
		if got := mustJSON(t, next); !present || got != w.next {
			t.Errorf("%s: next_window %s (present %v), want %s", w.name, got, present, w.next)
		}
		if item["due"] == nil || item["summary"] != "s" {
			t.Errorf("%s: the call's own fields are gone: %v", w.name, item)
		}
	}
}

// An agent whose day differs from the partner's sees the partner's
// windows that fall on the agent's day, in the agent's zone.
func TestQueueWindowsFollowTheAgentsDay(t *testing.T) {
	// 23:30 UTC on Tuesday 1 December: still Tuesday in London (bob's
	// zone), already Wednesday in Brussels (alice's).
	e := newEnv(t, fixedClock("2026-12-01T23:30:00Z"))
	p := e.addPartner(map[string]any{"name": "Brussels office", "tz": "Europe/Brussels", "call_windows": []map[string]string{
		{"weekday": "tue", "from": "09:00", "to": "12:00"}, {"weekday": "wed", "from": "09:00", "to": "12:00"}}})
	e.do(auth.RoleSupervisor, "POST", "/api/calls", map[string]any{"partner_id": p, "due": "2026-12-01T23:45:00Z", "summary": "s", "user": "bob"}).
		want(t, http.StatusCreated)
	e.do(auth.RoleSupervisor, "POST", "/api/calls", map[string]any{"partner_id": p, "due": "2026-12-02T09:00:00Z", "summary": "s", "user": "alice"}).
		want(t, http.StatusCreated)
	wed := spanJSON("2026-12-02T08:00:00Z", "2026-12-02T11:00:00Z")
	for _, c := range []struct{ user, today, next string }{
		{"bob", "[" + spanJSON("2026-12-01T08:00:00Z", "2026-12-01T11:00:00Z") + "]", wed},
		{"alice", "[" + spanJSON("2026-12-02T09:00:00+01:00", "2026-12-02T12:00:00+01:00") + "]",
			spanJSON("2026-12-02T09:00:00+01:00", "2026-12-02T12:00:00+01:00")},
	} {
		q := e.as(c.user, "GET", "/api/queue", nil).want(t, http.StatusOK).arr()
		if len(q) != 1 {
			t.Fatalf("%s: queue %v", c.user, q)
		}
		item := q[0].(map[string]any)
		if got := mustJSON(t, item["windows_today"]); got != c.today {
			t.Errorf("%s: windows_today %s, want %s", c.user, got, c.today)
		}
		if got := mustJSON(t, item["next_window"]); got != c.next {
			t.Errorf("%s: next_window %s, want %s", c.user, got, c.next)
		}
	}
}

// A queue of hundreds of calls reads its partners' windows in one go.
func BenchmarkQueueWithWindows(b *testing.B) {
	e := newEnv(b, fixedClock("2026-12-02T09:30:00Z"))
	for i := range 300 {
		p := e.addPartner(map[string]any{"name": "P" + itoa(int64(i)), "tz": []string{"", "Asia/Tokyo", "America/New_York"}[i%3],
			"call_windows": []map[string]string{{"weekday": "wed", "from": "09:00", "to": "12:00"}, {"weekday": "fri", "from": "14:00", "to": "16:00"}}})
		e.do(auth.RoleSupervisor, "POST", "/api/calls", map[string]any{"partner_id": p, "due": "2026-12-02T15:00:00+01:00", "summary": "s", "user": "alice"}).
			want(b, http.StatusCreated)
	}
	for b.Loop() {
		if q := e.as("alice", "GET", "/api/queue", nil).arr(); len(q) != 300 {
			b.Fatalf("queue of %d", len(q))
		}
	}
}
