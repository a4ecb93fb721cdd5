package switchboard

import (
	"context"
	"errors"
	"time"
)

// ringGroup calls one or more destinations at once for a call: the
// registered devices of an extension (a fork), or one number. The first
// to answer wins and is acknowledged; the others are cancelled, and a late
// answer is hung up. The group belongs to the call's owner goroutine: its
// fields are touched, and its callbacks run, only there.
type ringGroup struct {
	c *Call
	// onRinging (optional) runs at the first provisional response with a
	// status (180, 183).
	onRinging func(status int)
	// onAnswer runs for the first destination to answer, after its ACK.
	onAnswer func(out Outgoing, answer []byte)
	// onFail runs when every destination failed, with the most telling
	// final status (486 before 603 before any other; 0 when none came, and
	// err says why).
	onFail func(status int, err error)

	forks    []*fork
	failures int
	status   int
	err      error
	rang     bool
	won      bool
	stopped  bool // phoned gave up on the group: nothing more is reported
}

// fork is the call to one destination of a ringGroup.
type fork struct {
	cancel context.CancelFunc // cancels the INVITE while it rings
	done   bool               // answered or failed
}

// ring places a call for each request; what happens to each is posted to
// the owner goroutine.
func (g *ringGroup) ring(d Dialer, reqs []DialRequest) {
	for _, req := range reqs {
		ctx, cancel := context.WithCancel(g.c.Context())
		f := &fork{cancel: cancel}
		g.forks = append(g.forks, f)
		go g.place(ctx, d, f, req)
	}
}

// place runs on a goroutine of its own: it ends when the destination
// answers or fails, or when ctx (the call's) ends and the INVITE is
// cancelled.
func (g *ringGroup) place(ctx context.Context, d Dialer, f *fork, req DialRequest) {
	out, err := d.Dial(ctx, req)
	if err != nil {
		g.c.Do(func() { g.failed(f, err) })
		return
	}
	answer, err := out.Wait(ctx, func(status int) { g.c.Do(func() { g.ringing(status) }) })
	if err != nil {
		g.c.Do(func() { g.failed(f, err) })
		return
	}
	if !g.c.Do(func() { g.answered(f, out, answer) }) {
		// The call ended just as this destination answered: it must not
		// stay off-hook.
		hangupLate(out)
	}
}

// hangupLate acknowledges and ends an answer nobody wants.
func hangupLate(out Outgoing) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = out.Ack(ctx)
	_ = out.Hangup(ctx)
}

func (g *ringGroup) ringing(status int) {
	if g.rang || g.won || g.stopped {
		return
	}
	g.rang = true
	if g.onRinging != nil {
		g.onRinging(status)
	}
}

func (g *ringGroup) failed(f *fork, err error) {
	if f.done {
		return
	}
	f.done = true
	g.failures++
	var se *StatusError
	switch {
	case errors.As(err, &se):
		if statusRank(se.Status) > statusRank(g.status) {
			g.status = se.Status
		}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// phoned cancelled it: not a failure of the destination
	case g.err == nil:
		g.err = err
	}
	// A 6xx is a global failure (RFC 3261 16.7): the callee declined
	// everywhere, so the other destinations stop ringing.
	global := se != nil && se.Status >= 600
	if g.won || g.stopped || (g.failures < len(g.forks) && !global) {
		return
	}
	if global {
		g.status = se.Status
		for _, other := range g.forks {
			if !other.done {
				other.cancel()
			}
		}
	}
	g.stopped = true
	g.onFail(g.status, g.err)
}

// statusRank orders final statuses by what they tell of a group: busy
// somewhere beats declined, which beats any other status, which beats
// none.
func statusRank(s int) int {
	switch {
	case s == 486 || s == 600:
		return 3
	case s == 603:
		return 2
	case s > 0:
		return 1
	}
	return 0
}

func (g *ringGroup) answered(f *fork, out Outgoing, answer []byte) {
	f.done = true
	if g.won || g.stopped {
		// Another destination was first, or phoned gave up: hang this one up.
		ctx := g.c.Context()
		_ = out.Ack(ctx)
		_ = out.Hangup(ctx)
		return
	}
	g.won = true
	for _, other := range g.forks {
		if other != f && !other.done {
			other.cancel() // Wait sends CANCEL
		}
	}
	if err := out.Ack(g.c.Context()); err != nil {
		g.c.eng.log.Warn("ACK to the answering party", "call", g.c.id, "err", err)
	}
	g.onAnswer(out, answer)
}

// stop gives up on the destinations still ringing (CANCEL) and reports
// nothing more. It is safe on a nil group and more than once.
func (g *ringGroup) stop() {
	if g == nil {
		return
	}
	g.stopped = true
	for _, f := range g.forks {
		f.cancel()
	}
}
