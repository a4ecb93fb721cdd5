package planner

import (
	"bytes"
	"slices"
	"sort"
	"time"

	"phoned/crm"
)

// plan is the state of one run.
type plan struct {
	partners []Partner // Input.Partners
	repeat   bool
	gap      time.Duration // DaysGap×24h; 0 blocks nothing

	history map[int64]History // Input.History
	cands   []candidate
	names   string // every candidate's lower-cased name, end to end
	groups  []group
	// dues holds the sorted dues (history and this run's calls) of the
	// candidates that were checked for a block; the others never need them.
	dues     map[int32][]time.Time
	skipped  Skipped
	events   *availabilityEvents
	active   minHeap[int32]   // the available groups (and unavailable ones not yet removed), by best member
	sleeping minHeap[sleeper] // blocked candidates, by the end of their block
}

// candidate is a partner that can get a call, with its ranking key. It
// holds no pointers, so that a hundred thousand of them cost the garbage
// collector nothing.
type candidate struct {
	id         int64
	latestSec  int64 // Latest as Unix seconds and nanoseconds: ordered as the instants
	latestNsec int32
	count      int
	name       span  // lower-cased, in plan.names: candidate order
	group      int32 // index in plan.groups
	input      int32 // index in Input.Partners
}

// span is a part [from, to) of plan.names.
type span struct{ from, to int32 }

// group is the candidates sharing a zone and a window list: they are
// available at the same slots.
type group struct {
	zone     *time.Location
	windows  []crm.Window
	next     int32          // next group with the same signature hash, -1 at the end
	members  minHeap[int32] // unblocked-as-far-as-known candidates, best first
	covering int32          // availability intervals covering the current slot
	pos      int            // index in plan.active, -1 when absent
}

type sleeper struct {
	until time.Time
	cand  int32
}

// less is the ranking of candidates: without repetition count and latest
// are zero for all, leaving candidate order.
func (p *plan) less(a, b int32) bool {
	ca, cb := &p.cands[a], &p.cands[b]
	if ca.count != cb.count {
		return ca.count < cb.count
	}
	if ca.latestSec != cb.latestSec {
		return ca.latestSec < cb.latestSec
	}
	if ca.latestNsec != cb.latestNsec {
		return ca.latestNsec < cb.latestNsec
	}
	if na, nb := p.names[ca.name.from:ca.name.to], p.names[cb.name.from:cb.name.to]; na != nb {
		return na < nb // byte order of UTF-8 is code-point order
	}
	return ca.id < cb.id
}

// groupLess orders groups by their best member; empty groups come last.
func (p *plan) groupLess(a, b int32) bool {
	ma, mb := &p.groups[a].members, &p.groups[b].members
	if ma.Len() == 0 || mb.Len() == 0 {
		return ma.Len() != 0
	}
	return p.less(ma.Top(), mb.Top())
}

func newPlan(in *Input) *plan {
	p := &plan{
		partners: in.Partners,
		history:  in.History,
		repeat:   in.DaysGap != nil,
		dues:     make(map[int32][]time.Time),
	}
	if p.repeat {
		p.gap = time.Duration(*in.DaysGap) * 24 * time.Hour
	}
	p.selectCandidates(in)
	p.formGroups()

	zones := make(map[*time.Location]*zoneSlots)
	var intervals []interval
	for g := range p.groups {
		grp := &p.groups[g]
		z := zones[grp.zone]
		if z == nil {
			z = newZoneSlots(in.Slots, grp.zone)
			zones[grp.zone] = z
		}
		intervals = z.appendIntervals(intervals, int32(g), grp.windows)
	}
	p.events = newAvailabilityEvents(len(in.Slots), intervals)

	p.active = minHeap[int32]{
		less:  p.groupLess,
		moved: func(g int32, i int) { p.groups[g].pos = i },
	}
	p.sleeping = minHeap[sleeper]{less: func(a, b sleeper) bool { return a.until.Before(b.until) }}
	return p
}

// selectCandidates applies the criteria, counts the skipped partners and
// fills p.cands. Without repetition, partners with a counting call are
// left out: they are blocked for the whole run.
func (p *plan) selectCandidates(in *Input) {
	m := in.Criteria.compile()
	query := []byte(m.query)
	size := 0
	for i := range in.Partners {
		size += len(in.Partners[i].Name)
	}
	names := make([]byte, 0, size)
	p.cands = make([]candidate, 0, len(in.Partners))
	for i := range in.Partners {
		src := &in.Partners[i]
		if !m.matchIDTags(src) {
			continue
		}
		from := len(names)
		if len(query) > 0 {
			names = appendLower(names, src.Name)
			if !bytes.Contains(names[from:], query) {
				names = names[:from]
				continue
			}
		}
		switch {
		case len(src.Windows) == 0:
			p.skipped.NoWindow++
			names = names[:from]
			continue
		case src.Phone == "":
			p.skipped.NoPhone++
			names = names[:from]
			continue
		}
		h := in.History[src.ID] // absent: never called, a zero Latest
		if !p.repeat {
			if h.Count > 0 {
				names = names[:from]
				continue
			}
			h = History{} // candidate order alone
		}
		c := candidate{
			id:         src.ID,
			input:      int32(i),
			count:      h.Count,
			latestSec:  h.Latest.Unix(),
			latestNsec: int32(h.Latest.Nanosecond()),
		}
		if len(query) == 0 {
			names = appendLower(names, src.Name)
		}
		c.name = span{int32(from), int32(len(names))}
		p.cands = append(p.cands, c)
	}
	p.names = string(names) // one copy for all names
}

// formGroups puts each candidate in the group of its zone and window list
// and orders each group's members.
func (p *plan) formGroups() {
	type signature struct {
		zone *time.Location
		hash uint64
	}
	first := make(map[signature]int32)
	sizes := []int{}
	for i := range p.cands {
		c := &p.cands[i]
		src := p.source(c)
		zone := src.Zone
		if zone == nil {
			zone = time.UTC
		}
		sig := signature{zone, hashWindows(src.Windows)}
		g, ok := first[sig]
		if !ok {
			g = -1
		}
		for g >= 0 && !slices.Equal(p.groups[g].windows, src.Windows) {
			g = p.groups[g].next
		}
		if g < 0 {
			g = int32(len(p.groups))
			head, ok := first[sig]
			if !ok {
				head = -1
			}
			p.groups = append(p.groups, group{zone: zone, windows: src.Windows, next: head, pos: -1})
			first[sig] = g
			sizes = append(sizes, 0)
		}
		c.group = g
		sizes[g]++
	}

	// All members live in one backing array, each group in its own
	// fixed-capacity part: a group never holds more than its candidates.
	backing := make([]int32, len(p.cands))
	offset := 0
	for g := range p.groups {
		p.groups[g].members = minHeap[int32]{items: backing[offset : offset : offset+sizes[g]], less: p.less}
		offset += sizes[g]
	}
	for i := range p.cands {
		m := &p.groups[p.cands[i].group].members
		m.items = append(m.items, int32(i))
	}
	for g := range p.groups {
		p.groups[g].members.Init()
	}
}

// source returns the partner c was made from.
func (p *plan) source(c *candidate) *Partner { return &p.partners[c.input] }

// hashWindows is an FNV-1a style hash of a window list, for grouping.
func hashWindows(ws []crm.Window) uint64 {
	h := uint64(14695981039346656037)
	mix := func(v int64) {
		h ^= uint64(v)
		h *= 1099511628211
	}
	for _, w := range ws {
		mix(int64(w.Weekday))
		mix(int64(w.From)<<32 | int64(uint32(w.To)))
		mix(int64(w.ValidFrom.Year)<<9 | int64(w.ValidFrom.Month)<<5 | int64(w.ValidFrom.Day))
		mix(int64(w.ValidTo.Year)<<9 | int64(w.ValidTo.Month)<<5 | int64(w.ValidTo.Day))
	}
	return h
}

// record books a call of candidate c at t.
func (p *plan) record(c int32, t time.Time) {
	cand := &p.cands[c]
	cand.count++
	if sec, nsec := t.Unix(), int32(t.Nanosecond()); sec > cand.latestSec || sec == cand.latestSec && nsec > cand.latestNsec {
		cand.latestSec, cand.latestNsec = sec, nsec
	}
	if p.gap > 0 {
		dues := p.sortedDues(c)
		i := sort.Search(len(dues), func(i int) bool { return dues[i].After(t) })
		p.dues[c] = slices.Insert(dues, i, t)
	}
}

// blockedUntil returns the first instant at or after t at which no due of
// candidate c lies less than the gap away; t itself when c is free at t.
// Without repetition the blocked partners were left out of the candidates
// and a called one is not put back, so nobody is blocked here.
func (p *plan) blockedUntil(c int32, t time.Time) time.Time {
	if p.gap == 0 {
		return t
	}
	dues := p.sortedDues(c)
	for {
		lo, hi := t.Add(-p.gap), t.Add(p.gap)
		i := sort.Search(len(dues), func(i int) bool { return dues[i].After(lo) })
		if i == len(dues) || !dues[i].Before(hi) {
			return t
		}
		j := i + sort.Search(len(dues)-i, func(k int) bool { return !dues[i+k].Before(hi) })
		t = dues[j-1].Add(p.gap) // past the last due blocking t; it may meet the next ones
	}
}

// sortedDues returns candidate c's dues, sorted: on first use a sorted copy
// of its history's (Run must not reorder the caller's slices).
func (p *plan) sortedDues(c int32) []time.Time {
	dues, ok := p.dues[c]
	if !ok {
		dues = slices.Clone(p.history[p.cands[c].id].Dues)
		slices.SortFunc(dues, time.Time.Compare)
		p.dues[c] = dues
	}
	return dues
}
