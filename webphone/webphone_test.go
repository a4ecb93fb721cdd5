package webphone

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestPageAndAssets(t *testing.T) {
	h := Handler()
	get := func(path string, hdr ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		if len(hdr) == 2 {
			req.Header.Set(hdr[0], hdr[1])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	page := get("/")
	if page.Code != 200 || !strings.Contains(page.Body.String(), `<form id="login"`) || !strings.HasPrefix(page.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("page: %d %q", page.Code, page.Header())
	}
	if csp := page.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Fatalf("CSP %q", csp)
	}
	for path, ct := range map[string]string{"/static/app.js": "text/javascript", "/static/api.js": "text/javascript", "/static/style.css": "text/css"} {
		rec := get(path)
		if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), ct) {
			t.Errorf("%s: %d %q", path, rec.Code, rec.Header().Get("Content-Type"))
		}
		if again := get(path, "If-None-Match", rec.Header().Get("ETag")); again.Code != http.StatusNotModified {
			t.Errorf("%s with its ETag: %d, want 304", path, again.Code)
		}
	}
	for _, path := range []string{"/static/", "/static/missing.js", "/static/../webphone.go"} {
		if rec := get(path); rec.Code == 200 {
			t.Errorf("%s: 200", path)
		}
	}
}
