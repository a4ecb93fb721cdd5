package switchboard

import "errors"

// ErrNoAgent is returned by Agents when no active user has the extension.
var ErrNoAgent = errors.New("no agent with this extension")

// ErrNoExtension refuses an outbound call for a user without an extension:
// click-to-dial rings the user's own phone first.
var ErrNoExtension = errors.New("you have no extension: an admin must give you one before you can dial")

// ErrNoDevice refuses an outbound call when a phone that must ring (the
// agent's own, or the extension called) is not registered.
var ErrNoDevice = errors.New("no registered phone")

// ErrBadNumber refuses a target that is neither an extension of another
// agent nor a phone number.
var ErrBadNumber = errors.New("not a number phoned can call")

// ErrNotAllowed refuses a number outside the dial plan (toll-fraud
// safety: --dial-allow).
var ErrNotAllowed = errors.New("number not allowed by the dial plan")

// ErrNoRoute refuses an outside number when no PBX is configured to carry
// it.
var ErrNoRoute = errors.New("no PBX is configured for outside numbers: only extensions can be dialled")

// ErrNoCall is returned for a call id that is not a live call.
var ErrNoCall = errors.New("no live call with this id")

// ErrNotAnswered refuses DTMF to a call that has not been answered.
var ErrNotAnswered = errors.New("the call has not been answered yet")

// ErrNoDTMF refuses DTMF to a party whose phone did not accept RFC 4733
// telephone events and refused SIP INFO DTMF too.
var ErrNoDTMF = errors.New("the other party's phone takes no DTMF (neither RFC 4733 nor SIP INFO)")

// ErrBadDigits refuses DTMF digits other than 0-9, *, # and A-D, or too
// many of them.
var ErrBadDigits = errors.New("invalid DTMF digits")

// ErrHungUp is the cause of a call that the agent ended from the API.
var ErrHungUp = errors.New("the agent hung up from the API")

// ErrHeld refuses to hold a call that is on hold already.
var ErrHeld = errors.New("the call is on hold already")

// ErrTransferring refuses to act on a call whose transfer is under way.
var ErrTransferring = errors.New("the call is being transferred")

// ErrTransferred is the cause of a call that phoned left once its remote
// party was transferred.
var ErrTransferred = errors.New("the call was transferred")

// ErrNotHeld refuses to resume a call that is not on hold.
var ErrNotHeld = errors.New("the call is not on hold")
