package crm

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	z, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func win(day time.Weekday, from, to string) Window {
	f, err1 := ParseClock(from)
	t, err2 := ParseClock(to)
	if err1 != nil || err2 != nil {
		panic(fmt.Sprint(err1, err2))
	}
	return Window{Weekday: day, From: f, To: t}
}

func spansString(ss []Span) string {
	out := ""
	for _, s := range ss {
		out += fmt.Sprintf("[%s %s]", s.Start.UTC().Format(time.RFC3339), s.End.UTC().Format(time.RFC3339))
	}
	return out
}

func TestScheduleSpans(t *testing.T) {
	bru := mustZone(t, "Europe/Brussels")
	validDec := win(time.Wednesday, "09:00", "10:00")
	validDec.ValidFrom = Date{2026, time.December, 3}
	tests := []struct {
		name     string
		ws       []Window
		from, to string // UTC
		want     string
	}{
		{"ordinary day, inclusive end", []Window{win(time.Wednesday, "09:00", "12:00")},
			"2026-12-01T23:00:00Z", "2026-12-02T23:00:00Z", "[2026-12-02T08:00:00Z 2026-12-02T11:00:00Z]"},
		{"other weekday", []Window{win(time.Thursday, "09:00", "12:00")},
			"2026-12-01T23:00:00Z", "2026-12-02T23:00:00Z", ""},
		{"24:00 ends at the next midnight", []Window{win(time.Wednesday, "22:00", "24:00")},
			"2026-12-01T23:00:00Z", "2026-12-02T23:00:00Z", "[2026-12-02T21:00:00Z 2026-12-02T23:00:00Z]"},
		{"not yet valid", []Window{validDec},
			"2026-12-01T23:00:00Z", "2026-12-02T23:00:00Z", ""},
		{"overlapping and touching windows merge", []Window{win(time.Wednesday, "09:00", "11:00"), win(time.Wednesday, "10:00", "12:00"),
			win(time.Wednesday, "12:00", "13:00"), win(time.Wednesday, "15:00", "16:00")},
			"2026-12-01T23:00:00Z", "2026-12-02T23:00:00Z", "[2026-12-02T08:00:00Z 2026-12-02T12:00:00Z][2026-12-02T14:00:00Z 2026-12-02T15:00:00Z]"},
		{"a window over a range's edge is whole", []Window{win(time.Wednesday, "09:00", "12:00")},
			"2026-12-02T10:00:00Z", "2026-12-02T10:30:00Z", "[2026-12-02T08:00:00Z 2026-12-02T11:00:00Z]"},
		{"a window ending where the range starts is not in it", []Window{win(time.Tuesday, "22:00", "24:00")},
			"2026-12-01T23:00:00Z", "2026-12-02T23:00:00Z", ""},
		{"spring forward: a window inside the gap is never open", []Window{win(time.Sunday, "02:15", "02:45")},
			"2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z", ""},
		{"spring forward: across the gap is one span", []Window{win(time.Sunday, "01:00", "04:00")},
			"2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z", "[2026-03-29T00:00:00Z 2026-03-29T02:00:00Z]"},
		{"spring forward: starting in the gap opens at the jump", []Window{win(time.Sunday, "02:30", "04:00")},
			"2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z", "[2026-03-29T01:00:00Z 2026-03-29T02:00:00Z]"},
		{"spring forward: ending in the gap closes at the jump", []Window{win(time.Sunday, "01:00", "02:30")},
			"2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z", "[2026-03-29T00:00:00Z 2026-03-29T01:00:00Z]"},
		{"fall back: the repeated half hour is two spans", []Window{win(time.Sunday, "01:00", "02:30")},
			"2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z", "[2026-10-24T23:00:00Z 2026-10-25T00:30:00Z][2026-10-25T01:00:00Z 2026-10-25T01:30:00Z]"},
		{"fall back: across the repeated hour is one span of 4 hours", []Window{win(time.Sunday, "01:00", "04:00")},
			"2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z", "[2026-10-24T23:00:00Z 2026-10-25T03:00:00Z]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Schedule{bru, tt.ws}.Spans(utc(tt.from), utc(tt.to))
			if s := spansString(got); s != tt.want {
				t.Fatalf("spans %s, want %s", s, tt.want)
			}
			if got == nil {
				t.Fatal("nil spans; want an empty list")
			}
			for _, sp := range got {
				if sp.Start.Location() != bru {
					t.Fatalf("span in %v, want the schedule's zone", sp.Start.Location())
				}
			}
		})
	}
}

// Spans agree with Window.Contains at every minute (off the minute
// boundaries, where a window and a jump of the clock meet) around DST
// changes in zones east and west of UTC, and in one that changes at
// midnight.
func TestScheduleSpansAgreeWithContains(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct{ zone, from string }{
		{"Europe/Brussels", "2026-03-27T00:00:00Z"},
		{"Europe/Brussels", "2026-10-23T00:00:00Z"},
		{"America/New_York", "2026-03-06T00:00:00Z"},
		{"America/New_York", "2026-10-30T00:00:00Z"},
		{"America/Santiago", "2026-04-02T00:00:00Z"},
		{"America/Santiago", "2026-09-04T00:00:00Z"},
		{"Australia/Lord_Howe", "2026-04-03T00:00:00Z"},
	} {
		zone := mustZone(t, c.zone)
		for range 30 {
			var ws []Window
			for range 1 + rng.IntN(4) {
				from := Clock(rng.IntN(24*60)) * 60
				to := min(from+Clock(rng.IntN(8*60+1))*60, endOfDay)
				ws = append(ws, Window{Weekday: time.Weekday(rng.IntN(7)), From: from, To: to})
			}
			s := Schedule{zone, ws}
			start := utc(c.from)
			for m := range 4 * 24 * 60 {
				at := start.Add(time.Duration(m)*time.Minute + 30*time.Second)
				want := false
				for _, w := range ws {
					want = want || w.Contains(at.In(zone))
				}
				got := false
				for _, sp := range s.Spans(at, at.Add(time.Second)) {
					got = got || !at.Before(sp.Start) && !at.After(sp.End)
				}
				if got != want {
					t.Fatalf("%s, windows %v: at %s (%s) Contains says %v, Spans say %v (%s)", c.zone, ws, at.In(zone), at,
						want, got, spansString(s.Spans(at, at.Add(time.Second))))
				}
			}
		}
	}
}

func TestScheduleNext(t *testing.T) {
	bru := mustZone(t, "Europe/Brussels")
	const within = 14 * 24 * time.Hour
	tests := []struct {
		name string
		ws   []Window
		now  string
		want string
	}{
		{"later today", []Window{win(time.Wednesday, "14:00", "16:00")}, "2026-12-02T09:00:00Z", "[2026-12-02T13:00:00Z 2026-12-02T15:00:00Z]"},
		{"open now", []Window{win(time.Wednesday, "09:00", "16:00")}, "2026-12-02T09:00:00Z", "[2026-12-02T08:00:00Z 2026-12-02T15:00:00Z]"},
		{"today's is over: tomorrow's", []Window{win(time.Wednesday, "09:00", "12:00"), win(time.Thursday, "09:00", "12:00")},
			"2026-12-02T12:00:00Z", "[2026-12-03T08:00:00Z 2026-12-03T11:00:00Z]"},
		{"ending exactly now is over", []Window{win(time.Wednesday, "09:00", "12:00")}, "2026-12-02T11:00:00Z", "[2026-12-09T08:00:00Z 2026-12-09T11:00:00Z]"},
		{"next week", []Window{win(time.Tuesday, "09:00", "12:00")}, "2026-12-02T09:00:00Z", "[2026-12-08T08:00:00Z 2026-12-08T11:00:00Z]"},
		{"none within 14 days", []Window{{Weekday: time.Monday, From: 0, To: 3600, ValidFrom: Date{2027, time.January, 1}}}, "2026-12-02T09:00:00Z", ""},
		{"no windows", nil, "2026-12-02T09:00:00Z", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp, ok := Schedule{bru, tt.ws}.Next(utc(tt.now), within)
			got := ""
			if ok {
				got = spansString([]Span{sp})
			}
			if got != tt.want {
				t.Fatalf("next %s, want %s", got, tt.want)
			}
		})
	}
}

func TestResolveZone(t *testing.T) {
	bru := mustZone(t, "Europe/Brussels")
	for tz, want := range map[string]string{"": "Europe/Brussels", "Local": "Europe/Brussels", "Nowhere/City": "Europe/Brussels", "Asia/Tokyo": "Asia/Tokyo"} {
		if got := ResolveZone(tz, bru).String(); got != want {
			t.Errorf("ResolveZone(%q) = %s, want %s", tz, got, want)
		}
	}
	if got := ResolveZone("", nil); got != time.UTC {
		t.Errorf("no default: %v, want UTC", got)
	}
}

func BenchmarkScheduleNext(b *testing.B) {
	s := Schedule{mustZone(b, "Europe/Brussels"), []Window{win(time.Monday, "09:00", "12:00"), win(time.Friday, "14:00", "17:00")}}
	now := utc("2026-12-02T09:00:00Z")
	for b.Loop() {
		s.Spans(now.Add(-10*time.Hour), now.Add(14*time.Hour))
		s.Next(now, 14*24*time.Hour)
	}
}
