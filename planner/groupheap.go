package planner

// groupHeap holds the available groups by their best member's rank, least
// first. It is the run's busiest structure (an operation each time a
// group's availability begins and, lazily, ends), so it is a concrete heap
// with its comparisons inlined rather than a minHeap with callbacks.
type groupHeap struct {
	entries []groupEntry
	pos     []int32 // by group: its index in entries, -1 when absent
	names   string  // plan.names, for candidate order
}

// groupEntry is a group in the heap, with a copy of its best member's rank
// so that comparing groups touches nothing else.
type groupEntry struct {
	best  rank
	empty bool // no member left: sorts after every other group
	group int32
}

func newGroupHeap(ngroups int, names string) groupHeap {
	h := groupHeap{pos: make([]int32, ngroups), names: names}
	for g := range h.pos {
		h.pos[g] = -1
	}
	return h
}

func (h *groupHeap) less(a, b *groupEntry) bool {
	if a.empty || b.empty {
		return !a.empty && b.empty
	}
	return a.best.less(&b.best, h.names)
}

func (h *groupHeap) Len() int { return len(h.entries) }

// Top returns the least entry; the heap must not be empty.
func (h *groupHeap) Top() *groupEntry { return &h.entries[0] }

func (h *groupHeap) Contains(g int32) bool { return h.pos[g] >= 0 }

func (h *groupHeap) Push(e groupEntry) {
	h.entries = append(h.entries, e)
	h.up(len(h.entries)-1, e)
}

// Pop removes the least entry.
func (h *groupHeap) Pop() {
	last := len(h.entries) - 1
	h.pos[h.entries[0].group] = -1
	e := h.entries[last]
	h.entries = h.entries[:last]
	if last > 0 {
		h.down(0, e)
	}
}

// Update replaces the entry of a group in the heap and restores the order.
func (h *groupHeap) Update(e groupEntry) {
	i := int(h.pos[e.group])
	if !h.down(i, e) {
		h.up(i, e)
	}
}

// up and down move a hole from i until e fits in it.
func (h *groupHeap) up(i int, e groupEntry) {
	for i > 0 {
		parent := (i - 1) / 2
		if !h.less(&e, &h.entries[parent]) {
			break
		}
		h.set(i, h.entries[parent])
		i = parent
	}
	h.set(i, e)
}

// down reports whether e went below i.
func (h *groupHeap) down(i int, e groupEntry) bool {
	start, n := i, len(h.entries)
	for {
		child := 2*i + 1
		if child >= n {
			break
		}
		if right := child + 1; right < n && h.less(&h.entries[right], &h.entries[child]) {
			child = right
		}
		if !h.less(&h.entries[child], &e) {
			break
		}
		h.set(i, h.entries[child])
		i = child
	}
	h.set(i, e)
	return i > start
}

func (h *groupHeap) set(i int, e groupEntry) {
	h.entries[i] = e
	h.pos[e.group] = int32(i)
}

// entry returns group g's current entry for the active heap.
func (p *plan) entry(g int32) groupEntry {
	m := &p.groups[g].members
	if m.Len() == 0 {
		return groupEntry{empty: true, group: g}
	}
	return groupEntry{best: p.cands[m.Top()].rank, group: g}
}

// refresh updates group g's place in the active heap after its members
// changed.
func (p *plan) refresh(g int32) {
	if p.active.Contains(g) {
		p.active.Update(p.entry(g))
	}
}
