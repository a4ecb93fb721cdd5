package planner

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"phoned/crm"
)

// at parses a local "YYYY-MM-DDTHH:MM[:SS]" in zone (never an ambiguous
// time in these tests).
func at(zone *time.Location, s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02T15:04:05", normalSeconds(s), zone)
	if err != nil {
		panic(err)
	}
	return t
}

func clock(s string) crm.Clock {
	var h, m int
	if _, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil {
		panic(err)
	}
	return crm.Clock(h*3600 + m*60)
}

func date(s string) crm.Date {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return crm.DateOf(t)
}

func window(day time.Weekday, from, to string) crm.Window {
	return crm.Window{Weekday: day, From: clock(from), To: clock(to)}
}

func validWindow(day time.Weekday, from, to, validFrom, validTo string) crm.Window {
	w := window(day, from, to)
	if validFrom != "" {
		w.ValidFrom = date(validFrom)
	}
	if validTo != "" {
		w.ValidTo = date(validTo)
	}
	return w
}

// partner has a phone; its windows are in zone.
func partner(id int64, name string, zone *time.Location, windows ...crm.Window) Partner {
	return Partner{ID: id, Name: name, Zone: zone, Windows: windows, Phone: fmt.Sprintf("+3225550%03d", id)}
}

// anyTime is available all week in UTC.
var anyTime = []crm.Window{
	window(time.Sunday, "00:00", "24:00"), window(time.Monday, "00:00", "24:00"),
	window(time.Tuesday, "00:00", "24:00"), window(time.Wednesday, "00:00", "24:00"),
	window(time.Thursday, "00:00", "24:00"), window(time.Friday, "00:00", "24:00"),
	window(time.Saturday, "00:00", "24:00"),
}

func always(id int64, name string) Partner { return partner(id, name, time.UTC, anyTime...) }

func called(dues ...time.Time) History {
	h := History{Count: len(dues), Dues: dues}
	for _, d := range dues {
		if d.After(h.Latest) {
			h.Latest = d
		}
	}
	return h
}

func gapDays(g int) *int { return &g }

// utcSlots are slots in UTC, from "YYYY-MM-DDTHH:MM[:SS]" strings.
func utcSlots(ss ...string) []time.Time {
	var slots []time.Time
	for _, s := range ss {
		slots = append(slots, at(time.UTC, s))
	}
	return slots
}

func TestRun(t *testing.T) {
	mon := at(time.UTC, "2026-03-02T09:00") // a Monday
	tests := []struct {
		name    string
		in      Input
		want    []string // "RFC 3339 #id"
		skipped Skipped
	}{
		// Availability.
		{
			name: "window ends are inclusive: from 09:00 and to 10:00:00 are in, 08:59:59 and 10:00:30 out",
			in: Input{
				Slots:    utcSlots("2026-03-02T08:59:59", "2026-03-02T09:00", "2026-03-02T10:00", "2026-03-02T10:00:30"),
				Partners: []Partner{partner(1, "A", time.UTC, window(time.Monday, "09:00", "10:00"))},
				DaysGap:  gapDays(0),
			},
			want: []string{"2026-03-02T09:00:00Z #1", "2026-03-02T10:00:00Z #1"},
		},
		{
			name: "valid_from and valid_to are inclusive",
			in: Input{
				Slots:    utcSlots("2026-03-02T09:00", "2026-03-09T09:00", "2026-03-16T09:00", "2026-03-23T09:00"),
				Partners: []Partner{partner(1, "A", time.UTC, validWindow(time.Monday, "09:00", "09:00", "2026-03-09", "2026-03-16"))},
				DaysGap:  gapDays(0),
			},
			want: []string{"2026-03-09T09:00:00Z #1", "2026-03-16T09:00:00Z #1"},
		},
		{
			name: "windows are in the partner's zone: run in Europe/Brussels, partner in America/New_York",
			in: Input{
				Slots: []time.Time{
					at(brussels, "2026-03-02T14:00"), at(brussels, "2026-03-02T15:00"),
					at(brussels, "2026-03-02T16:00"), at(brussels, "2026-03-02T17:00"),
				},
				Partners: []Partner{partner(1, "A", newYork, window(time.Monday, "09:00", "10:00"))},
				DaysGap:  gapDays(0),
			},
			want: []string{"2026-03-02T15:00:00+01:00 #1", "2026-03-02T16:00:00+01:00 #1"},
		},
		{
			name: "availability follows the DST change of the partner's zone, not the run's",
			in: Input{
				Slots: []time.Time{
					at(brussels, "2026-03-02T13:00"), at(brussels, "2026-03-02T14:00"), at(brussels, "2026-03-02T15:00"),
					at(brussels, "2026-03-09T13:00"), at(brussels, "2026-03-09T14:00"), at(brussels, "2026-03-09T15:00"),
				},
				Partners: []Partner{partner(1, "A", newYork, window(time.Monday, "09:00", "09:00"))},
				DaysGap:  gapDays(0),
			},
			want: []string{"2026-03-02T15:00:00+01:00 #1", "2026-03-09T14:00:00+01:00 #1"},
		},
		{
			name: "weekday and date are the partner's: Tuesday 08:00 in Tokyo is Monday 18:00 in New York",
			in: Input{
				Slots:    []time.Time{at(tokyo, "2026-03-03T08:00")},
				Partners: []Partner{partner(1, "A", newYork, validWindow(time.Monday, "18:00", "18:00", "", "2026-03-02"))},
			},
			want: []string{"2026-03-03T08:00:00+09:00 #1"},
		},
		{
			name: "a slot with no available candidate stays empty",
			in: Input{
				Slots:    utcSlots("2026-03-02T09:00", "2026-03-02T12:00"),
				Partners: []Partner{partner(1, "A", time.UTC, window(time.Tuesday, "09:00", "17:00"))},
			},
		},

		// Which partners.
		{
			name: "skipped: no window, no phone, both counted once as no_window; windows outside their dates make a candidate",
			in: Input{
				Slots: []time.Time{mon},
				Partners: []Partner{
					{ID: 1, Name: "no window", Phone: "+3225550001", Zone: time.UTC},
					{ID: 2, Name: "no phone", Zone: time.UTC, Windows: anyTime},
					{ID: 3, Name: "neither", Zone: time.UTC},
					partner(4, "expired", time.UTC, validWindow(time.Monday, "00:00", "24:00", "", "2020-01-01")),
					always(5, "zz callable"),
					{ID: 6, Name: "no window, not matching", Zone: time.UTC},
				},
				Criteria: Criteria{IDs: []int64{1, 2, 3, 4, 5}},
			},
			want:    []string{"2026-03-02T09:00:00Z #5"},
			skipped: Skipped{NoWindow: 2, NoPhone: 1},
		},
		{
			name: "criteria: unknown ids match nothing",
			in: Input{
				Slots:    []time.Time{mon},
				Partners: []Partner{always(1, "A"), {ID: 2, Name: "B"}},
				Criteria: Criteria{IDs: []int64{999}},
			},
		},
		{
			name: "criteria: ids, tags and query must all match",
			in: Input{
				Slots: []time.Time{mon, mon.Add(time.Hour), mon.Add(2 * time.Hour)},
				Partners: []Partner{
					func() Partner { p := always(1, "Gold ALICE"); p.Tags = []string{"Gold"}; return p }(),
					func() Partner { p := always(2, "alice"); p.Tags = []string{"Silver"}; return p }(),
					func() Partner { p := always(3, "Bob"); p.Tags = []string{"Gold"}; return p }(),
					func() Partner { p := always(4, "Alicia"); p.Tags = []string{"Gold"}; return p }(),
				},
				Criteria: Criteria{IDs: []int64{1, 2, 3}, Tags: []string{"Gold"}, Query: "aLi"},
			},
			want: []string{"2026-03-02T09:00:00Z #1"},
		},
		{
			name: "candidate order: lower-cased name, then id",
			in: Input{
				Slots:    []time.Time{mon, mon.Add(time.Hour), mon.Add(2 * time.Hour), mon.Add(3 * time.Hour), mon.Add(4 * time.Hour)},
				Partners: []Partner{always(1, "bob"), always(4, "ALICE"), always(3, "Alice"), always(2, "alice")},
			},
			want: []string{"2026-03-02T09:00:00Z #2", "2026-03-02T10:00:00Z #3", "2026-03-02T11:00:00Z #4", "2026-03-02T12:00:00Z #1"},
		},
		{
			name: "candidate order is by code point, not by collation: eve, zoë, ångström, émile",
			in: Input{
				Slots:    []time.Time{mon, mon.Add(time.Hour), mon.Add(2 * time.Hour), mon.Add(3 * time.Hour)},
				Partners: []Partner{always(1, "Émile"), always(2, "Zoë"), always(3, "eve"), always(4, "Ångström")},
			},
			want: []string{"2026-03-02T09:00:00Z #3", "2026-03-02T10:00:00Z #2", "2026-03-02T11:00:00Z #4", "2026-03-02T12:00:00Z #1"},
		},

		// Without repetition.
		{
			name: "without repetition: any counting call blocks, whatever its date; a history of 0 calls does not",
			in: Input{
				Slots:    []time.Time{mon, mon.Add(time.Hour), mon.Add(2 * time.Hour)},
				Partners: []Partner{always(1, "A past"), always(2, "B future"), always(3, "C none")},
				History: map[int64]History{
					1: called(at(time.UTC, "2001-01-01T00:00")),
					2: called(at(time.UTC, "2030-01-01T00:00")),
					3: {},
				},
			},
			want: []string{"2026-03-02T09:00:00Z #3"},
		},
		{
			name: "without repetition: one call per partner per run",
			in: Input{
				Slots:    []time.Time{mon, mon.Add(time.Hour), mon.Add(2 * time.Hour)},
				Partners: []Partner{always(1, "A")},
			},
			want: []string{"2026-03-02T09:00:00Z #1"},
		},
		{
			name: "without repetition: the first available candidate in candidate order",
			in: Input{
				Slots: []time.Time{mon, mon.Add(time.Hour)},
				Partners: []Partner{
					partner(1, "Alice", time.UTC, window(time.Monday, "10:00", "10:00")),
					always(2, "Bob"),
				},
			},
			want: []string{"2026-03-02T09:00:00Z #2", "2026-03-02T10:00:00Z #1"},
		},

		// With repetition.
		{
			name: "with repetition: never-called partners first, then the oldest latest",
			in: Input{
				Slots:    []time.Time{mon, mon.Add(time.Hour)},
				Partners: []Partner{always(1, "Alice"), always(2, "Bob")},
				History:  map[int64]History{1: called(at(time.UTC, "2020-01-01T00:00"))},
				DaysGap:  gapDays(0),
			},
			want: []string{"2026-03-02T09:00:00Z #2", "2026-03-02T10:00:00Z #1"},
		},
		{
			name: "with repetition: fewest counting calls first",
			in: Input{
				Slots:    []time.Time{mon, mon.Add(time.Hour), mon.Add(2 * time.Hour)},
				Partners: []Partner{always(1, "Alice"), always(2, "Bob")},
				History: map[int64]History{
					1: called(at(time.UTC, "2019-01-01T00:00"), at(time.UTC, "2019-06-01T00:00"), at(time.UTC, "2020-01-01T00:00")),
					2: called(at(time.UTC, "2025-01-01T00:00")),
				},
				DaysGap: gapDays(0),
			},
			want: []string{"2026-03-02T09:00:00Z #2", "2026-03-02T10:00:00Z #2", "2026-03-02T11:00:00Z #1"},
		},
		{
			name: "with repetition: the oldest latest call first, a future latest included",
			in: Input{
				Slots:    []time.Time{mon, mon.Add(time.Hour)},
				Partners: []Partner{always(1, "Alice"), always(2, "Bob")},
				History: map[int64]History{
					1: called(at(time.UTC, "2030-01-01T00:00")),
					2: called(at(time.UTC, "2020-01-01T00:00")),
				},
				DaysGap: gapDays(0),
			},
			want: []string{"2026-03-02T09:00:00Z #2", "2026-03-02T10:00:00Z #1"},
		},
		{
			name: "with repetition: the oldest latest call to the nanosecond",
			in: Input{
				Slots:    []time.Time{mon},
				Partners: []Partner{always(1, "Alice"), always(2, "Bob")},
				History: map[int64]History{
					1: called(at(time.UTC, "2020-01-01T00:00").Add(500 * time.Millisecond)),
					2: called(at(time.UTC, "2020-01-01T00:00").Add(200 * time.Millisecond)),
				},
				DaysGap: gapDays(1),
			},
			want: []string{"2026-03-02T09:00:00Z #2"},
		},
		{
			name: "with repetition: candidate order breaks ties",
			in: Input{
				Slots:    []time.Time{mon, mon.Add(time.Hour)},
				Partners: []Partner{always(2, "bob"), always(1, "Bob")},
				DaysGap:  gapDays(0),
			},
			want: []string{"2026-03-02T09:00:00Z #1", "2026-03-02T10:00:00Z #2"},
		},
		{
			name: "with repetition: a call less than g days before blocks; exactly g days does not",
			in: Input{
				Slots:    []time.Time{mon, mon.Add(time.Second)},
				Partners: []Partner{always(1, "A")},
				History:  map[int64]History{1: called(mon.Add(-48*time.Hour + time.Second))},
				DaysGap:  gapDays(2),
			},
			want: []string{"2026-03-02T09:00:01Z #1"},
		},
		{
			name: "with repetition: a call less than g days after (a future one) blocks; exactly g days does not",
			in: Input{
				Slots:    []time.Time{mon.Add(-time.Second), mon},
				Partners: []Partner{always(1, "A")},
				History:  map[int64]History{1: called(mon.Add(48*time.Hour - time.Second))},
				DaysGap:  gapDays(2),
			},
			want: []string{"2026-03-02T08:59:59Z #1"},
		},
		{
			name: "with repetition: a better-ranked partner blocked by a future call is passed over",
			in: Input{
				Slots:    []time.Time{mon},
				Partners: []Partner{always(1, "Alice"), always(2, "Bob")},
				History: map[int64]History{
					1: called(at(time.UTC, "2020-01-01T00:00"), mon.Add(time.Hour)),
					2: called(at(time.UTC, "2019-01-01T00:00"), at(time.UTC, "2019-02-01T00:00"), at(time.UTC, "2019-03-01T00:00")),
				},
				DaysGap: gapDays(1),
			},
			want: []string{"2026-03-02T09:00:00Z #2"},
		},
		{
			name: "with repetition: a gap of 0 days blocks nothing",
			in: Input{
				Slots:    []time.Time{mon, mon.Add(time.Hour), mon.Add(2 * time.Hour)},
				Partners: []Partner{always(1, "A")},
				History:  map[int64]History{1: called(mon)},
				DaysGap:  gapDays(0),
			},
			want: []string{"2026-03-02T09:00:00Z #1", "2026-03-02T10:00:00Z #1", "2026-03-02T11:00:00Z #1"},
		},
		{
			name: "with repetition: calls made earlier in the run block",
			in: Input{
				Slots:    utcSlots("2026-03-02T09:00", "2026-03-02T10:00", "2026-03-03T09:00", "2026-03-03T10:00"),
				Partners: []Partner{always(1, "A")},
				DaysGap:  gapDays(1),
			},
			want: []string{"2026-03-02T09:00:00Z #1", "2026-03-03T09:00:00Z #1"},
		},
		{
			name: "with repetition: calls made earlier in the run count for the ranking",
			in: Input{
				Slots:    []time.Time{mon, mon.Add(time.Hour), mon.Add(2 * time.Hour), mon.Add(3 * time.Hour)},
				Partners: []Partner{always(1, "A"), always(2, "B")},
				DaysGap:  gapDays(0),
			},
			want: []string{"2026-03-02T09:00:00Z #1", "2026-03-02T10:00:00Z #2", "2026-03-02T11:00:00Z #1", "2026-03-02T12:00:00Z #2"},
		},
		{
			name: "with repetition: the gap is elapsed time across spring-forward (09:00 to 09:00 is 23 hours)",
			in: Input{
				Slots:    []time.Time{at(brussels, "2026-03-29T09:00"), at(brussels, "2026-03-29T10:00")},
				Partners: []Partner{always(1, "A")},
				History:  map[int64]History{1: called(at(brussels, "2026-03-28T09:00"))},
				DaysGap:  gapDays(1),
			},
			want: []string{"2026-03-29T10:00:00+02:00 #1"},
		},
		{
			name: "with repetition: the gap is elapsed time across fall-back (09:00 to 08:00 is 24 hours)",
			in: Input{
				Slots:    []time.Time{at(brussels, "2026-10-25T07:30"), at(brussels, "2026-10-25T08:00")},
				Partners: []Partner{always(1, "A")},
				History:  map[int64]History{1: called(at(brussels, "2026-10-24T09:00"))},
				DaysGap:  gapDays(1),
			},
			want: []string{"2026-10-25T08:00:00+01:00 #1"},
		},
		{
			name: "nothing to plan: no partners",
			in:   Input{Slots: []time.Time{mon}, DaysGap: gapDays(1)},
		},
		{
			name:    "nothing to plan: no slots",
			in:      Input{Partners: []Partner{always(1, "A"), {ID: 2, Name: "B"}}},
			skipped: Skipped{NoWindow: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Run(tt.in)
			var calls []string
			for _, c := range got.Calls {
				calls = append(calls, fmt.Sprintf("%s #%d", c.Due.Format(time.RFC3339), c.PartnerID))
			}
			if !slices.Equal(calls, tt.want) {
				t.Errorf("calls\n got: %q\nwant: %q", calls, tt.want)
			}
			if got.Skipped != tt.skipped {
				t.Errorf("skipped = %+v, want %+v", got.Skipped, tt.skipped)
			}
			checkRun(t, tt.in, got)
		})
	}
}

func TestRunSlotsAndDues(t *testing.T) {
	slots, err := Grid(Times{Start: "2026-03-29T01:00", End: "2026-03-29T04:00", Zone: brussels, DurationMinutes: 30})
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Slots: slots, Partners: []Partner{always(1, "A"), always(2, "B")}, DaysGap: gapDays(0)}
	got := Run(in)
	t.Run("slots that do not exist in the zone are not counted", func(t *testing.T) {
		if got.Slots != 5 {
			t.Errorf("Slots = %d, want 5", got.Slots)
		}
	})
	t.Run("calls are at the slots, in the run's zone, with the partner's name and phone", func(t *testing.T) {
		if len(got.Calls) != 5 {
			t.Fatalf("%d calls, want 5", len(got.Calls))
		}
		for i, c := range got.Calls {
			if c.Due != slots[i] || c.Due.Location() != brussels {
				t.Errorf("call %d due %v, want slot %v in Europe/Brussels", i, c.Due, slots[i])
			}
			p := in.Partners[c.PartnerID-1]
			if c.Name != p.Name || c.Phone != p.Phone {
				t.Errorf("call %d = %+v, partner %+v", i, c, p)
			}
		}
	})
	t.Run("Run does not modify its input", func(t *testing.T) {
		dues := []time.Time{at(time.UTC, "2026-03-29T00:00"), at(time.UTC, "2020-01-01T00:00")}
		in := Input{
			Slots:    slots,
			Partners: []Partner{always(1, "A")},
			History:  map[int64]History{1: {Count: 2, Latest: dues[0], Dues: dues}},
			DaysGap:  gapDays(1),
		}
		Run(in)
		if !dues[0].Equal(at(time.UTC, "2026-03-29T00:00")) || len(in.History[1].Dues) != 2 {
			t.Errorf("history changed: %v", in.History[1].Dues)
		}
	})
}
