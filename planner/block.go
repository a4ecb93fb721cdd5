package planner

import (
	"slices"
	"sort"
	"time"
)

// Blocks by the repetition gap. A candidate's dues (its history's and this
// run's calls) are only sorted when it is first checked, which happens
// only when it is the best of the best available group.

// record books a call of candidate c at t.
func (p *plan) record(c int32, t time.Time) {
	p.cands[c].rank.called(t)
	if p.gap > 0 {
		dues := p.sortedDues(c)
		i := sort.Search(len(dues), func(i int) bool { return dues[i].After(t) })
		p.dues[c] = slices.Insert(dues, i, t)
	}
}

// blockedUntil returns the first instant at or after t at which no due of
// candidate c lies less than the gap away: t itself when c is free at t.
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
		dues = slices.Clone(p.history[p.cands[c].rank.id].Dues)
		slices.SortFunc(dues, time.Time.Compare)
		p.dues[c] = dues
	}
	return dues
}
