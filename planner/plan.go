package planner

import (
	"bytes"
	"slices"
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
	active   groupHeap        // the available groups (and unavailable ones not yet removed)
	sleeping minHeap[sleeper] // blocked candidates, by the end of their block
}

// candidate is a partner that can get a call.
type candidate struct {
	rank  rank
	group int32 // index in plan.groups
	input int32 // index in Input.Partners
}

// group is the candidates sharing a zone and a window list: they are
// available at the same slots.
type group struct {
	zone     *time.Location
	windows  []crm.Window
	next     int32          // next group with the same signature hash, -1 at the end
	members  minHeap[int32] // unblocked-as-far-as-known candidates, best first
	covering int32          // availability intervals covering the current slot
}

type sleeper struct {
	until time.Time
	cand  int32
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

	p.active = newGroupHeap(len(p.groups), p.names)
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
		if len(query) == 0 {
			names = appendLower(names, src.Name)
		}
		p.cands = append(p.cands, candidate{
			rank:  rankOf(h.Count, h.Latest, span{int32(from), int32(len(names))}, src.ID),
			input: int32(i),
		})
	}
	p.names = string(names) // one copy for all names
}

// formGroups puts each candidate in the group of its zone and window list,
// reorders p.cands so that each group's candidates are contiguous (its heap
// then stays in one part of memory) and orders each group's members.
func (p *plan) formGroups() {
	gr := grouper{
		p:      p,
		zones:  make(map[*time.Location]uint64),
		last:   make(map[uint64]int32),
		shared: make(map[sharedList]int32),
	}
	groupOf := make([]int32, len(p.cands))
	var sizes []int32
	for i := range p.cands {
		src := &p.partners[p.cands[i].input]
		zone := src.Zone
		if zone == nil {
			zone = time.UTC
		}
		g := gr.find(zone, src.Windows)
		if g < 0 {
			g = gr.add(zone, src.Windows)
			sizes = append(sizes, 0)
		}
		groupOf[i] = g
		sizes[g]++
	}

	// Members are indices into p.cands: group g holds [offset, offset+size).
	// All heaps share one backing array, each with its own fixed capacity: a
	// group never holds more than its own candidates.
	next := make([]int32, len(p.groups))
	backing := make([]int32, len(p.cands))
	offset := int32(0)
	for g := range p.groups {
		next[g] = offset
		for i := offset; i < offset+sizes[g]; i++ {
			backing[i] = i
		}
		p.groups[g].members = minHeap[int32]{items: backing[offset : offset+sizes[g] : offset+sizes[g]], less: p.candLess}
		offset += sizes[g]
	}
	grouped := make([]candidate, len(p.cands))
	for i, c := range p.cands {
		c.group = groupOf[i]
		grouped[next[c.group]] = c
		next[c.group]++
	}
	p.cands = grouped
	for g := range p.groups {
		p.groups[g].members.Init()
	}
}

// grouper finds the group of a zone and a window list. Lists are compared
// by content; a hash of it, mixed with a number for the zone (a uint64 map
// key is cheaper than a struct one), finds the groups to compare with,
// chained through group.next.
type grouper struct {
	p      *plan
	zones  map[*time.Location]uint64
	last   map[uint64]int32 // the last group made with that signature
	shared map[sharedList]int32
}

// sharedList identifies a window list by its memory: partners whose lists
// were decoded once and shared (as the store does for identical lists)
// find their group without hashing or comparing windows.
type sharedList struct {
	zone  *time.Location
	first *crm.Window
	n     int
}

// find returns the group of zone and windows, or -1.
func (gr *grouper) find(zone *time.Location, windows []crm.Window) int32 {
	if len(windows) > 0 {
		if g, ok := gr.shared[sharedList{zone, &windows[0], len(windows)}]; ok {
			return g
		}
	}
	g, ok := gr.last[gr.signature(zone, windows)]
	if !ok {
		return -1
	}
	for g >= 0 && (gr.p.groups[g].zone != zone || !slices.Equal(gr.p.groups[g].windows, windows)) {
		g = gr.p.groups[g].next
	}
	return g
}

// add makes a new group for zone and windows.
func (gr *grouper) add(zone *time.Location, windows []crm.Window) int32 {
	g := int32(len(gr.p.groups))
	sig := gr.signature(zone, windows)
	next, ok := gr.last[sig]
	if !ok {
		next = -1
	}
	gr.p.groups = append(gr.p.groups, group{zone: zone, windows: windows, next: next})
	gr.last[sig] = g
	if len(windows) > 0 {
		gr.shared[sharedList{zone, &windows[0], len(windows)}] = g
	}
	return g
}

func (gr *grouper) signature(zone *time.Location, windows []crm.Window) uint64 {
	n, ok := gr.zones[zone]
	if !ok {
		n = uint64(len(gr.zones)) + 1
		gr.zones[zone] = n
	}
	return hashWindows(windows) ^ n*0xD6E8FEB86659FD93
}

// hashWindows hashes a window list for grouping; equal lists hash equal
// (collisions are resolved by comparing the lists).
func hashWindows(ws []crm.Window) uint64 {
	h := uint64(len(ws))
	for _, w := range ws {
		v := uint64(w.Weekday)<<61 ^ uint64(w.From)<<37 ^ uint64(w.To)<<13 ^
			uint64(dayNumber(w.ValidFrom))<<22 ^ uint64(dayNumber(w.ValidTo))
		h = (h ^ v) * 0x9E3779B97F4A7C15
		h ^= h >> 29
	}
	return h
}

func dayNumber(d crm.Date) int { return d.Year*372 + int(d.Month)*31 + d.Day }
