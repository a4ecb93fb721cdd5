package crm

import (
	"fmt"
	"time"
)

// endOfDay is the Clock of "24:00", allowed only as the end of a window.
const endOfDay Clock = 24 * 3600

// ParseClock parses a time of day written "H:MM", "HH:MM" or "HH:MM:SS",
// from 00:00 to 23:59:59, and also "24:00" (or "24:00:00"), which is
// 86400 and only meaningful as the end of a window. Nothing else is
// accepted: no spaces, no sign, no missing or extra digits.
func ParseClock(s string) (Clock, error) {
	bad := fmt.Errorf("%q is not a time of day (want HH:MM or HH:MM:SS, 00:00 to 24:00)", s)
	hLen := 2
	if len(s) > 1 && s[1] == ':' {
		hLen = 1
	}
	if len(s) != hLen+3 && len(s) != hLen+6 {
		return 0, bad
	}
	h, ok1 := digits(s[:hLen])
	m, ok2 := digits(s[hLen+1 : hLen+3])
	if !ok1 || !ok2 || s[hLen] != ':' {
		return 0, bad
	}
	sec := 0
	if len(s) == hLen+6 {
		var ok bool
		if sec, ok = digits(s[hLen+4:]); !ok || s[hLen+3] != ':' {
			return 0, bad
		}
	}
	c := Clock(h*3600 + m*60 + sec)
	if m > 59 || sec > 59 || c > endOfDay {
		return 0, bad
	}
	return c, nil
}

// ParseDate parses a calendar date written "YYYY-MM-DD" (year 0001 to
// 9999) that exists in the Gregorian calendar. The empty string gives the
// zero Date, which means "unbounded" as a window's validity limit.
func ParseDate(s string) (Date, error) {
	if s == "" {
		return Date{}, nil
	}
	bad := fmt.Errorf("%q is not a date (want YYYY-MM-DD)", s)
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return Date{}, bad
	}
	y, ok1 := digits(s[:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:])
	if !ok1 || !ok2 || !ok3 {
		return Date{}, bad
	}
	date := Date{y, time.Month(m), d}
	if !date.valid() {
		return Date{}, bad
	}
	return date, nil
}

// valid reports whether d is a real date with a year from 1 to 9999.
func (d Date) valid() bool {
	if d.Year < 1 || d.Year > 9999 || d.Month < time.January || d.Month > time.December || d.Day < 1 {
		return false
	}
	return DateOf(time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC)) == d
}

// digits parses s as a non-negative decimal number made of ASCII digits
// only (no sign, no spaces).
func digits(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}
