package switchboard

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"phoned/comm"
	"phoned/media"
)

// bridge is a call's media path: an RTP socket for the remote party (the
// caller, or the callee) and one for the agent's device, allocated before
// the offers are made, joined by a relay once both sides' media are
// known. It belongs to the call's owner goroutine.
type bridge struct {
	remoteName            string // "caller" or "callee": its key in the event's quality figures
	remoteConn, agentConn *media.RTPConn
	remote, agent         *media.Leg
	relay                 *media.Relay
	inactivity            time.Duration // the relay's inactivity timeout, kept for a new relay (transfer)
	onInactive            func()
	onDTMF                func(rune)            // the remote party's digits (Deps.OnDTMF), may be nil
	held                  map[*remoteParty]bool // the parties on hold, either way: no inactivity timeout then
}

// newBridge allocates the two RTP sockets of call c.
func (e *Engine) newBridge(c *Call, remoteName string) (*bridge, error) {
	b := &bridge{remoteName: remoteName}
	if f := e.deps.OnDTMF; f != nil {
		id := c.id
		b.onDTMF = func(d rune) { f(id, d) }
	}
	var err error
	if b.agentConn, err = e.deps.Ports.Listen(e.cfg.MediaIP); err == nil {
		b.remoteConn, err = e.deps.Ports.Listen(e.cfg.MediaIP)
	}
	if err != nil {
		b.close()
		return nil, fmt.Errorf("no RTP port: %w", err)
	}
	return b, nil
}

// join makes the legs from what each side's offer/answer settled and
// relays between them, without transcoding. agentLeg is the Outgoing that
// plays the agent's part: when it is a MediaTransport (a browser), its
// transport carries the agent's side instead of the UDP socket offered.
// onInactive runs (on the relay's goroutine) when neither side sent RTP
// for the inactivity timeout.
func (b *bridge) join(remote, agent media.Negotiated, agentLeg any, inactivity time.Duration, onInactive func()) error {
	b.inactivity, b.onInactive = inactivity, onInactive
	var err error
	if b.remote, err = media.NewLeg(b.remoteConn, media.LegConfig{Media: remote, AllowAnySource: true, OnDTMF: b.onDTMF}); err != nil {
		return fmt.Errorf("the %s's RTP leg: %w", b.remoteName, err)
	}
	leg, kept, err := agentSideLeg(agentLeg, b.agentConn, agent)
	if err != nil {
		return fmt.Errorf("the agent's RTP leg: %w", err)
	}
	b.agent, b.agentConn = leg, kept
	if b.relay, err = b.bridgeLegs(b.remote, b.agent); err != nil {
		return fmt.Errorf("bridging the RTP legs: %w", err)
	}
	return nil
}

// bridgeLegs relays x and y with the bridge's inactivity handling.
func (b *bridge) bridgeLegs(x, y *media.Leg) (*media.Relay, error) {
	return media.Bridge(x, y, media.BridgeOptions{
		InactivityTimeout: b.inactivity,
		OnEnd: func(r media.EndReason) {
			if r == media.EndInactivity {
				b.onInactive()
			}
		},
	})
}

// agentSideLeg makes the RTP leg of the party playing the agent's part:
// over its MediaTransport when it has one (a browser: conn, offered but
// never used, is closed), else on conn. kept is the socket the leg owns
// (nil for a browser). On failure conn is still the caller's.
func agentSideLeg(party any, conn *media.RTPConn, n media.Negotiated) (leg *media.Leg, kept *media.RTPConn, err error) {
	if mt, ok := party.(MediaTransport); ok {
		if leg, err = media.NewTransportLeg(mt.Transport(), media.LegConfig{Media: n}); err != nil {
			return nil, nil, err
		}
		_ = conn.Close()
		return leg, nil, nil
	}
	if leg, err = media.NewLeg(conn, media.LegConfig{Media: n, AllowAnySource: true}); err != nil {
		return nil, nil, err
	}
	return leg, conn, nil
}

// remoteLeg is the remote party's leg once the media flows, else nil.
func (b *bridge) remoteLeg() *media.Leg {
	if b == nil || b.relay == nil {
		return nil
	}
	return b.remote
}

// quality is the event's audio figures, nil before the media flowed.
func (b *bridge) quality() json.RawMessage {
	if b == nil || b.relay == nil {
		return nil
	}
	return qualityJSON(b.remoteName, b.remote.Stats(), b.agent.Stats())
}

// close ends the relay and frees the sockets. It is safe on a nil bridge.
func (b *bridge) close() {
	if b == nil {
		return
	}
	if b.relay != nil {
		b.relay.Close()
	}
	// A leg owns its socket; a socket that never became a leg is closed here.
	for _, p := range []struct {
		leg  *media.Leg
		conn *media.RTPConn
	}{{b.remote, b.remoteConn}, {b.agent, b.agentConn}} {
		switch {
		case p.leg != nil:
			_ = p.leg.Close()
		case p.conn != nil:
			_ = p.conn.Close()
		}
	}
}

// parseAccept completes an offer with the SDP answer of the party called.
func parseAccept(sess *media.Session, answer []byte) (media.Negotiated, error) {
	d, err := media.ParseSDP(answer)
	if err != nil {
		return media.Negotiated{}, err
	}
	return sess.Accept(d)
}

// callEvent is a call's communication event, written as the call goes
// and closed once. It belongs to the call's owner goroutine.
type callEvent struct {
	e     *Engine
	c     *Call // whose snapshot shows the outcome; nil in tests of the event alone
	id    int64
	ended bool
	as    comm.Outcome // once transferred: the outcome an answered call ends with
}

// answer records the answer and returns its time.
func (ev *callEvent) answer(ctx context.Context) time.Time {
	now := ev.e.cfg.Now()
	if err := ev.e.deps.Events.AnswerEvent(ctx, ev.id, now); err != nil {
		ev.e.log.Error("recording a call's answer", "event", ev.id, "err", err)
	}
	return now
}

// end closes the event, once.
func (ev *callEvent) end(o comm.Outcome, status int, by HangupBy, quality json.RawMessage) {
	if ev.ended {
		return
	}
	ev.ended = true
	if o == comm.OutcomeAnswered && ev.as != "" {
		o = ev.as
	}
	end := comm.EventEnd{At: ev.e.cfg.Now(), Outcome: o, SIPStatus: status, HangupBy: comm.HangupBy(by), Quality: quality}

	// The call's context may be ending: the event must be written anyway.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ev.e.deps.Events.EndEvent(ctx, ev.id, end); err != nil {
		ev.e.log.Error("closing a call's event", "event", ev.id, "err", err)
	}
	if ev.c != nil { // after the write: a watcher may read the event at once
		ev.c.update(func(s *Snapshot) { s.Outcome, s.SIPStatus = o, status })
	}
}

// watchGone posts gone to the call's owner when a leg's Gone closes,
// unless the call ends first.
func watchGone(c *Call, leg <-chan struct{}, gone func()) {
	go func() {
		select {
		case <-leg:
			c.Do(gone)
		case <-c.Context().Done():
		}
	}()
}
