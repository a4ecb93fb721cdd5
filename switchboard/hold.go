package switchboard

import (
	"context"
	"fmt"
	"time"

	"phoned/media"
)

// peer is the signalling of the remote party's leg (an Incoming or an
// Outgoing) as hold and transfer need it.
type peer interface {
	Reinvite(ctx context.Context, sdp []byte) ([]byte, error)
	Refer(ctx context.Context, to ReferTarget) error
}

// remoteParty is an answered party of a call as hold, resume and transfer
// need it: its signalling, its SDP session and the bridge whose leg
// carries its RTP — the remote leg (the caller, or the callee), or for
// agentSide the agent's phone, whose own re-INVITEs are answered too. It
// belongs to the call's owner goroutine.
type remoteParty struct {
	sig       peer
	sess      *media.Session
	media     *bridge
	agentSide bool
	held      bool // phoned holds it (the API's hold)

	peerHeld bool      // it holds phoned (its own re-INVITE)
	transfer *transfer // a transfer under way
	consult  *consult  // a consult call under way (attended transfer)
}

// reinviteWait bounds a re-INVITE: the owner goroutine waits for it, so a
// peer that never answers must not hold the call's other events for long.
const reinviteWait = 10 * time.Second

// setHold re-offers the remote party's media with dir (sendonly to hold,
// sendrecv to resume), and applies its answer to the remote leg.
func (p *remoteParty) setHold(ctx context.Context, hold bool) error {
	dir := media.SendRecv
	if hold {
		dir = media.SendOnly
	}
	leg, conn := p.rtp()
	m := leg.Media()
	codecs := []media.Codec{m.Audio.Codec}
	if m.HasEvents() {
		codecs = append(codecs, media.TelephoneEvent)
	}
	offer, err := p.sess.Offer(conn.LocalAddr(), codecs, dir)
	if err != nil {
		return fmt.Errorf("building the re-offer: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, reinviteWait)
	defer cancel()
	answer, err := p.sig.Reinvite(ctx, offer)
	if err != nil {
		return fmt.Errorf("re-INVITE: %w", err)
	}
	n, err := parseAccept(p.sess, answer)
	if err != nil {
		return fmt.Errorf("the re-INVITE's answer: %w", err)
	}
	if err := leg.Update(n); err != nil {
		return err
	}
	p.held = hold
	p.media.holding(p, p.held || p.peerHeld)
	return nil
}

// rtp is the party's RTP leg and socket.
func (p *remoteParty) rtp() (*media.Leg, *media.RTPConn) {
	if p.agentSide {
		return p.media.agent, p.media.agentConn
	}
	return p.media.remote, p.media.remoteConn
}

// holding records whether party p is on hold (either way), and lifts the
// relay's inactivity timeout while any party is (nobody need send RTP
// then); it is restored once none is.
func (b *bridge) holding(p *remoteParty, on bool) {
	if on {
		if b.held == nil {
			b.held = map[*remoteParty]bool{}
		}
		b.held[p] = true
	} else {
		delete(b.held, p)
	}
	b.applyInactivity()
}

func (b *bridge) applyInactivity() {
	if len(b.held) > 0 {
		b.relay.SetInactivityTimeout(0)
	} else {
		b.relay.SetInactivityTimeout(b.inactivity)
	}
}

// answerReoffer answers the party's own re-INVITE (it holds or resumes
// phoned): the same codec, the direction the offer leaves us (sendonly is
// answered recvonly, inactive inactive; sendonly at most while phoned
// holds it), applied to its RTP leg.
func (p *remoteParty) answerReoffer(offer []byte) ([]byte, error) {
	d, err := media.ParseSDP(offer)
	if err != nil {
		return nil, &StatusError{Status: 488, Reason: "Not Acceptable Here"}
	}
	leg, conn := p.rtp()
	m := leg.Media()
	codecs := []media.Codec{m.Audio.Codec}
	if m.HasEvents() {
		codecs = append(codecs, media.TelephoneEvent)
	}
	dir := media.SendRecv
	if p.held {
		dir = media.SendOnly
	}
	answer, n, err := p.sess.Answer(d, conn.LocalAddr(), codecs, dir)
	if err != nil {
		return nil, &StatusError{Status: 488, Reason: "Not Acceptable Here"}
	}
	if err := leg.Update(n); err != nil {
		return nil, &StatusError{Status: 488, Reason: "Not Acceptable Here"}
	}
	p.peerHeld = d.Direction.OnHold()
	p.media.holding(p, p.held || p.peerHeld)
	return answer, nil
}

// takeDigits routes the DTMF that the remote party's leg receives in its
// signalling to Deps.OnDTMF.
func (e *Engine) takeDigits(c *Call, leg any) {
	ds, ok := leg.(DigitSource)
	if !ok || e.deps.OnDTMF == nil {
		return
	}
	id, f := c.id, e.deps.OnDTMF
	ds.OnDigit(func(d rune) { f(id, d) })
}

// takeReoffers routes the re-INVITEs of the party's leg (when it can
// report them) to the call's owner goroutine.
func (e *Engine) takeReoffers(c *Call, leg any, p *remoteParty) {
	r, ok := leg.(Reoffered)
	if !ok {
		return
	}
	gone := &StatusError{Status: 481, Reason: "Call/Transaction Does Not Exist"}
	r.OnReoffer(func(ctx context.Context, offer []byte) ([]byte, error) {
		type result struct {
			sdp []byte
			err error
		}
		res := make(chan result, 1)
		if !c.Do(func() {
			b, err := p.answerReoffer(offer)
			res <- result{b, err}
		}) {
			return nil, gone
		}
		r, ok, err := await(ctx, c, res)
		switch {
		case err != nil:
			return nil, err
		case !ok:
			return nil, gone
		}
		return r.sdp, r.err
	})
}

// Hold puts the remote party of an answered call on hold: a re-INVITE
// with a=sendonly, whose answer applies to its RTP leg; the relay's
// inactivity timeout is lifted until Resume. Errors: ErrNoCall,
// ErrNotAnswered, ErrHeld, and the re-INVITE's failure (a *StatusError
// when the peer refused it).
func (e *Engine) Hold(ctx context.Context, id string) error { return e.setHold(ctx, id, true) }

// Resume takes the call off hold (a re-INVITE with a=sendrecv). Errors:
// ErrNoCall, ErrNotAnswered, ErrNotHeld, and the re-INVITE's failure.
func (e *Engine) Resume(ctx context.Context, id string) error { return e.setHold(ctx, id, false) }

func (e *Engine) setHold(ctx context.Context, id string, hold bool) error {
	c, ok := e.Call(id)
	if !ok {
		return ErrNoCall
	}
	res := make(chan error, 1)
	ok = c.Do(func() {
		p := c.ctl.remote()
		switch {
		case p == nil:
			res <- ErrNotAnswered
		case p.transfer != nil:
			res <- ErrTransferring
		case p.consult != nil:
			res <- ErrConsulting
		case hold && p.held:
			res <- ErrHeld
		case !hold && !p.held:
			res <- ErrNotHeld
		default:
			err := p.setHold(c.Context(), hold)
			if err == nil {
				c.update(func(s *Snapshot) {
					s.State = StateAnswered
					if hold {
						s.State = StateHeld
					}
				})
			}
			res <- err
		}
	})
	if !ok {
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
