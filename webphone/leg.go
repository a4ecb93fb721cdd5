package webphone

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"phoned/media"
	"phoned/switchboard"
)

// legState is where a browser leg is.
type legState uint8

const (
	legRinging legState = iota // an incoming call rings the agent's pages
	legLive                    // a page holds it (or it waits to be reattached)
	legEnded
)

// webLeg is the agent's side of a call in the browser: to the engine an
// Outgoing (it rings, answers, hangs up) whose media go through a
// MediaTransport. The call lives in phoned, not in the page: when the page
// goes away the leg waits Config.Grace for a page of the same agent to
// reattach with a new PeerConnection, and only then hangs up.
type webLeg struct {
	p    *Phone
	user int64  // the agent whose leg it is
	ext  string // the extension rung (incoming), else ""
	tr   *rtcTransport

	gone     chan struct{} // closed when the browser side ended the call
	goneOnce sync.Once
	answered chan struct{} // incoming: closed when a page answered
	failed   chan struct{} // incoming: closed when the agent refused (failStatus)

	mu          sync.Mutex // guards the following
	state       legState
	callID      string
	codec       media.Codec       // settled with the first page; reattaches keep it
	engineOffer media.Description // the engine's plain SDP offer (incoming: known at once)
	offerSDP    []byte            // the same, as sent
	engineSDP   []byte            // the plain SDP answer the engine gets
	failStatus  int
	peer        *peer // the page's PeerConnection now; nil while detached
	grace       *time.Timer
	ringing     []*conn // the pages told of an incoming call
}

// peer is one PeerConnection with a page, under the page's leg id. ICE
// candidates wait until the page has phoned's answer.
type peer struct {
	leg   *webLeg
	id    string
	pc    *webrtc.PeerConnection
	local *localTrack

	mu     sync.Mutex // guards the following
	owner  *conn
	ready  bool  // the page has the answer
	queued []any // candidates found before
}

func newWebLeg(p *Phone, user int64) *webLeg {
	return &webLeg{p: p, user: user, tr: newRTCTransport(), gone: make(chan struct{}), answered: make(chan struct{}), failed: make(chan struct{})}
}

// connect makes a PeerConnection for a page's offer, with phoned's
// answer. allowed are the audio codecs phoned may settle on, in order of
// preference. The leg's transport moves to it.
func (l *webLeg) connect(c *conn, legID, offer string, allowed []media.Codec) (*peer, string, error) {
	bo, err := readOffer(offer, allowed)
	if err != nil {
		return nil, "", err
	}
	pc, err := l.p.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, "", fmt.Errorf("new PeerConnection: %w", err)
	}
	pr := &peer{leg: l, id: legID, pc: pc, local: &localTrack{mime: mimeOf(bo.codec)}, owner: c}
	fail := func(err error) (*peer, string, error) {
		l.p.closePC(pc)
		return nil, "", err
	}
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand == nil {
			pr.sendICE(nil)
			return
		}
		pr.sendICE(cand.ToJSON())
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if tr.Kind() == webrtc.RTPCodecTypeAudio {
			l.tr.setRemote(pr.local, tr)
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateFailed {
			l.lost(pr, "the browser's media connection failed")
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return fail(fmt.Errorf("the browser's offer: %w", err))
	}
	sender, err := pc.AddTrack(pr.local)
	if err != nil {
		return fail(fmt.Errorf("adding phoned's audio: %w", err))
	}
	for _, t := range pc.GetTransceivers() {
		if t.Sender() == sender {
			if err := t.SetCodecPreferences(codecPreferences(bo)); err != nil {
				return fail(fmt.Errorf("choosing %s: %w", bo.codec, err))
			}
		}
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return fail(fmt.Errorf("answering the browser: %w", err))
	}
	if err := pc.SetLocalDescription(answer); err != nil {
		return fail(fmt.Errorf("answering the browser: %w", err))
	}
	// The payload types the browser will use are those of phoned's answer.
	settled, err := readOffer(pc.LocalDescription().SDP, []media.Codec{bo.codec})
	if err != nil {
		return fail(fmt.Errorf("phoned's answer to the browser: %w", err))
	}
	l.mu.Lock()
	if l.state == legEnded {
		l.mu.Unlock()
		return fail(errors.New("the call has ended"))
	}
	old := l.peer
	l.peer = pr
	l.codec = bo.codec
	if l.grace != nil {
		l.grace.Stop()
		l.grace = nil
	}
	l.mu.Unlock()
	l.tr.setPath(&rtcPath{local: pr.local, browser: settled.pts})
	if old != nil {
		l.p.closePC(old.pc)
	}
	l.p.indexPeer(l, c.user.ID, legID)
	return pr, pc.LocalDescription().SDP, nil
}

// acceptEngineOffer answers the engine's plain SDP offer with the codec
// settled with the browser, and sets the relay's payload types.
func (l *webLeg) acceptEngineOffer(offer []byte) error {
	d, err := media.ParseSDP(offer)
	if err != nil {
		return fmt.Errorf("the engine's offer: %w", err)
	}
	l.mu.Lock()
	codec := l.codec
	l.mu.Unlock()
	sdp, n, err := media.NewSession().Answer(d, localSDPAddr, []media.Codec{codec, media.TelephoneEvent}, media.SendRecv)
	if err != nil {
		return fmt.Errorf("answering the engine with %s: %w", codec, err)
	}
	plan := ptPlan{audio: int16(n.Audio.PT), event: -1}
	if n.HasEvents() {
		plan.event = int16(n.Event.PT)
	}
	l.tr.relay.Store(&plan)
	l.mu.Lock()
	l.engineOffer, l.engineSDP = d, sdp
	l.mu.Unlock()
	return nil
}

// Wait implements switchboard.Outgoing: a dial leg has answered already;
// an incoming call rings the pages until one answers or the agent refuses.
func (l *webLeg) Wait(ctx context.Context, onRinging func(status int)) ([]byte, error) {
	l.mu.Lock()
	incoming := l.ext != ""
	sdp := l.engineSDP
	l.mu.Unlock()
	if !incoming {
		return sdp, nil
	}
	onRinging(180)
	select {
	case <-l.answered:
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.engineSDP, nil
	case <-l.failed:
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.failStatus == 603 {
			return nil, &switchboard.StatusError{Status: 603, Reason: "Declined"}
		}
		return nil, &switchboard.StatusError{Status: l.failStatus, Reason: "The agent's page went away"}
	case <-ctx.Done():
		l.stopRinging()
		return nil, ctx.Err()
	}
}

// Ack implements switchboard.Outgoing.
func (l *webLeg) Ack(context.Context) error { return nil }

// Hangup implements switchboard.Outgoing: the engine ends the browser's
// side; the pages learn it from the call's snapshot.
func (l *webLeg) Hangup(context.Context) error {
	l.end()
	return nil
}

// Reinvite implements switchboard.Outgoing: a browser leg takes any
// direction the engine offers; the media relay does the rest.
func (l *webLeg) Reinvite(_ context.Context, offer []byte) ([]byte, error) {
	d, err := media.ParseSDP(offer)
	if err != nil {
		return nil, &switchboard.StatusError{Status: 488, Reason: "Not Acceptable Here"}
	}
	l.mu.Lock()
	codec := l.codec
	l.mu.Unlock()
	sdp, _, err := media.NewSession().Answer(d, localSDPAddr, []media.Codec{codec, media.TelephoneEvent}, d.Direction.Reverse())
	if err != nil {
		return nil, &switchboard.StatusError{Status: 488, Reason: "Not Acceptable Here"}
	}
	return sdp, nil
}

// Refer implements switchboard.Outgoing: a page is never the party
// transferred, phoned calls the target itself.
func (l *webLeg) Refer(context.Context, switchboard.ReferTarget) error {
	return &switchboard.StatusError{Status: 501, Reason: "Not Implemented"}
}

// SendInfoDTMF implements switchboard.Outgoing: the digit is shown on the
// agent's pages.
func (l *webLeg) SendInfoDTMF(_ context.Context, digit rune, _ time.Duration) error {
	l.mu.Lock()
	call := l.callID
	l.mu.Unlock()
	l.p.broadcast(func(c *conn) bool { return c.user.ID == l.user }, idMsg{Type: "dtmf", Call: call, Digit: string(digit)})
	return nil
}

// Gone implements switchboard.Outgoing.
func (l *webLeg) Gone() <-chan struct{} { return l.gone }

// Transport implements switchboard.MediaTransport.
func (l *webLeg) Transport() media.Transport { return l.tr }

// attached reports whether a page holds the leg now.
func (l *webLeg) attached() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.peer != nil && l.state == legLive
}

// answer: the page on c takes the ringing call.
func (l *webLeg) answer(c *conn, legID, offer string) (*peer, string, error) {
	l.mu.Lock()
	if l.state != legRinging {
		l.mu.Unlock()
		return nil, "", errors.New("the call is no longer ringing")
	}
	codec := l.engineOffer.Audio().Codec
	offerSDP := l.offerSDP
	l.mu.Unlock()
	pr, answer, err := l.connect(c, legID, offer, []media.Codec{codec})
	if err != nil {
		return nil, "", err
	}
	if err := l.acceptEngineOffer(offerSDP); err != nil {
		l.end()
		return nil, "", err
	}
	l.mu.Lock()
	if l.state != legRinging {
		l.mu.Unlock()
		l.end()
		return nil, "", errors.New("the call is no longer ringing")
	}
	l.state = legLive
	others, call := l.ringing, l.callID
	l.ringing = nil
	l.mu.Unlock()
	close(l.answered)
	for _, o := range others {
		if o != c {
			o.send(idMsg{Type: "taken", Call: call})
		}
	}
	return pr, answer, nil
}

// refuse ends a ringing call for the agent: 603 (Reject), or 480 (no page
// left).
func (l *webLeg) refuse(status int) bool {
	l.mu.Lock()
	if l.state != legRinging {
		l.mu.Unlock()
		return false
	}
	l.state = legEnded
	l.failStatus = status
	l.mu.Unlock()
	close(l.failed)
	l.stopRinging()
	l.p.forget(l)
	return true
}

// stopRinging tells the pages a ringing call stopped ringing for them
// (answered elsewhere, or gone), and drops the leg if nobody answered.
func (l *webLeg) stopRinging() {
	l.mu.Lock()
	pages, call := l.ringing, l.callID
	l.ringing = nil
	ringing := l.state == legRinging
	if ringing {
		l.state = legEnded
	}
	l.mu.Unlock()
	for _, c := range pages {
		c.send(idMsg{Type: "taken", Call: call})
	}
	if ringing {
		l.p.forget(l)
	}
}

// lost: the page holding the leg went away (its connection dropped, or
// its media failed). The call waits for a reattach, up to the grace.
func (l *webLeg) lost(pr *peer, why string) {
	l.mu.Lock()
	if l.state != legLive || l.peer != pr || pr == nil {
		l.mu.Unlock()
		return
	}
	l.peer = nil
	call := l.callID
	l.grace = time.AfterFunc(l.p.cfg.Grace, func() { l.graceOver(pr) })
	l.mu.Unlock()
	l.tr.setPath(nil)
	l.p.closePC(pr.pc)
	l.p.log.Info("webphone: the page left a live call; waiting for it to come back", "call", call, "why", why, "grace", l.p.cfg.Grace)
	if eng := l.p.engine(); eng != nil && call != "" {
		if s, ok := eng.LiveCall(call); ok {
			l.p.Watch(s)
		}
	}
}

func (l *webLeg) graceOver(pr *peer) {
	l.mu.Lock()
	stale := l.state != legLive || l.peer != nil
	call := l.callID
	l.mu.Unlock()
	if stale {
		return
	}
	l.p.log.Info("webphone: no page came back to the call; hanging up", "call", call)
	l.goneOnce.Do(func() { close(l.gone) })
}

// end closes the leg for good.
func (l *webLeg) end() {
	l.mu.Lock()
	if l.state == legEnded && l.peer == nil {
		l.mu.Unlock()
		return
	}
	l.state = legEnded
	pr := l.peer
	l.peer = nil
	if l.grace != nil {
		l.grace.Stop()
		l.grace = nil
	}
	l.mu.Unlock()
	l.goneOnce.Do(func() { close(l.gone) })
	l.p.forget(l)
	if pr != nil {
		l.p.closePC(pr.pc)
	}
}

// sendICE trickles one of phoned's candidates (nil: the end) to the page,
// or keeps it until the page has phoned's answer.
func (pr *peer) sendICE(cand any) {
	pr.mu.Lock()
	if !pr.ready {
		pr.queued = append(pr.queued, cand)
		pr.mu.Unlock()
		return
	}
	owner := pr.owner
	pr.mu.Unlock()
	if owner != nil {
		owner.send(iceMsg{Type: "ice", Leg: pr.id, Candidate: cand})
	}
}

// sent: the page has phoned's answer; the candidates found meanwhile go.
func (pr *peer) sent() {
	pr.mu.Lock()
	pr.ready = true
	q := pr.queued
	pr.queued = nil
	owner := pr.owner
	pr.mu.Unlock()
	for _, cand := range q {
		if owner != nil {
			owner.send(iceMsg{Type: "ice", Leg: pr.id, Candidate: cand})
		}
	}
}

// addICE applies a page's trickled candidate.
func (pr *peer) addICE(raw json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var c webrtc.ICECandidateInit
	if err := json.Unmarshal(raw, &c); err != nil {
		return badMessage("ice: candidate is not {candidate, sdpMid, sdpMLineIndex}: %v", err)
	}
	if c.Candidate == "" {
		return nil // the end of the page's candidates
	}
	if err := pr.pc.AddICECandidate(c); err != nil {
		return badMessage("ice: %v", err)
	}
	return nil
}
