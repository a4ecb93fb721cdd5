// Package comm owns the records of the CRM's telephone work: planned phone
// calls (activities), communication events with their parties, cases,
// purposes and follow-ups, and the closed sets of their states and
// outcomes. It has no storage and no transport code.
package comm

import (
	"fmt"
	"time"
)

// CallState is the state of a planned phone call (an activity).
type CallState string

// The states of a planned phone call.
const (
	CallPlanned   CallState = "planned"
	CallDone      CallState = "done"
	CallCancelled CallState = "cancelled"
)

// ParseCallState returns the CallState named s.
func ParseCallState(s string) (CallState, error) {
	switch c := CallState(s); c {
	case CallPlanned, CallDone, CallCancelled:
		return c, nil
	}
	return "", fmt.Errorf("unknown state %q (want planned, done or cancelled)", s)
}

// Counts reports whether a call in this state counts for the planner:
// planned and done calls do, cancelled ones neither count nor block.
func (s CallState) Counts() bool { return s == CallPlanned || s == CallDone }

// Origin says where a planned call came from.
type Origin string

// The origins of a planned call.
const (
	OriginManual  Origin = "manual"
	OriginPlanner Origin = "planner"
	OriginRule    Origin = "rule"
)

// UTM is the campaign, source and medium of a call. An empty value is a
// value of its own: it equals only another empty value.
type UTM struct {
	Campaign string `json:"campaign"`
	Source   string `json:"source"`
	Medium   string `json:"medium"`
}

// PhoneCall is a planned (or done, or cancelled) phone call: the
// activity an agent works from the next-activities queue.
type PhoneCall struct {
	ID              int64     `json:"id"`
	PartnerID       int64     `json:"partner_id"`
	PartnerName     string    `json:"partner_name,omitempty"`
	Phone           string    `json:"phone"`
	UserID          int64     `json:"user_id"`
	User            string    `json:"user"`
	Due             time.Time `json:"due"`
	Summary         string    `json:"summary"`
	Description     string    `json:"description"`
	Tags            []string  `json:"tags"`
	Purpose         string    `json:"purpose"`
	UTM                       // campaign, source, medium
	DurationMinutes int       `json:"duration_minutes"`
	Priority        int       `json:"priority"`
	State           CallState `json:"state"`
	Origin          Origin    `json:"origin"`
	RunID           int64     `json:"run_id,omitempty"`
}

// Purpose is why a call is made ("Renewal", "Survey").
type Purpose struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// EventState is the state of a communication event.
type EventState string

// The states of a communication event.
const (
	EventScheduled  EventState = "scheduled"
	EventInProgress EventState = "in_progress"
	EventCompleted  EventState = "completed"
)

// Outcome is how a call ended. The zero Outcome means "not ended yet".
type Outcome string

// The outcomes of a call.
const (
	OutcomeAnswered    Outcome = "answered"
	OutcomeNoAnswer    Outcome = "no_answer"
	OutcomeBusy        Outcome = "busy"
	OutcomeRejected    Outcome = "rejected"
	OutcomeMissed      Outcome = "missed"
	OutcomeFailed      Outcome = "failed"
	OutcomeTransferred Outcome = "transferred"
	OutcomeForwarded   Outcome = "forwarded"
	OutcomeInterrupted Outcome = "interrupted"
)

// ParseOutcome returns the Outcome named s.
func ParseOutcome(s string) (Outcome, error) {
	switch o := Outcome(s); o {
	case OutcomeAnswered, OutcomeNoAnswer, OutcomeBusy, OutcomeRejected, OutcomeMissed,
		OutcomeFailed, OutcomeTransferred, OutcomeForwarded, OutcomeInterrupted:
		return o, nil
	}
	return "", fmt.Errorf("unknown outcome %q", s)
}

// Direction is the direction of a communication event.
type Direction string

// The directions of a communication event.
const (
	DirectionIn  Direction = "in"
	DirectionOut Direction = "out"
)
