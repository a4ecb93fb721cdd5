package planner

import (
	"errors"
	"testing"
	"time"
)

func TestGrid(t *testing.T) {
	tests := []struct {
		name  string
		times Times
		want  []string // RFC 3339, with the zone's offset
	}{
		{
			name:  "SPEC example: 1 to 3 September, 09:00 to 10:00 every hour gives six slots",
			times: Times{Start: "2017-09-01T09:00", End: "2017-09-03T10:00", Zone: brussels, DurationMinutes: 60},
			want: []string{
				"2017-09-01T09:00:00+02:00", "2017-09-01T10:00:00+02:00",
				"2017-09-02T09:00:00+02:00", "2017-09-02T10:00:00+02:00",
				"2017-09-03T09:00:00+02:00", "2017-09-03T10:00:00+02:00",
			},
		},
		{
			name:  "both ends are inclusive, on one date",
			times: Times{Start: "2026-06-15T09:00", End: "2026-06-15T09:30", Zone: time.UTC, DurationMinutes: 15},
			want:  []string{"2026-06-15T09:00:00Z", "2026-06-15T09:15:00Z", "2026-06-15T09:30:00Z"},
		},
		{
			name:  "a step that overshoots the end's time of day stops before it",
			times: Times{Start: "2026-06-15T09:00", End: "2026-06-15T09:44", Zone: time.UTC, DurationMinutes: 15},
			want:  []string{"2026-06-15T09:00:00Z", "2026-06-15T09:15:00Z", "2026-06-15T09:30:00Z"},
		},
		{
			name:  "seconds are accepted and kept",
			times: Times{Start: "2026-06-15T09:00:30", End: "2026-06-15T09:02:30", Zone: time.UTC, DurationMinutes: 1},
			want:  []string{"2026-06-15T09:00:30Z", "2026-06-15T09:01:30Z", "2026-06-15T09:02:30Z"},
		},
		{
			name:  "dates in the past are allowed",
			times: Times{Start: "1999-12-31T12:00", End: "1999-12-31T12:00", Zone: time.UTC, DurationMinutes: 5},
			want:  []string{"1999-12-31T12:00:00Z"},
		},
		{
			name:  "slots never cross midnight",
			times: Times{Start: "2026-06-15T23:00", End: "2026-06-16T23:30", Zone: time.UTC, DurationMinutes: 60},
			want:  []string{"2026-06-15T23:00:00Z", "2026-06-16T23:00:00Z"},
		},
		{
			name:  "duration 1 minute",
			times: Times{Start: "2026-06-15T09:00", End: "2026-06-15T09:03", Zone: time.UTC, DurationMinutes: 1},
			want:  []string{"2026-06-15T09:00:00Z", "2026-06-15T09:01:00Z", "2026-06-15T09:02:00Z", "2026-06-15T09:03:00Z"},
		},
		{
			name:  "duration 1440 minutes: one slot a day",
			times: Times{Start: "2026-06-15T00:00", End: "2026-06-17T23:59", Zone: time.UTC, DurationMinutes: 1440},
			want:  []string{"2026-06-15T00:00:00Z", "2026-06-16T00:00:00Z", "2026-06-17T00:00:00Z"},
		},
		{
			name:  "DST spring-forward: 02:00 to 02:59 do not exist in Europe/Brussels on 2026-03-29 and are skipped",
			times: Times{Start: "2026-03-29T01:00", End: "2026-03-29T04:00", Zone: brussels, DurationMinutes: 30},
			want: []string{
				"2026-03-29T01:00:00+01:00", "2026-03-29T01:30:00+01:00",
				"2026-03-29T03:00:00+02:00", "2026-03-29T03:30:00+02:00", "2026-03-29T04:00:00+02:00",
			},
		},
		{
			name:  "DST fall-back: 02:30 on 2026-10-25 in Europe/Brussels is the earlier instant, +02:00",
			times: Times{Start: "2026-10-25T02:00", End: "2026-10-25T03:00", Zone: brussels, DurationMinutes: 30},
			want:  []string{"2026-10-25T02:00:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-25T03:00:00+01:00"},
		},
		{
			name:  "DST in America/New_York: 02:30 skipped in March, 01:30 is EDT in November",
			times: Times{Start: "2026-03-08T01:30", End: "2026-03-08T02:30", Zone: newYork, DurationMinutes: 60},
			want:  []string{"2026-03-08T01:30:00-05:00"},
		},
		{
			name:  "DST fall-back in America/New_York",
			times: Times{Start: "2026-11-01T01:30", End: "2026-11-01T01:30", Zone: newYork, DurationMinutes: 60},
			want:  []string{"2026-11-01T01:30:00-04:00"},
		},
		{
			name:  "half-hour DST in Australia/Lord_Howe: 02:00 to 02:29 skipped in October, 01:45 is +11:00 in April",
			times: Times{Start: "2026-10-04T01:45", End: "2026-10-04T02:45", Zone: lordHowe, DurationMinutes: 15},
			want:  []string{"2026-10-04T01:45:00+10:30", "2026-10-04T02:30:00+11:00", "2026-10-04T02:45:00+11:00"},
		},
		{
			name:  "half-hour fall-back in Australia/Lord_Howe",
			times: Times{Start: "2026-04-05T01:45", End: "2026-04-05T01:45", Zone: lordHowe, DurationMinutes: 15},
			want:  []string{"2026-04-05T01:45:00+11:00"},
		},
		{
			name:  "DST at midnight in America/Havana: 00:xx does not exist on 2026-03-08",
			times: Times{Start: "2026-03-07T00:00", End: "2026-03-09T00:30", Zone: havana, DurationMinutes: 30},
			want: []string{
				"2026-03-07T00:00:00-05:00", "2026-03-07T00:30:00-05:00",
				"2026-03-09T00:00:00-04:00", "2026-03-09T00:30:00-04:00",
			},
		},
		{
			name:  "beyond the zone's transition table: DST rules still apply, across a year end",
			times: Times{Start: "2040-12-31T00:00", End: "2041-01-01T01:00", Zone: brussels, DurationMinutes: 60},
			want: []string{
				"2040-12-31T00:00:00+01:00", "2040-12-31T01:00:00+01:00",
				"2041-01-01T00:00:00+01:00", "2041-01-01T01:00:00+01:00",
			},
		},
		{
			name:  "beyond the zone's transition table: a spring-forward gap in 2040",
			times: Times{Start: "2040-03-25T01:30", End: "2040-03-25T03:30", Zone: brussels, DurationMinutes: 60},
			want:  []string{"2040-03-25T01:30:00+01:00", "2040-03-25T03:30:00+02:00"},
		},
		{
			name:  "nil zone is UTC",
			times: Times{Start: "2026-06-15T09:00", End: "2026-06-15T09:00", DurationMinutes: 60},
			want:  []string{"2026-06-15T09:00:00Z"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Grid(tt.times)
			if err != nil {
				t.Fatalf("Grid: %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d slots %v, want %d %v", len(got), got, len(tt.want), tt.want)
			}
			for i := range got {
				if s := got[i].Format(time.RFC3339); s != tt.want[i] {
					t.Errorf("slot %d = %s, want %s", i, s, tt.want[i])
				}
			}
			zone := tt.times.Zone
			if zone == nil {
				zone = time.UTC
			}
			checkGrid(t, tt.times.Start, tt.times.End, zone, tt.times.DurationMinutes, got)
		})
	}
}

func TestGridErrors(t *testing.T) {
	ok := Times{Start: "2017-09-01T09:00", End: "2017-09-03T10:00", Zone: brussels, DurationMinutes: 60}
	with := func(change func(*Times)) Times {
		t := ok
		change(&t)
		return t
	}
	tests := []struct {
		name  string
		times Times
		field string
	}{
		{"malformed start: space instead of T", with(func(t *Times) { t.Start = "2017-09-01 09:00" }), "start"},
		{"malformed start: empty", with(func(t *Times) { t.Start = "" }), "start"},
		{"malformed start: one-digit month", with(func(t *Times) { t.Start = "2017-9-01T09:00" }), "start"},
		{"malformed start: 30 February", with(func(t *Times) { t.Start = "2017-02-30T09:00" }), "start"},
		{"malformed start: 29 February of a common year", with(func(t *Times) { t.Start = "2017-02-29T09:00" }), "start"},
		{"malformed start: hour 24", with(func(t *Times) { t.Start = "2017-09-01T24:00" }), "start"},
		{"malformed start: second 60", with(func(t *Times) { t.Start = "2017-09-01T09:00:60" }), "start"},
		{"malformed start: fractional seconds", with(func(t *Times) { t.Start = "2017-09-01T09:00:00.5" }), "start"},
		{"malformed start: an offset", with(func(t *Times) { t.Start = "2017-09-01T09:00Z" }), "start"},
		{"malformed start: a sign in a number", with(func(t *Times) { t.Start = "2017-09-01T+9:00" }), "start"},
		{"malformed end", with(func(t *Times) { t.End = "2017-09-03" }), "end"},
		{"malformed end: minute 60", with(func(t *Times) { t.End = "2017-09-03T10:60" }), "end"},
		{"duration 0", with(func(t *Times) { t.DurationMinutes = 0 }), "duration_minutes"},
		{"duration negative", with(func(t *Times) { t.DurationMinutes = -5 }), "duration_minutes"},
		{"duration 1441", with(func(t *Times) { t.DurationMinutes = 1441 }), "duration_minutes"},
		{"start after end: dates", with(func(t *Times) { t.Start, t.End = "2017-09-04T09:00", "2017-09-03T10:00" }), "end"},
		{"start after end: same date", with(func(t *Times) { t.Start, t.End = "2017-09-03T10:00:01", "2017-09-03T10:00" }), "end"},
		{"end's time of day before start's", with(func(t *Times) { t.Start, t.End = "2017-09-01T10:00", "2017-09-03T09:00" }), "end"},
		{"order: malformed start before malformed end", with(func(t *Times) { t.Start, t.End = "x", "y" }), "start"},
		{"order: malformed end before duration", with(func(t *Times) { t.End, t.DurationMinutes = "y", 0 }), "end"},
		{"order: duration before ordering", with(func(t *Times) { t.Start, t.DurationMinutes = "2017-09-04T11:00", 0 }), "duration_minutes"},
		{"more than MaxSlots slots", with(func(t *Times) { t.Start, t.End, t.DurationMinutes = "2000-01-01T00:00", "2009-12-31T23:59", 1 }), "end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			slots, err := Grid(tt.times)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Grid = %d slots, %v; want a *FieldError on %q", len(slots), err, tt.field)
			}
			if fe.Field != tt.field || fe.Message == "" {
				t.Errorf("error %q on field %q, want field %q", fe.Message, fe.Field, tt.field)
			}
			if slots != nil {
				t.Errorf("slots returned with an error")
			}
		})
	}
}

func TestCheckDaysGap(t *testing.T) {
	for _, tt := range []struct {
		gap int
		ok  bool
	}{{-1, false}, {0, true}, {1, true}, {3650, true}, {3651, false}} {
		err := CheckDaysGap(tt.gap)
		var fe *FieldError
		switch {
		case tt.ok && err != nil:
			t.Errorf("CheckDaysGap(%d) = %v, want nil", tt.gap, err)
		case !tt.ok && (!errors.As(err, &fe) || fe.Field != "repeat.days_gap"):
			t.Errorf("CheckDaysGap(%d) = %v, want a *FieldError on repeat.days_gap", tt.gap, err)
		}
	}
}
