package sip

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"phoned/switchboard"
)

// A REFER from the agent's own phone: its transfer key. phoned placed the
// call to the phone (a client dialog), so the REFER arrives in that
// dialog; phoned transfers the call's remote party blindly to the
// Refer-To target, as the API's transfer does, and tells the phone how
// it went in NOTIFYs (RFC 3515). An attended transfer from the phone
// (Refer-To with Replaces) is not taken: 501.

// deviceTransfers is the engine as a REFER from a phone needs it.
type deviceTransfers interface {
	TransferFromDevice(ctx context.Context, id string, dev switchboard.Outgoing, req switchboard.TransferRequest, onDone func(error)) error
}

// referWait bounds how long the phone's REFER is followed: the target's
// ringing and answer.
const referWait = 100 * time.Second

// referExtension is the form of an extension in a Refer-To.
var referExtension = regexp.MustCompile(`^[0-9]{2,10}$`)

// handleRefer takes a REFER in a dialog phoned placed to a device. It
// reports false when the dialog is not an agent device's.
func (c *Calls) handleRefer(ctx context.Context, req *gosip.Request, tx gosip.ServerTransaction, dcs *sipgo.DialogClientSession) bool {
	v, ok := c.devices.Load(dcs.ID)
	if !ok {
		return false
	}
	o := v.(*outgoing)
	c.mu.Lock()
	eng, ok := c.eng.(deviceTransfers)
	c.mu.Unlock()
	if !ok {
		return false
	}
	respond := func(code int, reason string) { _ = tx.Respond(gosip.NewResponseFromRequest(req, code, reason, nil)) }
	h := req.GetHeader("Refer-To")
	if h == nil {
		respond(400, "Missing Refer-To")
		return true
	}
	var to gosip.Uri
	raw := strings.TrimSpace(h.Value())
	if i := strings.IndexByte(raw, '<'); i >= 0 {
		if j := strings.IndexByte(raw[i:], '>'); j > 0 {
			raw = raw[i+1 : i+j]
		}
	}
	if err := gosip.ParseUri(raw, &to); err != nil || to.User == "" {
		respond(400, "Bad Refer-To")
		return true
	}
	if to.Headers != nil {
		if _, replaces := to.Headers.Get("Replaces"); replaces {
			respond(501, "Attended Transfer From The Phone Not Supported")
			return true
		}
	}
	var tr switchboard.TransferRequest
	if referExtension.MatchString(to.User) {
		tr.Extension = to.User
	} else {
		tr.Number = to.User
	}
	// Accepted at once: the transfer's own refusals and outcome go to the
	// phone in NOTIFYs, in order (100 Trying, then the final status, before
	// phoned's BYE).
	respond(202, "Accepted")
	o.notifyRefer(dcs, 100, "Trying", false)
	c.log.Info("the agent's phone transfers the call", "call", o.call, "to", to.User)
	finished := make(chan struct{})
	err := eng.TransferFromDevice(ctx, o.call, o, tr, func(err error) {
		// On the call's owner goroutine, before the call hangs the phone up.
		if err != nil {
			o.notifyRefer(dcs, 503, "Service Unavailable", true)
		} else {
			o.notifyRefer(dcs, 200, "OK", true)
		}
		close(finished)
	})
	if err != nil {
		status, reason := referRefusal(err)
		c.log.Info("the phone's transfer was refused", "call", o.call, "to", to.User, "err", err)
		o.notifyRefer(dcs, status, reason, true)
		return true
	}
	wait := time.NewTimer(referWait)
	defer wait.Stop()
	select {
	case <-finished:
	case <-dcs.Context().Done():
	case <-wait.C:
	}
	return true
}

// referRefusal is the sipfrag status of a transfer the engine refused.
func referRefusal(err error) (int, string) {
	switch {
	case errors.Is(err, switchboard.ErrNoCall):
		return 481, "Call/Transaction Does Not Exist"
	case errors.Is(err, switchboard.ErrNotAllowed), errors.Is(err, switchboard.ErrNotAgentLeg):
		return 403, "Forbidden"
	case errors.Is(err, switchboard.ErrBadNumber):
		return 404, "Not Found"
	case errors.Is(err, switchboard.ErrNoDevice), errors.Is(err, switchboard.ErrNoRoute):
		return 480, "Temporarily Unavailable"
	case errors.Is(err, switchboard.ErrTransferring), errors.Is(err, switchboard.ErrConsulting), errors.Is(err, switchboard.ErrNotAnswered), errors.Is(err, switchboard.ErrHeld):
		return 491, "Request Pending"
	}
	return 500, "Server Internal Error"
}

// notifyRefer tells the phone the transfer's progress: a NOTIFY with a
// message/sipfrag status line (RFC 3515), final ones ending the implicit
// subscription.
func (o *outgoing) notifyRefer(dcs *sipgo.DialogClientSession, status int, reason string, final bool) {
	req := gosip.NewRequest(gosip.NOTIFY, o.remoteTarget())
	req.AppendHeader(gosip.NewHeader("Event", "refer"))
	state := "active;expires=60"
	if final {
		state = "terminated;reason=noresource"
	}
	req.AppendHeader(gosip.NewHeader("Subscription-State", state))
	req.AppendHeader(gosip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
	req.SetBody([]byte("SIP/2.0 " + strconv.Itoa(status) + " " + reason + "\r\n"))
	if o.dest != "" {
		req.SetDestination(o.dest)
	}
	ctx, cancel := context.WithTimeout(dcs.Context(), 2*time.Second)
	defer cancel()
	if _, err := dcs.Do(ctx, req); err != nil {
		o.calls.log.Debug("NOTIFY of a transfer to the phone", "err", err)
	}
}
