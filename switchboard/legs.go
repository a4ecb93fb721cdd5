package switchboard

import (
	"context"
	"fmt"
	"time"

	"phoned/comm"
	"phoned/media"
)

// Incoming is the caller's side of a call that reached phoned (a SIP
// INVITE it received). The engine calls its methods from the call's owner
// goroutine.
type Incoming interface {
	// Offer is the caller's SDP offer.
	Offer() []byte
	// Ring tells the caller the call rings (180 Ringing).
	Ring() error
	// Answer accepts the call with phoned's SDP answer (200 OK) and returns
	// when the caller acknowledged it.
	Answer(ctx context.Context, sdp []byte) error
	// Reject refuses the call with a final status (486, 480, 404...).
	Reject(status int, reason string) error
	// Hangup ends an answered call (BYE).
	Hangup(ctx context.Context) error
	// Reinvite renegotiates the media of the answered call (a re-INVITE
	// with sdp, acknowledged once answered) and returns the peer's SDP
	// answer; a refusal is a *StatusError.
	Reinvite(ctx context.Context, sdp []byte) ([]byte, error)
	// Refer asks the caller to call to instead (a blind transfer: REFER)
	// and returns once the transfer succeeded (a 2xx in its NOTIFYs). A
	// refused REFER or a failed transfer is a *StatusError.
	Refer(ctx context.Context, to ReferTarget) error
	// SendInfoDTMF sends one DTMF digit as SIP INFO, as DTMFSender does.
	SendInfoDTMF(ctx context.Context, digit rune, d time.Duration) error
	// Gone is closed when the caller cancels before the answer, or hangs
	// up after it.
	Gone() <-chan struct{}
}

// Outgoing is a call phoned placed to one device or number (an INVITE it
// sent).
type Outgoing interface {
	// Wait blocks until the callee answers and returns its SDP answer, or
	// until the call fails (a *StatusError carries the final SIP status).
	// When ctx ends first it cancels the call (CANCEL) and returns ctx's
	// error. onRinging runs at each provisional response with a status
	// (180, 183).
	Wait(ctx context.Context, onRinging func(status int)) ([]byte, error)
	// Ack acknowledges the answer.
	Ack(ctx context.Context) error
	// Hangup ends the answered call (BYE).
	Hangup(ctx context.Context) error
	// Reinvite renegotiates the media of the answered call, as
	// Incoming.Reinvite does.
	Reinvite(ctx context.Context, sdp []byte) ([]byte, error)
	// Refer transfers the callee, as Incoming.Refer does.
	Refer(ctx context.Context, to ReferTarget) error
	// SendInfoDTMF sends one DTMF digit as SIP INFO, as DTMFSender does.
	SendInfoDTMF(ctx context.Context, digit rune, d time.Duration) error
	// Gone is closed when the callee hangs up.
	Gone() <-chan struct{}
}

// MediaTransport is implemented by an agent's leg whose media does not
// come over plain RTP to the socket phoned offered (a browser's WebRTC
// leg): the engine then relays the agent's side over Transport, with the
// formats of the leg's SDP answer. It is asked once, after the answer.
type MediaTransport interface {
	Transport() media.Transport
}

// DTMFSender sends DTMF in the signalling, for a party whose media has
// no telephone-event: SendInfoDTMF sends digit (0-9, *, #, A-D) lasting d
// as one SIP INFO (application/dtmf-relay) within the answered call and
// returns once it was answered; a refusal is a *StatusError.
type DTMFSender interface {
	SendInfoDTMF(ctx context.Context, digit rune, d time.Duration) error
}

// ReferTarget is whom a transfer sends the remote party to: an
// extension (at phoned) or an outside number (E.164, through the PBX).
type ReferTarget struct {
	Extension string
	Number    string
	// Replaces, for an attended transfer, is the target's dialog with
	// phoned that the remote party's new call replaces: the REFER's
	// Refer-To is then that dialog's target with a Replaces header.
	Replaces *Replaces
}

// DigitSource is implemented by legs whose peer may send DTMF in the
// signalling (SIP INFO). The engine sets the handler once the call is
// answered, for the remote party's leg; digits go to Deps.OnDTMF like
// RFC 4733 ones.
type DigitSource interface {
	OnDigit(func(digit rune))
}

// Reoffered is implemented by legs (Incoming, Outgoing) whose peer may
// re-INVITE within the answered call, as a phone that puts phoned on hold
// does. The engine sets the handler once the call is answered; the leg
// calls it for each re-INVITE with the peer's SDP offer, and sends back
// the SDP it returns (200 OK), or the status of a *StatusError.
type Reoffered interface {
	OnReoffer(h func(ctx context.Context, offer []byte) ([]byte, error))
}

// Contact is one registered device of an extension, as the registrar
// keeps it; the Dialer knows how to reach it.
type Contact struct {
	URI       string // the device's Contact URI
	Received  string // the source address it registered from (host:port), for NAT
	Transport string
}

// DialRequest asks a Dialer to place a call.
type DialRequest struct {
	Call     string  // the live call this request is part of (Call.ID)
	Contact  Contact // the device to ring (or, for a number, empty with Number set)
	Number   string  // an outside number in E.164, for calls through the PBX
	CallID   string  // the SIP Call-ID to use (empty: a new one)
	FromUser string  // the caller as shown to the callee: a number or an extension
	FromName string  // the caller's display name (already checked for header injection)
	SDP      []byte  // phoned's offer
}

// Dialer places calls (the SIP user agent implements it).
type Dialer interface {
	Dial(ctx context.Context, req DialRequest) (Outgoing, error)
}

// StatusError is a call that failed with a final SIP status.
type StatusError struct {
	Status int
	Reason string
}

func (e *StatusError) Error() string { return fmt.Sprintf("SIP %d %s", e.Status, e.Reason) }

// Agent is a user with an extension, as the engine needs it.
type Agent struct {
	UserID    int64
	Login     string
	Name      string
	Extension string
}

// Agents finds agents and their registered devices.
type Agents interface {
	// AgentByExtension returns the active user with this extension, or an
	// error wrapping ErrNoAgent.
	AgentByExtension(ctx context.Context, ext string) (Agent, error)
	// Contacts returns the extension's live registrations.
	Contacts(ctx context.Context, ext string) ([]Contact, error)
}

// EventLog writes the communication event of each call as it goes.
type EventLog interface {
	StartEvent(ctx context.Context, s comm.EventStart) (int64, error)
	AnswerEvent(ctx context.Context, id int64, at time.Time) error
	EndEvent(ctx context.Context, id int64, end comm.EventEnd) error
	// SetEventTarget records the transfer or forward target of a call.
	SetEventTarget(ctx context.Context, id int64, target string) error
}
