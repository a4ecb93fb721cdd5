package store

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"phoned/auth"
	"phoned/comm"
	"phoned/crm"
)

// eventWorld is a store with two agents, three partners (two share a
// number), a purpose and a planned call.
type eventWorld struct {
	s                 *Store
	alice, bob        int64
	paula, quinn, rex *crm.Partner // quinn and rex share +3223456789
	call              comm.PhoneCall
	t0                time.Time
}

func newEventWorld(t *testing.T) *eventWorld {
	t.Helper()
	s, _ := open(t)
	ctx := context.Background()
	w := &eventWorld{s: s, t0: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	for _, u := range []struct {
		login string
		id    *int64
	}{{"alice", &w.alice}, {"bob", &w.bob}} {
		nu := NewUser{User: auth.User{Login: u.login, Role: auth.RoleAgent, Active: true}, PasswordHash: "x"}
		if err := s.CreateUser(ctx, &nu); err != nil {
			t.Fatal(err)
		}
		*u.id = nu.ID
	}
	w.paula = partner("Paula", "", "+32 2 212 34 56", "+32 470 12 34 56")
	w.quinn = partner("Quinn", "", "+32 2 345 67 89")
	w.rex = partner("Rex", "", "+32 2 345 67 89")
	if err := s.CreatePartners(ctx, []*crm.Partner{w.paula, w.quinn, w.rex}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreatePurpose(ctx, &comm.Purpose{Name: "Renewal"}); err != nil {
		t.Fatal(err)
	}
	// Paula's planned call, on her mobile.
	w.call = comm.PhoneCall{PartnerID: w.paula.ID, UserID: w.alice, Phone: "+32470123456", Due: w.t0, Summary: "Renewal",
		State: comm.CallPlanned, Origin: comm.OriginPlanner}
	if err := s.CreateCall(ctx, &w.call); err != nil {
		t.Fatal(err)
	}
	return w
}

// contactID returns the id of a partner's contact mechanism with this E.164.
func (w *eventWorld) contactID(t *testing.T, partnerID int64, e164 string) int64 {
	t.Helper()
	var id int64
	if err := w.s.r.QueryRow("SELECT id FROM contact_mechanisms WHERE partner_id = ? AND e164 = ?", partnerID, e164).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func (w *eventWorld) event(t *testing.T, id int64) *comm.Event {
	t.Helper()
	e, err := w.s.Event(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (w *eventWorld) counts(t *testing.T) map[string]int {
	t.Helper()
	c, err := w.s.TableCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func partyIDs(e *comm.Event) []int64 {
	ids := []int64{}
	for _, p := range e.Parties {
		ids = append(ids, p.PartnerID)
	}
	return ids
}

func TestOutboundEventLifecycle(t *testing.T) {
	w := newEventWorld(t)
	ctx := context.Background()
	id, err := w.s.StartEvent(ctx, comm.EventStart{Direction: comm.DirectionOut, At: w.t0, UserID: w.alice, ActivityID: w.call.ID,
		SIPCallID: "abc@phoned", FromNumber: "101", ToNumber: "+32470123456"})
	if err != nil {
		t.Fatal(err)
	}
	e := w.event(t, id)
	mobile := w.contactID(t, w.paula.ID, "+32470123456")
	if e.State != comm.EventInProgress || e.Type != comm.EventPhone || e.Direction != comm.DirectionOut || e.Outcome != "" ||
		!e.Start.Equal(w.t0) || !e.AnsweredAt.IsZero() || !e.End.IsZero() || e.UserID != w.alice || e.UserLogin != "alice" ||
		e.ActivityID != w.call.ID || e.SIPCallID != "abc@phoned" || e.FromNumber != "101" || e.ToNumber != "+32470123456" {
		t.Fatalf("started event %+v", e)
	}
	// The planned call brings its partner and the number it was planned on.
	if len(e.Parties) != 1 || e.Parties[0] != (comm.Party{PartnerID: w.paula.ID, Name: "Paula"}) {
		t.Fatalf("parties %+v", e.Parties)
	}
	if len(e.Contacts) != 1 || e.Contacts[0].ID != mobile || e.Contacts[0].E164 != "+32470123456" {
		t.Fatalf("contacts %+v", e.Contacts)
	}
	if c, _ := w.s.Call(ctx, w.call.ID); c.State != comm.CallPlanned {
		t.Fatalf("planned call is %s while the event is in progress", c.State)
	}

	answered := w.t0.Add(5 * time.Second)
	if err := w.s.AnswerEvent(ctx, id, answered); err != nil {
		t.Fatal(err)
	}
	if err := w.s.AnswerEvent(ctx, id, answered.Add(time.Second)); !errors.Is(err, ErrConflict) {
		t.Fatalf("second answer: %v, want ErrConflict", err)
	}
	if err := w.s.SetEventTarget(ctx, id, "102"); err != nil {
		t.Fatal(err)
	}
	end := answered.Add(90 * time.Second)
	quality := json.RawMessage(`{"mos":4.2,"lost":3}`)
	if err := w.s.EndEvent(ctx, id, comm.EventEnd{At: end, Outcome: comm.OutcomeTransferred, SIPStatus: 200,
		HangupBy: comm.HangupAgent, Quality: quality}); err != nil {
		t.Fatal(err)
	}
	e = w.event(t, id)
	if e.State != comm.EventCompleted || e.Outcome != comm.OutcomeTransferred || !e.AnsweredAt.Equal(answered) || !e.End.Equal(end) ||
		e.DurationSeconds() != 90 || e.Target != "102" || e.SIPStatus != 200 || e.HangupBy != comm.HangupAgent || string(e.Quality) != string(quality) {
		t.Fatalf("ended event %+v", e)
	}
	// The planned call that was dialled is done, at the end of the call.
	var state string
	var doneAt int64
	if err := w.s.r.QueryRow("SELECT state, done_at FROM phone_calls WHERE id = ?", w.call.ID).Scan(&state, &doneAt); err != nil ||
		state != "done" || doneAt != end.Unix() {
		t.Fatalf("planned call %s done at %d (%v), want done at %d", state, doneAt, err, end.Unix())
	}

	// Ending twice is a conflict, not an overwrite; so is any live update.
	if err := w.s.EndEvent(ctx, id, comm.EventEnd{At: end.Add(time.Hour), Outcome: comm.OutcomeFailed}); !errors.Is(err, ErrConflict) {
		t.Fatalf("second end: %v, want ErrConflict", err)
	}
	for name, err := range map[string]error{
		"answer": w.s.AnswerEvent(ctx, id, end),
		"target": w.s.SetEventTarget(ctx, id, "103"),
		"user":   w.s.SetEventUser(ctx, id, w.bob),
	} {
		if !errors.Is(err, ErrConflict) {
			t.Errorf("%s after the end: %v, want ErrConflict", name, err)
		}
	}
	if again := w.event(t, id); !reflect.DeepEqual(again, e) {
		t.Fatalf("refused writes changed the event:\n%+v\n%+v", e, again)
	}
	for name, err := range map[string]error{
		"end":    w.s.EndEvent(ctx, 999, comm.EventEnd{Outcome: comm.OutcomeFailed}),
		"answer": w.s.AnswerEvent(ctx, 999, end),
		"target": w.s.SetEventTarget(ctx, 999, "1"),
	} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s of a missing event: %v, want ErrNotFound", name, err)
		}
	}
}

func TestInboundEventFromAReverseLookup(t *testing.T) {
	w := newEventWorld(t)
	ctx := context.Background()
	// An unknown caller's call takes no partner; a shared number takes both.
	id, err := w.s.StartEvent(ctx, comm.EventStart{Direction: comm.DirectionIn, At: w.t0, PartyE164: "+3223456789",
		FromNumber: "+3223456789", ToNumber: "101"})
	if err != nil {
		t.Fatal(err)
	}
	e := w.event(t, id)
	if got := partyIDs(e); !reflect.DeepEqual(got, []int64{w.quinn.ID, w.rex.ID}) || len(e.Contacts) != 2 || e.UserID != 0 || e.UserLogin != "" {
		t.Fatalf("parties %v contacts %+v user %d", got, e.Contacts, e.UserID)
	}
	if err := w.s.SetEventUser(ctx, id, 999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	if err := w.s.SetEventUser(ctx, id, w.bob); err != nil {
		t.Fatal(err)
	}
	// An end before the start (a clock step) is stored as the start.
	if err := w.s.EndEvent(ctx, id, comm.EventEnd{At: w.t0.Add(-time.Minute), Outcome: comm.OutcomeMissed, SIPStatus: 480,
		HangupBy: comm.HangupTimeout}); err != nil {
		t.Fatal(err)
	}
	e = w.event(t, id)
	if e.UserLogin != "bob" || e.Outcome != comm.OutcomeMissed || !e.End.Equal(w.t0) || e.DurationSeconds() != 0 || string(e.Quality) != "{}" {
		t.Fatalf("missed call %+v", e)
	}

	unknown, err := w.s.StartEvent(ctx, comm.EventStart{Direction: comm.DirectionIn, PartyE164: "+15550000000", UserID: w.alice})
	if err != nil {
		t.Fatal(err)
	}
	if e := w.event(t, unknown); len(e.Parties) != 0 || len(e.Contacts) != 0 || e.Start.IsZero() {
		t.Fatalf("unknown caller's event %+v", e)
	}
}

func TestStartEventRefusesBadInputAndStoresNothing(t *testing.T) {
	w := newEventWorld(t)
	ctx := context.Background()
	before := w.counts(t)
	ok := comm.EventStart{Direction: comm.DirectionOut, UserID: w.alice, PartnerIDs: []int64{w.paula.ID}}
	tests := []struct {
		name   string
		change func(*comm.EventStart)
		want   error // nil: a *comm.FieldError
	}{
		{"unknown user", func(s *comm.EventStart) { s.UserID = 999 }, ErrNotFound},
		{"unknown partner", func(s *comm.EventStart) { s.PartnerIDs = append(s.PartnerIDs, 999) }, ErrNotFound},
		{"unknown contact", func(s *comm.EventStart) { s.ContactIDs = []int64{999} }, ErrNotFound},
		{"unknown planned call", func(s *comm.EventStart) { s.ActivityID = 999 }, ErrNotFound},
		{"unknown case", func(s *comm.EventStart) { s.CaseID = 999 }, ErrNotFound},
		{"no direction", func(s *comm.EventStart) { s.Direction = "" }, nil},
		{"header injection", func(s *comm.EventStart) { s.ToNumber = "+3222\r\nVia: evil" }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := ok
			st.PartnerIDs = append([]int64(nil), ok.PartnerIDs...)
			tt.change(&st)
			_, err := w.s.StartEvent(ctx, st)
			var fe *comm.FieldError
			if tt.want != nil && !errors.Is(err, tt.want) || tt.want == nil && !errors.As(err, &fe) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	if after := w.counts(t); !reflect.DeepEqual(after, before) {
		t.Fatalf("refused starts wrote: %v -> %v", before, after)
	}
	if err := w.s.SetEventTarget(ctx, 1, "+32\n2"); err == nil {
		t.Fatal("a target with a newline was accepted")
	}
}

func TestCloseInterruptedEvents(t *testing.T) {
	w := newEventWorld(t)
	ctx := context.Background()
	start := func(st comm.EventStart) int64 {
		t.Helper()
		id, err := w.s.StartEvent(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	live := start(comm.EventStart{Direction: comm.DirectionOut, At: w.t0, UserID: w.alice, ActivityID: w.call.ID})
	ringing := start(comm.EventStart{Direction: comm.DirectionIn, At: w.t0.Add(time.Minute), PartyE164: "+3223456789"})
	done := start(comm.EventStart{Direction: comm.DirectionIn, At: w.t0, UserID: w.bob})
	if err := w.s.AnswerEvent(ctx, live, w.t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := w.s.EndEvent(ctx, done, comm.EventEnd{At: w.t0.Add(time.Minute), Outcome: comm.OutcomeRejected, SIPStatus: 603}); err != nil {
		t.Fatal(err)
	}
	restart := w.t0.Add(time.Hour)
	n, err := w.s.CloseInterruptedEvents(ctx, restart)
	if err != nil || n != 2 {
		t.Fatalf("closed %d (%v), want 2", n, err)
	}
	for _, id := range []int64{live, ringing} {
		e := w.event(t, id)
		if e.State != comm.EventCompleted || e.Outcome != comm.OutcomeInterrupted || !e.End.Equal(restart) {
			t.Fatalf("event %d after restart: %+v", id, e)
		}
	}
	if e := w.event(t, live); e.DurationSeconds() != int64(time.Hour/time.Second)-1 {
		t.Fatalf("interrupted answered call lasted %d s", e.DurationSeconds())
	}
	if e := w.event(t, done); e.Outcome != comm.OutcomeRejected || !e.End.Equal(w.t0.Add(time.Minute)) {
		t.Fatalf("a completed event was touched: %+v", e)
	}
	if c, _ := w.s.Call(ctx, w.call.ID); c.State != comm.CallDone {
		t.Fatalf("the interrupted call's planned call is %s", c.State)
	}
	if n, err := w.s.CloseInterruptedEvents(ctx, restart); err != nil || n != 0 {
		t.Fatalf("second close: %d, %v", n, err)
	}
}

func TestWrapUpWithAFollowUpCall(t *testing.T) {
	w := newEventWorld(t)
	ctx := context.Background()
	id, err := w.s.StartEvent(ctx, comm.EventStart{Direction: comm.DirectionOut, At: w.t0, UserID: w.alice, ActivityID: w.call.ID})
	if err != nil {
		t.Fatal(err)
	}
	note, purpose := "  Wants a quote  ", "renewal"
	// During the call: the note and the purpose, not the outcome.
	if err := w.s.WrapUp(ctx, id, comm.WrapUp{Note: &note, Purpose: &purpose}); err != nil {
		t.Fatal(err)
	}
	other := "changed"
	if err := w.s.WrapUp(ctx, id, comm.WrapUp{Outcome: comm.OutcomeAnswered, Note: &other}); !errors.Is(err, ErrConflict) {
		t.Fatalf("outcome during the call: %v, want ErrConflict", err)
	}
	if e := w.event(t, id); e.Note != "Wants a quote" || e.Purpose != "Renewal" || e.Outcome != "" {
		t.Fatalf("after the first wrap-up %+v", e)
	}
	// The planned call the event carries out keeps the purpose and the note.
	if c, err := w.s.Call(ctx, w.call.ID); err != nil || c.Purpose != "Renewal" || !strings.Contains(c.Description, "Wants a quote") {
		t.Fatalf("planned call after the wrap-up %+v, %v", c, err)
	}
	again := "Wants a quote"
	if err := w.s.WrapUp(ctx, id, comm.WrapUp{Note: &again}); err != nil {
		t.Fatal(err)
	}
	if c, _ := w.s.Call(ctx, w.call.ID); strings.Count(c.Description, "Wants a quote") != 1 {
		t.Fatalf("the same note twice in the planned call: %q", c.Description)
	}
	if err := w.s.EndEvent(ctx, id, comm.EventEnd{At: w.t0.Add(time.Minute), Outcome: comm.OutcomeAnswered, SIPStatus: 200}); err != nil {
		t.Fatal(err)
	}
	due := w.t0.Add(48 * time.Hour)
	before := w.counts(t)
	if err := w.s.WrapUp(ctx, id, comm.WrapUp{Outcome: comm.OutcomeNoAnswer, FollowUp: &comm.FollowUpRequest{Due: due}}); err != nil {
		t.Fatal(err)
	}
	after := w.counts(t)
	if after["follow_ups"] != before["follow_ups"]+1 || after["phone_calls"] != before["phone_calls"]+1 {
		t.Fatalf("counts %v -> %v", before, after)
	}
	e := w.event(t, id)
	if e.Outcome != comm.OutcomeNoAnswer || e.Note != "Wants a quote" || len(e.FollowUps) != 1 {
		t.Fatalf("wrapped-up event %+v", e)
	}
	f := e.FollowUps[0]
	if f.EventID != id || f.State != comm.FollowUpOpen || f.Name != "Call back Paula" || !f.Due.Equal(due) || f.ActivityID == 0 {
		t.Fatalf("follow-up %+v", f)
	}
	c, err := w.s.Call(ctx, f.ActivityID)
	if err != nil {
		t.Fatal(err)
	}
	// Same partner, user and number as the call; the event's purpose.
	if c.State != comm.CallPlanned || c.Origin != comm.OriginManual || c.PartnerID != w.paula.ID || c.UserID != w.alice ||
		!c.Due.Equal(due) || c.Purpose != "Renewal" || c.Phone != "+32470123456" || c.Summary != "Call back Paula" {
		t.Fatalf("follow-up call %+v", c)
	}
	// The listing carries the follow-ups too.
	list, err := w.s.Events(ctx, EventFilter{PartnerID: w.paula.ID})
	if err != nil || len(list) != 1 || !reflect.DeepEqual(list[0], *e) {
		t.Fatalf("listing %+v, %v", list, err)
	}
}

func TestWrapUpIsAllOrNothing(t *testing.T) {
	w := newEventWorld(t)
	ctx := context.Background()
	shared, err := w.s.StartEvent(ctx, comm.EventStart{Direction: comm.DirectionIn, At: w.t0, PartyE164: "+3223456789"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.s.EndEvent(ctx, shared, comm.EventEnd{Outcome: comm.OutcomeMissed}); err != nil {
		t.Fatal(err)
	}
	before, event := w.counts(t), w.event(t, shared)
	note, unknown, summary := "x", "Nope", "s"
	due := w.t0.Add(time.Hour)
	tests := []struct {
		name string
		w    comm.WrapUp
		want error // nil: a *comm.FieldError
	}{
		{"unknown purpose", comm.WrapUp{Note: &note, Purpose: &unknown, FollowUp: &comm.FollowUpRequest{Due: due, UserID: w.bob, PartnerID: w.rex.ID}}, ErrNotFound},
		{"no user to call back", comm.WrapUp{Note: &note, FollowUp: &comm.FollowUpRequest{Due: due, PartnerID: w.rex.ID}}, nil},
		{"two partners, none chosen", comm.WrapUp{Note: &note, FollowUp: &comm.FollowUpRequest{Due: due, UserID: w.bob}}, nil},
		{"unknown partner", comm.WrapUp{Note: &note, FollowUp: &comm.FollowUpRequest{Due: due, UserID: w.bob, PartnerID: 999}}, ErrNotFound},
		{"unknown user", comm.WrapUp{Note: &note, FollowUp: &comm.FollowUpRequest{Due: due, UserID: 999, PartnerID: w.rex.ID}}, ErrNotFound},
		{"no due", comm.WrapUp{Note: &note, FollowUp: &comm.FollowUpRequest{Summary: summary}}, nil},
		{"interrupted by hand", comm.WrapUp{Outcome: comm.OutcomeInterrupted, Note: &note}, nil},
		{"missing event", comm.WrapUp{Note: &note}, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := shared
			if tt.name == "missing event" {
				id = 999
			}
			err := w.s.WrapUp(ctx, id, tt.w)
			var fe *comm.FieldError
			if tt.want != nil && !errors.Is(err, tt.want) || tt.want == nil && !errors.As(err, &fe) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	if after := w.counts(t); !reflect.DeepEqual(after, before) {
		t.Fatalf("refused wrap-ups wrote: %v -> %v", before, after)
	}
	if again := w.event(t, shared); !reflect.DeepEqual(again, event) {
		t.Fatalf("refused wrap-ups changed the event:\n%+v\n%+v", event, again)
	}
	// Naming the partner and the user makes it work.
	if err := w.s.WrapUp(ctx, shared, comm.WrapUp{FollowUp: &comm.FollowUpRequest{Due: due, UserID: w.bob, PartnerID: w.rex.ID, Summary: "Ask Rex"}}); err != nil {
		t.Fatal(err)
	}
	if f := w.event(t, shared).FollowUps; len(f) != 1 || f[0].Name != "Ask Rex" {
		t.Fatalf("follow-ups %+v", f)
	}
}

func TestEventsFilters(t *testing.T) {
	w := newEventWorld(t)
	ctx := context.Background()
	type ev struct {
		user    int64
		partner int64
		minute  int
		outcome comm.Outcome // "": left in progress
	}
	evs := []ev{
		{w.alice, w.paula.ID, 0, comm.OutcomeAnswered},
		{w.alice, w.quinn.ID, 10, comm.OutcomeBusy},
		{w.bob, w.paula.ID, 20, comm.OutcomeAnswered},
		{w.bob, w.rex.ID, 30, ""},
	}
	ids := make([]int64, len(evs))
	for i, e := range evs {
		at := w.t0.Add(time.Duration(e.minute) * time.Minute)
		id, err := w.s.StartEvent(ctx, comm.EventStart{Direction: comm.DirectionOut, At: at, UserID: e.user, PartnerIDs: []int64{e.partner}})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
		if e.outcome != "" {
			if err := w.s.EndEvent(ctx, id, comm.EventEnd{At: at.Add(time.Minute), Outcome: e.outcome}); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name string
		f    EventFilter
		want []int // indexes into evs, newest first
	}{
		{"all, newest first", EventFilter{}, []int{3, 2, 1, 0}},
		{"user", EventFilter{UserID: w.alice}, []int{1, 0}},
		{"partner", EventFilter{PartnerID: w.paula.ID}, []int{2, 0}},
		{"since", EventFilter{Since: w.t0.Add(10 * time.Minute)}, []int{3, 2, 1}},
		{"state", EventFilter{State: comm.EventInProgress}, []int{3}},
		{"outcome", EventFilter{Outcome: comm.OutcomeAnswered}, []int{2, 0}},
		{"combined", EventFilter{UserID: w.bob, Outcome: comm.OutcomeAnswered, PartnerID: w.paula.ID}, []int{2}},
		{"nothing", EventFilter{UserID: w.bob, PartnerID: w.quinn.ID}, []int{}},
		{"page", EventFilter{Limit: 2, Offset: 1}, []int{2, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := w.s.Events(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			gotIDs := []int64{}
			for _, e := range got {
				gotIDs = append(gotIDs, e.ID)
			}
			wantIDs := []int64{}
			for _, i := range tt.want {
				wantIDs = append(wantIDs, ids[i])
			}
			if !reflect.DeepEqual(gotIDs, wantIDs) {
				t.Fatalf("got %v, want %v", gotIDs, wantIDs)
			}
		})
	}
	got, _ := w.s.Events(ctx, EventFilter{UserID: w.bob, Limit: 1})
	if len(got) != 1 || got[0].UserLogin != "bob" || len(got[0].Parties) != 1 || got[0].Parties[0].Name != "Rex" {
		t.Fatalf("listed event %+v", got)
	}
	if _, err := w.s.Event(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing event: %v", err)
	}
}
