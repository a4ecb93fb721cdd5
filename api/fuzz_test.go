package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"phoned/auth"
)

// fuzzRoutes are the routes whose JSON bodies come from outside.
var fuzzRoutes = []string{"/api/planner/runs", "/api/partners", "/api/calls", "/api/users", "/api/purposes", "/api/queue", "/api/login"}

// FuzzJSONRoutes sends arbitrary bodies to the JSON routes: the answer is
// always JSON, never a 5xx, an error always has a message, and a refused
// planner run stores nothing.
//
//	go test ./api -run '^$' -fuzz FuzzJSONRoutes -fuzztime 60s
func FuzzJSONRoutes(f *testing.F) {
	for i := range fuzzRoutes {
		f.Add(uint8(i), `{}`)
		f.Add(uint8(i), `{"summary":"s","start":"2026-03-29T01:00","end":"2026-03-30T03:30","tz":"Europe/Brussels","duration_minutes":30,"repeat":{"days_gap":1},"dry_run":true}`)
		f.Add(uint8(i), `{"name":"P","phones":[{"number":"+32 2 212 34 56"}],"call_windows":[{"weekday":"sun","from":"00:00","to":"24:00"}]}`)
		f.Add(uint8(i), `{"partner_id":1,"due":"2026-12-02T10:00:00Z","summary":"x","state":"done"}`)
		f.Add(uint8(i), `{"login":"x","role":"agent","password":"12345678","tz":"Asia/Kolkata"}`)
		f.Add(uint8(i), `{"summary":"s","start":"2017-09-01T09:00","end":"2017-09-03T10:00","duration_minutes":60,"partners":{"ids":[1,2],"tags":["a"],"query":"P"}}`)
		f.Add(uint8(i), `[`)
		f.Add(uint8(i), `{"duration_minutes":1e400}`)
		f.Add(uint8(i), `{"start":"\u0000","end":null,"tz":"../../etc/passwd"}`)
	}
	e := newEnv(f, nil)
	defer e.srv.Close()
	h := e.api.Handler()
	e.addPartner(always("", "Fuzzy"))
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		path := fuzzRoutes[int(route)%len(fuzzRoutes)]
		runsBefore := e.countsF(t)["planner_runs"]
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+e.tokens[auth.RoleAdmin])
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() { defer close(done); h.ServeHTTP(rec, req) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("POST %s %q did not answer in 20 s", path, body)
		}
		if rec.Code >= 500 {
			t.Fatalf("POST %s %q: %d %s", path, body, rec.Code, rec.Body)
		}
		var v map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			// Lists answer arrays; only objects and arrays are JSON answers here.
			var a []any
			if json.Unmarshal(rec.Body.Bytes(), &a) != nil {
				t.Fatalf("POST %s %q: answer is not JSON: %q", path, body, rec.Body)
			}
		}
		if rec.Code >= 400 {
			if msg, _ := v["error"].(string); msg == "" {
				t.Fatalf("POST %s %q: error without a message: %s", path, body, rec.Body)
			}
			if path == "/api/planner/runs" && e.countsF(t)["planner_runs"] != runsBefore {
				t.Fatalf("a refused planner run was stored: %q", body)
			}
		}
		if path == "/api/planner/runs" && rec.Code == http.StatusCreated && e.countsF(t)["planner_runs"] != runsBefore+1 {
			t.Fatalf("a planner run answered 201 but was not stored: %q", body)
		}
	})
}
