package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"phoned/auth"
	"phoned/comm"
	"phoned/store"
)

// env is a running API over a fresh SQLite file, with a token per role.
type env struct {
	t       testing.TB
	st      *store.Store
	srv     *httptest.Server
	api     *Server
	tokens  map[auth.Role]string // the token of the first user of each role
	byLogin map[string]string    // every user's token
	users   map[string]*auth.User
	logBuf  *bytes.Buffer
}

func newEnv(t testing.TB, now func() time.Time) *env {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "phoned.db")
	st, err := store.Open(ctx, path, store.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	logBuf := &bytes.Buffer{}
	brussels, _ := time.LoadLocation("Europe/Brussels")
	a := New(Config{DefaultZone: brussels, Region: "BE", Now: now}, st, slog.New(slog.NewTextHandler(logBuf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	e := &env{t: t, st: st, srv: srv, api: a, tokens: map[auth.Role]string{}, byLogin: map[string]string{}, users: map[string]*auth.User{}, logBuf: logBuf}
	for _, u := range []struct {
		login string
		role  auth.Role
		ext   string
		tz    string
	}{
		{"root", auth.RoleAdmin, "", ""},
		{"sam", auth.RoleSupervisor, "", "America/New_York"},
		{"alice", auth.RoleAgent, "101", ""},
		{"bob", auth.RoleAgent, "102", "Europe/London"},
	} {
		nu := store.NewUser{User: auth.User{Login: u.login, Name: u.login, Role: u.role, Extension: u.ext, TZ: u.tz, Active: true},
			PasswordHash: auth.HashPassword("password-" + u.login)}
		if err := st.CreateUser(ctx, &nu); err != nil {
			t.Fatal(err)
		}
		e.users[u.login] = &nu.User
		tok := auth.NewSecret("phd_")
		if _, err := st.CreateToken(ctx, auth.SecretHash(tok), u.role, nu.ID, ""); err != nil {
			t.Fatal(err)
		}
		if _, taken := e.tokens[u.role]; !taken { // the first user of a role speaks for it (agent: alice)
			e.tokens[u.role] = tok
		}
		e.byLogin[u.login] = tok
	}
	return e
}

// resp is a response with its decoded JSON body.
type resp struct {
	status int
	header http.Header
	body   []byte
	json   any
}

// obj returns the body as a JSON object.
func (r resp) obj() map[string]any {
	m, _ := r.json.(map[string]any)
	return m
}

// arr returns the body as a JSON array.
func (r resp) arr() []any {
	a, _ := r.json.([]any)
	return a
}

// do sends a request as a role's token ("" = no authentication). body may
// be a string (sent as is) or a value (sent as JSON).
func (e *env) do(role auth.Role, method, path string, body any) resp {
	e.t.Helper()
	return e.doHeaders(method, path, body, func(h http.Header) {
		if role != "" {
			h.Set("Authorization", "Bearer "+e.tokens[role])
		}
	})
}

// as sends a request with a given user's token.
func (e *env) as(login, method, path string, body any) resp {
	e.t.Helper()
	return e.doHeaders(method, path, body, func(h http.Header) { h.Set("Authorization", "Bearer "+e.byLogin[login]) })
}

func (e *env) doHeaders(method, path string, body any, hdr func(http.Header)) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if hdr != nil {
		hdr(req.Header)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := resp{status: res.StatusCode, header: res.Header, body: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.json); err != nil {
			e.t.Fatalf("%s %s: answer is not JSON (%v): %q", method, path, err, raw)
		}
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			e.t.Errorf("%s %s: Content-Type %q", method, path, ct)
		}
	}
	if r.status >= 500 {
		e.t.Errorf("%s %s: status %d: %s", method, path, r.status, raw)
	}
	return r
}

// want fails the test unless r has the status.
func (r resp) want(t testing.TB, status int) resp {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

// wantError fails unless r is an error with the status and field, and a
// non-empty message.
func (r resp) wantError(t testing.TB, status int, field string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	m := r.obj()
	if msg, _ := m["error"].(string); msg == "" {
		t.Fatalf("error body without a message: %s", r.body)
	}
	if got, _ := m["field"].(string); got != field {
		t.Fatalf("field %q, want %q: %s", got, field, r.body)
	}
}

// counts returns every table's row count.
func (e *env) counts() map[string]int {
	e.t.Helper()
	c, err := e.st.TableCounts(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// unchanged fails the test when the stored row counts differ from before.
func (e *env) unchanged(before map[string]int) {
	e.t.Helper()
	after := e.counts()
	for k, v := range before {
		if after[k] != v {
			e.t.Fatalf("table %s has %d rows, %d before: a refused request wrote data", k, after[k], v)
		}
	}
}

func fixedClock(s string) func() time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return func() time.Time { return t }
}

func purposeNamed(name string) comm.Purpose { return comm.Purpose{Name: name} }

func authHash(tok string) []byte { return auth.SecretHash(tok) }

// countsF is counts for a fuzz iteration's own *testing.T.
func (e *env) countsF(t testing.TB) map[string]int {
	c, err := e.st.TableCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}
