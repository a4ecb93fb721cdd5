package api

import (
	"net/http"
	"testing"

	"phoned/auth"
)

func TestCreateAndChangeUsers(t *testing.T) {
	e := newEnv(t, nil)
	r := e.do(auth.RoleAdmin, "POST", "/api/users", map[string]any{
		"login": "carol", "name": "Carol", "role": "agent", "extension": "103", "tz": "Europe/Paris",
		"password": "carol-secret", "sip_password": "sip-secret-103",
	}).want(t, http.StatusCreated)
	u := r.obj()
	if u["login"] != "carol" || u["extension"] != "103" || u["role"] != "agent" || u["tz"] != "Europe/Paris" || u["id"] == nil {
		t.Fatalf("created user: %s", r.body)
	}
	if _, ok := u["password"]; ok {
		t.Fatal("the password is echoed back")
	}
	id := int64(u["id"].(float64))
	// The new user can log in; the password is stored hashed.
	e.do("", "POST", "/api/login", `{"login":"carol","password":"carol-secret"}`).want(t, http.StatusOK)

	bad := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"no login", map[string]any{"role": "agent", "password": "12345678"}, "login"},
		{"bad login", map[string]any{"login": "a b", "role": "agent", "password": "12345678"}, "login"},
		{"no role", map[string]any{"login": "d", "password": "12345678"}, "role"},
		{"unknown role", map[string]any{"login": "d", "role": "root", "password": "12345678"}, "role"},
		{"no password", map[string]any{"login": "d", "role": "agent"}, "password"},
		{"short password", map[string]any{"login": "d", "role": "agent", "password": "short"}, "password"},
		{"bad extension", map[string]any{"login": "d", "role": "agent", "password": "12345678", "extension": "10a"}, "extension"},
		{"header injection in extension", map[string]any{"login": "d", "role": "agent", "password": "12345678", "extension": "101\r\nVia: x"}, "extension"},
		{"bad zone", map[string]any{"login": "d", "role": "agent", "password": "12345678", "tz": "Mars/Olympus"}, "tz"},
		{"Local is no zone", map[string]any{"login": "d", "role": "agent", "password": "12345678", "tz": "Local"}, "tz"},
	}
	before := e.counts()
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			e.do(auth.RoleAdmin, "POST", "/api/users", tt.body).wantError(t, http.StatusBadRequest, tt.field)
		})
	}
	e.do(auth.RoleAdmin, "POST", "/api/users", map[string]any{"login": "Carol", "role": "agent", "password": "12345678"}).
		wantError(t, http.StatusConflict, "")
	e.do(auth.RoleAdmin, "POST", "/api/users", map[string]any{"login": "dave", "role": "agent", "password": "12345678", "extension": "103"}).
		wantError(t, http.StatusConflict, "")
	e.unchanged(before)

	// Admin changes role and SIP password; the user changes their own password.
	e.do(auth.RoleAdmin, "PATCH", "/api/users/"+itoa(id), map[string]any{"role": "supervisor", "sip_password": "new-sip-secret"}).want(t, http.StatusOK)
	got := e.do(auth.RoleAdmin, "GET", "/api/users/"+itoa(id), nil).want(t, http.StatusOK).obj()
	if got["role"] != "supervisor" {
		t.Fatalf("role not changed: %v", got)
	}
	e.do(auth.RoleAdmin, "PATCH", "/api/users/"+itoa(id), map[string]any{"login": "x"}).wantError(t, http.StatusBadRequest, "login")
	e.do(auth.RoleAdmin, "PATCH", "/api/users/999", map[string]any{"name": "x"}).wantError(t, http.StatusNotFound, "")

	alice := e.users["alice"]
	e.do(auth.RoleAgent, "PATCH", "/api/users/"+itoa(alice.ID), map[string]any{"password": "alice-new-pw"}).want(t, http.StatusOK)
	e.do("", "POST", "/api/login", `{"login":"alice","password":"alice-new-pw"}`).want(t, http.StatusOK)
	e.do("", "POST", "/api/login", `{"login":"alice","password":"password-alice"}`).wantError(t, http.StatusUnauthorized, "")
	// Agents see themselves only.
	e.do(auth.RoleAgent, "GET", "/api/users/"+itoa(alice.ID), nil).want(t, http.StatusOK)
	e.do(auth.RoleAgent, "GET", "/api/users/"+itoa(e.users["bob"].ID), nil).wantError(t, http.StatusForbidden, "")
	list := e.do(auth.RoleSupervisor, "GET", "/api/users", nil).want(t, http.StatusOK).arr()
	if len(list) != 5 {
		t.Fatalf("%d users listed, want 5", len(list))
	}
}
