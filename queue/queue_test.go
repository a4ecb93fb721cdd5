package queue

import (
	"context"
	"testing"
	"time"

	"phoned/comm"
)

func TestDayFollowsTheZoneAndDST(t *testing.T) {
	bru, _ := time.LoadLocation("Europe/Brussels")
	tests := []struct {
		name  string
		now   time.Time
		loc   *time.Location
		hours float64
		date  string
	}{
		{"ordinary day", time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC), bru, 24, "2026-12-02"},
		{"UTC evening is tomorrow in Brussels", time.Date(2026, 12, 1, 23, 30, 0, 0, time.UTC), bru, 24, "2026-12-02"},
		{"spring forward: 23 hours", time.Date(2026, 3, 29, 12, 0, 0, 0, time.UTC), bru, 23, "2026-03-29"},
		{"fall back: 25 hours", time.Date(2026, 10, 25, 12, 0, 0, 0, time.UTC), bru, 25, "2026-10-25"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from, to := Day(tt.now, tt.loc)
			if got := to.Sub(from).Hours(); got != tt.hours {
				t.Errorf("day lasts %v h, want %v", got, tt.hours)
			}
			if from.Format("2006-01-02") != tt.date || from.Hour() != 0 {
				t.Errorf("day starts %v, want 00:00 on %s", from, tt.date)
			}
		})
	}
}

type fakeLister struct {
	calls    []comm.PhoneCall
	from, to time.Time
}

func (f *fakeLister) PlannedCalls(_ context.Context, _ int64, from, to time.Time) ([]comm.PhoneCall, error) {
	f.from, f.to = from, to
	return f.calls, nil
}

func TestTodayOrdersByDueThenPriority(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2026, 12, 2, h, 0, 0, 0, time.UTC) }
	l := &fakeLister{calls: []comm.PhoneCall{
		{ID: 1, Due: at(11)}, {ID: 2, Due: at(9), Priority: 0}, {ID: 3, Due: at(9), Priority: 5}, {ID: 4, Due: at(9), Priority: 5},
	}}
	got, err := Today(context.Background(), l, 1, at(8), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, c := range got {
		ids = append(ids, c.ID)
	}
	if want := []int64{3, 4, 2, 1}; len(ids) != 4 || ids[0] != want[0] || ids[1] != want[1] || ids[2] != want[2] || ids[3] != want[3] {
		t.Fatalf("order %v, want %v", ids, want)
	}
	if !l.from.Equal(at(0)) || !l.to.Equal(at(24)) {
		t.Fatalf("asked for [%v, %v)", l.from, l.to)
	}
}
