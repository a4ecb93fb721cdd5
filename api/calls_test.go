package api

import (
	"context"
	"net/http"
	"testing"

	"phoned/auth"
)

func TestHandEnteredCalls(t *testing.T) {
	e := newEnv(t, nil)
	p := e.addPartner(always("", "Paula"))
	r := e.do(auth.RoleSupervisor, "POST", "/api/calls", map[string]any{
		"partner_id": p, "due": "2026-12-02T10:00:00+01:00", "user": "bob", "summary": "Quote follow-up",
		"campaign": "Winter", "source": "web", "medium": "phone", "state": "planned",
	}).want(t, http.StatusCreated)
	c := r.obj()
	if c["id"] == nil || c["user"] != "bob" || c["phone"] != "+3222123456" || c["due"] != "2026-12-02T10:00:00+01:00" || c["origin"] != "manual" {
		t.Fatalf("call %s", r.body)
	}
	id := itoa(int64(c["id"].(float64)))

	before := e.counts()
	bad := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"no partner", map[string]any{"due": "2026-12-02T10:00:00Z", "summary": "s"}, "partner_id"},
		{"unknown partner", map[string]any{"partner_id": 999, "due": "2026-12-02T10:00:00Z", "summary": "s"}, "partner_id"},
		{"no due", map[string]any{"partner_id": p, "summary": "s"}, "due"},
		{"due not RFC 3339", map[string]any{"partner_id": p, "due": "2026-12-02 10:00", "summary": "s"}, "due"},
		{"no summary", map[string]any{"partner_id": p, "due": "2026-12-02T10:00:00Z"}, "summary"},
		{"bad state", map[string]any{"partner_id": p, "due": "2026-12-02T10:00:00Z", "summary": "s", "state": "maybe"}, "state"},
		{"unknown user", map[string]any{"partner_id": p, "due": "2026-12-02T10:00:00Z", "summary": "s", "user": "zed"}, "user"},
		{"unknown purpose", map[string]any{"partner_id": p, "due": "2026-12-02T10:00:00Z", "summary": "s", "purpose": "x"}, "purpose"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			e.do(auth.RoleSupervisor, "POST", "/api/calls", tt.body).wantError(t, http.StatusBadRequest, tt.field)
		})
	}
	// Agents plan for themselves only.
	e.do(auth.RoleAgent, "POST", "/api/calls", map[string]any{"partner_id": p, "due": "2026-12-02T10:00:00Z", "summary": "s", "user": "bob"}).
		wantError(t, http.StatusForbidden, "")
	e.unchanged(before)

	// bob sees his call, alice does not.
	e.as("bob", "GET", "/api/calls/"+id, nil).want(t, http.StatusOK)
	e.as("alice", "GET", "/api/calls/"+id, nil).wantError(t, http.StatusNotFound, "")
	if list := e.as("alice", "GET", "/api/calls", nil).want(t, http.StatusOK).arr(); len(list) != 0 {
		t.Fatalf("alice lists %d calls of others", len(list))
	}
	e.as("alice", "GET", "/api/calls?user=bob", nil).wantError(t, http.StatusForbidden, "")
	if list := e.do(auth.RoleSupervisor, "GET", "/api/calls?user=bob&state=planned", nil).want(t, http.StatusOK).arr(); len(list) != 1 {
		t.Fatalf("supervisor lists %d of bob's calls", len(list))
	}
	e.as("bob", "PATCH", "/api/calls/"+id, map[string]any{"state": "done"}).want(t, http.StatusOK)
	e.as("bob", "PATCH", "/api/calls/"+id, map[string]any{"state": "finished"}).wantError(t, http.StatusBadRequest, "state")
	if got := e.as("bob", "GET", "/api/calls/"+id, nil).obj(); got["state"] != "done" {
		t.Fatalf("state %v", got["state"])
	}
}

func TestPurposes(t *testing.T) {
	e := newEnv(t, nil)
	e.do(auth.RoleSupervisor, "POST", "/api/purposes", map[string]any{"name": "Renewal"}).want(t, http.StatusCreated)
	e.do(auth.RoleSupervisor, "POST", "/api/purposes", map[string]any{"name": "renewal"}).wantError(t, http.StatusConflict, "")
	e.do(auth.RoleSupervisor, "POST", "/api/purposes", map[string]any{"name": " "}).wantError(t, http.StatusBadRequest, "name")
	list := e.do(auth.RoleAgent, "GET", "/api/purposes", nil).want(t, http.StatusOK).arr()
	if len(list) != 1 || list[0].(map[string]any)["name"] != "Renewal" {
		t.Fatalf("purposes %v", list)
	}
	// A run with the purpose copies its stored name.
	e.addPartner(always("", "P"))
	r := e.do(auth.RoleSupervisor, "POST", "/api/planner/runs", runReq(map[string]any{"purpose": "RENEWAL", "dry_run": true})).want(t, http.StatusOK)
	if c := r.obj()["calls"].([]any)[0].(map[string]any); c["purpose"] != "Renewal" {
		t.Fatalf("purpose %v", c["purpose"])
	}
}

func TestQueueIsTodayInTheAgentsZone(t *testing.T) {
	// 23:30 UTC on 1 December is already 2 December in Brussels (alice's
	// zone, the default) but still 1 December in London (bob's).
	e := newEnv(t, fixedClock("2026-12-01T23:30:00Z"))
	p := e.addPartner(always("", "Quentin"))
	for _, c := range []struct{ user, due string }{
		{"alice", "2026-12-02T08:00:00+01:00"}, // today for alice
		{"alice", "2026-12-01T22:00:00+01:00"}, // yesterday for alice
		{"alice", "2026-12-03T00:00:00+01:00"}, // tomorrow for alice
		{"bob", "2026-12-01T09:00:00Z"},        // today for bob
		{"bob", "2026-12-02T09:00:00Z"},        // tomorrow for bob
	} {
		e.do(auth.RoleSupervisor, "POST", "/api/calls", map[string]any{"partner_id": p, "due": c.due, "summary": "s", "user": c.user}).want(t, http.StatusCreated)
	}
	q := e.as("alice", "GET", "/api/queue", nil).want(t, http.StatusOK).arr()
	if len(q) != 1 || q[0].(map[string]any)["due"] != "2026-12-02T08:00:00+01:00" {
		t.Fatalf("alice's queue %v", q)
	}
	q = e.as("bob", "GET", "/api/queue", nil).want(t, http.StatusOK).arr()
	if len(q) != 1 || q[0].(map[string]any)["due"] != "2026-12-01T09:00:00Z" {
		t.Fatalf("bob's queue %v", q)
	}
	// Add to my queue (due now), then remove it.
	r := e.as("alice", "POST", "/api/queue", map[string]any{"partner_id": p}).want(t, http.StatusCreated)
	added := r.obj()
	if added["summary"] != "Call Quentin" || added["user"] != "alice" {
		t.Fatalf("added %s", r.body)
	}
	if q := e.as("alice", "GET", "/api/queue", nil).arr(); len(q) != 2 {
		t.Fatalf("queue after add: %d", len(q))
	}
	id := itoa(int64(added["id"].(float64)))
	e.as("bob", "DELETE", "/api/queue/"+id, nil).wantError(t, http.StatusNotFound, "")
	e.as("alice", "DELETE", "/api/queue/"+id, nil).want(t, http.StatusNoContent)
	e.as("alice", "DELETE", "/api/queue/"+id, nil).wantError(t, http.StatusConflict, "")
	if q := e.as("alice", "GET", "/api/queue", nil).arr(); len(q) != 1 {
		t.Fatalf("queue after remove: %d", len(q))
	}
	e.as("alice", "POST", "/api/queue", map[string]any{"partner_id": 12345}).wantError(t, http.StatusBadRequest, "partner_id")
}

// An agent-role token that acts for no user sees no one's calls.
func TestAgentTokenWithoutUserSeesNoCalls(t *testing.T) {
	e := newEnv(t, nil)
	p := e.addPartner(always("", "Paula"))
	e.do(auth.RoleSupervisor, "POST", "/api/calls", map[string]any{"partner_id": p, "due": "2026-12-02T10:00:00Z", "summary": "s", "user": "bob"}).want(t, http.StatusCreated)
	tok := "phd_agent-token-without-user-0123456789abcdef"
	if _, err := e.st.CreateToken(context.Background(), authHash(tok), auth.RoleAgent, 0, "kiosk"); err != nil {
		t.Fatal(err)
	}
	e.doHeaders("GET", "/api/calls", nil, func(h http.Header) { h.Set("Authorization", "Bearer "+tok) }).wantError(t, http.StatusForbidden, "")
}
