package switchboard

import (
	"context"
	"sync"
	"time"

	"phoned/comm"
)

// Call is one live call. Everything that changes it runs on its owner
// goroutine, in the order it was posted (Do): SIP hands each message to a
// goroutine of its own, but an ACK, a re-INVITE, a BYE and a NOTIFY of one
// call must still apply in order. Readers take a Snapshot.
type Call struct {
	id      string
	eng     *Engine
	ctx     context.Context // ends when the call ends or reaches its maximum duration
	cancel  context.CancelCauseFunc
	actions chan func()
	done    chan struct{}
	ctl     controller // set before the owner goroutine starts

	mu   sync.Mutex // guards snap
	snap Snapshot
}

// Snapshot is what the API shows of a live call.
type Snapshot struct {
	ID          string         `json:"id"`
	State       State          `json:"state"`
	Direction   comm.Direction `json:"direction"`
	UserID      int64          `json:"user_id"`
	User        string         `json:"user"`
	Extension   string         `json:"extension"`
	PartnerID   int64          `json:"partner_id,omitempty"`
	PartnerName string         `json:"partner_name,omitempty"`
	Number      string         `json:"number"`
	EventID     int64          `json:"event_id,omitempty"`
	Started     time.Time      `json:"started"`
	Answered    *time.Time     `json:"answered,omitempty"`
	// Outcome and SIPStatus are set once the call's event is closed.
	Outcome   comm.Outcome `json:"outcome,omitempty"`
	SIPStatus int          `json:"sip_status,omitempty"`
	// Consult is the consult call of an attended transfer under way.
	Consult *Consult `json:"consult,omitempty"`
}

// ID returns the call's id.
func (c *Call) ID() string { return c.id }

// Context is the call's context: it ends with the call.
func (c *Call) Context() context.Context { return c.ctx }

// Done is closed when the call has ended and its owner goroutine is gone.
func (c *Call) Done() <-chan struct{} { return c.done }

// Snapshot returns the call as it is now.
func (c *Call) Snapshot() Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.snap
}

// update changes the snapshot under its lock, then tells the engine's
// watcher (Deps.Watch).
func (c *Call) update(f func(*Snapshot)) {
	c.mu.Lock()
	f(&c.snap)
	s := c.snap
	c.mu.Unlock()
	if w := c.eng.deps.Watch; w != nil {
		w(s)
	}
}

// Do posts f to run on the call's owner goroutine, after everything posted
// before it. It reports false, and f never runs, when the call has ended.
func (c *Call) Do(f func()) bool {
	select {
	case <-c.ctx.Done():
		return false
	default:
	}
	select {
	case c.actions <- f:
		return true
	case <-c.ctx.Done():
		return false
	}
}

// End ends the call for the given cause (no further actions run). It is
// safe from any goroutine and more than once.
func (c *Call) End(cause error) { c.cancel(cause) }

// run is the owner goroutine: it applies the actions in order until the
// call's context ends (hang-up, maximum duration, engine shutdown), then
// runs the controller's cleanup.
func (c *Call) run() {
	defer close(c.done)
	defer c.eng.forget(c)
	for {
		select {
		case f := <-c.actions:
			f()
		case <-c.ctx.Done():
			c.ctl.cleanup(context.Cause(c.ctx))
			c.update(func(s *Snapshot) { s.State = StateEnded })
			return
		}
	}
}

// await waits for the result that an action posted on res, or for the call
// to end first (ok false). A result posted just before the call ended
// still wins: an action may end the call as soon as it has answered (a
// transfer that succeeds at once), and both channels are then ready.
func await[T any](ctx context.Context, c *Call, res <-chan T) (v T, ok bool, err error) {
	select {
	case v = <-res:
		return v, true, nil
	case <-c.Done():
		select {
		case v = <-res:
			return v, true, nil
		default:
			return v, false, nil
		}
	case <-ctx.Done():
		return v, false, ctx.Err()
	}
}
