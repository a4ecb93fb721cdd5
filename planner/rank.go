package planner

import (
	"strings"
	"time"
)

// rank is the key by which candidates compete for a slot, least first:
// fewest counting calls, then oldest latest call, then candidate order
// (lower-cased name, then id). Without repetition count and latest are
// zero for all, leaving candidate order. It holds no pointers, so that a
// hundred thousand candidates cost the garbage collector nothing.
type rank struct {
	count      int
	latestSec  int64 // Latest as Unix seconds and nanoseconds: ordered as the instants
	latestNsec int32
	name       span // the lower-cased name, in plan.names
	id         int64
}

// span is a part [from, to) of plan.names.
type span struct{ from, to int32 }

func rankOf(count int, latest time.Time, name span, id int64) rank {
	return rank{count: count, latestSec: latest.Unix(), latestNsec: int32(latest.Nanosecond()), name: name, id: id}
}

// called updates r for a call at t.
func (r *rank) called(t time.Time) {
	r.count++
	if sec, nsec := t.Unix(), int32(t.Nanosecond()); sec > r.latestSec || sec == r.latestSec && nsec > r.latestNsec {
		r.latestSec, r.latestNsec = sec, nsec
	}
}

// less reports whether r ranks before o; names is plan.names.
func (r *rank) less(o *rank, names string) bool {
	if r.count != o.count {
		return r.count < o.count
	}
	if r.latestSec != o.latestSec {
		return r.latestSec < o.latestSec
	}
	if r.latestNsec != o.latestNsec {
		return r.latestNsec < o.latestNsec
	}
	// The byte order of UTF-8 is code-point order.
	if c := strings.Compare(names[r.name.from:r.name.to], names[o.name.from:o.name.to]); c != 0 {
		return c < 0
	}
	return r.id < o.id
}

// candLess orders the members of a group.
func (p *plan) candLess(a, b int32) bool { return p.cands[a].rank.less(&p.cands[b].rank, p.names) }
