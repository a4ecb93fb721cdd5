package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"phoned/api"
	"phoned/auth"
	"phoned/store"
)

// newDBWithUsers creates a database in a temp dir holding the given users
// (login → role), closes it and returns its path.
func newDBWithUsers(t *testing.T, users map[string]auth.Role) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "phoned.db")
	st, err := store.Open(t.Context(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for login, role := range users {
		nu := store.NewUser{User: auth.User{Login: login, Name: login, Role: role, Active: true}, PasswordHash: "x"}
		if err := st.CreateUser(t.Context(), &nu); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// createToken runs "phoned token create" and returns the token it printed,
// checking that it printed that one line and nothing else.
func createToken(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), append([]string{"token", "create"}, args...), &stdout, &stderr); err != nil {
		t.Fatalf("token create %q: %v (stderr %q)", args, err, stderr.String())
	}
	out := stdout.String()
	tok, ok := strings.CutSuffix(out, "\n")
	if !ok || strings.ContainsAny(tok, "\n \t") || !strings.HasPrefix(tok, "phd_") || len(tok) < len("phd_")+40 {
		t.Fatalf("token create printed %q, want one line holding a phd_ token", out)
	}
	if stderr.Len() > 0 {
		t.Errorf("token create wrote %q to stderr, want nothing", stderr.String())
	}
	return tok
}

func TestTokenCreatePrintsOnlyTheToken(t *testing.T) {
	db := newDBWithUsers(t, map[string]auth.Role{"alice": auth.RoleAgent})
	a := createToken(t, "--db", db, "--role", "admin")
	b := createToken(t, "--db", db, "--role", "agent", "--user", "alice", "--name", "alice's phone")
	if a == b {
		t.Errorf("two token create runs printed the same token %q", a)
	}
}

func TestTokenCreateErrors(t *testing.T) {
	db := newDBWithUsers(t, map[string]auth.Role{"alice": auth.RoleAgent, "sam": auth.RoleSupervisor})
	tests := []struct {
		name string
		args []string
		want []string // substrings of the error message
	}{
		{name: "unknown role", args: []string{"--db", db, "--role", "boss"}, want: []string{"--role", "boss"}},
		{name: "no role", args: []string{"--db", db}, want: []string{"--role"}},
		{name: "unknown user", args: []string{"--db", db, "--role", "agent", "--user", "nobody"}, want: []string{"--user", "not found"}},
		{name: "role above the agent's", args: []string{"--db", db, "--role", "supervisor", "--user", "alice"}, want: []string{"--role supervisor", "alice", "agent"}},
		{name: "role above the supervisor's", args: []string{"--db", db, "--role", "admin", "--user", "sam"}, want: []string{"--role admin", "sam", "supervisor"}},
		{name: "empty db", args: []string{"--db", "", "--role", "admin"}, want: []string{"--db"}},
		{name: "unknown flag", args: []string{"--db", db, "--role", "admin", "--expires", "1h"}, want: []string{"expires"}},
		{name: "positional argument", args: []string{"--db", db, "--role", "admin", "extra"}, want: []string{"no arguments", "extra"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), append([]string{"token", "create"}, tt.args...), &stdout, &stderr)
			if err == nil {
				t.Fatalf("token create %q succeeded (stdout %q), want an error", tt.args, stdout.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout = %q after an error, want nothing", stdout.String())
			}
		})
	}
}

// TestTokenCreateUsesPHONED_DB checks that the database defaults to
// PHONED_DB, like serve's.
func TestTokenCreateUsesPHONED_DB(t *testing.T) {
	db := newDBWithUsers(t, nil)
	var stdout bytes.Buffer
	env := envOf(map[string]string{"PHONED_DB": db})
	if err := tokenCreate(t.Context(), []string{"--role", "admin"}, env, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(stdout.String())
	h := openAPI(t, db)
	if got := apiStatus(t, h, http.MethodGet, "/api/users", tok); got != http.StatusOK {
		t.Errorf("GET /api/users with a token made over PHONED_DB = %d, want 200", got)
	}
}

// openAPI opens the database at path as serve does and returns the API.
func openAPI(t *testing.T, path string) http.Handler {
	t.Helper()
	st, err := store.Open(t.Context(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return api.New(api.Config{}, st, slog.New(slog.DiscardHandler)).Handler()
}

// apiStatus sends one request with a bearer token ("" for none) and
// returns the status.
func apiStatus(t *testing.T, h http.Handler, method, path, token string) int {
	t.Helper()
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader("{}")
	}
	req := httptest.NewRequestWithContext(context.WithoutCancel(t.Context()), method, path, body)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

func TestTokenCreateTokensAuthenticate(t *testing.T) {
	db := newDBWithUsers(t, map[string]auth.Role{"alice": auth.RoleAgent})
	admin := createToken(t, "--db", db, "--role", "admin", "--name", "ci")
	agent := createToken(t, "--db", db, "--role", "agent")
	alice := createToken(t, "--db", db, "--role", "agent", "--user", "alice")
	h := openAPI(t, db)

	tests := []struct {
		name, method, path, token string
		want                      int
	}{
		{"admin token lists users", http.MethodGet, "/api/users", admin, http.StatusOK},
		{"wrong token", http.MethodGet, "/api/users", "phd_" + strings.Repeat("A", 43), http.StatusUnauthorized},
		{"token with a changed character", http.MethodGet, "/api/users", admin[:len(admin)-1] + flip(admin[len(admin)-1]), http.StatusUnauthorized},
		{"no token", http.MethodGet, "/api/users", "", http.StatusUnauthorized},
		{"agent token may not list users", http.MethodGet, "/api/users", agent, http.StatusForbidden},
		{"agent token may not run the planner", http.MethodPost, "/api/planner/runs", agent, http.StatusForbidden},
		{"user's agent token may not run the planner", http.MethodPost, "/api/planner/runs", alice, http.StatusForbidden},
		{"agent token reads partners", http.MethodGet, "/api/partners", agent, http.StatusOK},
		{"user's agent token reads its queue", http.MethodGet, "/api/queue", alice, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := apiStatus(t, h, tt.method, tt.path, tt.token); got != tt.want {
				t.Errorf("%s %s = %d, want %d", tt.method, tt.path, got, tt.want)
			}
		})
	}
}

// flip returns a different base64url character than c.
func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}
