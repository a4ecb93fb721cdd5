package api

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"phoned/auth"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// Bad requests get a 4xx JSON error naming the problem, never a 500, and
// store nothing.
func TestBadInputIsRefusedCleanly(t *testing.T) {
	e := newEnv(t, nil)
	before := e.counts()
	tests := []struct {
		name         string
		method, path string
		body         string
		status       int
		field        string
	}{
		{"malformed JSON", "POST", "/api/partners", `{"name": "x",`, 400, ""},
		{"not JSON at all", "POST", "/api/partners", `name=x`, 400, ""},
		{"empty body", "POST", "/api/partners", ``, 400, ""},
		{"array instead of object", "POST", "/api/partners", `[1,2]`, 400, ""},
		{"unknown field", "POST", "/api/partners", `{"name":"x","colour":"red"}`, 400, "colour"},
		{"wrong type", "POST", "/api/partners", `{"name":42}`, 400, "name"},
		{"wrong nested type", "POST", "/api/planner/runs", `{"summary":"s","repeat":{"days_gap":"seven"}}`, 400, "repeat.days_gap"},
		{"fraction for an integer", "POST", "/api/planner/runs", `{"summary":"s","duration_minutes":1.5}`, 400, "duration_minutes"},
		{"trailing data", "POST", "/api/purposes", `{"name":"a"} {"name":"b"}`, 400, ""},
		{"unknown route", "GET", "/api/nothing-here", ``, 404, ""},
		{"unknown top-level path", "GET", "/etc/passwd", ``, 404, ""},
		{"id is not a number", "GET", "/api/partners/abc", ``, 404, ""},
		{"id does not exist", "GET", "/api/partners/999999", ``, 404, ""},
		{"wrong method", "DELETE", "/api/purposes", ``, 405, ""},
		{"bad window", "POST", "/api/partners", `{"name":"x","call_windows":[{"weekday":"moon","from":"09:00","to":"10:00"}]}`, 400, "call_windows[0].weekday"},
		{"window is not an object", "POST", "/api/partners", `{"name":"x","call_windows":[7]}`, 400, "call_windows[0]"},
		{"bad query integer", "GET", "/api/calls?partner_id=abc", ``, 400, "partner_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.do(auth.RoleAdmin, tt.method, tt.path, tt.body).wantError(t, tt.status, tt.field)
		})
	}
	e.unchanged(before)
}

func TestOversizedBodyIs413(t *testing.T) {
	e := newEnv(t, nil)
	before := e.counts()
	big := `{"name":"` + strings.Repeat("x", 2<<20) + `"}`
	e.do(auth.RoleAdmin, "POST", "/api/partners", big).wantError(t, http.StatusRequestEntityTooLarge, "")
	e.do(auth.RoleAdmin, "POST", "/api/planner/runs", big).wantError(t, http.StatusRequestEntityTooLarge, "")
	e.unchanged(before)
}

func TestHealthz(t *testing.T) {
	e := newEnv(t, nil)
	r := e.do("", "GET", "/healthz", nil).want(t, http.StatusOK)
	if r.obj()["status"] != "ok" {
		t.Fatalf("healthz: %s", r.body)
	}
}
