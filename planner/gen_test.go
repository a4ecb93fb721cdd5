package planner

import (
	"fmt"
	"slices"
	"testing"
	"time"
	_ "time/tzdata" // the tests name zones; do not depend on the host's zoneinfo

	"phoned/crm"
)

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

var (
	brussels = mustZone("Europe/Brussels")
	newYork  = mustZone("America/New_York")
	tokyo    = mustZone("Asia/Tokyo")
	lordHowe = mustZone("Australia/Lord_Howe") // half-hour DST
	beirut   = mustZone("Asia/Beirut")         // changes at midnight: fall-back repeats the previous date's 23:00
	havana   = mustZone("America/Havana")      // spring-forward at midnight: days without a 00:xx

	// genZones are the zones random inputs draw from: DST of every shape.
	genZones = []*time.Location{
		time.UTC, brussels, newYork, tokyo, lordHowe, beirut, havana,
		mustZone("Asia/Kolkata"), mustZone("Pacific/Chatham"),
		time.FixedZone("", -5*3600),
	}
	// genDates are days just before DST changes of genZones, and plain ones.
	genDates = []string{
		"2026-03-28", "2026-10-24", "2026-03-07", "2026-10-31", "2026-04-04",
		"2026-10-03", "2026-09-26", "2017-09-01", "2026-06-15", "2026-03-27",
	}
	genNames = []string{
		"Alice", "alice", "ALICE", "Bob", "bob", "Émile", "émile", "Zoë", "zoe",
		"Ångström", "ß", "İstanbul", "\xffbad", "", "Ab", "ab", "Eve",
	}
	genTags    = []string{"Gold", "gold", "Silver"}
	genQueries = []string{"a", "LI", "é", "É", "zz", "ÅNG", "bob", "\xff"}
)

// byteReader turns fuzz bytes into choices; exhausted, it reads zeros.
type byteReader struct{ data []byte }

func (r *byteReader) next() int {
	if len(r.data) == 0 {
		return 0
	}
	b := r.data[0]
	r.data = r.data[1:]
	return int(b)
}

// intn returns a number in [0, n).
func (r *byteReader) intn(n int) int {
	switch {
	case n <= 1:
		return 0
	case n <= 256:
		return r.next() % n
	default:
		return (r.next()<<16 | r.next()<<8 | r.next()) % n
	}
}

// oneIn is true about once in n reads.
func (r *byteReader) oneIn(n int) bool { return r.intn(n) == 0 }

func pick[T any](r *byteReader, xs []T) T { return xs[r.intn(len(xs))] }

// genRun decodes data into a run's times and input (Slots from Grid). The
// inputs stay small (a dozen partners, a few hundred slots) so that the
// reference implementation keeps up, and they lean on what is hard: DST
// changes, shared window lists, equal lower-cased names, blocks by past
// and future calls.
func genRun(data []byte) (Times, Input, error) {
	r := &byteReader{data: data}
	zone := pick(r, genZones)
	base, _ := time.ParseInLocation(time.DateOnly, pick(r, genDates), time.UTC)
	days := r.intn(4)
	startTod := r.intn(24)*3600 + r.intn(4)*15*60
	if r.oneIn(4) {
		startTod += r.intn(60)*60 + r.intn(60)
		startTod = min(startTod, 86399)
	}
	endTod := startTod + r.intn(86400-startTod)
	duration := pick(r, []int{1, 5, 15, 30, 45, 60, 90, 120, 1440, 7, 13})
	if perDay := (endTod-startTod)/(duration*60) + 1; perDay*(days+1) > 400 {
		duration = (endTod-startTod)*(days+1)/(400*60) + 1
	}
	local := func(day, tod int) string {
		return base.AddDate(0, 0, day).Add(time.Duration(tod) * time.Second).Format("2006-01-02T15:04:05")
	}
	times := Times{Start: local(0, startTod), End: local(days, endTod), Zone: zone, DurationMinutes: duration}
	slots, err := Grid(times)
	if err != nil {
		return times, Input{}, err
	}

	in := Input{Slots: slots, History: map[int64]History{}}
	n := r.intn(13)
	for i := range n {
		p := Partner{
			ID:   int64(r.intn(4)*100 + i + 1),
			Name: pick(r, genNames),
		}
		for _, tag := range genTags {
			if r.oneIn(3) {
				p.Tags = append(p.Tags, tag)
			}
		}
		if i > 0 && r.oneIn(3) { // same zone and windows as another: same group
			other := in.Partners[r.intn(i)]
			p.Zone, p.Windows = other.Zone, other.Windows
			if r.oneIn(2) {
				p.Windows = slices.Clone(p.Windows)
			}
			if r.oneIn(4) { // the same list in another zone: another group
				p.Zone = pick(r, genZones)
			}
		} else {
			p.Zone = pick(r, genZones)
			if r.oneIn(10) {
				p.Zone = nil // taken as UTC
			}
			for range r.intn(5) {
				p.Windows = append(p.Windows, genWindow(r, base, days))
			}
		}
		if !r.oneIn(6) {
			p.Phone = fmt.Sprintf("+3225550%03d", p.ID)
		}
		in.Partners = append(in.Partners, p)

		if r.oneIn(3) {
			in.History[p.ID] = genHistory(r, base)
		}
	}

	if r.oneIn(10) {
		for range r.intn(3) + 1 {
			if n == 0 || r.oneIn(4) {
				in.Criteria.IDs = append(in.Criteria.IDs, 999) // unknown
			} else {
				in.Criteria.IDs = append(in.Criteria.IDs, in.Partners[r.intn(n)].ID)
			}
		}
	}
	if r.oneIn(10) {
		in.Criteria.Tags = append(in.Criteria.Tags, pick(r, genTags))
	}
	if r.oneIn(10) {
		in.Criteria.Query = pick(r, genQueries)
	}
	if !r.oneIn(3) {
		g := r.intn(4)
		in.DaysGap = &g
	}
	return times, in, nil
}

// genWindow makes a window, most often on a day of the run and wide.
func genWindow(r *byteReader, base time.Time, days int) crm.Window {
	w := crm.Window{Weekday: time.Weekday(r.intn(7))}
	if !r.oneIn(3) {
		w.Weekday = (base.Weekday() + time.Weekday(r.intn(days+1))) % 7
	}
	w.From = crm.Clock(r.intn(48) * 1800)
	if r.oneIn(4) {
		w.From += crm.Clock(r.intn(1800))
	}
	w.To = min(w.From+crm.Clock(r.intn(24)*1800), 86400)
	if r.oneIn(2) {
		w.From /= 2
		w.To = min(w.To*2, 86400)
	}
	if r.oneIn(8) {
		w.From, w.To = w.To, w.From // inverted: contains nothing
	}
	if r.oneIn(30) {
		w.Weekday = 7 // no such day: contains nothing
	}
	if r.oneIn(4) {
		w.ValidFrom = crm.DateOf(base.AddDate(0, 0, r.intn(6)-1))
	}
	if r.oneIn(4) {
		w.ValidTo = crm.DateOf(base.AddDate(0, 0, r.intn(6)-1))
	}
	return w
}

// genHistory makes a consistent history: Count dues around the run's days,
// Latest the largest (possibly in the future).
func genHistory(r *byteReader, base time.Time) History {
	h := History{Count: r.intn(4)}
	for range h.Count {
		d := base.AddDate(0, 0, r.intn(11)-5).Add(time.Duration(r.intn(96)) * 30 * time.Minute)
		if r.oneIn(4) {
			d = d.Add(time.Duration(r.intn(1800)) * time.Second)
		}
		if r.oneIn(8) {
			d = d.Add(time.Duration(r.intn(1000)) * time.Millisecond)
		}
		h.Dues = append(h.Dues, d)
		if d.After(h.Latest) {
			h.Latest = d
		}
	}
	return h
}

// checkRun checks what must hold of any run, then compares it with the
// reference implementation.
func checkRun(t *testing.T, in Input, got Result) {
	t.Helper()
	if got.Slots != len(in.Slots) {
		t.Fatalf("Slots = %d, want %d", got.Slots, len(in.Slots))
	}
	if got.Calls == nil {
		t.Fatalf("Calls is nil")
	}
	byID := map[int64]*Partner{}
	for i := range in.Partners {
		byID[in.Partners[i].ID] = &in.Partners[i]
	}
	slot := 0
	var gap time.Duration
	if in.DaysGap != nil {
		gap = time.Duration(*in.DaysGap) * 24 * time.Hour
	}
	made := map[int64][]time.Time{}
	for _, c := range got.Calls {
		for slot < len(in.Slots) && !in.Slots[slot].Equal(c.Due) {
			slot++
		}
		if slot == len(in.Slots) {
			t.Fatalf("call %+v is not at a slot after the previous call's", c)
		}
		slot++ // at most one call per slot
		p := byID[c.PartnerID]
		if p == nil || p.Name != c.Name || p.Phone != c.Phone || p.Phone == "" {
			t.Fatalf("call %+v does not match its partner %+v", c, p)
		}
		if !in.Criteria.Match(p) {
			t.Fatalf("call %+v to a partner outside the criteria", c)
		}
		zone := p.Zone
		if zone == nil {
			zone = time.UTC
		}
		if !slices.ContainsFunc(p.Windows, func(w crm.Window) bool { return w.Contains(c.Due.In(zone)) }) {
			t.Fatalf("call %+v outside the partner's windows %v", c, p.Windows)
		}
		h := in.History[p.ID]
		switch {
		case in.DaysGap == nil && (h.Count > 0 || len(made[p.ID]) > 0):
			t.Fatalf("call %+v to a blocked partner (history %d, run calls %v)", c, h.Count, made[p.ID])
		case in.DaysGap != nil:
			for _, d := range append(slices.Clone(h.Dues), made[p.ID]...) {
				if d.Sub(c.Due).Abs() < gap {
					t.Fatalf("call %+v within %v of the partner's call at %v", c, gap, d)
				}
			}
		}
		made[p.ID] = append(made[p.ID], c.Due)
	}

	want := referenceRun(in)
	if got.Skipped != want.Skipped {
		t.Fatalf("Skipped = %+v, reference %+v", got.Skipped, want.Skipped)
	}
	if !slices.EqualFunc(got.Calls, want.Calls, func(a, b Call) bool {
		return a.Due.Equal(b.Due) && a.PartnerID == b.PartnerID && a.Name == b.Name && a.Phone == b.Phone
	}) {
		t.Fatalf("calls differ from the reference\n got: %s\nwant: %s", formatCalls(got.Calls), formatCalls(want.Calls))
	}
}

func formatCalls(calls []Call) string {
	s := ""
	for _, c := range calls {
		s += fmt.Sprintf("\n  %s #%d", c.Due.Format(time.RFC3339), c.PartnerID)
	}
	return s
}
