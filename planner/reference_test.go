package planner

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// referenceRun is the SPEC read literally, with no concern for speed: at
// every slot, look at every candidate. Run must agree with it exactly.
func referenceRun(in Input) Result {
	type cand struct {
		p      *Partner
		lower  []rune
		count  int
		latest time.Time
		dues   []time.Time
		called bool
	}
	res := Result{Slots: len(in.Slots), Calls: []Call{}}
	var cands []*cand
	for i := range in.Partners {
		p := &in.Partners[i]
		if len(in.Criteria.IDs) > 0 && !slices.Contains(in.Criteria.IDs, p.ID) {
			continue
		}
		if len(in.Criteria.Tags) > 0 && !slices.ContainsFunc(p.Tags, func(t string) bool { return slices.Contains(in.Criteria.Tags, t) }) {
			continue
		}
		if in.Criteria.Query != "" && !strings.Contains(strings.ToLower(p.Name), strings.ToLower(in.Criteria.Query)) {
			continue
		}
		switch {
		case len(p.Windows) == 0:
			res.Skipped.NoWindow++
			continue
		case p.Phone == "":
			res.Skipped.NoPhone++
			continue
		}
		h := in.History[p.ID]
		cands = append(cands, &cand{
			p: p, lower: []rune(strings.ToLower(p.Name)),
			count: h.Count, latest: h.Latest, dues: slices.Clone(h.Dues),
		})
	}
	// Candidate order: the lower-cased name code point by code point, then id.
	slices.SortStableFunc(cands, func(a, b *cand) int {
		if c := slices.Compare(a.lower, b.lower); c != 0 {
			return c
		}
		return cmp.Compare(a.p.ID, b.p.ID)
	})

	available := func(c *cand, t time.Time) bool {
		zone := c.p.Zone
		if zone == nil {
			zone = time.UTC
		}
		for _, w := range c.p.Windows {
			if w.Contains(t.In(zone)) {
				return true
			}
		}
		return false
	}
	blocked := func(c *cand, t time.Time) bool {
		if in.DaysGap == nil {
			return c.count > 0 || c.called
		}
		gap := time.Duration(*in.DaysGap) * 24 * time.Hour
		for _, d := range c.dues {
			if elapsed := d.Sub(t).Abs(); elapsed < gap {
				return true
			}
		}
		return false
	}
	better := func(a, b *cand) bool { // a before b; b is later in candidate order
		if in.DaysGap == nil {
			return false
		}
		if a.count != b.count {
			return a.count < b.count
		}
		return a.latest.Before(b.latest)
	}

	for _, t := range in.Slots {
		var best *cand
		for _, c := range cands {
			if available(c, t) && !blocked(c, t) && (best == nil || better(c, best)) {
				best = c
			}
		}
		if best == nil {
			continue
		}
		best.called = true
		best.count++
		best.dues = append(best.dues, t)
		if t.After(best.latest) {
			best.latest = t
		}
		res.Calls = append(res.Calls, Call{Due: t, PartnerID: best.p.ID, Name: best.p.Name, Phone: best.p.Phone})
	}
	return res
}
