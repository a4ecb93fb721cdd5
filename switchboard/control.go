package switchboard

import (
	"context"
	"errors"
	"fmt"
	"time"

	"phoned/media"
)

// controller is what a kind of call (inbound, outbound) does when the
// call ends or the API acts on it. Its methods run on the call's owner
// goroutine.
type controller interface {
	// hangup ends the call at the agent's request: the legs get their BYE
	// or CANCEL, the event its outcome with hangup_by agent.
	hangup()
	// remoteLeg is the RTP leg of the party that is not the agent (the
	// caller, or the callee) once the call is answered; nil before.
	remoteLeg() *media.Leg
	// remote is the answered remote party, for hold and resume; nil before
	// the answer.
	remote() *remoteParty
	// event is the call's communication event.
	event() *callEvent
	// transferred ends the call once its remote party was transferred
	// elsewhere: BYE to both sides, the event closed.
	transferred()
	// agentLeg is the leg playing the agent's part once answered (the
	// agent's device, or after a transfer the target), else nil.
	agentLeg() Outgoing
	// swapAgent makes out, the transfer target phoned called itself, the
	// call's agent leg, and hangs up the agent's phone.
	swapAgent(out Outgoing)
	// cleanup runs once the call has ended, whatever ended it.
	cleanup(cause error)
}

// plainCall is the controller of a call made with NewCall: it has no legs.
type plainCall struct {
	c    *Call
	done func(cause error)
}

func (p *plainCall) hangup()               { p.c.End(ErrHungUp) }
func (p *plainCall) remoteLeg() *media.Leg { return nil }
func (p *plainCall) remote() *remoteParty  { return nil }
func (p *plainCall) cleanup(cause error)   { p.done(cause) }
func (p *plainCall) event() *callEvent     { return &callEvent{ended: true} }
func (p *plainCall) transferred()          {}
func (p *plainCall) swapAgent(Outgoing)    {}
func (p *plainCall) agentLeg() Outgoing    { return nil }

// LiveCall returns the snapshot of the live call with this id.
func (e *Engine) LiveCall(id string) (Snapshot, bool) {
	c, ok := e.Call(id)
	if !ok {
		return Snapshot{}, false
	}
	return c.Snapshot(), true
}

// Hangup ends a live call at the agent's request (the API's hang-up): an
// answered call's legs get a BYE and its event the outcome answered; a
// call still ringing is cancelled (an inbound one is declined with 603).
// The event says hangup_by agent. Hangup returns once the call has ended,
// or when ctx ends first (the hang-up goes on). ErrNoCall: no such call.
func (e *Engine) Hangup(ctx context.Context, id string) error {
	c, ok := e.Call(id)
	if !ok {
		return ErrNoCall
	}
	c.Do(c.ctl.hangup) // false: the call is ending anyway
	select {
	case <-c.Done():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// maxDTMFDigits bounds one SendDTMF: a PIN or a menu path, not a tune.
const maxDTMFDigits = 32

// dtmfGap is the pause between two digits, so receivers that want a gap
// between events hear one.
const dtmfGap = 50 * time.Millisecond

// CheckDTMF reports whether digits may be sent as DTMF: 1 to 32 of 0-9,
// *, # and A-D.
func CheckDTMF(digits string) error {
	if digits == "" {
		return fmt.Errorf("%w: none given", ErrBadDigits)
	}
	if len(digits) > maxDTMFDigits {
		return fmt.Errorf("%w: %d digits, at most %d", ErrBadDigits, len(digits), maxDTMFDigits)
	}
	for i, r := range digits {
		switch {
		case r >= '0' && r <= '9', r == '*', r == '#', r >= 'A' && r <= 'D':
		default:
			return fmt.Errorf("%w: %q at position %d (want 0-9, *, # or A-D)", ErrBadDigits, r, i+1)
		}
	}
	return nil
}

// infoDTMFDuration is the tone length a SIP INFO digit asks for.
const infoDTMFDuration = 160 * time.Millisecond

// SendDTMF sends digits as RFC 4733 telephone events to the remote party
// of an answered call (the callee of a click-to-dial, the caller of an
// inbound call), one after the other. When that party's media has no
// telephone-event, the digits go as SIP INFO in its dialog instead (one
// INFO per digit, each awaiting its answer). It returns once they are
// sent. Errors: ErrBadDigits, ErrNoCall, ErrNotAnswered, ErrNoDTMF (no
// telephone-event and the INFO was refused).
func (e *Engine) SendDTMF(ctx context.Context, id, digits string) error {
	if err := CheckDTMF(digits); err != nil {
		return err
	}
	c, ok := e.Call(id)
	if !ok {
		return ErrNoCall
	}
	type remote struct {
		leg *media.Leg
		sig DTMFSender
	}
	got := make(chan remote, 1)
	if !c.Do(func() {
		r := remote{leg: c.ctl.remoteLeg()}
		if p := c.ctl.remote(); p != nil {
			r.sig, _ = p.sig.(DTMFSender)
		}
		got <- r
	}) {
		return ErrNoCall
	}
	r, ok, err := await(ctx, c, got)
	switch {
	case err != nil:
		return err
	case !ok:
		return ErrNoCall
	}
	if r.leg == nil {
		return ErrNotAnswered
	}
	// The leg is safe for concurrent use: the digits go out from here, so
	// the owner goroutine keeps applying BYEs meanwhile.
	info := false // telephone-event is missing: SIP INFO
	for i, d := range digits {
		if i > 0 {
			t := time.NewTimer(dtmfGap)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			}
		}
		if !info {
			err := r.leg.SendDTMF(ctx, d, 0)
			switch {
			case err == nil:
				continue
			case errors.Is(err, media.ErrNoTelephoneEvent):
				if r.sig == nil {
					return ErrNoDTMF
				}
				info = true
			case errors.Is(err, media.ErrLegClosed):
				return ErrNoCall
			default:
				return fmt.Errorf("sending DTMF %q: %w", d, err)
			}
		}
		if err := r.sig.SendInfoDTMF(ctx, d, infoDTMFDuration); err != nil {
			var se *StatusError
			if errors.As(err, &se) {
				switch se.Status {
				case 405, 415, 420, 488, 501:
					return fmt.Errorf("%w (SIP INFO refused: %v)", ErrNoDTMF, se)
				case 481:
					return ErrNoCall
				}
			}
			return fmt.Errorf("sending DTMF %q by SIP INFO: %w", d, err)
		}
	}
	return nil
}
