package comm

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on the text an event carries. SIP headers have no hard limit;
// these are far above real values and keep one bad message from storing
// megabytes.
const (
	MaxNumberLen  = 128    // a from/to number, a transfer or forward target
	MaxCallIDLen  = 256    // a SIP Call-ID
	MaxNoteLen    = 10_000 // an agent's note, in bytes
	MaxPurposeLen = 100    // a purpose name (as in POST /api/purposes)
	MaxSummaryLen = 200    // a follow-up's summary
)

// EventStart is what is known when a call begins (the first INVITE, or
// the dial): it becomes an event in progress.
type EventStart struct {
	Type      EventType // zero: phone
	Direction Direction
	At        time.Time // zero: now
	UserID    int64     // the employee (0: nobody yet, e.g. an inbound call still ringing)

	PartnerIDs []int64 // the partners taking part
	ContactIDs []int64 // the contact mechanisms used; their partners take part too
	// PartyE164, when set, is the other side's number in E.164: every
	// partner with that number takes part, and the matching contact
	// mechanisms are the event's (the reverse lookup of a caller).
	PartyE164  string
	CaseID     int64
	ActivityID int64 // the planned call being dialled; its partner takes part

	SIPCallID  string
	FromNumber string
	ToNumber   string
}

// Validate checks a start: a known direction and type, no negative ids,
// and numbers and Call-ID of sane length with no control characters (a
// CR/LF in a SIP value is an injection attempt, not a number).
func (s *EventStart) Validate() error {
	if _, err := ParseDirection(string(s.Direction)); err != nil {
		return fieldErr("direction", err.Error())
	}
	if s.Type != "" {
		if _, err := ParseEventType(string(s.Type)); err != nil {
			return fieldErr("type", err.Error())
		}
	}
	for _, c := range []struct {
		field string
		id    int64
	}{{"user_id", s.UserID}, {"case_id", s.CaseID}, {"activity_id", s.ActivityID}} {
		if c.id < 0 {
			return fieldErr(c.field, "must not be negative")
		}
	}
	for _, c := range []struct {
		field string
		ids   []int64
	}{{"partner_ids", s.PartnerIDs}, {"contact_ids", s.ContactIDs}} {
		for _, id := range c.ids {
			if id <= 0 {
				return fieldErr(c.field, fmt.Sprintf("%d is not an id", id))
			}
		}
	}
	for _, c := range []struct {
		field, v string
		max      int
	}{
		{"party_e164", s.PartyE164, MaxNumberLen}, {"sip_call_id", s.SIPCallID, MaxCallIDLen},
		{"from_number", s.FromNumber, MaxNumberLen}, {"to_number", s.ToNumber, MaxNumberLen},
	} {
		if err := checkLine(c.field, c.v, c.max); err != nil {
			return err
		}
	}
	return nil
}

// CheckTarget checks a transfer or forward target (an extension, a
// number, a SIP URI): one line, not empty, of sane length.
func CheckTarget(target string) error {
	if target == "" {
		return fieldErr("target", "is required")
	}
	return checkLine("target", target, MaxNumberLen)
}

// EventEnd is how a call ended.
type EventEnd struct {
	At        time.Time // zero: now
	Outcome   Outcome
	SIPStatus int             // the final SIP status (0: none, e.g. a call that never left phoned)
	HangupBy  HangupBy        // zero: not known
	Quality   json.RawMessage // audio quality figures: a JSON object, or empty
}

// Validate checks an end: a known outcome, a real SIP status, a known
// hangup_by, and quality figures that are a JSON object.
func (e *EventEnd) Validate() error {
	if !e.Outcome.Valid() {
		return fieldErr("outcome", fmt.Sprintf("unknown outcome %q", e.Outcome))
	}
	if e.SIPStatus != 0 && (e.SIPStatus < 100 || e.SIPStatus > 699) {
		return fieldErr("sip_status", fmt.Sprintf("%d is not a SIP status", e.SIPStatus))
	}
	if e.HangupBy != "" {
		if _, err := ParseHangupBy(string(e.HangupBy)); err != nil {
			return fieldErr("hangup_by", err.Error())
		}
	}
	if len(e.Quality) > 0 {
		var obj map[string]any
		if err := json.Unmarshal(e.Quality, &obj); err != nil || obj == nil {
			return fieldErr("quality", "must be a JSON object")
		}
	}
	return nil
}

// WrapUp is what an agent records after a call (the wrap-up form): nil
// and zero fields keep what is stored.
type WrapUp struct {
	Outcome  Outcome          // zero: keep; set only on a completed event
	Note     *string          // nil: keep
	Purpose  *string          // nil: keep; "": none; else the name of an existing purpose
	FollowUp *FollowUpRequest // nil: none
}

// FollowUpRequest asks for a follow-up call: a new planned phone call,
// linked to the event by a follow-up.
type FollowUpRequest struct {
	Due     time.Time
	Summary string // zero: "Call back" and the partner's name
	// PartnerID is whom to call back (0: the event's planned call's
	// partner, else its only party).
	PartnerID int64
	UserID    int64 // who calls back (0: the event's user)
}

// Normalize trims the wrap-up's text and checks it: an outcome an agent
// may set, a note of at most MaxNoteLen bytes of UTF-8 text, a one-line
// purpose, and a follow-up with a due time and a one-line summary.
func (w *WrapUp) Normalize() error {
	if w.Outcome != "" && !w.Outcome.SetByAgent() {
		if w.Outcome == OutcomeInterrupted {
			return fieldErr("outcome", "interrupted is set by phoned only, for calls it lost")
		}
		return fieldErr("outcome", fmt.Sprintf("unknown outcome %q", w.Outcome))
	}
	if w.Note != nil {
		n := strings.TrimSpace(*w.Note)
		if len(n) > MaxNoteLen {
			return fieldErr("note", fmt.Sprintf("is longer than %d bytes", MaxNoteLen))
		}
		if !utf8.ValidString(n) || strings.ContainsRune(n, 0) {
			return fieldErr("note", "must be UTF-8 text")
		}
		w.Note = &n
	}
	if w.Purpose != nil {
		p := strings.TrimSpace(*w.Purpose)
		if err := checkLine("purpose", p, MaxPurposeLen); err != nil {
			return err
		}
		w.Purpose = &p
	}
	if f := w.FollowUp; f != nil {
		if f.Due.IsZero() {
			return fieldErr("follow_up.due", "is required")
		}
		f.Summary = strings.TrimSpace(f.Summary)
		if err := checkLine("follow_up.summary", f.Summary, MaxSummaryLen); err != nil {
			return err
		}
		if f.PartnerID < 0 || f.UserID < 0 {
			return fieldErr("follow_up", "ids must not be negative")
		}
	}
	return nil
}

// Empty reports whether the wrap-up changes nothing.
func (w *WrapUp) Empty() bool {
	return w.Outcome == "" && w.Note == nil && w.Purpose == nil && w.FollowUp == nil
}

// checkLine checks one line of text: valid UTF-8, no control characters,
// at most max bytes.
func checkLine(field, v string, max int) error {
	if len(v) > max {
		return fieldErr(field, fmt.Sprintf("is longer than %d bytes", max))
	}
	if !utf8.ValidString(v) {
		return fieldErr(field, "must be UTF-8 text")
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return fieldErr(field, "must be one line with no control characters")
		}
	}
	return nil
}
