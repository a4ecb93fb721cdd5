// Package crm holds the CRM's domain values that several parts of phoned
// share: partners, their phone numbers (normalised to E.164) and their
// weekly call windows, and the CSV form in which partners are imported.
// It has no storage and no transport code.
package crm

import (
	"fmt"
	"time"
)

// Clock is a time of day in seconds since midnight (0 .. 86400). 86400 is
// only valid as the end of a window ("24:00").
type Clock int32

// String renders c as HH:MM (seconds are dropped when zero, else HH:MM:SS).
func (c Clock) String() string {
	h, m, s := int(c)/3600, int(c)%3600/60, int(c)%60
	if s != 0 {
		return fmt.Sprintf("%02d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%02d:%02d", h, m)
}

// ClockOf returns the time of day of t in t's own location.
func ClockOf(t time.Time) Clock {
	h, m, s := t.Clock()
	return Clock(h*3600 + m*60 + s)
}

// Date is a calendar date with no zone. The zero Date means "unbounded"
// where it is used as a window's validity limit.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// DateOf returns the calendar date of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, dd := t.Date()
	return Date{y, m, dd}
}

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int {
	switch {
	case d.Year != e.Year:
		return cmpInt(d.Year, e.Year)
	case d.Month != e.Month:
		return cmpInt(int(d.Month), int(e.Month))
	default:
		return cmpInt(d.Day, e.Day)
	}
}

// String renders d as YYYY-MM-DD, or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Window is one weekly call window of a partner, in the partner's own time
// zone: on Weekday, From <= time of day <= To (both ends inclusive), on
// dates between ValidFrom and ValidTo (inclusive; a zero Date is unbounded).
type Window struct {
	Weekday   time.Weekday
	From, To  Clock
	ValidFrom Date
	ValidTo   Date
}

// Contains reports whether the local wall-clock time t (already converted
// to the partner's zone) falls inside w.
func (w Window) Contains(t time.Time) bool {
	if t.Weekday() != w.Weekday {
		return false
	}
	if !w.ValidFrom.IsZero() || !w.ValidTo.IsZero() {
		d := DateOf(t)
		if !w.ValidFrom.IsZero() && d.Compare(w.ValidFrom) < 0 {
			return false
		}
		if !w.ValidTo.IsZero() && d.Compare(w.ValidTo) > 0 {
			return false
		}
	}
	c := ClockOf(t)
	return w.From <= c && c <= w.To
}
