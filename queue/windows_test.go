package queue

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"phoned/comm"
	"phoned/crm"
)

type fakeSchedules struct {
	reads int
	ids   []int64
	by    map[int64]crm.Schedule
}

func (f *fakeSchedules) PartnerSchedules(_ context.Context, ids []int64, _ *time.Location) (map[int64]crm.Schedule, error) {
	f.reads++
	f.ids = ids
	return f.by, nil
}

func TestWithWindowsReadsOnceAndShowsTheAgentsZone(t *testing.T) {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	bru, _ := time.LoadLocation("Europe/Brussels")
	f := &fakeSchedules{by: map[int64]crm.Schedule{
		1: {Zone: tokyo, Windows: []crm.Window{{Weekday: time.Thursday, From: 7 * 3600, To: 8 * 3600}}},
		2: {Zone: bru},
	}}
	calls := []comm.PhoneCall{{ID: 10, PartnerID: 1}, {ID: 11, PartnerID: 2}, {ID: 12, PartnerID: 3}, {ID: 13, PartnerID: 1}}
	now := time.Date(2026, 12, 2, 9, 30, 0, 0, time.UTC)
	items, err := WithWindows(context.Background(), f, calls, now, bru, bru)
	if err != nil {
		t.Fatal(err)
	}
	if f.reads != 1 || len(f.ids) != 4 {
		t.Fatalf("%d reads of %v, want one of all the calls' partners", f.reads, f.ids)
	}
	b, _ := json.Marshal(items)
	var got []struct {
		ID           int64            `json:"id"`
		WindowsToday []map[string]any `json:"windows_today"`
		NextWindow   map[string]any   `json:"next_window"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	thu := map[string]any{"start": "2026-12-02T23:00:00+01:00", "end": "2026-12-03T00:00:00+01:00"}
	for i, want := range []struct {
		today int
		next  map[string]any
	}{{1, thu}, {0, nil}, {0, nil}, {1, thu}} {
		g := got[i]
		if g.ID != calls[i].ID || len(g.WindowsToday) != want.today || g.WindowsToday == nil {
			t.Errorf("item %d: id %d, windows_today %v", i, g.ID, g.WindowsToday)
		}
		if len(g.NextWindow) != len(want.next) || g.NextWindow["start"] != want.next["start"] || g.NextWindow["end"] != want.next["end"] {
			t.Errorf("item %d: next_window %v, want %v", i, g.NextWindow, want.next)
		}
	}
}
