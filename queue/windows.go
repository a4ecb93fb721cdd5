package queue

import (
	"context"
	"fmt"
	"time"

	"phoned/comm"
	"phoned/crm"
)

// NextWindowWithin is how far ahead an item's next window is looked for.
const NextWindowWithin = 14 * 24 * time.Hour

// Item is a call of the queue with when its partner can be called: the
// partner's call windows that overlap the agent's day, and the partner's
// next window that ends after now (nil when none starts within
// NextWindowWithin). The windows are read in the partner's zone and shown
// as instants in the agent's.
type Item struct {
	comm.PhoneCall
	WindowsToday []crm.Span `json:"windows_today"`
	NextWindow   *crm.Span  `json:"next_window"`
}

// Schedules reads the zones and call windows of partners, by id;
// partners with no zone get defaultZone.
type Schedules interface {
	PartnerSchedules(ctx context.Context, ids []int64, defaultZone *time.Location) (map[int64]crm.Schedule, error)
}

// WithWindows returns calls (a day's queue in loc, the agent's zone) as
// items carrying their partners' windows, read for all partners at once.
// A partner without windows, or gone since the calls were read, has
// WindowsToday empty and NextWindow nil.
func WithWindows(ctx context.Context, s Schedules, calls []comm.PhoneCall, now time.Time, loc, defaultZone *time.Location) ([]Item, error) {
	ids := make([]int64, len(calls))
	for i, c := range calls {
		ids[i] = c.PartnerID
	}
	schedules, err := s.PartnerSchedules(ctx, ids, defaultZone)
	if err != nil {
		return nil, fmt.Errorf("read the queue's call windows: %w", err)
	}
	from, to := Day(now, loc)
	type windows struct {
		today []crm.Span
		next  *crm.Span
	}
	byPartner := map[int64]windows{} // a partner called twice today is computed once
	items := make([]Item, len(calls))
	for i, c := range calls {
		w, ok := byPartner[c.PartnerID]
		if !ok {
			sch := schedules[c.PartnerID]
			w.today = sch.Spans(from, to)
			for j := range w.today {
				w.today[j] = w.today[j].In(loc)
			}
			if next, found := sch.Next(now, NextWindowWithin); found {
				next = next.In(loc)
				w.next = &next
			}
			byPartner[c.PartnerID] = w
		}
		items[i] = Item{PhoneCall: c, WindowsToday: w.today, NextWindow: w.next}
	}
	return items, nil
}
