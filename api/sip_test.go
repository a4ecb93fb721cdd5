package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"phoned/auth"
	"phoned/sip"
)

// withRegistrationsRoute mounts GET /api/sip/registrations on the test
// server unless routes() already does.
func withRegistrationsRoute(e *env) {
	if _, pattern := e.api.mux.Handler(httptest.NewRequest("GET", "/api/sip/registrations", nil)); pattern == "" {
		e.api.handle("GET /api/sip/registrations", auth.RoleAgent, e.api.listRegistrations)
	}
}

func TestListRegistrations(t *testing.T) {
	e := newEnv(t, nil)
	withRegistrationsRoute(e)
	ctx := context.Background()
	now := time.Now()
	exp := now.Add(time.Hour).Truncate(time.Second)
	for _, b := range []sip.Binding{
		{Extension: "101", UserID: e.users["alice"].ID, Contact: "sip:101@10.0.0.5:5060", Received: "198.51.100.7:40123",
			Transport: sip.TransportUDP, UserAgent: "Yealink T46U", CallID: "c1", CSeq: 2, ExpiresAt: exp, UpdatedAt: now},
		{Extension: "102", UserID: e.users["bob"].ID, Contact: "sip:102@10.0.0.6:5062;transport=tcp", Received: "198.51.100.8:50000",
			Transport: sip.TransportTCP, CallID: "c2", CSeq: 1, ExpiresAt: exp, UpdatedAt: now},
		{Extension: "102", UserID: e.users["bob"].ID, Contact: "sip:102@10.0.0.9", Received: "198.51.100.9:5060",
			Transport: sip.TransportUDP, CallID: "c3", CSeq: 1, ExpiresAt: now.Add(-time.Second), UpdatedAt: now}, // expired
	} {
		if err := e.st.SaveSIPBinding(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	want101 := map[string]any{"extension": "101", "user": "alice", "contact": "sip:101@10.0.0.5:5060", "received": "198.51.100.7:40123",
		"transport": "udp", "user_agent": "Yealink T46U", "expires_at": exp.UTC().Format(time.RFC3339)}

	for _, role := range []auth.Role{auth.RoleSupervisor, auth.RoleAdmin} {
		all := e.do(role, "GET", "/api/sip/registrations", nil).want(t, http.StatusOK).arr()
		if len(all) != 2 {
			t.Fatalf("%s sees %d registrations, want the 2 live ones: %v", role, len(all), all)
		}
		if got := all[0].(map[string]any); !sameJSON(got, want101) {
			t.Fatalf("%s: first registration %v, want %v", role, got, want101)
		}
		if got := all[1].(map[string]any); got["extension"] != "102" || got["user"] != "bob" || got["transport"] != "tcp" || got["user_agent"] != "" {
			t.Fatalf("%s: second registration %v", role, got)
		}
	}
	mine := e.as("alice", "GET", "/api/sip/registrations", nil).want(t, http.StatusOK).arr()
	if len(mine) != 1 || !sameJSON(mine[0].(map[string]any), want101) {
		t.Fatalf("alice sees %v, want only her own", mine)
	}
	if theirs := e.as("bob", "GET", "/api/sip/registrations", nil).want(t, http.StatusOK).arr(); len(theirs) != 1 || theirs[0].(map[string]any)["extension"] != "102" {
		t.Fatalf("bob sees %v", theirs)
	}
	e.do("", "GET", "/api/sip/registrations", nil).want(t, http.StatusUnauthorized)

	// No binding: an empty array, not null.
	for _, ext := range []string{"101", "102"} {
		e.st.RemoveSIPBindings(ctx, ext)
	}
	if r := e.do(auth.RoleSupervisor, "GET", "/api/sip/registrations", nil).want(t, http.StatusOK); string(r.body) != "[]\n" {
		t.Fatalf("no registrations: %q", r.body)
	}
}

func sameJSON(got, want map[string]any) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

type fakePBX []sip.PBXState

func (f fakePBX) States() []sip.PBXState { return f }

// The PBX registrations: supervisors see all, agents their own extension's;
// without PBX mode, none.
func TestPBXRegistrationStates(t *testing.T) {
	e := newEnv(t, nil)
	if got := e.do(auth.RoleSupervisor, "GET", "/api/sip/pbx", nil).want(t, 200).arr(); len(got) != 0 {
		t.Fatalf("without PBX mode: %v", got)
	}
	e.api.SetPBX(fakePBX{
		{Extension: "101", Username: "101", State: sip.PBXRegistered, LastStatus: 200, ExpiresAt: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)},
		{Extension: "102", Username: "102", State: sip.PBXFailed, LastStatus: 403, LastError: "wrong password"},
	})
	all := e.do(auth.RoleSupervisor, "GET", "/api/sip/pbx", nil).want(t, 200).arr()
	if len(all) != 2 || all[0].(map[string]any)["state"] != "registered" || all[0].(map[string]any)["expires_at"] != "2026-12-02T10:00:00Z" {
		t.Fatalf("supervisor sees %v", all)
	}
	mine := e.as("alice", "GET", "/api/sip/pbx", nil).want(t, 200).arr()
	if len(mine) != 1 || mine[0].(map[string]any)["extension"] != "101" {
		t.Fatalf("alice (101) sees %v", mine)
	}
}
