package crm

import (
	"testing"
	"time"
)

func TestParseWeekday(t *testing.T) {
	tests := []struct {
		name, in string
		want     time.Weekday
		wantErr  bool
	}{
		{"short", "mon", time.Monday, false},
		{"short sunday", "sun", time.Sunday, false},
		{"upper", "FRI", time.Friday, false},
		{"full", "monday", time.Monday, false},
		{"full mixed case", "Saturday", time.Saturday, false},
		{"empty", "", 0, true},
		{"unknown", "xyz", 0, true},
		{"padded", " mon", 0, true},
		{"abbrev too short", "mo", 0, true},
		{"number", "1", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseWeekday(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseWeekday(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestWeekdayName(t *testing.T) {
	for d := time.Sunday; d <= time.Saturday; d++ {
		name := WeekdayName(d)
		if got, err := ParseWeekday(name); err != nil || got != d || len(name) != 3 {
			t.Errorf("WeekdayName(%v) = %q, parses back as %v, %v", d, name, got, err)
		}
	}
	if got := WeekdayName(7); got != "" {
		t.Errorf("WeekdayName(7) = %q, want \"\"", got)
	}
	if got := WeekdayName(time.Monday); got != "mon" {
		t.Errorf("WeekdayName(Monday) = %q", got)
	}
}

func TestParseClock(t *testing.T) {
	tests := []struct {
		name, in string
		want     Clock
		wantErr  bool
	}{
		{"midnight", "00:00", 0, false},
		{"morning", "09:30", 9*3600 + 30*60, false},
		{"one-digit hour", "9:00", 9 * 3600, false},
		{"seconds", "23:59:59", 86399, false},
		{"one-digit hour seconds", "9:00:30", 9*3600 + 30, false},
		{"end of day", "24:00", 86400, false},
		{"end of day seconds", "24:00:00", 86400, false},
		{"after end of day", "24:00:01", 0, true},
		{"24:01", "24:01", 0, true},
		{"hour 25", "25:00", 0, true},
		{"minute 60", "10:60", 0, true},
		{"second 60", "10:00:60", 0, true},
		{"empty", "", 0, true},
		{"no minutes", "9", 0, true},
		{"one-digit minute", "9:0", 0, true},
		{"three-digit hour", "009:00", 0, true},
		{"leading space", " 9:00", 0, true},
		{"trailing space", "09:00 ", 0, true},
		{"sign", "+9:00", 0, true},
		{"dot", "09.00", 0, true},
		{"am", "9:00am", 0, true},
		{"trailing colon", "09:00:", 0, true},
		{"unicode digits", "٠٩:٠٠", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseClock(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseClock(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestClockRoundTrip(t *testing.T) {
	for c := Clock(0); c <= endOfDay; c += 97 {
		if got, err := ParseClock(c.String()); err != nil || got != c {
			t.Fatalf("ParseClock(%q) = %v, %v; want %v", c.String(), got, err, c)
		}
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		name, in string
		want     Date
		wantErr  bool
	}{
		{"empty is zero", "", Date{}, false},
		{"plain", "2026-01-31", Date{2026, time.January, 31}, false},
		{"leap day", "2024-02-29", Date{2024, time.February, 29}, false},
		{"no leap day", "2026-02-29", Date{}, true},
		{"april 31", "2026-04-31", Date{}, true},
		{"month 13", "2026-13-01", Date{}, true},
		{"month 0", "2026-00-10", Date{}, true},
		{"day 0", "2026-01-00", Date{}, true},
		{"year 0", "0000-01-01", Date{}, true},
		{"short month", "2026-1-05", Date{}, true},
		{"slashes", "2026/01/05", Date{}, true},
		{"time attached", "2026-01-05T00:00", Date{}, true},
		{"space", " 2026-01-05", Date{}, true},
		{"sign", "+026-01-05", Date{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDate(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseDate(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
			if err == nil && got.String() != tt.in {
				t.Errorf("ParseDate(%q).String() = %q", tt.in, got.String())
			}
		})
	}
}
