package switchboard

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/netip"
	"sort"
	"sync"
	"time"

	"phoned/media"
)

// ErrMaxDuration ends a call that reached Config.MaxDuration.
var ErrMaxDuration = errors.New("call reached its maximum duration")

// ErrShutdown ends the calls when the engine stops.
var ErrShutdown = errors.New("the daemon is stopping")

// ErrDraining refuses new calls while the engine drains.
var ErrDraining = errors.New("not taking new calls: the daemon is stopping")

// Config tunes the engine. Zero fields take the defaults noted.
type Config struct {
	MaxDuration     time.Duration // longest call (default 4 h)
	RingTimeout     time.Duration // how long a call rings before it is missed, and an agent's own phone rings at a click-to-dial (default 30 s)
	DialTimeout     time.Duration // how long the party called by a click-to-dial rings before phoned gives up (default 60 s)
	MediaInactivity time.Duration // no RTP from either side for this long hangs up (default 60 s)
	MediaIP         netip.Addr    // the address phoned's RTP sockets bind and its SDP shows (default 127.0.0.1)
	Region          string        // phone region of caller numbers without + (default "BE")
	DialPlan        *DialPlan     // the outside numbers click-to-dial may call (default: those of Region)
	Now             func() time.Time
}

// Deps are what the engine works with.
type Deps struct {
	Log    *slog.Logger
	Agents Agents
	Events EventLog
	Dialer Dialer // may implement OutsideDialer
	Ports  *media.PortAllocator
	// Watch, if set, gets each live call's snapshot every time it changes
	// (state, answer, outcome; the last one has StateEnded). It runs on
	// the call's owner goroutine and must not block.
	Watch func(Snapshot)
	// OnDTMF, if set, gets each RFC 4733 digit the remote party of an
	// answered call sends (the caller, or the party called). It runs on
	// the media goroutine and must not block.
	OnDTMF func(call string, digit rune)
}

func (c *Config) defaults() {
	if c.MaxDuration <= 0 {
		c.MaxDuration = 4 * time.Hour
	}
	if c.RingTimeout <= 0 {
		c.RingTimeout = 30 * time.Second
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = time.Minute
	}
	if c.MediaInactivity <= 0 {
		c.MediaInactivity = time.Minute
	}
	if !c.MediaIP.IsValid() {
		c.MediaIP = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	if c.Region == "" {
		c.Region = "BE"
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.DialPlan == nil {
		if p, err := NewDialPlan(c.Region, nil); err == nil {
			c.DialPlan = p
		} else {
			c.DialPlan = &DialPlan{region: c.Region} // an unknown region allows nothing
		}
	}
}

// Engine owns the live calls.
type Engine struct {
	cfg  Config
	deps Deps
	log  *slog.Logger

	wg sync.WaitGroup // one per running call

	mu       sync.Mutex // guards the following
	calls    map[string]*Call
	draining bool
}

// New returns an engine.
func New(cfg Config, deps Deps) *Engine {
	cfg.defaults()
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	return &Engine{cfg: cfg, deps: deps, log: deps.Log, calls: map[string]*Call{}}
}

// NewCall registers a call and starts its owner goroutine. The call's
// context derives from parent without its cancellation (a call outlives
// the request that started it) and ends after Config.MaxDuration at the
// latest. cleanup runs on the owner goroutine once the call ends, with the
// cause. It fails with ErrDraining while the engine stops.
func (e *Engine) NewCall(parent context.Context, snap Snapshot, cleanup func(cause error)) (*Call, error) {
	c := e.newCall(parent, snap)
	if err := e.launch(c, &plainCall{c: c, done: cleanup}); err != nil {
		return nil, err
	}
	return c, nil
}

// newCall makes a call that is not live yet: launch starts it. The kinds
// of call (inbound, outbound) need the *Call in their own state before it
// runs.
func (e *Engine) newCall(parent context.Context, snap Snapshot) *Call {
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(parent))
	ctx, cancelTimeout := context.WithTimeoutCause(ctx, e.cfg.MaxDuration, ErrMaxDuration)
	c := &Call{id: newID(), eng: e, ctx: ctx, actions: make(chan func(), 16), done: make(chan struct{})}
	c.cancel = func(cause error) { cancel(cause); cancelTimeout() }
	if snap.Started.IsZero() {
		snap.Started = e.cfg.Now()
	}
	snap.ID = c.id
	c.snap = snap
	return c
}

// launch registers c with its controller and starts its owner goroutine.
// It fails with ErrDraining while the engine stops (ctl's cleanup does
// not run then).
func (e *Engine) launch(c *Call, ctl controller) error {
	c.ctl = ctl
	e.mu.Lock()
	if e.draining {
		e.mu.Unlock()
		c.cancel(ErrDraining)
		return ErrDraining
	}
	e.calls[c.id] = c
	e.wg.Add(1)
	e.mu.Unlock()
	go func() {
		defer e.wg.Done()
		c.run()
	}()
	return nil
}

func (e *Engine) forget(c *Call) {
	e.mu.Lock()
	delete(e.calls, c.id)
	e.mu.Unlock()
}

// Call returns the live call with this id.
func (e *Engine) Call(id string) (*Call, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.calls[id]
	return c, ok
}

// Calls returns a snapshot of every live call, oldest first.
func (e *Engine) Calls() []Snapshot {
	e.mu.Lock()
	out := make([]Snapshot, 0, len(e.calls))
	for _, c := range e.calls {
		out = append(out, c.Snapshot())
	}
	e.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Started.Equal(out[j].Started) {
			return out[i].Started.Before(out[j].Started)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Serve runs until ctx ends, then drains: no new calls, the live ones
// logged every few seconds, and when drain (if positive) has passed, the
// remaining calls are ended. It returns when no call is left.
func (e *Engine) Serve(ctx context.Context, drain time.Duration) error {
	<-ctx.Done()
	e.mu.Lock()
	e.draining = true
	e.mu.Unlock()
	deadline := time.After(drain)
	if drain <= 0 {
		deadline = time.After(0)
	}
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	left := make(chan struct{})
	go func() { e.wg.Wait(); close(left) }()
	for {
		select {
		case <-left:
			return nil
		case <-tick.C:
			e.log.Info("draining: waiting for live calls", "calls", len(e.Calls()))
		case <-deadline:
			e.mu.Lock()
			for _, c := range e.calls {
				c.End(ErrShutdown)
			}
			e.mu.Unlock()
			deadline = nil
		}
	}
}

func newID() string {
	var b [9]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
