package switchboard

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"phoned/comm"
	"phoned/media"
)

// OutboundRequest asks for a click-to-dial call.
type OutboundRequest struct {
	// Agent dials: the agent's own registered phones ring first. It must
	// have an extension.
	Agent Agent
	// Target is whom to call once the agent answered: the extension of
	// another agent, or a phone number (E.164, or national in
	// Config.Region), which must pass the dial plan.
	Target string
	// PartnerID is the partner called (0: none known; a number's partners
	// are found by the event anyway).
	PartnerID int64
	// ActivityID is the planned call this call carries out (0: none): it
	// is linked to the event and marked done when the event ends.
	ActivityID int64
	// FromName is shown on the agent's phone while it rings (the
	// partner's name). The caller checks it for header injection.
	FromName string
	// Devices, if set, are the agent's side instead of the extension's
	// registered phones: the browser that clicked (its Dialer answers at
	// once).
	Devices []Contact
}

// OutsideDialer is implemented by a Dialer that may be able to call
// outside numbers (DialRequest.Number): DialsOutside reports whether it
// can now (a PBX is configured). A Dialer without it calls devices only.
type OutsideDialer interface {
	DialsOutside() bool
}

// extensionPattern is the form of agents' extensions.
var extensionPattern = regexp.MustCompile(`^[0-9]{2,10}$`)

// dialTarget is whom an outbound call reaches once the agent answered.
type dialTarget struct {
	agent     Agent     // the other agent, for an extension
	extension string    // another agent's extension, with
	contacts  []Contact // its registered devices; or
	number    string    // an outside number in E.164
}

// dialString is the target as shown and dialled.
func (t dialTarget) dialString() string {
	if t.number != "" {
		return t.number
	}
	return t.extension
}

// resolveTarget tells an extension of another agent from an outside
// number, and applies the dial plan to numbers.
func (e *Engine) resolveTarget(ctx context.Context, a Agent, target string) (dialTarget, error) {
	t := strings.TrimSpace(target)
	if t == "" {
		return dialTarget{}, fmt.Errorf("%w: no number given", ErrBadNumber)
	}
	if extensionPattern.MatchString(t) {
		other, err := e.deps.Agents.AgentByExtension(ctx, t)
		switch {
		case err == nil:
			if other.Extension == a.Extension {
				return dialTarget{}, fmt.Errorf("%w: %s is your own extension", ErrBadNumber, t)
			}
			contacts, err := e.deps.Agents.Contacts(ctx, t)
			if err != nil {
				return dialTarget{}, fmt.Errorf("reading the registrations of extension %s: %w", t, err)
			}
			if len(contacts) == 0 {
				return dialTarget{}, fmt.Errorf("%w: extension %s (%s) has no phone registered", ErrNoDevice, t, other.Login)
			}
			return dialTarget{agent: other, extension: t, contacts: contacts}, nil
		case !errors.Is(err, ErrNoAgent):
			return dialTarget{}, fmt.Errorf("looking up extension %s: %w", t, err)
		}
	}
	number, err := e.cfg.DialPlan.Check(t)
	if err != nil {
		return dialTarget{}, err
	}
	if od, ok := e.deps.Dialer.(OutsideDialer); !ok || !od.DialsOutside() {
		return dialTarget{}, ErrNoRoute
	}
	return dialTarget{number: number}, nil
}

// Outbound places a click-to-dial call, as OCA's asterisk_click2dial
// does: it rings the agent's own registered phones at once (the first to
// answer wins; the phone shows whom it will call), and once the agent
// answered, calls the target (the devices of another agent's extension,
// or a number through the PBX) offering only the codec the agent's phone
// chose, and bridges the media. The communication event (direction out)
// is written from the start; its planned call, if any, is marked done
// when it ends. Outbound returns once the agent's phones ring; the call
// then lives on its own goroutine.
//
// Refused before anything rings: ErrNoExtension, ErrBadNumber,
// ErrNotAllowed, ErrNoRoute, ErrNoDevice, ErrDraining. Afterwards: the
// agent not answering within Config.RingTimeout, or refusing, ends the
// call (no_answer or failed; nothing is dialled); the target's failure
// hangs up the agent (486 busy, 408/480/487 no_answer, 603 rejected,
// others failed); either side's BYE ends the call.
func (e *Engine) Outbound(ctx context.Context, req OutboundRequest) (Snapshot, error) {
	a := req.Agent
	if a.Extension == "" {
		return Snapshot{}, ErrNoExtension
	}
	if req.PartnerID < 0 || req.ActivityID < 0 {
		return Snapshot{}, errors.New("outbound call: negative partner or activity id")
	}
	target, err := e.resolveTarget(ctx, a, req.Target)
	if err != nil {
		return Snapshot{}, err
	}
	devices := req.Devices
	if len(devices) == 0 {
		devices, err = e.deps.Agents.Contacts(ctx, a.Extension)
		if err != nil {
			return Snapshot{}, fmt.Errorf("reading the registrations of extension %s: %w", a.Extension, err)
		}
	}
	if len(devices) == 0 {
		return Snapshot{}, fmt.Errorf("%w: your extension %s has no phone registered; register a SIP phone to it first", ErrNoDevice, a.Extension)
	}
	callID := newID() + "@phoned"
	start := comm.EventStart{
		Type: comm.EventPhone, Direction: comm.DirectionOut, At: e.cfg.Now(), UserID: a.UserID, ActivityID: req.ActivityID,
		PartyE164: target.number, SIPCallID: callID, FromNumber: a.Extension, ToNumber: target.dialString(),
	}
	if req.PartnerID != 0 {
		start.PartnerIDs = []int64{req.PartnerID}
	}
	eventID, err := e.deps.Events.StartEvent(ctx, start)
	if err != nil {
		return Snapshot{}, fmt.Errorf("writing the call's event: %w", err)
	}
	oc := &outbound{e: e, agent: a, target: target, fromName: req.FromName, callID: callID, ev: callEvent{e: e, id: eventID}}
	snap := Snapshot{Direction: comm.DirectionOut, UserID: a.UserID, User: a.Login, Extension: a.Extension,
		PartnerID: req.PartnerID, Number: target.dialString(), EventID: eventID, State: StateDialling}
	if req.PartnerID != 0 {
		snap.PartnerName = req.FromName
	}
	oc.c = e.newCall(ctx, snap)
	oc.ev.c = oc.c
	if err := e.launch(oc.c, oc); err != nil {
		oc.ev.end(comm.OutcomeFailed, 0, HangupSystem, nil)
		return Snapshot{}, err
	}
	oc.c.Do(func() { oc.start(devices) })
	e.log.Info("outbound call", "call", oc.c.id, "event", eventID, "extension", a.Extension, "to", target.dialString())
	return oc.c.Snapshot(), nil
}

// outbound is one click-to-dial call's own state: first the agent's
// phones ring (devices), then the target (callee). Its fields are touched
// only on the call's owner goroutine.
type outbound struct {
	e        *Engine
	c        *Call
	agent    Agent
	target   dialTarget
	fromName string
	callID   string // the SIP Call-ID of the INVITE to the target
	ev       callEvent

	devices    *ringGroup       // the agent's registered phones
	agentOut   Outgoing         // the phone that answered
	agentMedia media.Negotiated // what it settled: the callee is offered its codec alone
	agentSess  *media.Session   // the SDP of the agent's phone's dialog
	callee     *ringGroup       // the target
	calleeOut  Outgoing         // the target, once it answered
	calleeP    *remoteParty     // the target, for hold and resume
	media      *bridge
	timer      *time.Timer // the ring timeout of whichever side rings
}

// agentCodecs are offered to the agent's phone; the callee gets the one
// it picks.
var agentCodecs = []media.Codec{media.PCMU, media.PCMA, media.TelephoneEvent}

func (oc *outbound) start(devices []Contact) {
	e := oc.e
	var err error
	if oc.media, err = e.newBridge(oc.c, "callee"); err != nil {
		e.log.Error("outbound call", "err", err)
		oc.fail(0, "no RTP port")
		return
	}
	sess := media.NewSession()
	sdp, err := sess.Offer(oc.media.agentConn.LocalAddr(), agentCodecs, media.SendRecv)
	if err != nil {
		e.log.Error("outbound call: building the offer to the agent's phone", "err", err)
		oc.fail(0, "no SDP offer")
		return
	}
	reqs := make([]DialRequest, 0, len(devices))
	for _, ct := range devices {
		// The agent's phone shows whom it is about to call.
		reqs = append(reqs, DialRequest{Call: oc.c.id, Contact: ct, FromUser: oc.target.dialString(), FromName: oc.fromName, SDP: sdp})
	}
	oc.devices = &ringGroup{
		c:        oc.c,
		onAnswer: func(out Outgoing, answer []byte) { oc.agentAnswered(out, answer, sess) },
		onFail:   oc.agentFailed,
	}
	oc.devices.ring(e.deps.Dialer, reqs)
	oc.timer = time.AfterFunc(e.cfg.RingTimeout, func() { oc.c.Do(oc.agentTimeout) })
}

// agentFailed: every phone of the agent refused or failed; nothing was
// dialled.
func (oc *outbound) agentFailed(status int, err error) {
	if oc.ev.ended {
		return
	}
	o, by := comm.OutcomeFailed, HangupAgent
	switch status {
	case 408, 480, 487:
		o = comm.OutcomeNoAnswer
	case 0:
		by = HangupSystem
		oc.e.log.Warn("outbound call: the agent's phone could not be called", "call", oc.c.id, "err", err)
	}
	oc.ev.end(o, status, by, nil)
	oc.c.End(errors.New("the agent's phone did not take the call"))
}

func (oc *outbound) agentTimeout() {
	if oc.agentOut != nil || oc.ev.ended {
		return
	}
	oc.ev.end(comm.OutcomeNoAnswer, 487, HangupTimeout, nil) // cleanup cancels the phones
	oc.c.End(errors.New("the agent did not answer"))
}

func (oc *outbound) agentAnswered(out Outgoing, answer []byte, sess *media.Session) {
	e, ctx := oc.e, oc.c.Context()
	if oc.ev.ended {
		_ = out.Hangup(ctx)
		return
	}
	oc.timer.Stop()
	oc.agentOut = out
	m, err := parseAccept(sess, answer)
	if err != nil {
		e.log.Warn("outbound call: the agent's phone's SDP answer", "call", oc.c.id, "err", err)
		_ = out.Hangup(ctx)
		oc.ev.end(comm.OutcomeFailed, 488, HangupSystem, nil)
		oc.c.End(fmt.Errorf("the agent's phone answered unusable SDP: %w", err))
		return
	}
	oc.agentMedia, oc.agentSess = m, sess
	oc.watchAgent(out)

	// Now the target, offered the agent's codec alone: nothing is transcoded.
	calleeSess := media.NewSession()
	sdp, err := calleeSess.Offer(oc.media.remoteConn.LocalAddr(), []media.Codec{m.Audio.Codec, media.TelephoneEvent}, media.SendRecv)
	if err != nil {
		e.log.Error("outbound call: building the offer to the target", "err", err)
		oc.fail(0, "no SDP offer")
		return
	}
	var reqs []DialRequest
	if oc.target.number != "" {
		reqs = []DialRequest{{Call: oc.c.id, Number: oc.target.number, CallID: oc.callID, FromUser: oc.agent.Extension, FromName: oc.agent.Name, SDP: sdp}}
	} else {
		for i, ct := range oc.target.contacts {
			r := DialRequest{Call: oc.c.id, Contact: ct, FromUser: oc.agent.Extension, FromName: oc.agent.Name, SDP: sdp}
			if i == 0 {
				r.CallID = oc.callID // the event's; the other devices' INVITEs get their own
			}
			reqs = append(reqs, r)
		}
	}
	oc.callee = &ringGroup{
		c:         oc.c,
		onRinging: func(int) { oc.c.update(func(s *Snapshot) { s.State = StateRinging }) },
		onAnswer:  func(out Outgoing, answer []byte) { oc.calleeAnswered(out, answer, calleeSess) },
		onFail:    oc.calleeFailed,
	}
	oc.callee.ring(e.deps.Dialer, reqs)
	oc.timer = time.AfterFunc(e.cfg.DialTimeout, func() { oc.c.Do(oc.calleeTimeout) })
}

// calleeFailed: the target refused or could not be reached; the agent
// gets a BYE.
func (oc *outbound) calleeFailed(status int, err error) {
	if oc.ev.ended {
		return
	}
	_ = oc.agentOut.Hangup(oc.c.Context())
	o, by := comm.OutcomeOfStatus(status, comm.DirectionOut), HangupCallee
	if status == 0 || !o.Unreached() {
		o, by = comm.OutcomeFailed, HangupSystem
		oc.e.log.Warn("outbound call: the target could not be called", "call", oc.c.id, "to", oc.target.dialString(), "status", status, "err", err)
	}
	oc.ev.end(o, status, by, nil)
	oc.c.End(fmt.Errorf("the target did not take the call (status %d)", status))
}

func (oc *outbound) calleeTimeout() {
	if oc.calleeOut != nil || oc.ev.ended {
		return
	}
	_ = oc.agentOut.Hangup(oc.c.Context())
	oc.ev.end(comm.OutcomeNoAnswer, 487, HangupTimeout, nil) // cleanup cancels the target
	oc.c.End(errors.New("the target did not answer"))
}

func (oc *outbound) calleeAnswered(out Outgoing, answer []byte, sess *media.Session) {
	e, ctx := oc.e, oc.c.Context()
	if oc.ev.ended {
		_ = out.Hangup(ctx)
		return
	}
	oc.timer.Stop()
	oc.calleeOut = out
	m, err := parseAccept(sess, answer)
	if err == nil {
		err = oc.media.join(m, oc.agentMedia, oc.agentOut, e.cfg.MediaInactivity, func() { oc.c.Do(oc.mediaTimeout) })
	}
	if err != nil {
		e.log.Warn("outbound call: bridging the target", "call", oc.c.id, "err", err)
		_ = out.Hangup(ctx)
		_ = oc.agentOut.Hangup(ctx)
		oc.ev.end(comm.OutcomeFailed, 488, HangupSystem, nil)
		oc.c.End(err)
		return
	}
	oc.calleeP = &remoteParty{sig: out, sess: sess, media: oc.media}
	e.takeReoffers(oc.c, out, oc.calleeP)
	e.takeDigits(oc.c, out)
	e.takeReoffers(oc.c, oc.agentOut, &remoteParty{sig: oc.agentOut, sess: oc.agentSess, media: oc.media, agentSide: true})
	now := oc.ev.answer(ctx)
	oc.c.update(func(s *Snapshot) { s.State = StateAnswered; s.Answered = &now })
	watchGone(oc.c, out.Gone(), oc.calleeGone)
}

// agentGone: the agent hung up, before the target answered (it is
// cancelled by cleanup) or after.
func (oc *outbound) agentGone() {
	if oc.ev.ended {
		return
	}
	if oc.calleeOut != nil {
		_ = oc.calleeOut.Hangup(oc.c.Context())
		oc.ev.end(comm.OutcomeAnswered, 200, HangupAgent, oc.media.quality())
	} else {
		oc.ev.end(comm.OutcomeNoAnswer, 487, HangupAgent, nil)
	}
	oc.c.End(errors.New("the agent hung up"))
}

func (oc *outbound) calleeGone() {
	if oc.ev.ended {
		return
	}
	oc.e.leftForTransfer(oc.c, oc.calleeP)
	_ = oc.agentOut.Hangup(oc.c.Context())
	oc.ev.end(comm.OutcomeAnswered, 200, HangupCallee, oc.media.quality())
	oc.c.End(errors.New("the callee hung up"))
}

func (oc *outbound) mediaTimeout() {
	if oc.ev.ended {
		return
	}
	ctx := oc.c.Context()
	_ = oc.calleeOut.Hangup(ctx)
	_ = oc.agentOut.Hangup(ctx)
	oc.ev.end(comm.OutcomeAnswered, 200, HangupTimeout, oc.media.quality())
	oc.c.End(errors.New("no RTP from either side"))
}

// hangup is the agent's hang-up from the API, at whatever stage.
func (oc *outbound) hangup() {
	if oc.ev.ended {
		return
	}
	ctx := oc.c.Context()
	switch {
	case oc.calleeOut != nil:
		_ = oc.calleeOut.Hangup(ctx)
		_ = oc.agentOut.Hangup(ctx)
		oc.ev.end(comm.OutcomeAnswered, 200, HangupAgent, oc.media.quality())
	case oc.agentOut != nil:
		_ = oc.agentOut.Hangup(ctx) // the target is cancelled by cleanup
		oc.ev.end(comm.OutcomeNoAnswer, 487, HangupAgent, nil)
	default:
		oc.ev.end(comm.OutcomeNoAnswer, 487, HangupAgent, nil) // the agent's phones are cancelled by cleanup
	}
	oc.c.End(ErrHungUp)
}

func (oc *outbound) remoteLeg() *media.Leg { return oc.media.remoteLeg() }
func (oc *outbound) remote() *remoteParty  { return oc.calleeP }
func (oc *outbound) event() *callEvent     { return &oc.ev }
func (oc *outbound) agentLeg() Outgoing    { return oc.agentOut }

// watchAgent ends the call when the leg playing the agent's part hangs up
// (the agent's phone, or after a transfer, the target).
func (oc *outbound) watchAgent(out Outgoing) {
	watchGone(oc.c, out.Gone(), func() {
		if oc.agentOut == out {
			oc.agentGone()
		}
	})
}

func (oc *outbound) transferred() {
	if oc.ev.ended {
		return
	}
	ctx := oc.c.Context()
	_ = oc.calleeOut.Hangup(ctx)
	_ = oc.agentOut.Hangup(ctx)
	oc.ev.end(comm.OutcomeAnswered, 200, HangupAgent, oc.media.quality())
	oc.c.End(ErrTransferred)
}

func (oc *outbound) swapAgent(out Outgoing) {
	old := oc.agentOut
	oc.agentOut = out
	_ = old.Hangup(oc.c.Context())
	oc.watchAgent(out)
}

// fail ends the call for a fault of phoned's own.
func (oc *outbound) fail(status int, why string) {
	if oc.agentOut != nil {
		_ = oc.agentOut.Hangup(oc.c.Context())
	}
	oc.ev.end(comm.OutcomeFailed, status, HangupSystem, nil)
	oc.c.End(errors.New("outbound call failed: " + why))
}

// cleanup runs on the owner goroutine when the call ends, whatever ended
// it (including the maximum duration and shutdown).
func (oc *outbound) cleanup(cause error) {
	if oc.timer != nil {
		oc.timer.Stop()
	}
	oc.devices.stop()
	oc.callee.stop()
	oc.calleeP.stopTransfer()
	oc.calleeP.stopConsult()
	if !oc.ev.ended {
		// Ended from outside: the maximum duration or shutdown.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if oc.calleeOut != nil {
			_ = oc.calleeOut.Hangup(ctx)
		}
		if oc.agentOut != nil {
			_ = oc.agentOut.Hangup(ctx)
		}
		if oc.calleeOut != nil {
			oc.ev.end(comm.OutcomeAnswered, 200, HangupSystem, oc.media.quality())
		} else {
			oc.ev.end(comm.OutcomeNoAnswer, 487, HangupSystem, nil)
		}
		cancel()
	}
	oc.media.close()
	oc.e.log.Info("call ended", "event", oc.ev.id, "extension", oc.agent.Extension, "to", oc.target.dialString(), "cause", cause)
}
