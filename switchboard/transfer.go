package switchboard

import (
	"context"
	"errors"
	"fmt"
	"time"

	"phoned/comm"
	"phoned/media"
)

// TransferRequest asks for a blind transfer of a call's remote party:
// to another agent's extension, or (a forward) to an outside number.
// Exactly one is set.
type TransferRequest struct {
	Extension string
	Number    string
}

// transferWait bounds a transfer: the REFER, the target ringing, the
// NOTIFY of its answer; or phoned's own call to the target.
const transferWait = 90 * time.Second

// transferTarget checks whom a transfer goes to: an agent's extension
// other than the call's own (with its registered devices, for the
// fallback), or a number under the dial plan with a PBX to carry it.
func (e *Engine) transferTarget(ctx context.Context, own string, req TransferRequest) (dialTarget, error) {
	switch {
	case req.Extension != "" && req.Number != "":
		return dialTarget{}, fmt.Errorf("%w: give an extension or a number, not both", ErrBadNumber)
	case req.Extension != "":
		if !extensionPattern.MatchString(req.Extension) {
			return dialTarget{}, fmt.Errorf("%w: extension %q is not 2 to 10 digits", ErrBadNumber, req.Extension)
		}
		if req.Extension == own {
			return dialTarget{}, fmt.Errorf("%w: %s is the call's own extension", ErrBadNumber, req.Extension)
		}
		other, err := e.deps.Agents.AgentByExtension(ctx, req.Extension)
		if err != nil {
			if errors.Is(err, ErrNoAgent) {
				return dialTarget{}, fmt.Errorf("%w: no agent has extension %s", ErrBadNumber, req.Extension)
			}
			return dialTarget{}, fmt.Errorf("looking up extension %s: %w", req.Extension, err)
		}
		contacts, err := e.deps.Agents.Contacts(ctx, req.Extension)
		if err != nil {
			return dialTarget{}, fmt.Errorf("reading the registrations of extension %s: %w", req.Extension, err)
		}
		if len(contacts) == 0 {
			return dialTarget{}, fmt.Errorf("%w: extension %s has no phone registered", ErrNoDevice, req.Extension)
		}
		return dialTarget{agent: other, extension: req.Extension, contacts: contacts}, nil
	case req.Number != "":
		number, err := e.cfg.DialPlan.Check(req.Number)
		if err != nil {
			return dialTarget{}, err
		}
		if od, ok := e.deps.Dialer.(OutsideDialer); !ok || !od.DialsOutside() {
			return dialTarget{}, ErrNoRoute
		}
		return dialTarget{number: number}, nil
	}
	return dialTarget{}, fmt.Errorf("%w: no extension or number given", ErrBadNumber)
}

// Transfer sends the remote party of an answered call elsewhere (blind):
// a REFER in its dialog, whose NOTIFYs tell the outcome (a 202 alone is
// no success); on success phoned leaves the call (BYE to both sides). If
// the remote party refuses the REFER or the transfer fails, phoned calls
// the target itself and, once it answers, bridges the remote party to it
// and hangs up the agent's phone. The event gets the target and the
// outcome transferred (an extension) or forwarded (a number).
//
// Transfer returns once the transfer is under way (state transferring);
// a transfer that fails leaves the call as it was. Errors: ErrNoCall,
// ErrNotAnswered, ErrHeld (resume first), ErrTransferring,
// ErrBadNumber, ErrNotAllowed, ErrNoRoute, ErrNoDevice.
func (e *Engine) Transfer(ctx context.Context, id string, req TransferRequest) error {
	return e.transfer(ctx, id, nil, req, nil)
}

// ErrNotAgentLeg refuses a transfer asked by a device that is not the
// agent's side of the call.
var ErrNotAgentLeg = errors.New("only the agent's phone may transfer the call")

// TransferFromDevice is a blind transfer asked by the agent's own phone
// (its REFER, the phone's transfer key): dev must be the call's agent
// leg. It works as Transfer; onDone, if set, gets the transfer's outcome
// once, on the call's owner goroutine (nil: transferred), for the phone's
// NOTIFYs.
func (e *Engine) TransferFromDevice(ctx context.Context, id string, dev Outgoing, req TransferRequest, onDone func(error)) error {
	return e.transfer(ctx, id, dev, req, onDone)
}

func (e *Engine) transfer(ctx context.Context, id string, dev Outgoing, req TransferRequest, onDone func(error)) error {
	c, ok := e.Call(id)
	if !ok {
		return ErrNoCall
	}
	t, err := e.transferTarget(ctx, c.Snapshot().Extension, req)
	if err != nil {
		return err
	}
	res := make(chan error, 1)
	if !c.Do(func() {
		if dev != nil && c.ctl.agentLeg() != dev {
			res <- ErrNotAgentLeg
			return
		}
		res <- e.startTransfer(c, t, onDone)
	}) {
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

// startTransfer runs on the call's owner goroutine: the REFER goes out
// from a goroutine of its own, as its NOTIFYs may take the target's whole
// ringing time, and posts its outcome back.
func (e *Engine) startTransfer(c *Call, t dialTarget, onDone func(error)) error {
	p := c.ctl.remote()
	switch {
	case p == nil:
		return ErrNotAnswered
	case p.transfer != nil:
		return ErrTransferring
	case p.consult != nil:
		return ErrConsulting
	case len(p.media.held) > 0:
		return ErrHeld
	}
	ctx, cancel := context.WithTimeout(c.Context(), transferWait)
	p.transfer = &transfer{target: t, cancel: cancel, onDone: onDone}
	c.update(func(s *Snapshot) { s.State = StateTransferring })
	to := ReferTarget{Extension: t.extension, Number: t.number}
	go func() {
		err := p.sig.Refer(ctx, to)
		c.Do(func() { e.referDone(c, p, err) })
	}()
	e.log.Info("transfer", "call", c.id, "to", t.dialString())
	return nil
}

// transfer is a transfer under way. It belongs to the call's owner.
type transfer struct {
	target dialTarget
	cancel context.CancelFunc
	ring   *ringGroup // phoned's own call to the target (the fallback)
	conn   *media.RTPConn
	sess   *media.Session
	onDone func(error) // told the outcome once (TransferFromDevice), may be nil
}

// finish reports the transfer's outcome, once.
func (tr *transfer) finish(err error) {
	if f := tr.onDone; f != nil {
		tr.onDone = nil
		f(err)
	}
}

// errTransferFailed is the outcome of a transfer that phoned gave up.
var errTransferFailed = errors.New("the transfer failed")

// outcome is what the event records for a transfer to t.
func (t dialTarget) outcome() comm.Outcome {
	if t.number != "" {
		return comm.OutcomeForwarded
	}
	return comm.OutcomeTransferred
}

// referDone takes the REFER's outcome on the owner goroutine.
func (e *Engine) referDone(c *Call, p *remoteParty, err error) {
	tr := p.transfer
	if tr == nil || c.ctl.event().ended {
		return
	}
	var se *StatusError
	switch {
	case err == nil:
		tr.cancel()
		p.transfer = nil
		tr.finish(nil)
		e.transferred(c, tr.target)
		c.ctl.transferred()
	case errors.As(err, &se):
		e.log.Info("transfer: the remote party did not transfer; phoned calls the target", "call", c.id, "to", tr.target.dialString(), "status", se.Status)
		e.callTarget(c, p)
	default:
		e.log.Warn("transfer failed", "call", c.id, "to", tr.target.dialString(), "err", err)
		e.abandonTransfer(c, p)
	}
}

// transferred records the target and the outcome the event ends with.
func (e *Engine) transferred(c *Call, t dialTarget) {
	ev := c.ctl.event()
	ev.as = t.outcome()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.deps.Events.SetEventTarget(ctx, ev.id, t.dialString()); err != nil {
		e.log.Error("recording a transfer's target", "event", ev.id, "err", err)
	}
}

// leftForTransfer: the remote party hangs up while it has a REFER of
// phoned's in hand. Many phones do so as soon as their new call is up,
// before (or instead of) the NOTIFY with its 200: the call was
// transferred.
func (e *Engine) leftForTransfer(c *Call, p *remoteParty) {
	if p == nil || p.transfer == nil || p.transfer.ring != nil {
		return
	}
	tr := p.transfer
	tr.finish(nil)
	e.transferred(c, tr.target)
}

// abandonTransfer leaves the call as it was before the transfer.
func (e *Engine) abandonTransfer(c *Call, p *remoteParty) {
	p.stopTransfer()
	c.update(func(s *Snapshot) { s.State = StateAnswered })
}

// stopTransfer gives up a transfer under way, if any: the REFER's wait
// ends, phoned's own call to the target is cancelled and its RTP socket
// freed. It is safe on a nil party (a call never answered).
func (p *remoteParty) stopTransfer() {
	if p == nil || p.transfer == nil {
		return
	}
	tr := p.transfer
	p.transfer = nil
	tr.finish(errTransferFailed)
	tr.cancel()
	tr.ring.stop()
	if tr.conn != nil {
		_ = tr.conn.Close()
	}
}

// callTarget is the fallback: phoned rings the target with the remote
// party's codec alone.
func (e *Engine) callTarget(c *Call, p *remoteParty) {
	tr := p.transfer
	conn, err := e.deps.Ports.Listen(e.cfg.MediaIP)
	if err != nil {
		e.log.Error("transfer: no RTP port", "call", c.id, "err", err)
		e.abandonTransfer(c, p)
		return
	}
	tr.conn = conn
	m := p.media.remote.Media()
	codecs := []media.Codec{m.Audio.Codec}
	if m.HasEvents() {
		codecs = append(codecs, media.TelephoneEvent)
	}
	tr.sess = media.NewSession()
	sdp, err := tr.sess.Offer(conn.LocalAddr(), codecs, media.SendRecv)
	if err != nil {
		e.log.Error("transfer: the offer to the target", "call", c.id, "err", err)
		e.abandonTransfer(c, p)
		return
	}
	snap := c.Snapshot()
	var reqs []DialRequest
	if tr.target.number != "" {
		reqs = []DialRequest{{Call: c.id, Number: tr.target.number, FromUser: snap.Extension, SDP: sdp}}
	} else {
		for _, ct := range tr.target.contacts {
			reqs = append(reqs, DialRequest{Call: c.id, Contact: ct, FromUser: snap.Extension, SDP: sdp})
		}
	}
	tr.ring = &ringGroup{
		c:        c,
		onAnswer: func(out Outgoing, answer []byte) { e.targetAnswered(c, p, out, answer) },
		onFail: func(status int, err error) {
			e.log.Info("transfer: the target did not answer", "call", c.id, "status", status, "err", err)
			e.abandonTransfer(c, p)
		},
	}
	tr.ring.ring(e.deps.Dialer, reqs)
	// The ring group has no timer of its own: the transfer's context bounds it.
	timeout := time.AfterFunc(e.cfg.DialTimeout, func() {
		c.Do(func() {
			if p.transfer == tr && tr.ring != nil && !tr.ring.won {
				e.log.Info("transfer: the target did not answer in time", "call", c.id)
				e.abandonTransfer(c, p)
			}
		})
	})
	context.AfterFunc(c.Context(), func() { timeout.Stop() })
}

// targetAnswered bridges the remote party to the target that answered
// phoned's call, and lets the agent's phone go.
func (e *Engine) targetAnswered(c *Call, p *remoteParty, out Outgoing, answer []byte) {
	tr := p.transfer
	ctx := c.Context()
	if tr == nil || c.ctl.event().ended {
		_ = out.Hangup(ctx)
		return
	}
	n, err := parseAccept(tr.sess, answer)
	if err == nil {
		err = p.media.rejoin(tr.conn, out, n)
	}
	if err != nil {
		e.log.Warn("transfer: bridging the target", "call", c.id, "err", err)
		_ = out.Hangup(ctx)
		tr.conn = nil // rejoin closed it
		e.abandonTransfer(c, p)
		return
	}
	tr.conn = nil // the bridge owns it now
	tr.cancel()
	p.transfer = nil
	tr.finish(nil)
	e.transferred(c, tr.target)
	c.ctl.swapAgent(out)
	e.takeReoffers(c, out, &remoteParty{sig: out, sess: tr.sess, media: p.media, agentSide: true})
	c.update(func(s *Snapshot) {
		s.State = StateAnswered
		if a := tr.target.agent; a.UserID != 0 {
			// The call is the target agent's now: theirs to hold, transfer and hang up.
			s.UserID, s.User, s.Extension = a.UserID, a.Login, a.Extension
		}
	})
	e.log.Info("transfer: phoned bridged the target", "call", c.id, "to", tr.target.dialString())
}

// rejoin replaces the agent's leg of the bridge with a new one on conn
// (the transfer target's) and relays the remote leg to it. On failure
// conn is closed and the old relay, if it was closed, is not restored.
func (b *bridge) rejoin(conn *media.RTPConn, out Outgoing, n media.Negotiated) error {
	leg, kept, err := agentSideLeg(out, conn, n)
	if err != nil {
		_ = conn.Close()
		return fmt.Errorf("the target's RTP leg: %w", err)
	}
	if leg.Media().Audio.Codec != b.remote.Media().Audio.Codec {
		_ = leg.Close()
		return fmt.Errorf("the target answered %s, the remote party speaks %s", leg.Media().Audio.Codec, b.remote.Media().Audio.Codec)
	}
	b.relay.Close()
	old := b.agent
	b.agent, b.agentConn = leg, kept
	b.relay, err = b.bridgeLegs(b.remote, leg)
	_ = old.Close()
	if err != nil {
		return fmt.Errorf("bridging the target: %w", err)
	}
	return nil
}
