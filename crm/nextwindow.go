package crm

import (
	"math"
	"slices"
	"time"
)

// Span is a stretch of time during which a partner can be called, as
// instants: from Start to End, both included (a window's To is
// inclusive). Its JSON form is {"start": RFC 3339, "end": RFC 3339}.
type Span struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// In returns sp with both instants shown in loc.
func (sp Span) In(loc *time.Location) Span { return Span{sp.Start.In(loc), sp.End.In(loc)} }

// Schedule is a partner's call windows with the zone they are read in.
type Schedule struct {
	Zone    *time.Location
	Windows []Window
}

// Schedule returns p's windows with p's zone, or defaultZone when p has
// none or one that cannot be loaded (the planner reads partners so too).
func (p *Partner) Schedule(defaultZone *time.Location) Schedule {
	return Schedule{Zone: ResolveZone(p.TZ, defaultZone), Windows: p.Windows}
}

// ResolveZone returns the zone named tz, or defaultZone (UTC when nil)
// when tz is "", "Local" or unknown.
func ResolveZone(tz string, defaultZone *time.Location) *time.Location {
	if defaultZone == nil {
		defaultZone = time.UTC
	}
	if tz == "" || tz == "Local" {
		return defaultZone
	}
	z, err := time.LoadLocation(tz)
	if err != nil {
		return defaultZone
	}
	return z
}

// Spans returns the spans of the windows that overlap [from, to), in
// order of start, whole (not cut at from or to). Spans are computed date
// by date in the schedule's zone: on one date, the instants whose wall
// clock lies in a window valid that date, exactly as Window.Contains
// reads them. So a window that starts in a spring-forward gap opens at
// the jump, one that ends in it closes at the jump, and on a fall-back
// date a window over the repeated hour can give two spans. Windows of one
// date that overlap or touch are merged; spans of two dates are not,
// even when one ends at the midnight where the next starts.
func (s Schedule) Spans(from, to time.Time) []Span {
	out := []Span{}
	if len(s.Windows) == 0 || !from.Before(to) {
		return out
	}
	zone := s.zoneOrUTC()
	for day := dayNumber(DateOf(from.In(zone))); day <= dayNumber(DateOf(to.In(zone))); day++ {
		for _, sp := range spansOn(s.Windows, day, zone) {
			if sp.Start.Before(to) && (sp.End.After(from) || sp.Start.Equal(from)) {
				out = append(out, sp)
			}
		}
	}
	return out
}

// Next returns the first span of the windows that ends after now and
// starts before now+within (it may have started already: a window open
// now is the next one), and false when there is none.
func (s Schedule) Next(now time.Time, within time.Duration) (Span, bool) {
	if len(s.Windows) == 0 {
		return Span{}, false
	}
	zone := s.zoneOrUTC()
	horizon := now.Add(within)
	for day := dayNumber(DateOf(now.In(zone))); day <= dayNumber(DateOf(horizon.In(zone))); day++ {
		for _, sp := range spansOn(s.Windows, day, zone) {
			if !sp.Start.Before(horizon) {
				return Span{}, false
			}
			if sp.End.After(now) {
				return sp, true
			}
		}
	}
	return Span{}, false
}

func (s Schedule) zoneOrUTC() *time.Location {
	if s.Zone == nil {
		return time.UTC
	}
	return s.Zone
}

// maxOffset bounds the distance of any zone's wall clock from UTC (the
// real ones stay within -12h .. +14h).
const maxOffset = 26 * 3600

// spansOn returns the merged spans of ws on the date with this day number
// (days since 1970-01-01) in zone, in order.
//
// The date is cut into pieces of constant UTC offset (ZoneBounds); in a
// piece the wall clock, in seconds since the date's midnight, is the
// instant plus a constant, so a window's [From, To] maps to one range of
// instants, intersected with the piece. A range that runs to the piece's
// end stops at the jump of the clock: the end instant is then the first
// one outside the window, the bound of those inside it.
func spansOn(ws []Window, day int64, zone *time.Location) []Span {
	midnight := day * secondsPerDay             // the date's 00:00 as a wall clock, in seconds since the epoch
	weekday := time.Weekday(floorMod(day+4, 7)) // 1970-01-01 was a Thursday
	date := DateOf(time.Unix(midnight, 0).UTC())
	var open []Window
	for _, w := range ws {
		if w.Weekday == weekday && 0 <= w.From && w.From <= w.To && w.To <= endOfDay && w.validOn(date) {
			open = append(open, w)
		}
	}
	if len(open) == 0 {
		return nil
	}
	type piece struct{ start, end, offset int64 } // instants [start, end) show the wall clock instant+offset
	var pieces []piece
	for u := midnight - maxOffset; u < midnight+secondsPerDay+maxOffset; {
		t := time.Unix(u, 0).In(zone)
		_, offset := t.Zone()
		p := piece{u, math.MaxInt64, int64(offset)}
		if _, end := t.ZoneBounds(); !end.IsZero() && end.Unix() > u {
			p.end = end.Unix()
		}
		pieces = append(pieces, p)
		u = p.end
	}
	var out []Span
	for _, w := range open {
		for _, p := range pieces {
			lo := max(p.start, midnight+int64(w.From)-p.offset)
			hi := min(p.end, midnight+int64(w.To)-p.offset)
			if lo < p.end && lo <= hi {
				out = append(out, Span{time.Unix(lo, 0).In(zone), time.Unix(hi, 0).In(zone)})
			}
		}
	}
	return mergeSpans(out)
}

// mergeSpans sorts spans by start and merges those that overlap or touch.
func mergeSpans(spans []Span) []Span {
	if len(spans) < 2 {
		return spans
	}
	slices.SortFunc(spans, func(a, b Span) int { return a.Start.Compare(b.Start) })
	out := spans[:1]
	for _, sp := range spans[1:] {
		last := &out[len(out)-1]
		if sp.Start.After(last.End) {
			out = append(out, sp)
			continue
		}
		if sp.End.After(last.End) {
			last.End = sp.End
		}
	}
	return out
}

// validOn reports whether w is valid on date d.
func (w Window) validOn(d Date) bool {
	return (w.ValidFrom.IsZero() || d.Compare(w.ValidFrom) >= 0) &&
		(w.ValidTo.IsZero() || d.Compare(w.ValidTo) <= 0)
}

const secondsPerDay = 86400

// dayNumber returns the days from 1970-01-01 to d.
func dayNumber(d Date) int64 {
	return floorDiv(time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Unix(), secondsPerDay)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }
