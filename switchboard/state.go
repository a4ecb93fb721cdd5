// Package switchboard owns the live calls: one goroutine per call that
// applies the call's events in order, the call's legs and states, the
// media bridge between the legs, and the communication event written as
// the call goes. Transports (SIP, the browser) plug in through the leg
// interfaces declared here; this package imports neither.
package switchboard

import "fmt"

// State is where a call stands. The zero State is StateUnknown.
type State uint8

// The states of a call.
const (
	StateUnknown State = iota
	StateDialling
	StateRinging
	StateAnswered
	StateHeld
	StateTransferring
	StateEnded
)

var stateNames = [...]string{"unknown", "dialling", "ringing", "answered", "held", "transferring", "ended"}

// String returns the state's name as the API shows it.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// MarshalText renders the state's name in JSON.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// HangupBy says who ended a call.
type HangupBy string

// Who can end a call.
const (
	HangupCaller  HangupBy = "caller"
	HangupCallee  HangupBy = "callee"
	HangupAgent   HangupBy = "agent"
	HangupSystem  HangupBy = "system"
	HangupTimeout HangupBy = "timeout"
)
