package api

import (
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"phoned/auth"
)

// Every /api route except login refuses anonymous and wrongly
// authenticated requests with a JSON 401.
func TestEveryRouteNeedsAuthentication(t *testing.T) {
	e := newEnv(t, nil)
	routes := []string{
		"POST /api/logout", "GET /api/me", "GET /api/users", "POST /api/users", "GET /api/users/1", "PATCH /api/users/1",
		"GET /api/partners", "POST /api/partners", "POST /api/partners/import", "GET /api/partners/1", "PUT /api/partners/1",
		"DELETE /api/partners/1", "GET /api/calls", "POST /api/calls", "GET /api/calls/1", "PATCH /api/calls/1",
		"GET /api/purposes", "POST /api/purposes", "POST /api/planner/runs", "GET /api/planner/runs", "GET /api/planner/runs/1", "DELETE /api/planner/runs/1",
		"GET /api/queue", "POST /api/queue", "DELETE /api/queue/1", "GET /api/events", "GET /api/events/1", "PATCH /api/events/1", "GET /api/sip/registrations", "GET /api/sip/pbx",
	}
	before := e.counts()
	for _, rt := range routes {
		method, path, _ := strings.Cut(rt, " ")
		t.Run(rt, func(t *testing.T) {
			e.do("", method, path, `{}`).wantError(t, http.StatusUnauthorized, "")
			e.doHeaders(method, path, `{}`, func(h http.Header) { h.Set("Authorization", "Bearer phd_not-a-token") }).
				wantError(t, http.StatusUnauthorized, "")
			e.doHeaders(method, path, `{}`, func(h http.Header) { h.Set("Authorization", "Basic YTpi") }).
				wantError(t, http.StatusUnauthorized, "")
			e.doHeaders(method, path, `{}`, func(h http.Header) { h.Set("Cookie", SessionCookie+"=forged") }).
				wantError(t, http.StatusUnauthorized, "")
		})
	}
	e.unchanged(before)
}

func TestRolesAreChecked(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		role         auth.Role
		method, path string
		body         string
	}{
		{auth.RoleAgent, "GET", "/api/users", ""},
		{auth.RoleAgent, "POST", "/api/users", `{"login":"x","role":"admin","password":"12345678"}`},
		{auth.RoleSupervisor, "POST", "/api/users", `{"login":"x","role":"admin","password":"12345678"}`},
		{auth.RoleAgent, "POST", "/api/planner/runs", `{"summary":"s","start":"2026-01-01T09:00","end":"2026-01-01T10:00","duration_minutes":60}`},
		{auth.RoleAgent, "GET", "/api/planner/runs", ""},
		{auth.RoleAgent, "POST", "/api/partners/import", "name\nX\n"},
		{auth.RoleAgent, "DELETE", "/api/partners/1", ""},
		{auth.RoleAgent, "POST", "/api/purposes", `{"name":"Sales"}`},
		{auth.RoleAgent, "PATCH", "/api/users/1", `{"name":"not me"}`},
	}
	before := e.counts()
	for _, tt := range tests {
		t.Run(string(tt.role)+" "+tt.method+" "+tt.path, func(t *testing.T) {
			e.do(tt.role, tt.method, tt.path, tt.body).wantError(t, http.StatusForbidden, "")
		})
	}
	e.unchanged(before)
	// An agent may not raise their own role.
	alice := e.users["alice"]
	e.do(auth.RoleAgent, "PATCH", "/api/users/"+itoa(alice.ID), `{"role":"admin"}`).wantError(t, http.StatusForbidden, "")
}

func TestLoginSessionAndLogout(t *testing.T) {
	e := newEnv(t, nil)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	post := func(path, body string) *http.Response {
		t.Helper()
		res, err := client.Post(e.srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := post("/api/login", `{"login":"alice","password":"wrong-password"}`); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", res.StatusCode)
	}
	res := post("/api/login", `{"login":"ALICE","password":"password-alice"}`)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login: %d", res.StatusCode)
	}
	var c *http.Cookie
	for _, k := range res.Cookies() {
		if k.Name == SessionCookie {
			c = k
		}
	}
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || len(c.Value) < 40 {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/ and a long random value", c)
	}
	if strings.Contains(e.logBuf.String(), "password-alice") || strings.Contains(e.logBuf.String(), c.Value) {
		t.Fatal("a password or session id reached the log")
	}
	me, err := client.Get(e.srv.URL + "/api/me")
	if err != nil || me.StatusCode != http.StatusOK {
		t.Fatalf("/api/me with the session: %v %v", me.StatusCode, err)
	}
	me.Body.Close()
	if res := post("/api/logout", ``); res.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	// The old cookie no longer works, even when replayed.
	e.doHeaders("GET", "/api/me", nil, func(h http.Header) { h.Set("Cookie", SessionCookie+"="+c.Value) }).
		wantError(t, http.StatusUnauthorized, "")
}

func TestSessionExpires(t *testing.T) {
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	e := newEnv(t, clock)
	r := e.do("", "POST", "/api/login", `{"login":"bob","password":"password-bob"}`).want(t, http.StatusOK)
	cookie := strings.Split(r.header.Get("Set-Cookie"), ";")[0]
	withCookie := func(h http.Header) { h.Set("Cookie", cookie) }
	e.doHeaders("GET", "/api/me", nil, withCookie).want(t, http.StatusOK)
	now = now.Add(13 * time.Hour)
	e.doHeaders("GET", "/api/me", nil, withCookie).wantError(t, http.StatusUnauthorized, "")
}

func TestDeactivatedUserLosesAccess(t *testing.T) {
	e := newEnv(t, nil)
	r := e.do("", "POST", "/api/login", `{"login":"bob","password":"password-bob"}`).want(t, http.StatusOK)
	cookie := strings.Split(r.header.Get("Set-Cookie"), ";")[0]
	e.do(auth.RoleAdmin, "PATCH", "/api/users/"+itoa(e.users["bob"].ID), `{"active":false}`).want(t, http.StatusOK)
	e.doHeaders("GET", "/api/me", nil, func(h http.Header) { h.Set("Cookie", cookie) }).wantError(t, http.StatusUnauthorized, "")
	e.do("", "POST", "/api/login", `{"login":"bob","password":"password-bob"}`).wantError(t, http.StatusForbidden, "")
}

func TestFailedLoginsAreRateLimited(t *testing.T) {
	e := newEnv(t, nil)
	for i := 0; i < 10; i++ {
		e.do("", "POST", "/api/login", `{"login":"alice","password":"guess-guess"}`).wantError(t, http.StatusUnauthorized, "")
	}
	// Even the right password waits now.
	e.do("", "POST", "/api/login", `{"login":"alice","password":"password-alice"}`).wantError(t, http.StatusTooManyRequests, "")
}

func TestLoginInputErrors(t *testing.T) {
	e := newEnv(t, nil)
	e.do("", "POST", "/api/login", `{"password":"x"}`).wantError(t, http.StatusBadRequest, "login")
	e.do("", "POST", "/api/login", `{"login":"alice"}`).wantError(t, http.StatusBadRequest, "password")
	e.do("", "POST", "/api/login", `{"login":"nobody","password":"whatever1"}`).wantError(t, http.StatusUnauthorized, "")
}
