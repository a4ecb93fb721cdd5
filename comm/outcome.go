package comm

// String returns the Outcome as it is stored and sent.
func (o Outcome) String() string { return string(o) }

// Valid reports whether o is one of the outcomes (the zero Outcome is not).
func (o Outcome) Valid() bool {
	_, err := ParseOutcome(string(o))
	return err == nil
}

// Reached reports whether the call reached a person: answered, or taken
// and passed on (transferred, forwarded).
func (o Outcome) Reached() bool {
	switch o {
	case OutcomeAnswered, OutcomeTransferred, OutcomeForwarded:
		return true
	}
	return false
}

// Unreached reports whether the call ended with nobody taking it: no
// answer, busy, rejected, missed or failed — the outcomes that call for a
// retry or a callback. An interrupted call is neither reached nor
// unreached: phoned lost track of it.
func (o Outcome) Unreached() bool {
	switch o {
	case OutcomeNoAnswer, OutcomeBusy, OutcomeRejected, OutcomeMissed, OutcomeFailed:
		return true
	}
	return false
}

// SetByAgent reports whether an agent may record this outcome at wrap-up
// (correcting what the call engine saw, e.g. "answered" by a voicemail
// becomes "no_answer"). Interrupted is phoned's own verdict on a call it
// lost, never an agent's.
func (o Outcome) SetByAgent() bool { return o.Valid() && o != OutcomeInterrupted }

// OutcomeOfStatus classifies the final SIP status of a call's INVITE: the
// status received for an outgoing call, the status sent for an incoming
// one. It returns the zero Outcome for a provisional (1xx) or missing
// status. A call given up before an answer (408, 480, 487) is "no_answer"
// when we called and "missed" when we were called.
func OutcomeOfStatus(status int, dir Direction) Outcome {
	switch {
	case status >= 200 && status < 300:
		return OutcomeAnswered
	case status == 486 || status == 600:
		return OutcomeBusy
	case status == 603:
		return OutcomeRejected
	case status == 408 || status == 480 || status == 487:
		if dir == DirectionIn {
			return OutcomeMissed
		}
		return OutcomeNoAnswer
	case status >= 300 && status < 700:
		return OutcomeFailed
	}
	return ""
}
