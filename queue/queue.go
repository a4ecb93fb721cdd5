// Package queue owns each agent's next-activities queue: the planned
// calls due on the agent's day, in the order they are to be worked.
package queue

import (
	"context"
	"fmt"
	"sort"
	"time"

	"phoned/comm"
)

// Lister reads an agent's planned calls due in [from, to).
type Lister interface {
	PlannedCalls(ctx context.Context, userID int64, from, to time.Time) ([]comm.PhoneCall, error)
}

// Day returns the bounds of the calendar day of now in loc: [start of the
// day, start of the next day). Days with a DST change are 23 or 25 hours.
func Day(now time.Time, loc *time.Location) (from, to time.Time) {
	y, m, d := now.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc), time.Date(y, m, d+1, 0, 0, 0, 0, loc)
}

// Today returns the agent's planned calls due today in loc, in working
// order: by due time, then higher priority first, then id.
func Today(ctx context.Context, l Lister, userID int64, now time.Time, loc *time.Location) ([]comm.PhoneCall, error) {
	from, to := Day(now, loc)
	calls, err := l.PlannedCalls(ctx, userID, from, to)
	if err != nil {
		return nil, fmt.Errorf("read today's queue: %w", err)
	}
	sort.SliceStable(calls, func(i, j int) bool {
		a, b := calls[i], calls[j]
		if !a.Due.Equal(b.Due) {
			return a.Due.Before(b.Due)
		}
		if a.Priority != b.Priority {
			return a.Priority > b.Priority
		}
		return a.ID < b.ID
	})
	for i := range calls {
		calls[i].Due = calls[i].Due.In(loc)
	}
	return calls, nil
}
