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
	ic := &inbound{e: e, in: in, info: info, agent: agent, eventID: eventID, offer: offer, codec: audio.Codec}
	contacts, err := e.deps.Agents.Contacts(ctx, agent.Extension)
	if err != nil || len(contacts) == 0 {
		if err != nil {
			e.log.Error("inbound call: reading registrations", "extension", agent.Extension, "err", err)
		}
		_ = in.Reject(480, "Temporarily Unavailable")
		ic.endEvent(comm.OutcomeMissed, 480, HangupSystem)
		return
	}
	snap := Snapshot{Direction: comm.DirectionIn, UserID: agent.UserID, User: agent.Login, Extension: agent.Extension,
		Number: start.FromNumber, EventID: eventID, State: StateRinging}
	c, err := e.NewCall(ctx, snap, ic.cleanup)
	if err != nil {
		_ = in.Reject(503, "Service Unavailable")
		ic.endEvent(comm.OutcomeFailed, 503, HangupSystem)
		return
	}
	ic.c = c
	c.Do(func() { ic.start(contacts) })
}

// inbound is one incoming call's own state. Its fields are touched only on
// the call's owner goroutine (in actions posted with c.Do, and cleanup).
type inbound struct {
	e       *Engine
	c       *Call
	in      Incoming
	info    InboundInfo
	agent   Agent
	eventID int64
	offer   media.Description
	codec   media.Codec // the caller's audio codec, offered alone to the devices: nothing is transcoded

	forks    []*fork
	failures int
	busy     bool
	rang     bool
	answered *fork
	ended    bool // the event was closed

	callerConn, deviceConn *media.RTPConn
	caller, device         *media.Leg
	relay                  *media.Relay
	ringTimer              *time.Timer
}

// fork is the call to one registered device.
type fork struct {
	out    Outgoing
	cancel context.CancelFunc
	done   bool
}

func (ic *inbound) start(contacts []Contact) {
	e := ic.e
	var err error
	if ic.deviceConn, err = e.deps.Ports.Listen(e.cfg.MediaIP); err == nil {
		ic.callerConn, err = e.deps.Ports.Listen(e.cfg.MediaIP)
	}
	if err != nil {
		e.log.Error("inbound call: no RTP port", "err", err)
		ic.fail(503, "Service Unavailable")
		return
	}
	deviceSDP := media.NewSession()
	sdp, err := deviceSDP.Offer(ic.deviceConn.LocalAddr(), []media.Codec{ic.codec, media.TelephoneEvent}, media.SendRecv)
	if err != nil {
		e.log.Error("inbound call: building the offer to the devices", "err", err)
		ic.fail(500, "Server Internal Error")
		return
	}
	from := ic.info.FromNumber
	for _, ct := range contacts {
		ctx, cancel := context.WithCancel(ic.c.Context())
		f := &fork{cancel: cancel}
		ic.forks = append(ic.forks, f)
		go ic.ringDevice(ctx, f, DialRequest{Contact: ct, FromUser: from, FromName: ic.info.FromName, SDP: sdp}, deviceSDP)
	}
	ic.ringTimer = time.AfterFunc(e.cfg.RingTimeout, func() { ic.c.Do(ic.ringTimeout) })
	go func() {
		select {
		case <-ic.in.Gone():
			ic.c.Do(ic.callerGone)
		case <-ic.c.Context().Done():
		}
	}()
}

// ringDevice places one fork and posts what happens to the owner.
func (ic *inbound) ringDevice(ctx context.Context, f *fork, req DialRequest, sess *media.Session) {
	out, err := ic.e.deps.Dialer.Dial(ctx, req)
	if err != nil {
		ic.c.Do(func() { ic.forkFailed(f, err) })
		return
	}
	ic.c.Do(func() { f.out = out })
	answer, err := out.Wait(ctx, func(status int) { ic.c.Do(ic.ringing) })
	if err != nil {
		ic.c.Do(func() { ic.forkFailed(f, err) })
		return
	}
	ic.c.Do(func() { ic.forkAnswered(f, out, answer, sess) })
}

func (ic *inbound) ringing() {
	if ic.rang || ic.answered != nil {
		return
	}
	ic.rang = true
	if err := ic.in.Ring(); err != nil {
		ic.e.log.Debug("inbound call: 180 to the caller", "err", err)
	}
}

func (ic *inbound) forkFailed(f *fork, err error) {
	if f.done {
		return
	}
	f.done = true
	ic.failures++
	var se *StatusError
	if errors.As(err, &se) && (se.Status == 486 || se.Status == 600) {
		ic.busy = true
	}
	if ic.answered != nil || ic.failures < len(ic.forks) {
		return
	}
	// Every device failed.
	if ic.busy {
		_ = ic.in.Reject(486, "Busy Here")
		ic.endEvent(comm.OutcomeBusy, 486, HangupCallee)
	} else {
		_ = ic.in.Reject(480, "Temporarily Unavailable")
		ic.endEvent(comm.OutcomeMissed, 480, HangupSystem)
	}
	ic.c.End(errors.New("no device took the call"))
}

func (ic *inbound) forkAnswered(f *fork, out Outgoing, answer []byte, sess *media.Session) {
	ctx := ic.c.Context()
	f.done = true
	if ic.answered != nil || ic.ended {
		// Another device was first, or the caller left: this one is hung up.
		_ = out.Ack(ctx)
		_ = out.Hangup(ctx)
		return
	}
	ic.answered = f
	ic.ringTimer.Stop()
	for _, other := range ic.forks {
		if other != f && !other.done {
			other.cancel() // Wait sends CANCEL
		}
	}
	if err := out.Ack(ctx); err != nil {
		ic.e.log.Warn("inbound call: ACK to the device", "err", err)
	}
	deviceMedia, err := parseAccept(sess, answer)
	if err != nil {
		ic.e.log.Warn("inbound call: the device's SDP answer", "err", err)
		_ = out.Hangup(ctx)
		ic.fail(488, "Not Acceptable Here")
		return
	}
	callerSDP, callerMedia, err := media.NewSession().Answer(ic.offer, ic.callerConn.LocalAddr(), []media.Codec{ic.codec, media.TelephoneEvent}, media.SendRecv)
	if err != nil {
		_ = out.Hangup(ctx)
		ic.fail(488, "Not Acceptable Here")
		return
	}
	if ic.caller, err = media.NewLeg(ic.callerConn, media.LegConfig{Media: callerMedia, AllowAnySource: true}); err == nil {
		ic.device, err = media.NewLeg(ic.deviceConn, media.LegConfig{Media: deviceMedia, AllowAnySource: true})
	}
	if err == nil {
		ic.relay, err = media.Bridge(ic.caller, ic.device, media.BridgeOptions{
			InactivityTimeout: ic.e.cfg.MediaInactivity,
			OnEnd: func(r media.EndReason) {
				if r == media.EndInactivity {
					ic.c.Do(ic.mediaTimeout)
				}
			},
		})
	}
	if err != nil {
		ic.e.log.Error("inbound call: bridging the media", "err", err)
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
		ic.endEvent(comm.OutcomeFailed, 408, HangupCaller)
		ic.c.End(err)
		return
	}
	now := ic.e.cfg.Now()
	if err := ic.e.deps.Events.AnswerEvent(ctx, ic.eventID, now); err != nil {
		ic.e.log.Error("inbound call: recording the answer", "event", ic.eventID, "err", err)
	}
	ic.c.update(func(s *Snapshot) { s.State = StateAnswered; s.Answered = &now })
	go func() {
		select {
		case <-out.Gone():
			ic.c.Do(ic.deviceGone)
		case <-ctx.Done():
		}
	}()
}

func parseAccept(sess *media.Session, answer []byte) (media.Negotiated, error) {
	d, err := media.ParseSDP(answer)
	if err != nil {
		return media.Negotiated{}, err
	}
	return sess.Accept(d)
}

func (ic *inbound) ringTimeout() {
	if ic.answered != nil || ic.ended {
		return
	}
	_ = ic.in.Reject(480, "Temporarily Unavailable")
	ic.endEvent(comm.OutcomeMissed, 480, HangupTimeout)
	ic.c.End(errors.New("nobody answered"))
}

func (ic *inbound) callerGone() {
	if ic.ended {
		return
	}
	if ic.answered == nil {
		// CANCEL before the answer: the forks are cancelled by cleanup.
		ic.endEvent(comm.OutcomeMissed, 487, HangupCaller)
	} else {
		_ = ic.answered.out.Hangup(ic.c.Context())
		ic.endEvent(comm.OutcomeAnswered, 200, HangupCaller)
	}
	ic.c.End(errors.New("the caller hung up"))
}

func (ic *inbound) deviceGone() {
	if ic.ended {
		return
	}
	_ = ic.in.Hangup(ic.c.Context())
	ic.endEvent(comm.OutcomeAnswered, 200, HangupAgent)
	ic.c.End(errors.New("the agent hung up"))
}

func (ic *inbound) mediaTimeout() {
	if ic.ended {
		return
	}
	ctx := ic.c.Context()
	_ = ic.in.Hangup(ctx)
	if ic.answered != nil {
		_ = ic.answered.out.Hangup(ctx)
	}
	ic.endEvent(comm.OutcomeAnswered, 200, HangupTimeout)
	ic.c.End(errors.New("no RTP from either side"))
}

// fail refuses the caller before the answer and ends the call.
func (ic *inbound) fail(status int, reason string) {
	_ = ic.in.Reject(status, reason)
	ic.endEvent(comm.OutcomeFailed, status, HangupSystem)
	ic.c.End(fmt.Errorf("inbound call failed: %d %s", status, reason))
}

// endEvent closes the call's event once.
func (ic *inbound) endEvent(o comm.Outcome, status int, by HangupBy) {
	if ic.ended {
		return
	}
	ic.ended = true
	end := comm.EventEnd{At: ic.e.cfg.Now(), Outcome: o, SIPStatus: status, HangupBy: comm.HangupBy(by)}
	if ic.relay != nil && ic.caller != nil && ic.device != nil {
		end.Quality = qualityJSON(ic.caller.Stats(), ic.device.Stats())
	}
	// The call's context may be ending: the event must be written anyway.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ic.e.deps.Events.EndEvent(ctx, ic.eventID, end); err != nil {
		ic.e.log.Error("closing a call's event", "event", ic.eventID, "err", err)
	}
}

// cleanup runs on the owner goroutine when the call ends, whatever ended
// it (including the maximum duration and shutdown).
func (ic *inbound) cleanup(cause error) {
	if ic.ringTimer != nil {
		ic.ringTimer.Stop()
	}
	for _, f := range ic.forks {
		f.cancel()
	}
	if !ic.ended {
		// Ended from outside: the maximum duration or shutdown.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if ic.answered != nil {
			_ = ic.in.Hangup(ctx)
			_ = ic.answered.out.Hangup(ctx)
			ic.endEvent(comm.OutcomeAnswered, 200, HangupSystem)
		} else {
			_ = ic.in.Reject(480, "Temporarily Unavailable")
			ic.endEvent(comm.OutcomeMissed, 480, HangupSystem)
		}
		cancel()
	}
	if ic.relay != nil {
		ic.relay.Close()
	}
	// A leg owns its socket; a socket that never became a leg is closed here.
	for _, p := range []struct {
		leg  *media.Leg
		conn *media.RTPConn
	}{{ic.caller, ic.callerConn}, {ic.device, ic.deviceConn}} {
		switch {
		case p.leg != nil:
			_ = p.leg.Close()
		case p.conn != nil:
			_ = p.conn.Close()
		}
	}
	ic.e.log.Info("call ended", "event", ic.eventID, "extension", ic.agent.Extension, "cause", cause)
}
