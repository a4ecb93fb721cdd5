package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"phoned/auth"
)

func TestPartnerPhonesAreE164AndFoundWhateverTheFormat(t *testing.T) {
	e := newEnv(t, nil)
	r := e.do(auth.RoleAgent, "POST", "/api/partners", map[string]any{
		"name": "  Ada Lovelace ", "company": "Analytical", "tz": "Europe/London", "tags": []string{"Gold", "Gold", " VIP "},
		"phones": []map[string]string{{"type": "phone", "number": "02 212 34 56"}, {"type": "mobile", "number": "+44 20 7946 0018"}},
		"call_windows": []map[string]string{{"weekday": "mon", "from": "09:00", "to": "12:00"},
			{"weekday": "fri", "from": "14:00", "to": "17:30", "valid_from": "2026-01-01", "valid_to": "2026-12-31"}},
	}).want(t, http.StatusCreated)
	p := r.obj()
	if p["name"] != "Ada Lovelace" || p["id"] == nil {
		t.Fatalf("partner: %s", r.body)
	}
	phones := p["phones"].([]any)
	if e164 := phones[0].(map[string]any)["e164"]; e164 != "+3222123456" {
		t.Fatalf("national BE number normalised to %v, want +3222123456", e164)
	}
	if tags := p["tags"].([]any); len(tags) != 2 || tags[0] != "Gold" || tags[1] != "VIP" {
		t.Fatalf("tags %v", tags)
	}
	id := itoa(int64(p["id"].(float64)))
	got := e.do(auth.RoleAgent, "GET", "/api/partners/"+id, nil).want(t, http.StatusOK).obj()
	if len(got["call_windows"].([]any)) != 2 || got["tz"] != "Europe/London" {
		t.Fatalf("stored partner: %v", got)
	}

	for _, form := range []string{"+3222123456", "+32 2 212 34 56", "0032 2 212 34 56", "02/212.34.56", "tel:+3222123456",
		"sip:+3222123456@pbx.example.com;user=phone", "<sip:022123456@10.0.0.1>", "+44 20 7946 0018", "00442079460018"} {
		t.Run(form, func(t *testing.T) {
			list := e.do(auth.RoleAgent, "GET", "/api/partners?phone="+urlQuery(form), nil).want(t, http.StatusOK).arr()
			if len(list) != 1 || list[0].(map[string]any)["name"] != "Ada Lovelace" {
				t.Fatalf("lookup %q found %v", form, list)
			}
		})
	}
	if list := e.do(auth.RoleAgent, "GET", "/api/partners?phone=%2B3222999999", nil).want(t, http.StatusOK).arr(); len(list) != 0 {
		t.Fatalf("unknown number found %v", list)
	}
	e.do(auth.RoleAgent, "GET", "/api/partners?phone=hello", nil).wantError(t, http.StatusBadRequest, "phone")

	// Search by name or company, and by tag.
	if list := e.do(auth.RoleAgent, "GET", "/api/partners?q=analyt", nil).want(t, http.StatusOK).arr(); len(list) != 1 {
		t.Fatalf("search found %d", len(list))
	}
	if list := e.do(auth.RoleAgent, "GET", "/api/partners?tag=Silver", nil).want(t, http.StatusOK).arr(); len(list) != 0 {
		t.Fatalf("tag search found %d", len(list))
	}

	// Update replaces phones and windows; delete needs a supervisor.
	e.do(auth.RoleAgent, "PUT", "/api/partners/"+id, map[string]any{"name": "Ada King", "phones": []map[string]string{{"number": "+32 2 212 00 00"}}}).
		want(t, http.StatusOK)
	if list := e.do(auth.RoleAgent, "GET", "/api/partners?phone=%2B3222123456", nil).arr(); len(list) != 0 {
		t.Fatal("the replaced number still finds the partner")
	}
	e.do(auth.RoleSupervisor, "DELETE", "/api/partners/"+id, nil).want(t, http.StatusNoContent)
	e.do(auth.RoleAgent, "GET", "/api/partners/"+id, nil).wantError(t, http.StatusNotFound, "")
}

func urlQuery(s string) string {
	r := strings.NewReplacer("+", "%2B", " ", "%20", ";", "%3B", "<", "%3C", ">", "%3E", "@", "%40", "/", "%2F")
	return r.Replace(s)
}

func TestPartnerValidationNamesTheField(t *testing.T) {
	e := newEnv(t, nil)
	before := e.counts()
	tests := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"no name", map[string]any{"company": "x"}, "name"},
		{"bad zone", map[string]any{"name": "x", "tz": "Nowhere/Land"}, "tz"},
		{"unparseable number", map[string]any{"name": "x", "phones": []map[string]string{{"number": "+32 2 212 34 56"}, {"number": "call me"}}}, "phones[1].number"},
		{"CRLF in a number", map[string]any{"name": "x", "phones": []map[string]string{{"number": "+3222123456\r\nVia: evil"}}}, "phones[0].number"},
		{"window ends before it starts", map[string]any{"name": "x", "call_windows": []map[string]string{{"weekday": "mon", "from": "09:00", "to": "10:00"}, {"weekday": "mon", "from": "12:00", "to": "09:00"}}}, "call_windows[1].to"},
		{"unknown weekday", map[string]any{"name": "x", "call_windows": []map[string]string{{"weekday": "moon", "from": "09:00", "to": "10:00"}}}, "call_windows[0].weekday"},
		{"window without its end", map[string]any{"name": "x", "call_windows": []map[string]string{{"weekday": "mon", "from": "09:00"}}}, "call_windows[0].to"},
		{"impossible time", map[string]any{"name": "x", "call_windows": []map[string]string{{"weekday": "mon", "from": "25:00", "to": "26:00"}}}, "call_windows[0].from"},
		{"bad validity date", map[string]any{"name": "x", "call_windows": []map[string]string{{"weekday": "mon", "from": "09:00", "to": "10:00", "valid_to": "2026-02-30"}}}, "call_windows[0].valid_to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(auth.RoleAgent, "POST", "/api/partners", tt.body)
			if tt.field == "" {
				if r.status != http.StatusBadRequest {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				return
			}
			r.wantError(t, http.StatusBadRequest, tt.field)
		})
	}
	e.unchanged(before)
}

func TestImportCSVAllOrNothing(t *testing.T) {
	e := newEnv(t, nil)
	good := "name,company,tz,tags,phones,call_windows\n" +
		"Grace Hopper,Navy,America/New_York,Gold;Admiral,+1 212 555 0100,mon 09:00-12:00; tue 14:00-18:00\n" +
		"Alan Turing,Bletchley,Europe/London,,mobile:+44 20 7946 0001; 02 212 34 56,mon-fri 10:00-16:00\n" +
		"\"Lovelace, Ada\",,,,,\n"
	r := e.doHeaders("POST", "/api/partners/import", good, func(h http.Header) {
		h.Set("Authorization", "Bearer "+e.tokens[auth.RoleSupervisor])
		h.Set("Content-Type", "text/csv")
	}).want(t, http.StatusCreated)
	if r.obj()["imported"] != float64(3) || len(r.obj()["ids"].([]any)) != 3 {
		t.Fatalf("import: %s", r.body)
	}
	if list := e.do(auth.RoleAgent, "GET", "/api/partners?phone=%2B12125550100", nil).arr(); len(list) != 1 {
		t.Fatalf("imported number not found: %v", list)
	}

	before := e.counts()
	bad := "name,company,tz,tags,phones,call_windows\n" +
		"Good Row,,,,+32 2 212 34 56,mon 09:00-10:00\n" +
		",NoName,,,,\n" +
		"Bad Zone,,Mars/Base,,,\n" +
		"Bad Phone,,,,not-a-number,\n" +
		"Bad Window,,,,,mon 18:00-09:00\n"
	r = e.doHeaders("POST", "/api/partners/import", bad, func(h http.Header) {
		h.Set("Authorization", "Bearer "+e.tokens[auth.RoleAdmin])
		h.Set("Content-Type", "text/csv")
	})
	r.wantError(t, http.StatusBadRequest, "")
	rows := r.obj()["rows"].([]any)
	wantRows := []float64{3, 4, 5, 6}
	if len(rows) != len(wantRows) {
		t.Fatalf("rows reported %v, want lines %v", rows, wantRows)
	}
	for i, row := range rows {
		m := row.(map[string]any)
		if m["row"] != wantRows[i] || m["error"] == "" {
			t.Fatalf("row error %d: %v, want line %v with a reason", i, m, wantRows[i])
		}
	}
	e.unchanged(before)

	// The same file as a multipart upload; and a file with no rows.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "partners.csv")
	fw.Write([]byte("name,phones\nKatherine Johnson,+1 212 555 0199\n"))
	mw.Close()
	r = e.doHeaders("POST", "/api/partners/import", body.Bytes(), func(h http.Header) {
		h.Set("Authorization", "Bearer "+e.tokens[auth.RoleAdmin])
		h.Set("Content-Type", mw.FormDataContentType())
	}).want(t, http.StatusCreated)
	if r.obj()["imported"] != float64(1) {
		t.Fatalf("multipart import: %s", r.body)
	}
	e.doHeaders("POST", "/api/partners/import", "name,company\n", func(h http.Header) {
		h.Set("Authorization", "Bearer "+e.tokens[auth.RoleAdmin])
		h.Set("Content-Type", "text/csv")
	}).wantError(t, http.StatusBadRequest, "")
	e.doHeaders("POST", "/api/partners/import", "name\nx\n", func(h http.Header) {
		h.Set("Authorization", "Bearer "+e.tokens[auth.RoleAdmin])
		h.Set("Content-Type", "image/png")
	}).wantError(t, http.StatusUnsupportedMediaType, "")
}

// A listing without limit shows up to 1,000 partners: an integrator who
// imports a few hundred sees them all; limit and offset page further.
func TestPartnerListingDefaultsToAThousand(t *testing.T) {
	e := newEnv(t, nil)
	var csv strings.Builder
	csv.WriteString("name,phones\n")
	for i := range 250 {
		fmt.Fprintf(&csv, "Partner %03d,+32 2 212 %02d %02d\n", i, i/100, i%100)
	}
	e.doHeaders("POST", "/api/partners/import", csv.String(), func(h http.Header) {
		h.Set("Authorization", "Bearer "+e.tokens[auth.RoleAdmin])
		h.Set("Content-Type", "text/csv")
	}).want(t, http.StatusCreated)
	if n := len(e.do(auth.RoleAgent, "GET", "/api/partners", nil).want(t, http.StatusOK).arr()); n != 250 {
		t.Fatalf("listed %d partners, want all 250", n)
	}
	page := e.do(auth.RoleAgent, "GET", "/api/partners?limit=10&offset=245", nil).want(t, http.StatusOK).arr()
	if len(page) != 5 || page[0].(map[string]any)["name"] != "Partner 245" {
		t.Fatalf("last page %v", page)
	}
}

// GET /api/partners/{id} shows the partner's next call window, read in
// the partner's zone, as instants in the requester's zone; null without
// one.
func TestPartnerShowsItsNextWindow(t *testing.T) {
	// Wednesday 2 December 2026, 10:30 in Brussels, 04:30 in New York.
	e := newEnv(t, fixedClock("2026-12-02T09:30:00Z"))
	early := e.addPartner(map[string]any{"name": "Early", "tz": "America/New_York", "call_windows": []map[string]string{
		{"weekday": "wed", "from": "03:00", "to": "04:00"}, {"weekday": "thu", "from": "03:00", "to": "04:00"}}})
	none := e.addPartner(map[string]any{"name": "Nowin"})
	for _, c := range []struct {
		login string
		id    int64
		want  string
	}{
		{"alice", early, `{"start":"2026-12-03T09:00:00+01:00","end":"2026-12-03T10:00:00+01:00"}`}, // today's is over
		{"bob", early, `{"start":"2026-12-03T08:00:00Z","end":"2026-12-03T09:00:00Z"}`},
		{"alice", none, "null"},
	} {
		r := e.as(c.login, "GET", "/api/partners/"+itoa(c.id), nil).want(t, http.StatusOK)
		var got struct {
			Name       string          `json:"name"`
			Windows    []any           `json:"call_windows"`
			NextWindow json.RawMessage `json:"next_window"`
		}
		if err := json.Unmarshal(r.body, &got); err != nil {
			t.Fatal(err)
		}
		if string(got.NextWindow) != c.want {
			t.Errorf("%s sees next_window %s, want %s", c.login, got.NextWindow, c.want)
		}
		if got.Name == "" || got.Windows == nil {
			t.Errorf("the partner's own fields are gone: %s", r.body)
		}
	}
}
