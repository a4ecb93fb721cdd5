package comm

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestClosedSetsParseTheirOwnNames(t *testing.T) {
	for _, o := range []Outcome{OutcomeAnswered, OutcomeNoAnswer, OutcomeBusy, OutcomeRejected, OutcomeMissed,
		OutcomeFailed, OutcomeTransferred, OutcomeForwarded, OutcomeInterrupted} {
		if got, err := ParseOutcome(o.String()); err != nil || got != o || !o.Valid() {
			t.Errorf("outcome %q: %q, %v", o, got, err)
		}
		if o.Reached() == o.Unreached() && o != OutcomeInterrupted {
			t.Errorf("outcome %q is both or neither reached and unreached", o)
		}
	}
	for _, h := range []HangupBy{HangupCaller, HangupCallee, HangupAgent, HangupSystem, HangupTimeout} {
		if got, err := ParseHangupBy(h.String()); err != nil || got != h {
			t.Errorf("hangup_by %q: %q, %v", h, got, err)
		}
	}
	for _, s := range []EventState{EventScheduled, EventInProgress, EventCompleted} {
		if got, err := ParseEventState(s.String()); err != nil || got != s {
			t.Errorf("state %q: %q, %v", s, got, err)
		}
	}
	for _, d := range []Direction{DirectionIn, DirectionOut} {
		if got, err := ParseDirection(d.String()); err != nil || got != d {
			t.Errorf("direction %q: %q, %v", d, got, err)
		}
	}
	for _, typ := range []EventType{EventPhone, EventEmail, EventMeeting, EventOther} {
		if got, err := ParseEventType(typ.String()); err != nil || got != typ {
			t.Errorf("type %q: %q, %v", typ, got, err)
		}
	}
	for _, s := range []FollowUpState{FollowUpOpen, FollowUpDone, FollowUpCancelled} {
		if got, err := ParseFollowUpState(s.String()); err != nil || got != s {
			t.Errorf("follow-up state %q: %q, %v", s, got, err)
		}
	}
	// Names are exact: no case folding, no spaces, no empty value.
	for _, bad := range []string{"", "Answered", " answered", "no answer", "in progress"} {
		if _, err := ParseOutcome(bad); err == nil {
			t.Errorf("ParseOutcome(%q) accepted", bad)
		}
		if _, err := ParseEventState(bad); err == nil {
			t.Errorf("ParseEventState(%q) accepted", bad)
		}
		if _, err := ParseHangupBy(bad); err == nil {
			t.Errorf("ParseHangupBy(%q) accepted", bad)
		}
	}
	if Outcome("").Valid() || OutcomeInterrupted.SetByAgent() || !OutcomeNoAnswer.SetByAgent() {
		t.Error("Valid/SetByAgent")
	}
}

func TestOutcomeOfStatus(t *testing.T) {
	tests := []struct {
		status int
		dir    Direction
		want   Outcome
	}{
		{0, DirectionOut, ""},
		{180, DirectionOut, ""},
		{200, DirectionOut, OutcomeAnswered},
		{200, DirectionIn, OutcomeAnswered},
		{486, DirectionOut, OutcomeBusy},
		{600, DirectionIn, OutcomeBusy},
		{603, DirectionIn, OutcomeRejected},
		{480, DirectionOut, OutcomeNoAnswer},
		{480, DirectionIn, OutcomeMissed},
		{487, DirectionOut, OutcomeNoAnswer},
		{487, DirectionIn, OutcomeMissed},
		{408, DirectionIn, OutcomeMissed},
		{404, DirectionOut, OutcomeFailed},
		{503, DirectionOut, OutcomeFailed},
		{302, DirectionOut, OutcomeFailed},
		{700, DirectionOut, ""},
	}
	for _, tt := range tests {
		if got := OutcomeOfStatus(tt.status, tt.dir); got != tt.want {
			t.Errorf("OutcomeOfStatus(%d, %s) = %q, want %q", tt.status, tt.dir, got, tt.want)
		}
	}
}

func TestTalkIsFromAnswerToEnd(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		e    Event
		want int64
	}{
		{"answered and ended", Event{Start: t0, AnsweredAt: t0.Add(5 * time.Second), End: t0.Add(95 * time.Second)}, 90},
		{"never answered", Event{Start: t0, End: t0.Add(30 * time.Second)}, 0},
		{"still going", Event{Start: t0, AnsweredAt: t0.Add(time.Second)}, 0},
		{"end before answer", Event{AnsweredAt: t0, End: t0.Add(-time.Second)}, 0},
	}
	for _, tt := range tests {
		if got := tt.e.DurationSeconds(); got != tt.want {
			t.Errorf("%s: %d s, want %d", tt.name, got, tt.want)
		}
	}
}

func TestEventStartValidate(t *testing.T) {
	tests := []struct {
		name  string
		s     EventStart
		field string // "": valid
	}{
		{"minimal", EventStart{Direction: DirectionIn}, ""},
		{"full", EventStart{Type: EventPhone, Direction: DirectionOut, UserID: 1, PartnerIDs: []int64{1, 2}, ContactIDs: []int64{3},
			PartyE164: "+3222123456", SIPCallID: "a84b4c76e66710@pc33", FromNumber: "101", ToNumber: "sip:+3222123456@pbx"}, ""},
		{"no direction", EventStart{}, "direction"},
		{"bad type", EventStart{Direction: DirectionIn, Type: "fax"}, "type"},
		{"negative user", EventStart{Direction: DirectionIn, UserID: -1}, "user_id"},
		{"zero partner id", EventStart{Direction: DirectionIn, PartnerIDs: []int64{0}}, "partner_ids"},
		{"CR/LF in a number", EventStart{Direction: DirectionIn, FromNumber: "1\r\nVia: x"}, "from_number"},
		{"NUL in the Call-ID", EventStart{Direction: DirectionIn, SIPCallID: "a\x00b"}, "sip_call_id"},
		{"huge number", EventStart{Direction: DirectionIn, ToNumber: strings.Repeat("1", MaxNumberLen+1)}, "to_number"},
		{"bad UTF-8", EventStart{Direction: DirectionIn, FromNumber: "\xff"}, "from_number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantField(t, tt.s.Validate(), tt.field) })
	}
}

func TestEventEndValidate(t *testing.T) {
	tests := []struct {
		name  string
		e     EventEnd
		field string
	}{
		{"answered", EventEnd{Outcome: OutcomeAnswered, SIPStatus: 200, HangupBy: HangupCallee, Quality: json.RawMessage(`{"mos":4.1}`)}, ""},
		{"no outcome", EventEnd{}, "outcome"},
		{"unknown outcome", EventEnd{Outcome: "meh"}, "outcome"},
		{"status 99", EventEnd{Outcome: OutcomeFailed, SIPStatus: 99}, "sip_status"},
		{"status 700", EventEnd{Outcome: OutcomeFailed, SIPStatus: 700}, "sip_status"},
		{"unknown hangup_by", EventEnd{Outcome: OutcomeFailed, HangupBy: "god"}, "hangup_by"},
		{"quality not an object", EventEnd{Outcome: OutcomeFailed, Quality: json.RawMessage(`[1]`)}, "quality"},
		{"quality null", EventEnd{Outcome: OutcomeFailed, Quality: json.RawMessage(`null`)}, "quality"},
		{"quality not JSON", EventEnd{Outcome: OutcomeFailed, Quality: json.RawMessage(`{`)}, "quality"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantField(t, tt.e.Validate(), tt.field) })
	}
	if err := CheckTarget(""); err == nil {
		t.Error("empty target accepted")
	}
	if err := CheckTarget("+32 2 212 34 56"); err != nil {
		t.Errorf("a number as target: %v", err)
	}
}

func TestWrapUpNormalize(t *testing.T) {
	str := func(s string) *string { return &s }
	due := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		w     WrapUp
		field string
	}{
		{"empty", WrapUp{}, ""},
		{"everything", WrapUp{Outcome: OutcomeNoAnswer, Note: str("line 1\nline 2"), Purpose: str("Renewal"),
			FollowUp: &FollowUpRequest{Due: due, Summary: "Call back"}}, ""},
		{"clear the purpose", WrapUp{Purpose: str("")}, ""},
		{"interrupted", WrapUp{Outcome: OutcomeInterrupted}, "outcome"},
		{"unknown outcome", WrapUp{Outcome: "great"}, "outcome"},
		{"note too long", WrapUp{Note: str(strings.Repeat("x", MaxNoteLen+1))}, "note"},
		{"NUL in the note", WrapUp{Note: str("a\x00")}, "note"},
		{"purpose on two lines", WrapUp{Purpose: str("a\nb")}, "purpose"},
		{"follow-up without due", WrapUp{FollowUp: &FollowUpRequest{}}, "follow_up.due"},
		{"follow-up summary on two lines", WrapUp{FollowUp: &FollowUpRequest{Due: due, Summary: "a\nb"}}, "follow_up.summary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantField(t, tt.w.Normalize(), tt.field) })
	}
	w := WrapUp{Note: str("  hi \n"), Purpose: str(" Renewal "), FollowUp: &FollowUpRequest{Due: due, Summary: " s "}}
	if err := w.Normalize(); err != nil || *w.Note != "hi" || *w.Purpose != "Renewal" || w.FollowUp.Summary != "s" || w.Empty() {
		t.Fatalf("normalised %q %q %q: %v", *w.Note, *w.Purpose, w.FollowUp.Summary, err)
	}
	if !(&WrapUp{}).Empty() {
		t.Error("an empty wrap-up is not Empty")
	}
}

// wantField fails unless err is nil (field "") or a *FieldError for field.
func wantField(t *testing.T, err error, field string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		return
	}
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != field || fe.Message == "" {
		t.Fatalf("got %v, want an error for field %q", err, field)
	}
}
