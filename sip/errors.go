package sip

import (
	"errors"
	"fmt"

	gosip "github.com/emiago/sipgo/sip"
)

// ErrUnknownAccount is returned by a [Directory] when no account has the
// extension asked for.
var ErrUnknownAccount = errors.New("unknown SIP account")

// ErrInvalidConfig is wrapped by the errors [New] returns for a Config or
// Deps that cannot work; the message names the field at fault.
var ErrInvalidConfig = errors.New("invalid SIP configuration")

// ErrServed is returned by [Server.Serve] when the server has already
// served once: its sipgo user agent is closed when Serve returns.
var ErrServed = errors.New("SIP server already served")

// ErrBadDialString is wrapped by [CheckDialString] for a number, extension
// or user that must not go into a SIP header.
var ErrBadDialString = errors.New("invalid dial string")

// ErrBadDisplayName is wrapped by [CheckDisplayName] for a display name
// that must not go into a SIP header.
var ErrBadDisplayName = errors.New("invalid display name")

// sipError is a refusal with its status code.
type sipError struct {
	Code    int
	Reason  string
	Headers []gosip.Header
}

func (e *sipError) Error() string { return fmt.Sprintf("%d %s", e.Code, e.Reason) }
