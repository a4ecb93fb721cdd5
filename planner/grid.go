package planner

import (
	"slices"
	"time"
)

// Times are the run's times as received.
type Times struct {
	// Start and End are local wall-clock times in Zone, "YYYY-MM-DDTHH:MM"
	// or "YYYY-MM-DDTHH:MM:SS". Their dates bound the days of the run and
	// their times of day bound each day's slots.
	Start, End string
	// Zone is the run's zone; the caller resolves it (nil is taken as UTC).
	Zone *time.Location
	// DurationMinutes spaces one slot from the next, 1 .. 1440.
	DurationMinutes int
}

// MaxSlots bounds the grid of one run, so that an absurd range (years of
// one-minute slots) is a validation error on "end" rather than minutes of
// work and an answer of hundreds of megabytes. A run plans one caller's
// calls: a year of 5-minute slots around the clock (105,120) fits.
const MaxSlots = 200_000

const secondsPerDay = 86400

// Grid validates t and returns the run's slots in ascending order: for each
// calendar date from Start's date to End's date inclusive, the wall-clock
// times T0, T0+d, ... not after T1, where T0 and T1 are the times of day of
// Start and End (both inclusive; never crossing midnight). Wall-clock times
// that do not exist in Zone (a spring-forward gap) are skipped; an ambiguous
// one (fall-back) is the earlier instant. The slots are in Zone.
//
// Errors are *FieldError, checked in this order: malformed Start ("start"),
// malformed End ("end"), duration outside 1..1440 ("duration_minutes"),
// Start after End ("end"), End's time of day before Start's ("end"), more
// than MaxSlots slots ("end").
func Grid(t Times) ([]time.Time, error) {
	zone := t.Zone
	if zone == nil {
		zone = time.UTC
	}
	start, ok := parseLocal(t.Start)
	if !ok {
		return nil, fieldErrorf("start", "start %q is not a local date-time YYYY-MM-DDTHH:MM[:SS]", t.Start)
	}
	end, ok := parseLocal(t.End)
	if !ok {
		return nil, fieldErrorf("end", "end %q is not a local date-time YYYY-MM-DDTHH:MM[:SS]", t.End)
	}
	if t.DurationMinutes < 1 || t.DurationMinutes > 1440 {
		return nil, fieldErrorf("duration_minutes", "duration %d minutes is outside 1 .. 1440", t.DurationMinutes)
	}
	if start.after(end) {
		return nil, fieldErrorf("end", "end %s is before start %s", t.End, t.Start)
	}
	if end.tod < start.tod {
		return nil, fieldErrorf("end", "the time of day of end (%s) is before that of start (%s)", t.End[11:], t.Start[11:])
	}

	step := int64(t.DurationMinutes) * 60
	days := end.day - start.day + 1
	perDay := (end.tod-start.tod)/step + 1
	if days*perDay > MaxSlots {
		return nil, fieldErrorf("end", "the run would have %d slots, more than the %d allowed", days*perDay, MaxSlots)
	}

	slots := make([]time.Time, 0, days*perDay)
	for day := start.day; day <= end.day; day++ {
		for tod := start.tod; tod <= end.tod; tod += step {
			if u, ok := instantOf(day*secondsPerDay+tod, zone); ok {
				slots = append(slots, time.Unix(u, 0).In(zone))
			}
		}
	}
	return slots, nil
}

// localTime is a zoneless wall-clock time: a day number (days since
// 1970-01-01) and seconds since midnight.
type localTime struct {
	day, tod int64
}

func (a localTime) after(b localTime) bool {
	return a.day > b.day || a.day == b.day && a.tod > b.tod
}

// parseLocal parses "YYYY-MM-DDTHH:MM" or "YYYY-MM-DDTHH:MM:SS" strictly:
// fixed widths, a real calendar date, hours 00..23. time.Parse is not used
// because it accepts fractional seconds the SPEC's format does not have.
func parseLocal(s string) (localTime, bool) {
	if len(s) != 16 && len(s) != 19 {
		return localTime{}, false
	}
	if s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || len(s) == 19 && s[16] != ':' {
		return localTime{}, false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day := num(0, 4), num(5, 2), num(8, 2)
	hour, minute, second := num(11, 2), num(14, 2), 0
	if len(s) == 19 {
		second = num(17, 2)
	}
	if year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 ||
		minute < 0 || minute > 59 || second < 0 || second > 59 {
		return localTime{}, false
	}
	midnight := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	if midnight.Day() != day { // 31 April, 29 February of a common year...
		return localTime{}, false
	}
	return localTime{
		day: midnight.Unix() / secondsPerDay, // exact: a UTC midnight
		tod: int64(hour*3600 + minute*60 + second),
	}, true
}

// instantOf returns the earliest instant (Unix seconds) whose wall clock in
// loc reads wall (seconds since 1970-01-01T00:00 of that wall clock), and
// false when no instant does (a spring-forward gap).
//
// Any instant u with that wall clock satisfies u = wall - offset(u), and
// offsets are under a day, so u lies within a day of wall. The offsets the
// zone uses around wall are read at five probes across those two days
// (zones change offset at most once or twice in two days), and each gives
// the one instant it could apply to, kept if the zone does use that offset
// then. time.Date is not used because it does not promise which instant an
// ambiguous wall-clock time becomes, nor time.Time.ZoneBounds because past
// the zone's transition table it reports periods cut at year ends.
func instantOf(wall int64, loc *time.Location) (int64, bool) {
	var offsets [5]int64
	n := 0
	for _, probe := range [...]int64{wall - secondsPerDay, wall - secondsPerDay/2, wall, wall + secondsPerDay/2, wall + secondsPerDay} {
		o := offsetAt(probe, loc)
		if !slices.Contains(offsets[:n], o) {
			offsets[n] = o
			n++
		}
	}
	best, found := int64(0), false
	for _, o := range offsets[:n] {
		if u := wall - o; (!found || u < best) && offsetAt(u, loc) == o {
			best, found = u, true
		}
	}
	return best, found
}

// offsetAt returns loc's offset from UTC at the instant u, in seconds.
func offsetAt(u int64, loc *time.Location) int64 {
	_, offset := time.Unix(u, 0).In(loc).Zone()
	return int64(offset)
}
