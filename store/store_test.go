package store

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"phoned/auth"
	"phoned/comm"
	"phoned/crm"
)

func open(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestOpenAppliesMigrationsOnceWithPragmas(t *testing.T) {
	s, path := open(t)
	ctx := context.Background()
	var version int
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	if err := s.r.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil || version != len(names) {
		t.Fatalf("user_version %d, %v", version, err)
	}
	for pragma, want := range map[string]string{"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "10000"} {
		var got string
		if err := s.w.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil || got != want {
			t.Errorf("PRAGMA %s = %q (%v), want %q", pragma, got, err, want)
		}
	}
	// STRICT: a wrong type is refused, not coerced.
	if _, err := s.w.ExecContext(ctx, "INSERT INTO purposes (id, name) VALUES ('x', 'y')"); err == nil {
		t.Error("STRICT table took a text id")
	}
	// Foreign keys are enforced.
	if _, err := s.w.ExecContext(ctx, "INSERT INTO contact_mechanisms (partner_id, position, type, value) VALUES (999, 0, 'phone', '1')"); err == nil {
		t.Error("a contact of a missing partner was stored")
	}
	// Readers cannot write.
	if _, err := s.r.ExecContext(ctx, "INSERT INTO purposes (name) VALUES ('z')"); err == nil {
		t.Error("the read pool wrote")
	}
	s.Close()
	// Reopening applies nothing twice.
	s2, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	s2.Close()
}

func TestNewerDatabaseIsRefused(t *testing.T) {
	s, path := open(t)
	if _, err := s.w.Exec("PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(context.Background(), path, Options{})
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("opening a newer database: %v", err)
	}
}

func partner(name string, windows string, phones ...string) *crm.Partner {
	p := &crm.Partner{Name: name}
	for _, n := range phones {
		p.Phones = append(p.Phones, crm.Phone{Number: n})
	}
	if windows != "" {
		ws, err := crm.ParseWindows(windows)
		if err != nil {
			panic(err)
		}
		p.Windows = ws
	}
	if err := p.Normalize("BE"); err != nil {
		panic(err)
	}
	return p
}

func TestCreatePartnersIsAllOrNothing(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	good := partner("Good", "mon 09:00-10:00", "+32 2 212 34 56")
	bad := partner("Bad", "")
	bad.Phones = []crm.Phone{{Type: "pager", Number: "1", E164: "+1"}} // refused by the CHECK on type
	err := s.CreatePartners(ctx, []*crm.Partner{good, bad})
	if err == nil {
		t.Fatal("a bad partner was accepted")
	}
	if n, _ := s.CountPartners(ctx); n != 0 {
		t.Fatalf("%d partners stored after a failed batch", n)
	}
}

func TestPartnerRoundTripAndWindowsColumn(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	p := partner("Zoë", "mon-fri 09:00-12:00; sat 10:00-24:00 2026-01-01..2026-06-30", "+32 2 212 34 56", "+44 20 7946 0018")
	p.TZ, p.Tags = "Europe/London", []string{"Gold"}
	if err := s.CreatePartners(ctx, []*crm.Partner{p}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Partner(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, p) {
		t.Fatalf("stored %+v\nread   %+v", p, got)
	}
	if enc := encodeWindows(p.Windows); enc == "" {
		t.Fatal("no encoded windows")
	} else if dec, err := decodeWindows(enc); err != nil || !reflect.DeepEqual(dec, p.Windows) {
		t.Fatalf("windows round trip: %v %v", dec, err)
	}
	for _, bad := range []string{"1 2", "x 0 10  ", "1 0 10 2026-13-01 "} {
		if _, err := decodeWindows(bad); err == nil {
			t.Errorf("decodeWindows(%q) accepted", bad)
		}
	}
	byPhone, err := s.Partners(ctx, PartnerFilter{E164: []string{"+442079460018"}})
	if err != nil || len(byPhone) != 1 || byPhone[0].ID != p.ID {
		t.Fatalf("reverse lookup: %v %v", byPhone, err)
	}
}

func TestPlannerSnapshotFollowsPartnerWrites(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	a := partner("A", "mon 09:00-10:00", "+32 2 212 34 56")
	if err := s.CreatePartners(ctx, []*crm.Partner{a}); err != nil {
		t.Fatal(err)
	}
	first, err := s.PlannerPartners(ctx, time.UTC)
	if err != nil || len(first) != 1 || first[0].Phone != "+3222123456" || len(first[0].Windows) != 1 || first[0].Zone != time.UTC {
		t.Fatalf("planner partners %+v %v", first, err)
	}
	again, _ := s.PlannerPartners(ctx, time.UTC)
	if &again[0] != &first[0] {
		t.Fatal("the snapshot was not reused while nothing changed")
	}
	a.Windows = nil
	if err := s.UpdatePartner(ctx, a); err != nil {
		t.Fatal(err)
	}
	after, _ := s.PlannerPartners(ctx, time.UTC)
	if len(after[0].Windows) != 0 {
		t.Fatal("the snapshot survived an update")
	}
	if err := s.CreatePartners(ctx, []*crm.Partner{partner("B", "", "+32 2 212 34 57")}); err != nil {
		t.Fatal(err)
	}
	if ps, _ := s.PlannerPartners(ctx, time.UTC); len(ps) != 2 {
		t.Fatalf("snapshot after create: %d partners", len(ps))
	}
	if err := s.DeletePartner(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if ps, _ := s.PlannerPartners(ctx, time.UTC); len(ps) != 1 {
		t.Fatalf("snapshot after delete: %d partners", len(ps))
	}
}

func TestPlannerHistoryCountsTheCombination(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	nu := NewUser{User: auth.User{Login: "a", Role: auth.RoleAgent, Active: true}, PasswordHash: "x"}
	if err := s.CreateUser(ctx, &nu); err != nil {
		t.Fatal(err)
	}
	p := partner("P", "", "+32 2 212 34 56")
	if err := s.CreatePartners(ctx, []*crm.Partner{p}); err != nil {
		t.Fatal(err)
	}
	at := func(d int) time.Time { return time.Date(2026, 1, d, 10, 0, 0, 0, time.UTC) }
	call := func(d int, st comm.CallState, campaign string) comm.PhoneCall {
		return comm.PhoneCall{PartnerID: p.ID, UserID: nu.ID, Due: at(d), Summary: "s", State: st, Origin: comm.OriginManual, UTM: comm.UTM{Campaign: campaign}}
	}
	if err := s.CreateCalls(ctx, []comm.PhoneCall{
		call(1, comm.CallDone, "c"), call(10, comm.CallPlanned, "c"), call(20, comm.CallCancelled, "c"), call(25, comm.CallPlanned, "other"),
	}); err != nil {
		t.Fatal(err)
	}
	h, err := s.PlannerHistory(ctx, comm.UTM{Campaign: "c"}, &TimeRange{From: at(5), To: at(30)})
	if err != nil {
		t.Fatal(err)
	}
	got := h[p.ID]
	if got.Count != 2 || !got.Latest.Equal(at(10)) || len(got.Dues) != 1 || !got.Dues[0].Equal(at(10)) {
		t.Fatalf("history %+v: want 2 calls, latest the 10th, one due near", got)
	}
	if h, _ := s.PlannerHistory(ctx, comm.UTM{}, nil); len(h) != 0 {
		t.Fatalf("empty combination: %v", h)
	}
	counts, err := s.TableCounts(ctx)
	if err != nil || counts["phone_calls"] != 4 || counts["partners"] != 1 {
		t.Fatalf("counts %v %v", counts, err)
	}
}

func TestCreateCallsGetsEachItsOwnID(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	nu := NewUser{User: auth.User{Login: "a", Role: auth.RoleAgent, Active: true}, PasswordHash: "x"}
	if err := s.CreateUser(ctx, &nu); err != nil {
		t.Fatal(err)
	}
	if err := s.CreatePurpose(ctx, &comm.Purpose{Name: "Renewal"}); err != nil {
		t.Fatal(err)
	}
	p := partner("P", "", "+32 2 212 34 56")
	if err := s.CreatePartners(ctx, []*crm.Partner{p}); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	calls := make([]comm.PhoneCall, 407)
	for i := range calls {
		calls[i] = comm.PhoneCall{PartnerID: p.ID, UserID: nu.ID, Phone: "+3222123456", Due: base.Add(time.Duration(i) * time.Minute),
			Summary: fmt.Sprint("call ", i), State: comm.CallPlanned, Origin: comm.OriginManual, Purpose: "Renewal"}
	}
	if err := s.CreateCalls(ctx, calls); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 199, 200, 400, len(calls) - 1} {
		got, err := s.Call(ctx, calls[i].ID)
		if err != nil || got.Summary != calls[i].Summary || !got.Due.Equal(calls[i].Due) || got.Purpose != "Renewal" {
			t.Fatalf("call %d (id %d) reads back as %+v, %v", i, calls[i].ID, got, err)
		}
	}
	// The number links the call to the partner's contact mechanism.
	var contact int64
	if err := s.r.QueryRow("SELECT contact_id FROM phone_calls WHERE id = ?", calls[0].ID).Scan(&contact); err != nil || contact == 0 {
		t.Fatalf("contact_id %d, %v", contact, err)
	}
	// An unknown purpose fails the whole batch.
	bad := []comm.PhoneCall{calls[0], calls[1]}
	bad[1].Purpose = "Nope"
	if err := s.CreateCalls(ctx, bad); err == nil {
		t.Fatal("unknown purpose accepted")
	}
	if n, _ := s.TableCounts(ctx); n["phone_calls"] != len(calls) {
		t.Fatalf("%d calls stored, want %d", n["phone_calls"], len(calls))
	}
}

// Editing a partner keeps the contact mechanism of a number that stays,
// so calls and events stay linked to it.
func TestUpdatePartnerKeepsContactsOfNumbersThatStay(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	p := partner("P", "", "+32 2 212 34 56", "+32 470 12 34 56")
	if err := s.CreatePartners(ctx, []*crm.Partner{p}); err != nil {
		t.Fatal(err)
	}
	ids := func() map[string]int64 {
		out := map[string]int64{}
		rows, err := s.r.Query("SELECT id, e164 FROM contact_mechanisms WHERE partner_id = ? ORDER BY position", p.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var e string
			rows.Scan(&id, &e)
			out[e] = id
		}
		return out
	}
	before := ids()
	// The mobile moves first, the landline goes, a new number comes.
	q := partner("P", "", "+32 470 12 34 56", "+32 3 123 45 67")
	q.ID = p.ID
	if err := s.UpdatePartner(ctx, q); err != nil {
		t.Fatal(err)
	}
	after := ids()
	if after["+32470123456"] != before["+32470123456"] {
		t.Fatalf("the kept mobile changed id: %v -> %v", before, after)
	}
	if _, ok := after["+3222123456"]; ok || len(after) != 2 {
		t.Fatalf("phones after update: %v", after)
	}
	got, _ := s.Partner(ctx, p.ID)
	if got.Phones[0].E164 != "+32470123456" || got.Phones[1].E164 != "+3231234567" {
		t.Fatalf("order after update: %+v", got.Phones)
	}
	if ps, _ := s.PlannerPartners(ctx, time.UTC); ps[0].Phone != "+32470123456" {
		t.Fatalf("planner's first phone %q", ps[0].Phone)
	}
}
