package media

import (
	"fmt"
	"sync"
	"time"
)

// EndReason says why a relay ended.
type EndReason uint8

// The reasons. EndUnknown is the zero value: the relay has not ended.
const (
	EndUnknown EndReason = iota
	// EndClosed: Relay.Close was called (hang-up, transfer).
	EndClosed
	// EndInactivity: neither leg's peer sent a packet for the inactivity
	// timeout; the call engine hangs up.
	EndInactivity
	// EndLegClosed: one of the legs was closed.
	EndLegClosed
	// EndTransport: a leg's transport failed.
	EndTransport
)

// String names the reason.
func (r EndReason) String() string {
	switch r {
	case EndClosed:
		return "closed"
	case EndInactivity:
		return "inactivity"
	case EndLegClosed:
		return "leg closed"
	case EndTransport:
		return "transport failed"
	default:
		return "unknown"
	}
}

// BridgeOptions configure a Relay; the zero value relays with no timeout.
type BridgeOptions struct {
	// InactivityTimeout ends the relay when no packet came from either
	// leg's peer for that long; zero disables it. Calls on hold may send
	// nothing: lengthen or disable it with SetInactivityTimeout.
	InactivityTimeout time.Duration
	// OnEnd, if set, is called once when the relay ends, on the goroutine
	// that ended it (a timer, a leg's reader, or the caller of Close). It
	// must not block; it may close the legs.
	OnEnd func(EndReason)
}

// Relay is two legs joined by Bridge. Legs outlive their relay: closing it
// unlinks them, and one of them may then be bridged to a new leg (a
// transfer), its peer seeing the stream go on unbroken.
type Relay struct {
	a, b  *Leg
	clock Clock
	onEnd func(EndReason)
	done  chan struct{}

	mu      sync.Mutex // guards the following
	reason  EndReason  // set once, when the relay ends
	timeout time.Duration
	armedAt int64  // stamp when the timeout was (re)set
	timer   Timer  // the pending check, if any
	gen     uint64 // bumped on each reset; a check from an older one is void
}

// Bridge relays RTP between a and b both ways until the relay ends. Both
// legs must have negotiated the same audio codec. The relay uses a's clock.
func Bridge(a, b *Leg, opts BridgeOptions) (*Relay, error) {
	if a == b {
		return nil, ErrSameLeg
	}
	if a.closed() || b.closed() {
		return nil, fmt.Errorf("bridge: %w", ErrLegClosed)
	}
	ca, cb := a.Media().Audio.Codec, b.Media().Audio.Codec
	if ca != cb {
		return nil, fmt.Errorf("bridge: %w: %s and %s", ErrCodecMismatch, ca, cb)
	}
	r := &Relay{a: a, b: b, clock: a.clock, onEnd: opts.OnEnd, done: make(chan struct{})}
	if !a.relay.CompareAndSwap(nil, r) {
		return nil, fmt.Errorf("bridge: %w", ErrLegBridged)
	}
	if !b.relay.CompareAndSwap(nil, r) {
		a.relay.CompareAndSwap(r, nil)
		return nil, fmt.Errorf("bridge: %w", ErrLegBridged)
	}
	a.peer.Store(b)
	b.peer.Store(a)
	// A leg closed since the check above may not have seen r.
	if a.closed() || b.closed() {
		r.end(EndLegClosed)
		return nil, fmt.Errorf("bridge: %w", ErrLegClosed)
	}
	r.SetInactivityTimeout(opts.InactivityTimeout)
	return r, nil
}

// Close unlinks the legs (they stay open) and ends the relay with
// EndClosed, unless it had already ended.
func (r *Relay) Close() { r.end(EndClosed) }

// Done is closed when the relay has ended.
func (r *Relay) Done() <-chan struct{} { return r.done }

// Reason is why the relay ended, EndUnknown while it runs.
func (r *Relay) Reason() EndReason {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reason
}

// SetInactivityTimeout replaces the timeout, counting from now; zero
// disables it.
func (r *Relay) SetInactivityTimeout(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reason != EndUnknown {
		return
	}
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	r.gen++
	r.timeout = d
	r.armedAt = stamp(r.clock.Now())
	if d > 0 {
		r.arm(d)
	}
}

// arm schedules a check of the current generation; r.mu is held.
func (r *Relay) arm(d time.Duration) {
	gen := r.gen
	r.timer = r.clock.AfterFunc(d, func() { r.checkActivity(gen) })
}

// checkActivity runs when the timeout may have expired: it ends the relay,
// or sleeps until the newest packet's timeout.
func (r *Relay) checkActivity(gen uint64) {
	r.mu.Lock()
	if r.reason != EndUnknown || r.timeout <= 0 || gen != r.gen {
		r.mu.Unlock()
		return
	}
	last := max(r.armedAt, r.a.rx.last.Load(), r.b.rx.last.Load())
	idle := time.Duration(stamp(r.clock.Now()) - last)
	if idle < r.timeout {
		r.arm(r.timeout - idle)
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	r.end(EndInactivity)
}

// end unlinks the legs and reports the reason, once.
func (r *Relay) end(reason EndReason) {
	r.mu.Lock()
	if r.reason != EndUnknown {
		r.mu.Unlock()
		return
	}
	r.reason = reason
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	r.mu.Unlock()
	r.a.peer.CompareAndSwap(r.b, nil)
	r.b.peer.CompareAndSwap(r.a, nil)
	r.a.relay.CompareAndSwap(r, nil)
	r.b.relay.CompareAndSwap(r, nil)
	close(r.done)
	if r.onEnd != nil {
		r.onEnd(reason)
	}
}
