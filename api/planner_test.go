package api

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	"phoned/auth"
)

// addPartner creates a partner through the API and returns its id.
func (e *env) addPartner(body map[string]any) int64 {
	e.t.Helper()
	r := e.do(auth.RoleAdmin, "POST", "/api/partners", body)
	if r.status != http.StatusCreated {
		e.t.Fatalf("create partner: %d %s", r.status, r.body)
	}
	return int64(r.obj()["id"].(float64))
}

func always(tz string, name string) map[string]any {
	return map[string]any{"name": name, "tz": tz, "phones": []map[string]string{{"number": "+32 2 212 34 56"}},
		"call_windows": everyDay("00:00", "24:00")}
}

func everyDay(from, to string) []map[string]string {
	var ws []map[string]string
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
		ws = append(ws, map[string]string{"weekday": d, "from": from, "to": to})
	}
	return ws
}

func runReq(extra map[string]any) map[string]any {
	req := map[string]any{"summary": "Renewal call", "user": "alice", "start": "2017-09-01T09:00", "end": "2017-09-03T10:00",
		"tz": "Europe/Brussels", "duration_minutes": 60}
	for k, v := range extra {
		if v == nil {
			delete(req, k)
			continue
		}
		req[k] = v
	}
	return req
}

// The SPEC's example: 09:00 and 10:00 on 1, 2 and 3 September, six slots.
func TestPlannerSpecExampleSixSlots(t *testing.T) {
	e := newEnv(t, nil)
	id := e.addPartner(always("Europe/Brussels", "Always Available"))
	r := e.do(auth.RoleSupervisor, "POST", "/api/planner/runs", runReq(map[string]any{"repeat": map[string]any{"days_gap": 0}})).
		want(t, http.StatusCreated)
	var res struct {
		RunID *int64 `json:"run_id"`
		Slots int    `json:"slots"`
		Calls []struct {
			ID          int64  `json:"id"`
			PartnerID   int64  `json:"partner_id"`
			PartnerName string `json:"partner_name"`
			Phone       string `json:"phone"`
			Due         string `json:"due"`
			User        string `json:"user"`
			Summary     string `json:"summary"`
			State       string `json:"state"`
		} `json:"calls"`
		Skipped map[string]int `json:"skipped"`
	}
	if err := json.Unmarshal(r.body, &res); err != nil {
		t.Fatal(err)
	}
	want := []string{"2017-09-01T09:00:00+02:00", "2017-09-01T10:00:00+02:00", "2017-09-02T09:00:00+02:00",
		"2017-09-02T10:00:00+02:00", "2017-09-03T09:00:00+02:00", "2017-09-03T10:00:00+02:00"}
	if res.RunID == nil || res.Slots != 6 || len(res.Calls) != 6 {
		t.Fatalf("run: %s", r.body)
	}
	for i, c := range res.Calls {
		if c.Due != want[i] || c.PartnerID != id || c.Phone != "+3222123456" || c.User != "alice" || c.Summary != "Renewal call" || c.State != "planned" || c.ID == 0 {
			t.Fatalf("call %d: %+v, want due %s", i, c, want[i])
		}
	}
	if res.Skipped["no_window"] != 0 || res.Skipped["no_phone"] != 0 {
		t.Fatalf("skipped %v", res.Skipped)
	}
	// The stored run answers with the same calls.
	got := e.do(auth.RoleSupervisor, "GET", "/api/planner/runs/"+itoa(*res.RunID), nil).want(t, http.StatusOK).obj()
	if calls := got["calls"].([]any); len(calls) != 6 || calls[0].(map[string]any)["due"] != want[0] || got["slots"] != float64(6) {
		t.Fatalf("stored run: %v", got)
	}
	// Without repetition the one partner is called once.
	r = e.do(auth.RoleSupervisor, "POST", "/api/planner/runs", runReq(map[string]any{"campaign": "other"})).want(t, http.StatusCreated)
	if n := len(r.obj()["calls"].([]any)); n != 1 {
		t.Fatalf("no repetition: %d calls, want 1", n)
	}
}

func TestPlannerValidationErrorsNameTheField(t *testing.T) {
	e := newEnv(t, nil)
	e.addPartner(always("", "P"))
	if err := e.st.CreatePurpose(context.Background(), &purposeRenewal); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		extra map[string]any
		field string
	}{
		{"missing summary", map[string]any{"summary": nil}, "summary"},
		{"blank summary", map[string]any{"summary": "   "}, "summary"},
		{"unknown user", map[string]any{"user": "nobody"}, "user"},
		{"unknown purpose", map[string]any{"purpose": "Haunting"}, "purpose"},
		{"unknown zone", map[string]any{"tz": "Europe/Atlantis"}, "tz"},
		{"Local is no zone", map[string]any{"tz": "Local"}, "tz"},
		{"malformed start", map[string]any{"start": "2017-09-01 09:00"}, "start"},
		{"impossible start date", map[string]any{"start": "2017-02-30T09:00"}, "start"},
		{"impossible start time", map[string]any{"start": "2017-09-01T25:00"}, "start"},
		{"missing start", map[string]any{"start": nil}, "start"},
		{"malformed end", map[string]any{"end": "tomorrow"}, "end"},
		{"end with a zone offset", map[string]any{"end": "2017-09-03T10:00:00Z"}, "end"},
		{"start after end", map[string]any{"start": "2017-09-04T09:00"}, "end"},
		{"end's time before start's", map[string]any{"end": "2017-09-03T08:00"}, "end"},
		{"zero duration", map[string]any{"duration_minutes": 0}, "duration_minutes"},
		{"duration over a day", map[string]any{"duration_minutes": 1441}, "duration_minutes"},
		{"missing duration", map[string]any{"duration_minutes": nil}, "duration_minutes"},
		{"too many slots (a year of minutes)", map[string]any{"start": "2026-01-01T00:00", "end": "2026-12-31T23:59", "duration_minutes": 1}, "end"},
		{"negative days gap", map[string]any{"repeat": map[string]any{"days_gap": -1}}, "repeat.days_gap"},
		{"days gap over ten years", map[string]any{"repeat": map[string]any{"days_gap": 3651}}, "repeat.days_gap"},
		{"repeat without days gap", map[string]any{"repeat": map[string]any{}}, "repeat.days_gap"},
	}
	before := e.counts()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, dry := range []bool{false, true} {
				req := runReq(tt.extra)
				req["dry_run"] = dry
				e.do(auth.RoleSupervisor, "POST", "/api/planner/runs", req).wantError(t, http.StatusBadRequest, tt.field)
			}
		})
	}
	e.unchanged(before)
	// The limits themselves are fine, and so are past dates.
	e.do(auth.RoleSupervisor, "POST", "/api/planner/runs", runReq(map[string]any{"duration_minutes": 1440, "dry_run": true})).want(t, http.StatusOK)
	e.do(auth.RoleSupervisor, "POST", "/api/planner/runs", runReq(map[string]any{"duration_minutes": 1, "dry_run": true, "end": "2017-09-01T09:10"})).want(t, http.StatusOK)
	e.do(auth.RoleSupervisor, "POST", "/api/planner/runs", runReq(map[string]any{"repeat": map[string]any{"days_gap": 3650}, "dry_run": true})).want(t, http.StatusOK)
}

var purposeRenewal = purposeNamed("Renewal")

func TestPlannerDryRunIsTheRealRunWithoutStoring(t *testing.T) {
	e := newEnv(t, nil)
	for _, n := range []string{"Bravo", "alpha", "Charlie"} {
		e.addPartner(always("America/New_York", n))
	}
	e.addPartner(map[string]any{"name": "No Window", "phones": []map[string]string{{"number": "+32 2 212 34 57"}}})
	e.addPartner(map[string]any{"name": "No Phone", "call_windows": everyDay("09:00", "17:00")})
	e.addPartner(map[string]any{"name": "Nothing"})
	req := runReq(map[string]any{"repeat": map[string]any{"days_gap": 1}})
	req["dry_run"] = true
	before := e.counts()
	dry := e.do(auth.RoleSupervisor, "POST", "/api/planner/runs", req).want(t, http.StatusOK)
	e.unchanged(before)
	req["dry_run"] = false
	real := e.do(auth.RoleSupervisor, "POST", "/api/planner/runs", req).want(t, http.StatusCreated)

	d, r := dry.obj(), real.obj()
	if d["run_id"] != nil || r["run_id"] == nil {
		t.Fatalf("run_id: dry %v, real %v", d["run_id"], r["run_id"])
	}
	rc := r["calls"].([]any)
	for _, c := range rc {
		delete(c.(map[string]any), "id")
	}
	if !reflect.DeepEqual(d["calls"], rc) || d["slots"] != r["slots"] || !reflect.DeepEqual(d["skipped"], r["skipped"]) {
		t.Fatalf("dry run differs from the real one:\n%s\n%s", dry.body, real.body)
	}
	if sk := r["skipped"].(map[string]any); sk["no_window"] != float64(2) || sk["no_phone"] != float64(1) {
		t.Fatalf("skipped %v, want no_window 2 (one lacking both), no_phone 1", sk)
	}
	// Candidate order is by lower-cased name: alpha, Bravo, Charlie.
	names := []string{}
	for _, c := range rc[:3] {
		names = append(names, c.(map[string]any)["partner_name"].(string))
	}
	if !reflect.DeepEqual(names, []string{"alpha", "Bravo", "Charlie"}) {
		t.Fatalf("order %v", names)
	}
	after := e.counts()
	if after["planner_runs"] != before["planner_runs"]+1 || after["phone_calls"] != before["phone_calls"]+len(rc) {
		t.Fatalf("stored %v, before %v", after, before)
	}
}

func TestPlannerDefaultsAndExistingCalls(t *testing.T) {
	e := newEnv(t, nil)
	a := e.addPartner(always("", "Anna"))
	b := e.addPartner(always("", "Bert"))

	// Without user, a user token plans for its own user, in the user's zone
	// (sam: America/New_York).
	r := e.as("sam", "POST", "/api/planner/runs", runReq(map[string]any{"user": nil, "tz": nil, "dry_run": true})).want(t, http.StatusOK)
	c0 := r.obj()["calls"].([]any)[0].(map[string]any)
	if c0["user"] != "sam" || c0["due"] != "2017-09-01T09:00:00-04:00" {
		t.Fatalf("defaults: %v", c0)
	}
	// A token that acts for no user must name one.
	tok := "phd_test-token-without-user-0123456789abcdef"
	if _, err := e.st.CreateToken(context.Background(), authHash(tok), auth.RoleAdmin, 0, "ci"); err != nil {
		t.Fatal(err)
	}
	e.doHeaders("POST", "/api/planner/runs", runReq(map[string]any{"user": nil}), func(h http.Header) { h.Set("Authorization", "Bearer "+tok) }).
		wantError(t, http.StatusBadRequest, "user")

	// A done call of the combination blocks Anna without repetition; a
	// cancelled one does not block Bert; another campaign's call blocks no one.
	e.do(auth.RoleSupervisor, "POST", "/api/calls", map[string]any{"partner_id": a, "due": "2010-01-01T10:00:00Z", "summary": "old", "state": "done", "user": "bob"}).want(t, http.StatusCreated)
	e.do(auth.RoleSupervisor, "POST", "/api/calls", map[string]any{"partner_id": b, "due": "2030-01-01T10:00:00Z", "summary": "x", "state": "cancelled"}).want(t, http.StatusCreated)
	e.do(auth.RoleSupervisor, "POST", "/api/calls", map[string]any{"partner_id": b, "due": "2017-09-01T10:00:00Z", "summary": "x", "campaign": "Spring"}).want(t, http.StatusCreated)
	r = e.do(auth.RoleSupervisor, "POST", "/api/planner/runs", runReq(map[string]any{"dry_run": true})).want(t, http.StatusOK)
	calls := r.obj()["calls"].([]any)
	if len(calls) != 1 || calls[0].(map[string]any)["partner_name"] != "Bert" {
		t.Fatalf("calls %v: want only Bert", calls)
	}
	// In the Spring campaign Bert is the one blocked.
	r = e.do(auth.RoleSupervisor, "POST", "/api/planner/runs", runReq(map[string]any{"dry_run": true, "campaign": "Spring"})).want(t, http.StatusOK)
	calls = r.obj()["calls"].([]any)
	if len(calls) != 1 || calls[0].(map[string]any)["partner_name"] != "Anna" {
		t.Fatalf("calls %v: want only Anna", calls)
	}
	// Criteria: ids, tags, query; unknown ids match nothing.
	r = e.do(auth.RoleSupervisor, "POST", "/api/planner/runs", runReq(map[string]any{"dry_run": true, "campaign": "C", "partners": map[string]any{"ids": []int64{999}}})).want(t, http.StatusOK)
	if n := len(r.obj()["calls"].([]any)); n != 0 {
		t.Fatalf("unknown id planned %d calls", n)
	}
	r = e.do(auth.RoleSupervisor, "POST", "/api/planner/runs", runReq(map[string]any{"dry_run": true, "campaign": "C", "partners": map[string]any{"query": "BER"}})).want(t, http.StatusOK)
	if calls := r.obj()["calls"].([]any); len(calls) != 1 || calls[0].(map[string]any)["partner_name"] != "Bert" {
		t.Fatalf("query: %v", calls)
	}
}

func TestPlannerRunsListAndMissing(t *testing.T) {
	e := newEnv(t, nil)
	e.addPartner(always("", "P"))
	e.do(auth.RoleSupervisor, "POST", "/api/planner/runs", runReq(nil)).want(t, http.StatusCreated)
	list := e.do(auth.RoleSupervisor, "GET", "/api/planner/runs", nil).want(t, http.StatusOK).arr()
	if len(list) != 1 || list[0].(map[string]any)["requester"] != "sam" || list[0].(map[string]any)["user"] != "alice" {
		t.Fatalf("runs %v", list)
	}
	e.do(auth.RoleSupervisor, "GET", "/api/planner/runs/42", nil).wantError(t, http.StatusNotFound, "")
}

func TestUndoAPlannerRun(t *testing.T) {
	e := newEnv(t, nil)
	e.addPartner(always("", "P"))
	r := e.do(auth.RoleSupervisor, "POST", "/api/planner/runs", runReq(map[string]any{"repeat": map[string]any{"days_gap": 0}})).want(t, http.StatusCreated)
	run := itoa(int64(r.obj()["run_id"].(float64)))
	calls := r.obj()["calls"].([]any)
	done := itoa(int64(calls[0].(map[string]any)["id"].(float64)))
	e.as("alice", "PATCH", "/api/calls/"+done, map[string]any{"state": "done"}).want(t, http.StatusOK)
	e.do(auth.RoleAgent, "DELETE", "/api/planner/runs/"+run, nil).wantError(t, http.StatusForbidden, "")
	got := e.do(auth.RoleSupervisor, "DELETE", "/api/planner/runs/"+run, nil).want(t, http.StatusOK).obj()
	if got["calls_removed"] != float64(len(calls)-1) {
		t.Fatalf("undo: %v, want %d calls removed", got, len(calls)-1)
	}
	e.do(auth.RoleSupervisor, "GET", "/api/planner/runs/"+run, nil).wantError(t, http.StatusNotFound, "")
	// The call already made stays, unlinked.
	c := e.as("alice", "GET", "/api/calls/"+done, nil).want(t, http.StatusOK).obj()
	if c["state"] != "done" || c["run_id"] != nil {
		t.Fatalf("the done call after undo: %v", c)
	}
	e.do(auth.RoleSupervisor, "DELETE", "/api/planner/runs/"+run, nil).wantError(t, http.StatusNotFound, "")
}
