package planner

import (
	"sort"
	"time"

	"phoned/crm"
)

// Availability is computed per group of partners that share a zone and a
// window list, never per partner and slot: the run's slots are converted
// once per zone (zoneSlots), and each group's windows become intervals of
// slot indices at which the group is available. The run then only reacts
// to the ends of intervals (availabilityEvents).

// zoneSlots is the run's slots as seen in one zone.
type zoneSlots struct {
	tod       []int32 // the time of day of each slot, in whole seconds
	byWeekday [7][]segment
}

// segment is a maximal run of consecutive slots on one local date whose
// times of day strictly ascend, so that the slots inside a window's
// [From, To] form one contiguous range of it. A date splits into two
// segments where a fall-back repeats its times of day.
type segment struct {
	first, end int // slot indices [first, end)
	date       crm.Date
	weekday    time.Weekday
	step       int32 // the times of day are first's + k×step; 0: irregular
}

// between returns the range [lo, hi) of slot indices of s whose time of
// day (tod, by slot) lies in [from, to]; lo >= hi when there is none.
// Segments are usually one day's grid as seen in the zone, evenly spaced,
// and then no search is needed.
func (s *segment) between(tod []int32, from, to crm.Clock) (lo, hi int) {
	n := s.end - s.first
	if s.step > 0 {
		t0, step := crm.Clock(tod[s.first]), crm.Clock(s.step)
		if from > t0 {
			lo = int((from - t0 + step - 1) / step)
		}
		if to >= t0 {
			hi = int((to-t0)/step) + 1
		}
		return s.first + min(lo, n), s.first + min(hi, n)
	}
	tods := tod[s.first:s.end]
	lo = sort.Search(n, func(i int) bool { return crm.Clock(tods[i]) >= from })
	hi = lo + sort.Search(n-lo, func(i int) bool { return crm.Clock(tods[lo+i]) > to })
	return s.first + lo, s.first + hi
}

func newZoneSlots(slots []time.Time, zone *time.Location) *zoneSlots {
	z := &zoneSlots{tod: make([]int32, len(slots))}
	var segs []segment
	prevDay, prevTod := int64(0), int32(-1)
	for i, t := range slots {
		_, offset := t.In(zone).Zone()
		local := t.Unix() + int64(offset) // whole seconds, as crm.ClockOf sees them
		day := floorDiv(local, secondsPerDay)
		tod := int32(local - day*secondsPerDay)
		z.tod[i] = tod
		if len(segs) == 0 || day != prevDay || tod <= prevTod {
			if len(segs) > 0 {
				segs[len(segs)-1].end = i
			}
			segs = append(segs, segment{
				first:   i,
				date:    crm.DateOf(time.Unix(day*secondsPerDay, 0).UTC()),
				weekday: time.Weekday(floorMod(day+4, 7)), // 1970-01-01 was a Thursday
				step:    1,                                // until a second slot says otherwise
			})
		} else if s := &segs[len(segs)-1]; s.step > 0 {
			switch {
			case i == s.first+1:
				s.step = tod - prevTod
			case tod-prevTod != s.step:
				s.step = 0
			}
		}
		prevDay, prevTod = day, tod
	}
	if len(segs) > 0 {
		segs[len(segs)-1].end = len(slots)
	}
	for _, s := range segs {
		z.byWeekday[s.weekday] = append(z.byWeekday[s.weekday], s)
	}
	return z
}

// interval is a range [first, end) of slot indices at which a group is
// available.
type interval struct {
	first, end int32
	group      int32
}

// appendIntervals appends the intervals of slot indices at which some
// window of windows contains the slot, as seen in z's zone. Overlapping
// windows give overlapping intervals; the run counts them.
func (z *zoneSlots) appendIntervals(dst []interval, group int32, windows []crm.Window) []interval {
	for _, w := range windows {
		if w.Weekday < time.Sunday || w.Weekday > time.Saturday || w.From > w.To {
			continue
		}
		for _, s := range z.byWeekday[w.Weekday] {
			if !validOn(w, s.date) {
				continue
			}
			lo, hi := s.between(z.tod, w.From, w.To)
			if lo < hi {
				dst = append(dst, interval{int32(lo), int32(hi), group})
			}
		}
	}
	return dst
}

func validOn(w crm.Window, d crm.Date) bool {
	return (w.ValidFrom.IsZero() || d.Compare(w.ValidFrom) >= 0) &&
		(w.ValidTo.IsZero() || d.Compare(w.ValidTo) <= 0)
}

// availabilityEvents indexes intervals by slot: the groups that become
// available at slot i are starts[startAt[i]:startAt[i+1]], those that stop
// being available at slot i are ends[endAt[i]:endAt[i+1]].
type availabilityEvents struct {
	startAt, endAt []int32
	starts, ends   []int32
}

func newAvailabilityEvents(nslots int, intervals []interval) *availabilityEvents {
	e := &availabilityEvents{
		startAt: make([]int32, nslots+3),
		endAt:   make([]int32, nslots+3),
		starts:  make([]int32, len(intervals)),
		ends:    make([]int32, len(intervals)),
	}
	// Counting sort of the slot indices 0 .. nslots: count bucket k at k+2,
	// prefix-sum so that k+1 holds bucket k's start, fill bucket k by
	// bumping k+1, which leaves k+1 at bucket k's end, that is k+1's start.
	for _, iv := range intervals {
		e.startAt[iv.first+2]++
		e.endAt[iv.end+2]++
	}
	for i := 2; i < len(e.startAt); i++ {
		e.startAt[i] += e.startAt[i-1]
		e.endAt[i] += e.endAt[i-1]
	}
	for _, iv := range intervals {
		e.starts[e.startAt[iv.first+1]] = iv.group
		e.startAt[iv.first+1]++
		e.ends[e.endAt[iv.end+1]] = iv.group
		e.endAt[iv.end+1]++
	}
	return e
}

func (e *availabilityEvents) startsAt(i int) []int32 { return e.starts[e.startAt[i]:e.startAt[i+1]] }
func (e *availabilityEvents) endsAt(i int) []int32   { return e.ends[e.endAt[i]:e.endAt[i+1]] }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }
