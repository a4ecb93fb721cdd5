package store

import (
	"context"
	"testing"
	"time"

	"phoned/comm"
	"phoned/crm"
)

// CallsVersion moves on after each kind of write to the planned calls,
// and not after reads or after writes that touch no call.
func TestCallsVersionCountsEveryCallWrite(t *testing.T) {
	w := newEventWorld(t)
	s, ctx := w.s, context.Background()
	planned := func(partnerID int64) comm.PhoneCall {
		return comm.PhoneCall{PartnerID: partnerID, UserID: w.alice, Due: w.t0.Add(time.Hour), Summary: "s",
			State: comm.CallPlanned, Origin: comm.OriginManual}
	}
	var eventID, runID int64
	steps := []struct {
		name    string
		do      func() error
		changes bool
	}{
		{"create a call", func() error { c := planned(w.quinn.ID); return s.CreateCall(ctx, &c) }, true},
		{"create calls", func() error { return s.CreateCalls(ctx, []comm.PhoneCall{planned(w.quinn.ID), planned(w.rex.ID)}) }, true},
		{"change a call's state", func() error { return s.SetCallState(ctx, w.call.ID, comm.CallCancelled) }, true},
		{"change a missing call's state", func() error { s.SetCallState(ctx, 99999, comm.CallDone); return nil }, false},
		{"save a planner run", func() error {
			run := &PlannerRun{UserID: w.alice, Params: []byte("{}")}
			err := s.SavePlannerRun(ctx, run, []comm.PhoneCall{planned(w.paula.ID)})
			runID = run.ID
			return err
		}, true},
		{"delete a planner run", func() error { _, err := s.DeletePlannerRun(ctx, runID); return err }, true},
		{"read calls, partners and schedules", func() error {
			if _, err := s.Calls(ctx, CallFilter{}); err != nil {
				return err
			}
			if _, err := s.PlannedCalls(ctx, w.alice, w.t0, w.t0.Add(24*time.Hour)); err != nil {
				return err
			}
			if _, err := s.Partner(ctx, w.paula.ID); err != nil {
				return err
			}
			_, err := s.PartnerSchedules(ctx, []int64{w.paula.ID, w.quinn.ID}, time.UTC)
			return err
		}, false},
		{"start an event for a planned call", func() error {
			c := planned(w.paula.ID)
			if err := s.CreateCall(ctx, &c); err != nil {
				return err
			}
			before := s.CallsVersion()
			var err error
			eventID, err = s.StartEvent(ctx, comm.EventStart{Direction: comm.DirectionOut, UserID: w.alice, ActivityID: c.ID})
			if s.CallsVersion() != before {
				t.Error("starting an event (no call written) moved CallsVersion")
			}
			return err
		}, true},
		{"end the event: its call is done", func() error {
			return s.EndEvent(ctx, eventID, comm.EventEnd{Outcome: comm.OutcomeAnswered})
		}, true},
		{"wrap up with a note (kept on the planned call it carried out)", func() error {
			note := "fine"
			return s.WrapUp(ctx, eventID, comm.WrapUp{Note: &note})
		}, true},
		{"wrap up with the outcome alone", func() error {
			return s.WrapUp(ctx, eventID, comm.WrapUp{Outcome: comm.OutcomeAnswered})
		}, false},
		{"wrap up with a follow-up call", func() error {
			return s.WrapUp(ctx, eventID, comm.WrapUp{FollowUp: &comm.FollowUpRequest{Due: w.t0.Add(48 * time.Hour)}})
		}, true},
		{"end an event without a planned call", func() error {
			id, err := s.StartEvent(ctx, comm.EventStart{Direction: comm.DirectionIn, PartnerIDs: []int64{w.rex.ID}})
			if err != nil {
				return err
			}
			return s.EndEvent(ctx, id, comm.EventEnd{Outcome: comm.OutcomeMissed})
		}, false},
		{"close interrupted events with planned calls", func() error {
			c := planned(w.paula.ID)
			if err := s.CreateCall(ctx, &c); err != nil {
				return err
			}
			before := s.CallsVersion()
			if _, err := s.StartEvent(ctx, comm.EventStart{Direction: comm.DirectionOut, UserID: w.alice, ActivityID: c.ID}); err != nil {
				return err
			}
			if s.CallsVersion() != before {
				t.Error("starting an event moved CallsVersion")
			}
			_, err := s.CloseInterruptedEvents(ctx, time.Time{})
			return err
		}, true},
		{"update a partner (the queue shows its windows)", func() error {
			w.quinn.Windows = []crm.Window{{Weekday: time.Monday, From: 9 * 3600, To: 12 * 3600}}
			return s.UpdatePartner(ctx, w.quinn)
		}, true},
		{"delete a partner and its calls", func() error { return s.DeletePartner(ctx, w.rex.ID) }, true},
	}
	for _, st := range steps {
		before := s.CallsVersion()
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		after := s.CallsVersion()
		switch {
		case st.changes && after <= before:
			t.Errorf("%s: CallsVersion stayed at %d", st.name, before)
		case !st.changes && after != before:
			t.Errorf("%s: CallsVersion moved from %d to %d", st.name, before, after)
		}
	}
}

func TestPartnerSchedulesReadsZonesAndWindowsInOneGo(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	bru, _ := time.LoadLocation("Europe/Brussels")
	office := []crm.Window{{Weekday: time.Monday, From: 9 * 3600, To: 17 * 3600}}
	ps := []*crm.Partner{
		{Name: "Here", Windows: office},
		{Name: "Tokyo", TZ: "Asia/Tokyo", Windows: office},
		{Name: "None", TZ: "Asia/Tokyo"},
	}
	if err := s.CreatePartners(ctx, ps); err != nil {
		t.Fatal(err)
	}
	got, err := s.PartnerSchedules(ctx, []int64{ps[2].ID, ps[0].ID, ps[1].ID, ps[0].ID, 99999}, bru)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d schedules, want 3 (unknown ids left out): %v", len(got), got)
	}
	if z := got[ps[0].ID].Zone; z != bru {
		t.Errorf("a partner without a zone gets %v, want the default", z)
	}
	if z := got[ps[1].ID].Zone; z.String() != "Asia/Tokyo" || len(got[ps[1].ID].Windows) != 1 || got[ps[1].ID].Windows[0] != office[0] {
		t.Errorf("Tokyo: %v %v", z, got[ps[1].ID].Windows)
	}
	if ws := got[ps[2].ID].Windows; len(ws) != 0 {
		t.Errorf("a partner without windows has %v", ws)
	}
	if empty, err := s.PartnerSchedules(ctx, nil, bru); err != nil || len(empty) != 0 {
		t.Errorf("no ids: %v %v", empty, err)
	}
}
