package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"phoned/auth"
	"phoned/comm"
	"phoned/crm"
	"phoned/media"
	"phoned/sip"
	"phoned/store"
	"phoned/switchboard"
)

// The agent the benchmark's calls ring, and the caller's partner (the
// number uac-short-call.xml sends), so the number lookup finds someone.
const (
	agentExtension   = "201"
	agentSIPPassword = "secret201"
	callerNumber     = "+32 2 200 11 22"
)

// daemon is phoned's SIP side as cmd/phoned/serve.go wires it, without the
// HTTP API and the web phone (no part of a call's path): the store, the
// SIP server with its registrar and trust gate, the call adapter, the
// engine and the RTP port allocator. Keep it in step with serve.go.
type daemon struct {
	addr   netip.AddrPort // the SIP address
	events *eventCounter
	log    *os.File
	stop   context.CancelFunc
	wait   func() error
	st     *store.Store
}

// startDaemon opens a fresh database in dir with one agent (extension
// 201) and the caller's partner, and serves SIP on a free port of
// 127.0.0.1, trusting 127.0.0.1 (the PBX).
func startDaemon(ctx context.Context, dir string, cfg config) (*daemon, error) {
	logFile, err := os.Create(filepath.Join(dir, "phoned.log"))
	if err != nil {
		return nil, err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.logLevel)); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("-log-level %q: %w", cfg.logLevel, err)
	}
	log := slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: level}))

	st, err := store.Open(ctx, filepath.Join(dir, "phoned.db"), store.Options{})
	if err != nil {
		logFile.Close()
		return nil, err
	}
	d := &daemon{log: logFile, st: st}
	if err := seed(ctx, st); err != nil {
		d.close()
		return nil, err
	}
	d.events = &eventCounter{EventLog: st}

	// The wiring of serve.go.
	calls := sip.NewCalls(log, st, st)
	loopback := netip.MustParsePrefix("127.0.0.1/32")
	sipSrv, err := sip.New(sip.Config{Listen: "127.0.0.1:0", Trust: []netip.Prefix{loopback}},
		sip.Deps{Log: log, Directory: st, Bindings: st, Inbound: calls})
	if err != nil {
		d.close()
		return nil, err
	}
	ports, err := media.NewPortAllocator(cfg.rtpPorts)
	if err != nil {
		d.close()
		return nil, err
	}
	engine := switchboard.New(switchboard.Config{RingTimeout: 30 * time.Second, MediaIP: loopback.Addr(), Region: "BE"},
		switchboard.Deps{Log: log, Agents: calls, Events: d.events, Dialer: calls, Ports: ports})
	calls.Attach(sipSrv, engine)

	ctx, cancel := context.WithCancel(ctx)
	g, gctx := errgroup.WithContext(ctx)
	sipCtx, stopSIP := context.WithCancel(context.WithoutCancel(gctx))
	g.Go(func() error {
		defer stopSIP()
		return engine.Serve(gctx, 0)
	})
	g.Go(func() error { return sipSrv.Serve(sipCtx) })
	d.stop = func() { cancel(); stopSIP() }
	d.wait = g.Wait
	select {
	case <-sipSrv.Ready():
	case <-gctx.Done():
		err := g.Wait()
		d.close()
		return nil, fmt.Errorf("phoned did not start: %w", err)
	}
	d.addr = sipSrv.Addr()
	return d, nil
}

// seed creates the agent and the caller's partner.
func seed(ctx context.Context, st *store.Store) error {
	nu := store.NewUser{User: auth.User{Login: "ann", Name: "Ann Agent", Role: auth.RoleAgent, Extension: agentExtension, Active: true},
		PasswordHash: auth.HashPassword("ann-password"), SIPPassword: agentSIPPassword}
	if err := st.CreateUser(ctx, &nu); err != nil {
		return fmt.Errorf("create the agent: %w", err)
	}
	p := &crm.Partner{Name: "Carla Caller", Phones: []crm.Phone{{Number: callerNumber}}}
	if err := p.Normalize("BE"); err != nil {
		return err
	}
	if err := st.CreatePartners(ctx, []*crm.Partner{p}); err != nil {
		return fmt.Errorf("create the caller's partner: %w", err)
	}
	return nil
}

// shutdown stops the daemon and waits for it.
func (d *daemon) shutdown() error {
	d.stop()
	err := d.wait()
	d.close()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

func (d *daemon) close() {
	d.st.Close()
	d.log.Close()
}

// eventCounter passes the engine's event writes to the store and counts
// them, so that each step can check that every call left a closed,
// answered event. It also times them: store.Store has one writing
// connection, so "busy" (the time at least one write was under way) near
// the step's length means the writes queue behind each other.
type eventCounter struct {
	switchboard.EventLog

	mu        sync.Mutex // guards the following
	c         eventCounts
	inFlight  int
	busySince time.Time
}

// eventCounts are totals since the start; a step subtracts two of them.
type eventCounts struct {
	started, answered, endedAnswered, endedOther, failed int64
	startTime, answerTime, endTime                       time.Duration    // summed latency of each kind of write
	busy                                                 time.Duration    // time with at least one write under way
	other                                                map[string]int64 // events closed otherwise, by "outcome status hangup_by"
}

func (c *eventCounter) counts() eventCounts {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.c
	n.other = maps.Clone(c.c.other)
	if c.inFlight > 0 {
		n.busy += time.Since(c.busySince)
	}
	return n
}

func (a eventCounts) sub(b eventCounts) eventCounts {
	d0 := eventCounts{
		started: a.started - b.started, answered: a.answered - b.answered,
		endedAnswered: a.endedAnswered - b.endedAnswered, endedOther: a.endedOther - b.endedOther, failed: a.failed - b.failed,
		startTime: a.startTime - b.startTime, answerTime: a.answerTime - b.answerTime, endTime: a.endTime - b.endTime,
		busy: a.busy - b.busy, other: map[string]int64{},
	}
	for k, v := range a.other {
		if d := v - b.other[k]; d != 0 {
			d0.other[k] = d
		}
	}
	return d0
}

// begin marks a write under way and returns its start.
func (c *eventCounter) begin() time.Time {
	now := time.Now()
	c.mu.Lock()
	if c.inFlight == 0 {
		c.busySince = now
	}
	c.inFlight++
	c.mu.Unlock()
	return now
}

// done ends a write begun at t0 and counts it with count.
func (c *eventCounter) done(t0 time.Time, count func(*eventCounts, time.Duration)) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inFlight--; c.inFlight == 0 {
		c.c.busy += now.Sub(c.busySince)
	}
	count(&c.c, now.Sub(t0))
}

func (c *eventCounter) StartEvent(ctx context.Context, s comm.EventStart) (int64, error) {
	t0 := c.begin()
	id, err := c.EventLog.StartEvent(ctx, s)
	c.done(t0, func(n *eventCounts, d time.Duration) {
		if err != nil {
			n.failed++
			return
		}
		n.started++
		n.startTime += d
	})
	return id, err
}

func (c *eventCounter) AnswerEvent(ctx context.Context, id int64, at time.Time) error {
	t0 := c.begin()
	err := c.EventLog.AnswerEvent(ctx, id, at)
	c.done(t0, func(n *eventCounts, d time.Duration) {
		if err != nil {
			n.failed++
			return
		}
		n.answered++
		n.answerTime += d
	})
	return err
}

func (c *eventCounter) EndEvent(ctx context.Context, id int64, end comm.EventEnd) error {
	t0 := c.begin()
	err := c.EventLog.EndEvent(ctx, id, end)
	c.done(t0, func(n *eventCounts, d time.Duration) {
		switch {
		case err != nil:
			n.failed++
			return
		case end.Outcome == comm.OutcomeAnswered:
			n.endedAnswered++
		default:
			n.endedOther++
			if n.other == nil {
				n.other = map[string]int64{}
			}
			n.other[fmt.Sprintf("%s %d %s", end.Outcome, end.SIPStatus, end.HangupBy)]++
		}
		n.endTime += d
	})
	return err
}
