package planner

import (
	"time"

	"phoned/crm"
)

// Partner is a partner as the planner sees it.
type Partner struct {
	ID   int64
	Name string
	Tags []string
	// Zone is the partner's zone; the caller applies the default (nil is
	// taken as UTC). Partners of one zone should share one *time.Location:
	// availability is computed once per distinct Location and window list.
	Zone    *time.Location
	Windows []crm.Window
	Phone   string // the first phone number in E.164; "" when the partner has none
}

// History is one partner's counting calls (state planned or done) of the
// run's combination (campaign, source and medium equal to the run's).
type History struct {
	Count int
	// Latest is the largest due among them, future ones included; zero
	// when Count is 0.
	Latest time.Time
	// Dues holds, in any order, at least every due that lies within
	// DaysGap×24h of some slot of the run.
	Dues []time.Time
}

// Input is everything a run plans from.
type Input struct {
	Slots    []time.Time // from Grid: ascending
	Partners []Partner   // all partners, in any order, ids unique; Run applies Criteria
	Criteria Criteria
	History  map[int64]History // by partner id; absent: never called
	DaysGap  *int              // nil: no repetition
}

// Call is one planned call.
type Call struct {
	Due       time.Time // the slot, as Grid returned it
	PartnerID int64
	Name      string
	Phone     string
}

// Skipped counts the partners that match the criteria but cannot be
// called. A partner lacking both a window and a phone counts as NoWindow.
type Skipped struct{ NoWindow, NoPhone int }

// Result is the outcome of a run.
type Result struct {
	Slots   int    // len(Input.Slots)
	Calls   []Call // in slot order, at most one per slot; never nil
	Skipped Skipped
}

// Run plans the calls of a run. It is pure: no I/O, no clock, and it does
// not modify in.
//
// Candidates are the partners matching in.Criteria with a window and a
// phone. Without repetition, a partner with any counting call is blocked,
// and at each slot the first available, unblocked candidate in candidate
// order (lower-cased name, then id) gets the call and is blocked from then
// on. With in.DaysGap = g, a partner is blocked at slot t by a counting
// call less than g×24h away (before or after), and the call goes to the
// available, unblocked candidate with the fewest counting calls, then the
// oldest latest call, then in candidate order; the run's own calls count.
func Run(in Input) Result {
	p := newPlan(&in)
	res := Result{Slots: len(in.Slots), Skipped: p.skipped, Calls: make([]Call, 0, min(len(in.Slots), len(p.cands)))}
	for i, t := range in.Slots {
		for _, g := range p.events.startsAt(i) {
			p.activate(g)
		}
		for _, g := range p.events.endsAt(i) {
			p.deactivate(g)
		}
		p.wake(t)
		if c, ok := p.choose(t); ok {
			src := &in.Partners[p.cands[c].input]
			res.Calls = append(res.Calls, Call{Due: t, PartnerID: src.ID, Name: src.Name, Phone: src.Phone})
		}
	}
	return res
}

// activate and deactivate count the availability intervals covering the
// current slot: a group is available while that count is positive. An
// available group is in the active heap; an unavailable one leaves it
// lazily, when it comes to the top (choose), so that the many groups that
// are never the best cost no heap operation when they come and go.
func (p *plan) activate(g int32) {
	grp := &p.groups[g]
	grp.covering++
	if !p.active.Contains(g) {
		p.active.Push(p.entry(g))
	}
}

func (p *plan) deactivate(g int32) { p.groups[g].covering-- }

// wake returns to their groups the sleeping candidates whose block has
// ended by t.
func (p *plan) wake(t time.Time) {
	for p.sleeping.Len() > 0 && !p.sleeping.Top().until.After(t) {
		c := p.sleeping.Pop().cand
		p.enqueue(c)
	}
}

// enqueue puts candidate c back in its group and restores the group's
// place among the active groups.
func (p *plan) enqueue(c int32) {
	g := p.cands[c].group
	p.groups[g].members.Push(c)
	p.refresh(g)
}

// choose picks the candidate for slot t, if any, and records the call.
// A group's best member may be blocked by a call it has not yet been
// checked against (a future one, or one made by this run); such a member is
// put to sleep until its block ends and the choice goes on. Members of
// groups that are never the best are never checked: that is what keeps the
// run linear.
func (p *plan) choose(t time.Time) (int32, bool) {
	for p.active.Len() > 0 {
		top := p.active.Top()
		g, grp := top.group, &p.groups[top.group]
		switch {
		case grp.covering == 0:
			p.active.Pop() // not available any more
			continue
		case top.empty:
			return 0, false // empty groups sort last: every group in the heap is empty
		}
		c := grp.members.Pop()
		if until := p.blockedUntil(c, t); until.After(t) {
			p.sleeping.Push(sleeper{until: until, cand: c})
			p.refresh(g)
			continue
		}
		p.record(c, t)
		if p.repeat {
			if until := p.blockedUntil(c, t); until.After(t) {
				p.sleeping.Push(sleeper{until: until, cand: c})
			} else {
				grp.members.Push(c) // a gap of 0 days blocks nothing
			}
		}
		p.refresh(g)
		return c, true
	}
	return 0, false
}
