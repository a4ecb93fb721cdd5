package comm

import (
	"encoding/json"
	"fmt"
	"time"
)

// Event is a communication event: one call (or, later, one e-mail or
// meeting) with whoever took part, its times, why it was made, how it
// ended, and what was decided after it. A zero time means "not yet" (or
// "never": AnsweredAt of a call nobody answered); a zero id means "none".
type Event struct {
	ID        int64
	Type      EventType
	Direction Direction
	State     EventState
	Outcome   Outcome // zero until the event ends

	UserID    int64  // the employee who made or took the call (0: nobody yet)
	UserLogin string // that employee's login

	Parties    []Party        // the partners taking part, by partner id
	Contacts   []EventContact // the contact mechanisms used, by id
	CaseID     int64          // the case grouping this event
	ActivityID int64          // the planned call this event carries out

	Start      time.Time // the first INVITE (or the dial)
	AnsweredAt time.Time
	End        time.Time

	Purpose string // a purpose name
	Note    string

	SIPCallID  string
	FromNumber string
	ToNumber   string
	Target     string   // where the call was transferred or forwarded
	SIPStatus  int      // the final SIP status (0: none)
	HangupBy   HangupBy // zero: not known
	Quality    json.RawMessage

	FollowUps []FollowUp
}

// Talk returns how long the parties spoke: from the answer to the end of a
// call that was answered and has ended, zero otherwise.
func (e *Event) Talk() time.Duration {
	if e.AnsweredAt.IsZero() || e.End.IsZero() || e.End.Before(e.AnsweredAt) {
		return 0
	}
	return e.End.Sub(e.AnsweredAt)
}

// DurationSeconds is Talk in whole seconds: the duration_seconds of the
// event's JSON form.
func (e *Event) DurationSeconds() int64 { return int64(e.Talk() / time.Second) }

// Party is a partner taking part in an event.
type Party struct {
	PartnerID int64  `json:"partner_id"`
	Name      string `json:"name"`
}

// EventContact is a contact mechanism (a phone number, a SIP address) used
// by an event.
type EventContact struct {
	ID        int64  `json:"id"`
	PartnerID int64  `json:"partner_id"`
	Type      string `json:"type"`
	Value     string `json:"value"`
	E164      string `json:"e164,omitempty"`
}

// FollowUp is work an event leaves to do: its name, its state, and the
// planned call that will carry it out.
type FollowUp struct {
	ID         int64
	EventID    int64
	Name       string
	State      FollowUpState
	ActivityID int64     // the planned call (0: none)
	Due        time.Time // that call's due time
}

// EventType is the kind of a communication event.
type EventType string

// The kinds of communication event.
const (
	EventPhone   EventType = "phone"
	EventEmail   EventType = "email"
	EventMeeting EventType = "meeting"
	EventOther   EventType = "other"
)

// ParseEventType returns the EventType named s.
func ParseEventType(s string) (EventType, error) {
	switch t := EventType(s); t {
	case EventPhone, EventEmail, EventMeeting, EventOther:
		return t, nil
	}
	return "", fmt.Errorf("unknown event type %q (want phone, email, meeting or other)", s)
}

// String returns the EventType as it is stored and sent.
func (t EventType) String() string { return string(t) }

// ParseEventState returns the EventState named s.
func ParseEventState(s string) (EventState, error) {
	switch st := EventState(s); st {
	case EventScheduled, EventInProgress, EventCompleted:
		return st, nil
	}
	return "", fmt.Errorf("unknown state %q (want scheduled, in_progress or completed)", s)
}

// String returns the EventState as it is stored and sent.
func (s EventState) String() string { return string(s) }

// ParseDirection returns the Direction named s.
func ParseDirection(s string) (Direction, error) {
	switch d := Direction(s); d {
	case DirectionIn, DirectionOut:
		return d, nil
	}
	return "", fmt.Errorf("unknown direction %q (want in or out)", s)
}

// String returns the Direction as it is stored and sent.
func (d Direction) String() string { return string(d) }

// HangupBy says who ended a call. The zero HangupBy means "not known".
type HangupBy string

// Who ends calls.
const (
	HangupCaller  HangupBy = "caller"  // the party that called
	HangupCallee  HangupBy = "callee"  // the party that was called
	HangupAgent   HangupBy = "agent"   // our agent, from the widget or the API
	HangupSystem  HangupBy = "system"  // phoned itself (shutdown, a failed leg, a supervisor)
	HangupTimeout HangupBy = "timeout" // a ring, inactivity or maximum-duration timer
)

// ParseHangupBy returns the HangupBy named s.
func ParseHangupBy(s string) (HangupBy, error) {
	switch h := HangupBy(s); h {
	case HangupCaller, HangupCallee, HangupAgent, HangupSystem, HangupTimeout:
		return h, nil
	}
	return "", fmt.Errorf("unknown hangup_by %q (want caller, callee, agent, system or timeout)", s)
}

// String returns the HangupBy as it is stored and sent.
func (h HangupBy) String() string { return string(h) }

// FollowUpState is the state of a follow-up.
type FollowUpState string

// The states of a follow-up.
const (
	FollowUpOpen      FollowUpState = "open"
	FollowUpDone      FollowUpState = "done"
	FollowUpCancelled FollowUpState = "cancelled"
)

// ParseFollowUpState returns the FollowUpState named s.
func ParseFollowUpState(s string) (FollowUpState, error) {
	switch st := FollowUpState(s); st {
	case FollowUpOpen, FollowUpDone, FollowUpCancelled:
		return st, nil
	}
	return "", fmt.Errorf("unknown follow-up state %q (want open, done or cancelled)", s)
}

// String returns the FollowUpState as it is stored and sent.
func (s FollowUpState) String() string { return string(s) }
