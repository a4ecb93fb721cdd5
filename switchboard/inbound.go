package switchboard

import (
	"context"
	"errors"
	"fmt"
	"time"

	"phoned/comm"
	"phoned/crm"
	"phoned/media"
)

// InboundInfo describes a call that reached an extension.
type InboundInfo struct {
	Extension  string // the extension called (the Request-URI's user)
	FromNumber string // the caller's number or user, as it arrived
	FromName   string // the caller's display name, if any
	CallID     string // the SIP Call-ID of the caller's dialog
}

// Inbound takes a call for an extension: it rings every registered device
// of the extension at once (the first to answer wins, the others are
// cancelled), bridges the media, and writes the communication event from
// the first INVITE to the end. It returns once the call is under way (or
// refused); the call then lives on its own goroutine.
//
// No device: 480 and a missed event. Every device busy: 486. No answer
// within Config.RingTimeout: 480 and a missed event.
func (e *Engine) Inbound(ctx context.Context, in Incoming, info InboundInfo) {
	agent, err := e.deps.Agents.AgentByExtension(ctx, info.Extension)
	if err != nil {
		if !errors.Is(err, ErrNoAgent) {
			e.log.Error("inbound call: finding the extension", "extension", info.Extension, "err", err)
			_ = in.Reject(500, "Server Internal Error")
			return
		}
		_ = in.Reject(404, "Not Found")
		return
	}
	offer, err := media.ParseSDP(in.Offer())
	if err != nil {
		e.log.Info("inbound call refused: unusable SDP offer", "extension", info.Extension, "err", err)
		_ = in.Reject(488, "Not Acceptable Here")
		return
	}
	audio := offer.Audio()
	if audio.Codec == media.CodecUnknown {
		_ = in.Reject(488, "Not Acceptable Here")
		return
	}
	start := comm.EventStart{
		Type: comm.EventPhone, Direction: comm.DirectionIn, At: e.cfg.Now(), UserID: agent.UserID,
		SIPCallID: info.CallID, FromNumber: info.FromNumber, ToNumber: info.Extension,
	}
	if forms := crm.LookupForms(info.FromNumber, e.cfg.Region); len(forms) > 0 {
		start.PartyE164 = forms[0]
		start.FromNumber = forms[0]
	}
	eventID, err := e.deps.Events.StartEvent(ctx, start)
	if err != nil {
		e.log.Error("inbound call: writing its event", "err", err)
		_ = in.Reject(500, "Server Internal Error")
		return
	}
	ic := &inbound{e: e, in: in, info: info, agent: agent, ev: callEvent{e: e, id: eventID}, offer: offer, codec: audio.Codec}
	contacts, err := e.deps.Agents.Contacts(ctx, agent.Extension)
	if err != nil || len(contacts) == 0 {
		if err != nil {
			e.log.Error("inbound call: reading registrations", "extension", agent.Extension, "err", err)
		}
		_ = in.Reject(480, "Temporarily Unavailable")
		ic.ev.end(comm.OutcomeMissed, 480, HangupSystem, nil)
		return
	}
	snap := Snapshot{Direction: comm.DirectionIn, UserID: agent.UserID, User: agent.Login, Extension: agent.Extension,
		Number: start.FromNumber, EventID: eventID, State: StateRinging}
	ic.c = e.newCall(ctx, snap)
	ic.ev.c = ic.c
	if err := e.launch(ic.c, ic); err != nil {
		_ = in.Reject(503, "Service Unavailable")
		ic.ev.end(comm.OutcomeFailed, 503, HangupSystem, nil)
		return
	}
	ic.c.Do(func() { ic.start(contacts) })
}

// inbound is one incoming call's own state. Its fields are touched only on
// the call's owner goroutine (in actions posted with c.Do, and cleanup).
type inbound struct {
	e     *Engine
	c     *Call
	in    Incoming
	info  InboundInfo
	agent Agent
	ev    callEvent
	offer media.Description
	codec media.Codec // the caller's audio codec, offered alone to the devices: nothing is transcoded

	devices   *ringGroup // the agent's registered devices
	answered  Outgoing   // the device that took the call
	media     *bridge
	caller    *remoteParty // once answered
	ringTimer *time.Timer
}

func (ic *inbound) start(contacts []Contact) {
	e := ic.e
	var err error
	if ic.media, err = e.newBridge(ic.c, "caller"); err != nil {
		e.log.Error("inbound call", "err", err)
		ic.fail(503, "Service Unavailable")
		return
	}
	sess := media.NewSession()
	sdp, err := sess.Offer(ic.media.agentConn.LocalAddr(), []media.Codec{ic.codec, media.TelephoneEvent}, media.SendRecv)
	if err != nil {
		e.log.Error("inbound call: building the offer to the devices", "err", err)
		ic.fail(500, "Server Internal Error")
		return
	}
	reqs := make([]DialRequest, 0, len(contacts))
	for _, ct := range contacts {
		reqs = append(reqs, DialRequest{Call: ic.c.id, Contact: ct, FromUser: ic.info.FromNumber, FromName: ic.info.FromName, SDP: sdp})
	}
	ic.devices = &ringGroup{
		c:         ic.c,
		onRinging: func(int) { ic.ringing() },
		onAnswer:  func(out Outgoing, answer []byte) { ic.deviceAnswered(out, answer, sess) },
		onFail:    ic.devicesFailed,
	}
	ic.devices.ring(e.deps.Dialer, reqs)
	ic.ringTimer = time.AfterFunc(e.cfg.RingTimeout, func() { ic.c.Do(ic.ringTimeout) })
	watchGone(ic.c, ic.in.Gone(), ic.callerGone)
}

func (ic *inbound) ringing() {
	if ic.answered != nil || ic.ev.ended {
		return
	}
	if err := ic.in.Ring(); err != nil {
		ic.e.log.Debug("inbound call: 180 to the caller", "err", err)
	}
}

// devicesFailed: every device refused or failed.
func (ic *inbound) devicesFailed(status int, _ error) {
	if ic.ev.ended {
		return
	}
	switch status {
	case 486, 600:
		_ = ic.in.Reject(486, "Busy Here")
		ic.ev.end(comm.OutcomeBusy, 486, HangupCallee, nil)
	case 603:
		// The agent declined (the widget's Reject, a phone's Decline): the
		// caller hears busy.
		_ = ic.in.Reject(486, "Busy Here")
		ic.ev.end(comm.OutcomeRejected, 486, HangupAgent, nil)
	default:
		_ = ic.in.Reject(480, "Temporarily Unavailable")
		ic.ev.end(comm.OutcomeMissed, 480, HangupSystem, nil)
	}
	ic.c.End(errors.New("no device took the call"))
}

func (ic *inbound) deviceAnswered(out Outgoing, answer []byte, sess *media.Session) {
	ctx := ic.c.Context()
	if ic.ev.ended {
		_ = out.Hangup(ctx) // the caller left meanwhile
		return
	}
	ic.answered = out
	ic.ringTimer.Stop()
	deviceMedia, err := parseAccept(sess, answer)
	if err != nil {
		ic.e.log.Warn("inbound call: the device's SDP answer", "err", err)
		_ = out.Hangup(ctx)
		ic.fail(488, "Not Acceptable Here")
		return
	}
	callerSess := media.NewSession()
	callerSDP, callerMedia, err := callerSess.Answer(ic.offer, ic.media.remoteConn.LocalAddr(), []media.Codec{ic.codec, media.TelephoneEvent}, media.SendRecv)
	if err != nil {
		_ = out.Hangup(ctx)
		ic.fail(488, "Not Acceptable Here")
		return
	}
	if err := ic.media.join(callerMedia, deviceMedia, out, ic.e.cfg.MediaInactivity, func() { ic.c.Do(ic.mediaTimeout) }); err != nil {
		ic.e.log.Error("inbound call", "err", err)
		_ = out.Hangup(ctx)
		ic.fail(500, "Server Internal Error")
		return
	}
	answerCtx, cancel := context.WithTimeout(ctx, 32*time.Second) // Timer H: the caller's ACK
	err = ic.in.Answer(answerCtx, callerSDP)
	cancel()
	if err != nil {
		ic.e.log.Info("inbound call: the caller did not take the answer", "err", err)
		_ = out.Hangup(ctx)
		ic.ev.end(comm.OutcomeFailed, 408, HangupCaller, nil)
		ic.c.End(err)
		return
	}
	ic.caller = &remoteParty{sig: ic.in, sess: callerSess, media: ic.media}
	ic.e.takeReoffers(ic.c, ic.in, ic.caller)
	ic.e.takeDigits(ic.c, ic.in)
	ic.e.takeReoffers(ic.c, out, &remoteParty{sig: out, sess: sess, media: ic.media, agentSide: true})
	now := ic.ev.answer(ctx)
	ic.c.update(func(s *Snapshot) { s.State = StateAnswered; s.Answered = &now })
	ic.watchDevice(out)
}

func (ic *inbound) ringTimeout() {
	if ic.answered != nil || ic.ev.ended {
		return
	}
	_ = ic.in.Reject(480, "Temporarily Unavailable")
	ic.ev.end(comm.OutcomeMissed, 480, HangupTimeout, nil)
	ic.c.End(errors.New("nobody answered"))
}

func (ic *inbound) callerGone() {
	if ic.ev.ended {
		return
	}
	if ic.answered == nil {
		// CANCEL before the answer: the devices are cancelled by cleanup.
		ic.ev.end(comm.OutcomeMissed, 487, HangupCaller, nil)
	} else {
		ic.e.leftForTransfer(ic.c, ic.caller)
		_ = ic.answered.Hangup(ic.c.Context())
		ic.ev.end(comm.OutcomeAnswered, 200, HangupCaller, ic.media.quality())
	}
	ic.c.End(errors.New("the caller hung up"))
}

func (ic *inbound) deviceGone() {
	if ic.ev.ended {
		return
	}
	_ = ic.in.Hangup(ic.c.Context())
	ic.ev.end(comm.OutcomeAnswered, 200, HangupAgent, ic.media.quality())
	ic.c.End(errors.New("the agent hung up"))
}

func (ic *inbound) mediaTimeout() {
	if ic.ev.ended {
		return
	}
	ctx := ic.c.Context()
	_ = ic.in.Hangup(ctx)
	if ic.answered != nil {
		_ = ic.answered.Hangup(ctx)
	}
	ic.ev.end(comm.OutcomeAnswered, 200, HangupTimeout, ic.media.quality())
	ic.c.End(errors.New("no RTP from either side"))
}

// hangup is the agent's hang-up from the API: a call still ringing is
// declined (603), an answered one ended with a BYE to both sides.
func (ic *inbound) hangup() {
	if ic.ev.ended {
		return
	}
	ctx := ic.c.Context()
	if ic.answered == nil {
		_ = ic.in.Reject(603, "Decline")
		ic.ev.end(comm.OutcomeRejected, 603, HangupAgent, nil)
	} else {
		_ = ic.in.Hangup(ctx)
		_ = ic.answered.Hangup(ctx)
		ic.ev.end(comm.OutcomeAnswered, 200, HangupAgent, ic.media.quality())
	}
	ic.c.End(ErrHungUp)
}

func (ic *inbound) remoteLeg() *media.Leg { return ic.media.remoteLeg() }
func (ic *inbound) remote() *remoteParty  { return ic.caller }
func (ic *inbound) event() *callEvent     { return &ic.ev }
func (ic *inbound) agentLeg() Outgoing    { return ic.answered }

// watchDevice ends the call when the leg playing the agent's part hangs
// up (the answering device, or after a transfer, the target).
func (ic *inbound) watchDevice(out Outgoing) {
	watchGone(ic.c, out.Gone(), func() {
		if ic.answered == out {
			ic.deviceGone()
		}
	})
}

func (ic *inbound) transferred() {
	if ic.ev.ended {
		return
	}
	ctx := ic.c.Context()
	_ = ic.in.Hangup(ctx)
	_ = ic.answered.Hangup(ctx)
	ic.ev.end(comm.OutcomeAnswered, 200, HangupAgent, ic.media.quality())
	ic.c.End(ErrTransferred)
}

func (ic *inbound) swapAgent(out Outgoing) {
	old := ic.answered
	ic.answered = out
	_ = old.Hangup(ic.c.Context())
	ic.watchDevice(out)
}

// fail refuses the caller before the answer and ends the call.
func (ic *inbound) fail(status int, reason string) {
	_ = ic.in.Reject(status, reason)
	ic.ev.end(comm.OutcomeFailed, status, HangupSystem, nil)
	ic.c.End(fmt.Errorf("inbound call failed: %d %s", status, reason))
}

// cleanup runs on the owner goroutine when the call ends, whatever ended
// it (including the maximum duration and shutdown).
func (ic *inbound) cleanup(cause error) {
	if ic.ringTimer != nil {
		ic.ringTimer.Stop()
	}
	ic.devices.stop()
	ic.caller.stopTransfer()
	ic.caller.stopConsult()
	if !ic.ev.ended {
		// Ended from outside: the maximum duration or shutdown.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if ic.answered != nil {
			_ = ic.in.Hangup(ctx)
			_ = ic.answered.Hangup(ctx)
			ic.ev.end(comm.OutcomeAnswered, 200, HangupSystem, ic.media.quality())
		} else {
			_ = ic.in.Reject(480, "Temporarily Unavailable")
			ic.ev.end(comm.OutcomeMissed, 480, HangupSystem, nil)
		}
		cancel()
	}
	ic.media.close()
	ic.e.log.Info("call ended", "event", ic.ev.id, "extension", ic.agent.Extension, "cause", cause)
}
