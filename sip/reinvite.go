package sip

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"phoned/switchboard"
)

// dialogRequester is a sipgo dialog session (server or client side) that
// sends requests within its dialog.
type dialogRequester interface {
	Do(ctx context.Context, req *gosip.Request) (*gosip.Response, error)
	WriteRequest(req *gosip.Request) error
}

// reinvite sends a re-INVITE carrying sdp to target within the dialog of
// d, ACKs its 2xx and returns the answer's SDP. A final failure is a
// *switchboard.StatusError (its ACK is the transaction layer's).
func reinvite(ctx context.Context, d dialogRequester, target gosip.Uri, dest string, sdp []byte) ([]byte, error) {
	req := gosip.NewRequest(gosip.INVITE, target)
	req.SetBody(sdp)
	req.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	if dest != "" {
		req.SetDestination(dest)
	}
	res, err := d.Do(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("re-INVITE: %w", err)
	}
	if !res.IsSuccess() {
		return nil, &switchboard.StatusError{Status: res.StatusCode, Reason: res.Reason}
	}
	// The ACK of a 2xx is a request of its own, to the same target, with
	// the re-INVITE's CSeq number (the dialog's last).
	ack := gosip.NewRequest(gosip.ACK, target)
	if dest != "" {
		ack.SetDestination(dest)
	}
	if err := d.WriteRequest(ack); err != nil {
		return nil, fmt.Errorf("ACK of the re-INVITE: %w", err)
	}
	return res.Body(), nil
}

// Reinvite renegotiates an answered incoming call's media: the target is
// the caller's Contact.
func (l *incoming) Reinvite(ctx context.Context, sdp []byte) ([]byte, error) {
	req := l.ds.InviteRequest
	target := req.Recipient
	if ct := req.Contact(); ct != nil {
		target = ct.Address
	}
	return reinvite(ctx, l.ds, target, "", sdp)
}

// Reinvite renegotiates an answered outgoing call's media: the target is
// the callee's Contact (from its 200).
func (o *outgoing) Reinvite(ctx context.Context, sdp []byte) ([]byte, error) {
	return reinvite(ctx, o.dcs, o.remoteTarget(), o.dest, sdp)
}

// remoteTarget is where in-dialog requests go: the callee's Contact.
func (o *outgoing) remoteTarget() gosip.Uri {
	target := o.dcs.InviteRequest.Recipient
	if res := o.dcs.InviteResponse; res != nil {
		if ct := res.Contact(); ct != nil {
			target = ct.Address
		}
	}
	return target
}

// reofferHook holds the engine's handler of a leg's incoming re-INVITEs
// (switchboard.Reoffered).
type reofferHook struct {
	mu    sync.Mutex // guards h and digit
	h     func(ctx context.Context, offer []byte) ([]byte, error)
	digit func(rune) // the engine's taker of SIP INFO digits (switchboard.DigitSource)
}

func (r *reofferHook) onDigit(f func(rune)) {
	r.mu.Lock()
	r.digit = f
	r.mu.Unlock()
}

func (r *reofferHook) digitHandler() func(rune) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.digit
}

func (r *reofferHook) OnReoffer(h func(ctx context.Context, offer []byte) ([]byte, error)) {
	r.mu.Lock()
	r.h = h
	r.mu.Unlock()
}

func (r *reofferHook) handler() func(ctx context.Context, offer []byte) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.h
}

// reofferWait bounds how long the engine may take to answer a re-INVITE:
// the peer retransmits meanwhile.
const reofferWait = 5 * time.Second

// takeReoffer keeps a leg of an answered dialog reachable by its re-INVITEs
// until the dialog ends.
func (c *Calls) takeReoffer(id string, dialog context.Context, hook *reofferHook) {
	if id == "" {
		return
	}
	c.reoffers.Store(id, hook)
	context.AfterFunc(dialog, func() { c.reoffers.Delete(id) })
}

// handleReinvite answers a peer's re-INVITE in one of phoned's dialogs
// with the engine's SDP (the peer holds or resumes phoned). Its ACK is
// absorbed by HandleInDialog. It reports false for a request outside
// phoned's answered dialogs.
func (c *Calls) handleReinvite(ctx context.Context, req *gosip.Request, tx gosip.ServerTransaction, dsrv *sipgo.DialogServerCache, dcli *sipgo.DialogClientCache) bool {
	var id string
	if ds, err := dsrv.MatchDialogRequest(req); err == nil {
		id = ds.ID
	} else if dcs, err := dcli.MatchRequestDialog(req); err == nil {
		id = dcs.ID
	} else {
		return false
	}
	v, ok := c.reoffers.Load(id)
	var h func(context.Context, []byte) ([]byte, error)
	if ok {
		h = v.(*reofferHook).handler()
	}
	if h == nil {
		// A leg whose re-INVITEs the engine does not take (yet): the
		// call goes on unchanged.
		_ = tx.Respond(gosip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, reofferWait)
	defer cancel()
	answer, err := h(ctx, req.Body())
	var se *switchboard.StatusError
	switch {
	case errors.As(err, &se):
		_ = tx.Respond(gosip.NewResponseFromRequest(req, se.Status, se.Reason, nil))
		return true
	case err != nil:
		c.log.Warn("answering a re-INVITE", "err", err)
		_ = tx.Respond(gosip.NewResponseFromRequest(req, 500, "Server Internal Error", nil))
		return true
	}
	res := gosip.NewResponseFromRequest(req, 200, "OK", answer)
	res.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	c.mu.Lock()
	contact := c.contact
	c.mu.Unlock()
	res.AppendHeader(gosip.HeaderClone(&contact))
	if err := tx.Respond(res); err != nil {
		c.log.Info("answering a re-INVITE", "err", err)
	}
	return true
}

// OnReoffer implements switchboard.Reoffered.
func (l *incoming) OnReoffer(h func(ctx context.Context, offer []byte) ([]byte, error)) {
	l.reoffer.OnReoffer(h)
}

// OnDigit implements switchboard.DigitSource.
func (l *incoming) OnDigit(f func(rune)) { l.reoffer.onDigit(f) }

// OnDigit implements switchboard.DigitSource.
func (o *outgoing) OnDigit(f func(rune)) { o.reoffer.onDigit(f) }

// OnReoffer implements switchboard.Reoffered.
func (o *outgoing) OnReoffer(h func(ctx context.Context, offer []byte) ([]byte, error)) {
	o.reoffer.OnReoffer(h)
}

var (
	_ switchboard.Reoffered = (*incoming)(nil)
	_ switchboard.Reoffered = (*outgoing)(nil)
)
