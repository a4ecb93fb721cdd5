package switchboard

import (
	"context"
	"errors"
	"fmt"
	"time"

	"phoned/media"
)

// Attended transfer: the agent puts the remote party on hold and calls
// the target (the consult call) on the same call; once the target has
// answered and agreed, the transfer hands the remote party over with a
// REFER whose Refer-To carries Replaces for the consult dialog (RFC 3891),
// so the remote party's new call takes the place of phoned's call with
// the target. When the remote party refuses the REFER, or the target's
// leg cannot be replaced (a browser), phoned bridges the two itself and
// leaves. Cancelling the consult hangs up the target and returns the
// agent to the remote party.

// ErrConsulting refuses what a call cannot do while its consult call is up.
var ErrConsulting = errors.New("a consult call is under way: transfer or cancel it first")

// ErrNoConsult refuses to complete or cancel a consult that is not there.
var ErrNoConsult = errors.New("the call has no consult call")

// ErrConsultRinging refuses to transfer before the consulted party answered.
var ErrConsultRinging = errors.New("the consulted party has not answered yet")

// Consult is a consult call as a snapshot shows it.
type Consult struct {
	Target string `json:"target"`
	State  State  `json:"state"` // ringing, answered, transferring
}

// Replaces names the dialog a transfer's target has with phoned, for a
// REFER with Replaces: the remote party's new call replaces it.
type Replaces struct {
	URI       string // where that dialog lives (the target's Contact)
	CallID    string
	LocalTag  string // phoned's tag in it
	RemoteTag string // the target's tag
}

// Replaceable is implemented by legs whose dialog another call may
// replace (SIP); a browser leg is not.
type Replaceable interface {
	Replaces() (Replaces, bool)
}

// consult is a consult call under way. It belongs to the call's owner.
type consult struct {
	target  dialTarget
	ring    *ringGroup
	conn    *media.RTPConn // the target's RTP socket, until its leg owns it
	legConn *media.RTPConn // the socket its UDP leg owns (nil for a browser), for re-offers
	sess    *media.Session
	out     Outgoing     // the target, once it answered
	leg     *media.Leg   // its RTP leg
	relay   *media.Relay // agent <-> target
	timer   *time.Timer
	cancel  context.CancelFunc // the REFER's wait, while completing
}

// Consult puts the remote party of an answered call on hold and calls
// the target for the agent. It returns once the target rings. Errors:
// ErrNoCall, ErrNotAnswered, ErrTransferring, ErrConsulting, the target's
// (ErrBadNumber, ErrNotAllowed, ErrNoRoute, ErrNoDevice) and the hold's.
func (e *Engine) Consult(ctx context.Context, id string, req TransferRequest) error {
	c, ok := e.Call(id)
	if !ok {
		return ErrNoCall
	}
	t, err := e.transferTarget(ctx, c.Snapshot().Extension, req)
	if err != nil {
		return err
	}
	return e.onOwner(ctx, c, func() error { return e.startConsult(c, t) })
}

// CompleteConsult transfers the remote party to the consulted target
// (attended transfer). It returns once the transfer is under way.
// Errors: ErrNoCall, ErrNoConsult, ErrConsultRinging, ErrTransferring.
func (e *Engine) CompleteConsult(ctx context.Context, id string) error {
	c, ok := e.Call(id)
	if !ok {
		return ErrNoCall
	}
	return e.onOwner(ctx, c, func() error { return e.completeConsult(c) })
}

// CancelConsult hangs up the consult call and takes the remote party off
// hold. Errors: ErrNoCall, ErrNoConsult, ErrTransferring, and the
// resume's.
func (e *Engine) CancelConsult(ctx context.Context, id string) error {
	c, ok := e.Call(id)
	if !ok {
		return ErrNoCall
	}
	return e.onOwner(ctx, c, func() error {
		p := c.ctl.remote()
		if p == nil || p.consult == nil {
			return ErrNoConsult
		}
		if p.consult.cancel != nil {
			return ErrTransferring
		}
		e.endConsult(c, p)
		if err := p.setHold(c.Context(), false); err != nil {
			return fmt.Errorf("taking the remote party off hold: %w", err)
		}
		c.update(func(s *Snapshot) { s.State = StateAnswered })
		return nil
	})
}

// onOwner runs f on the call's owner goroutine and returns its result.
func (e *Engine) onOwner(ctx context.Context, c *Call, f func() error) error {
	res := make(chan error, 1)
	if !c.Do(func() { res <- f() }) {
		return ErrNoCall
	}
	err, ok, werr := await(ctx, c, res)
	switch {
	case werr != nil:
		return werr
	case !ok:
		return ErrNoCall
	}
	return err
}

func (e *Engine) startConsult(c *Call, t dialTarget) error {
	p := c.ctl.remote()
	switch {
	case p == nil:
		return ErrNotAnswered
	case p.transfer != nil:
		return ErrTransferring
	case p.consult != nil:
		return ErrConsulting
	}
	if !p.held {
		if err := p.setHold(c.Context(), true); err != nil {
			return fmt.Errorf("putting the remote party on hold: %w", err)
		}
	}
	conn, err := e.deps.Ports.Listen(e.cfg.MediaIP)
	if err != nil {
		return fmt.Errorf("no RTP port for the consult call: %w", err)
	}
	m := p.media.agent.Media()
	codecs := []media.Codec{m.Audio.Codec}
	if m.HasEvents() {
		codecs = append(codecs, media.TelephoneEvent)
	}
	co := &consult{target: t, conn: conn, sess: media.NewSession()}
	sdp, err := co.sess.Offer(conn.LocalAddr(), codecs, media.SendRecv)
	if err != nil {
		_ = conn.Close()
		return fmt.Errorf("the offer to the consulted party: %w", err)
	}
	snap := c.Snapshot()
	var reqs []DialRequest
	if t.number != "" {
		reqs = []DialRequest{{Call: c.id, Number: t.number, FromUser: snap.Extension, FromName: snap.User, SDP: sdp}}
	} else {
		for _, ct := range t.contacts {
			reqs = append(reqs, DialRequest{Call: c.id, Contact: ct, FromUser: snap.Extension, FromName: snap.User, SDP: sdp})
		}
	}
	p.consult = co
	co.ring = &ringGroup{
		c:        c,
		onAnswer: func(out Outgoing, answer []byte) { e.consultAnswered(c, p, co, out, answer) },
		onFail: func(status int, err error) {
			e.log.Info("consult: the target did not answer", "call", c.id, "to", t.dialString(), "status", status, "err", err)
			if p.consult == co {
				e.endConsult(c, p)
			}
		},
	}
	co.ring.ring(e.deps.Dialer, reqs)
	co.timer = time.AfterFunc(e.cfg.DialTimeout, func() {
		c.Do(func() {
			if p.consult == co && co.out == nil {
				e.log.Info("consult: the target did not answer in time", "call", c.id)
				e.endConsult(c, p)
			}
		})
	})
	c.update(func(s *Snapshot) {
		s.State = StateHeld
		s.Consult = &Consult{Target: t.dialString(), State: StateRinging}
	})
	e.log.Info("consult call", "call", c.id, "to", t.dialString())
	return nil
}

// consultAnswered relays the agent to the target; the remote party stays
// on hold.
func (e *Engine) consultAnswered(c *Call, p *remoteParty, co *consult, out Outgoing, answer []byte) {
	if p.consult != co || c.ctl.event().ended {
		_ = out.Hangup(c.Context())
		return
	}
	co.timer.Stop()
	co.out = out
	n, err := parseAccept(co.sess, answer)
	if err == nil {
		co.leg, co.legConn, err = agentSideLeg(out, co.conn, n)
	}
	if err == nil {
		co.conn = nil // the leg owns it (or it was closed)
		p.media.relay.Close()
		co.relay, err = p.media.bridgeLegs(p.media.agent, co.leg)
	}
	if err != nil {
		e.log.Warn("consult: bridging the target", "call", c.id, "err", err)
		e.endConsult(c, p)
		return
	}
	watchGone(c, out.Gone(), func() {
		if p.consult == co && co.cancel == nil {
			e.log.Info("consult: the target hung up", "call", c.id)
			e.endConsult(c, p)
		}
	})
	c.update(func(s *Snapshot) { s.Consult = &Consult{Target: co.target.dialString(), State: StateAnswered} })
}

// endConsult hangs up the consult call and relays the agent to the remote
// party again (still on hold).
func (e *Engine) endConsult(c *Call, p *remoteParty) {
	co := p.consult
	if co == nil {
		return
	}
	p.consult = nil
	co.stop(c.Context())
	if co.relay != nil && !c.ctl.event().ended {
		r, err := p.media.bridgeLegs(p.media.remote, p.media.agent)
		if err != nil {
			e.log.Error("consult: relaying the agent to the remote party again", "call", c.id, "err", err)
		} else {
			p.media.relay = r
			p.media.applyInactivity()
		}
	}
	c.update(func(s *Snapshot) { s.Consult = nil })
}

// stop ends the consult call's legs and timers.
func (co *consult) stop(ctx context.Context) {
	if co.timer != nil {
		co.timer.Stop()
	}
	if co.cancel != nil {
		co.cancel()
	}
	co.ring.stop()
	if co.relay != nil {
		co.relay.Close()
	}
	if co.out != nil {
		_ = co.out.Hangup(ctx)
	}
	if co.leg != nil {
		_ = co.leg.Close()
	}
	if co.conn != nil {
		_ = co.conn.Close()
	}
}

// stopConsult ends a consult call when the call ends (the call's context
// is over: the target's BYE gets a few seconds of its own). It is safe on
// a nil party.
func (p *remoteParty) stopConsult() {
	if p == nil || p.consult == nil {
		return
	}
	co := p.consult
	p.consult = nil
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	co.stop(ctx)
}

func (e *Engine) completeConsult(c *Call) error {
	p := c.ctl.remote()
	switch {
	case p == nil || p.consult == nil:
		return ErrNoConsult
	case p.consult.cancel != nil:
		return ErrTransferring
	case p.consult.out == nil:
		return ErrConsultRinging
	}
	co := p.consult
	rp, ok := Replaces{}, false
	if r, is := co.out.(Replaceable); is {
		rp, ok = r.Replaces()
	}
	c.update(func(s *Snapshot) {
		s.State = StateTransferring
		s.Consult = &Consult{Target: co.target.dialString(), State: StateTransferring}
	})
	if !ok {
		// The target's leg cannot be replaced (a browser): phoned bridges.
		e.bridgeConsult(c, p)
		return nil
	}
	ctx, cancel := context.WithTimeout(c.Context(), transferWait)
	co.cancel = cancel
	to := ReferTarget{Extension: co.target.extension, Number: co.target.number, Replaces: &rp}
	go func() {
		err := p.sig.Refer(ctx, to)
		c.Do(func() { e.consultReferDone(c, p, co, err) })
	}()
	e.log.Info("attended transfer: REFER with Replaces", "call", c.id, "to", co.target.dialString())
	return nil
}

// consultReferDone takes the outcome of the REFER with Replaces.
func (e *Engine) consultReferDone(c *Call, p *remoteParty, co *consult, err error) {
	if p.consult != co || c.ctl.event().ended {
		return
	}
	co.cancel()
	co.cancel = nil
	if err != nil {
		e.log.Info("attended transfer: the remote party did not take the REFER; phoned bridges it to the target", "call", c.id, "err", err)
		e.bridgeConsult(c, p)
		return
	}
	// The remote party's new call replaced phoned's with the target:
	// phoned leaves both.
	e.transferred(c, co.target)
	p.consult = nil
	co.stop(c.Context())
	c.ctl.transferred()
}

// bridgeConsult hands the remote party to the target inside phoned: off
// hold, relayed to the target's leg, the agent's leg hung up.
func (e *Engine) bridgeConsult(c *Call, p *remoteParty) {
	co := p.consult
	ctx := c.Context()
	co.relay.Close()
	co.relay = nil
	if err := p.setHold(ctx, false); err != nil {
		e.log.Warn("attended transfer: taking the remote party off hold", "call", c.id, "err", err)
	}
	b := p.media
	old := b.agent
	r, err := b.bridgeLegs(b.remote, co.leg)
	if err != nil {
		e.log.Error("attended transfer: bridging the remote party to the target", "call", c.id, "err", err)
		e.endConsult(c, p)
		c.update(func(s *Snapshot) { s.State = StateAnswered })
		return
	}
	b.relay, b.agent, b.agentConn = r, co.leg, co.legConn
	b.applyInactivity()
	_ = old.Close()
	p.consult = nil
	co.timer.Stop()
	e.transferred(c, co.target)
	c.ctl.swapAgent(co.out)
	if co.legConn != nil {
		// The target's own re-INVITEs (it holds) are answered from now on.
		e.takeReoffers(c, co.out, &remoteParty{sig: co.out, sess: co.sess, media: b, agentSide: true})
	}
	c.update(func(s *Snapshot) {
		s.State = StateAnswered
		s.Consult = nil
		if a := co.target.agent; a.UserID != 0 {
			s.UserID, s.User, s.Extension = a.UserID, a.Login, a.Extension
		}
	})
	e.log.Info("attended transfer: phoned bridged the remote party to the target", "call", c.id, "to", co.target.dialString())
}
