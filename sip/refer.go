package sip

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	gosip "github.com/emiago/sipgo/sip"

	"phoned/switchboard"
)

// sipfragStatus reads the status line of a message/sipfrag NOTIFY body
// (RFC 3515): "SIP/2.0 200 OK".
var sipfragStatus = regexp.MustCompile(`^SIP/2\.0 ([1-6][0-9][0-9])\b`)

// referURI is where a transfer sends the remote party: an extension at
// phoned's own address, a number at the PBX.
func (c *Calls) referURI(to switchboard.ReferTarget) (gosip.Uri, error) {
	if to.Number != "" {
		if err := CheckDialString(to.Number); err != nil {
			return gosip.Uri{}, fmt.Errorf("transfer to %q: %w", to.Number, err)
		}
		pbx, ok := c.pbxRoute()
		if !ok {
			return gosip.Uri{}, fmt.Errorf("transfer to %s: %w", to.Number, switchboard.ErrNoRoute)
		}
		return gosip.Uri{Scheme: "sip", User: to.Number, Host: pbx.uri.Host, Port: pbx.uri.Port}, nil
	}
	if err := CheckDialString(to.Extension); err != nil {
		return gosip.Uri{}, fmt.Errorf("transfer to %q: %w", to.Extension, err)
	}
	c.mu.Lock()
	addr := c.srv.Addr()
	c.mu.Unlock()
	return gosip.Uri{Scheme: "sip", User: to.Extension, Host: addr.Addr().String(), Port: int(addr.Port())}, nil
}

// refer sends a REFER within the dialog id (RFC 3515) and follows its
// NOTIFYs until the final status of the transfer: nil for a 2xx, a
// *switchboard.StatusError for a refused REFER or a failed transfer. A
// 202 alone is no success.
func (c *Calls) refer(ctx context.Context, d dialogRequester, id string, target gosip.Uri, dest string, to switchboard.ReferTarget) error {
	var referTo string
	if to.Replaces != nil {
		u, err := withReplaces(*to.Replaces)
		if err != nil {
			return err
		}
		referTo = u
	} else {
		u, err := c.referURI(to)
		if err != nil {
			return err
		}
		referTo = u.String()
	}
	progress := make(chan int, 8)
	c.notifies.Store(id, progress)
	defer c.notifies.Delete(id)
	req := gosip.NewRequest(gosip.REFER, target)
	req.AppendHeader(gosip.NewHeader("Refer-To", "<"+referTo+">"))
	if dest != "" {
		req.SetDestination(dest)
	}
	res, err := d.Do(ctx, req)
	if err != nil {
		return fmt.Errorf("REFER: %w", err)
	}
	if !res.IsSuccess() {
		return &switchboard.StatusError{Status: res.StatusCode, Reason: res.Reason}
	}
	for {
		select {
		case st := <-progress:
			switch {
			case st < 200:
				continue
			case st < 300:
				return nil
			}
			return &switchboard.StatusError{Status: st, Reason: "transfer failed"}
		case <-ctx.Done():
			return fmt.Errorf("waiting for the transfer's NOTIFY: %w", ctx.Err())
		}
	}
}

// handleNotify takes a NOTIFY of a transfer phoned asked for (Event:
// refer): 200, and its sipfrag status to the waiting refer. It reports
// false when no transfer of this dialog awaits news.
func (c *Calls) handleNotify(req *gosip.Request, tx gosip.ServerTransaction, id string) bool {
	v, ok := c.notifies.Load(id)
	if !ok {
		return false
	}
	_ = tx.Respond(gosip.NewResponseFromRequest(req, 200, "OK", nil))
	ev := req.GetHeader("Event")
	if ev == nil || !strings.EqualFold(strings.TrimSpace(strings.SplitN(ev.Value(), ";", 2)[0]), "refer") {
		return true
	}
	m := sipfragStatus.FindSubmatch(req.Body())
	if m == nil {
		return true
	}
	st, _ := strconv.Atoi(string(m[1]))
	select {
	case v.(chan int) <- st:
	default: // a flood of NOTIFYs: the final one matters, and is not dropped while refer reads
	}
	return true
}

// Refer asks the caller to call the target instead (blind transfer).
func (l *incoming) Refer(ctx context.Context, to switchboard.ReferTarget) error {
	req := l.ds.InviteRequest
	target := req.Recipient
	if ct := req.Contact(); ct != nil {
		target = ct.Address
	}
	return l.calls.refer(ctx, l.ds, l.ds.ID, target, "", to)
}

// Refer asks the callee to call the target instead (blind transfer).
func (o *outgoing) Refer(ctx context.Context, to switchboard.ReferTarget) error {
	return o.calls.refer(ctx, o.dcs, o.dcs.ID, o.remoteTarget(), o.dest, to)
}

// Replaces implements switchboard.Replaceable: the dialog with the party
// phoned called, for an attended transfer's REFER with Replaces.
func (o *outgoing) Replaces() (switchboard.Replaces, bool) {
	req, res := o.dcs.InviteRequest, o.dcs.InviteResponse
	if req == nil || res == nil || !res.IsSuccess() {
		return switchboard.Replaces{}, false
	}
	cid, from, to := req.CallID(), req.From(), res.To()
	if cid == nil || from == nil || to == nil {
		return switchboard.Replaces{}, false
	}
	local, _ := from.Params.Get("tag")
	remote, _ := to.Params.Get("tag")
	if local == "" || remote == "" {
		return switchboard.Replaces{}, false
	}
	target := o.remoteTarget()
	return switchboard.Replaces{URI: target.String(), CallID: string(*cid), LocalTag: local, RemoteTag: remote}, true
}

// withReplaces is the Refer-To URI of an attended transfer: the target
// dialog's URI with a Replaces header (RFC 3891) naming it from the
// target's side (its tag is the to-tag), escaped as a URI header.
func withReplaces(r switchboard.Replaces) (string, error) {
	var u gosip.Uri
	if err := gosip.ParseUri(r.URI, &u); err != nil {
		return "", fmt.Errorf("the consulted party's URI %q: %w", r.URI, err)
	}
	for _, v := range []string{r.CallID, r.LocalTag, r.RemoteTag} {
		if err := CheckDisplayName(v); err != nil || strings.ContainsAny(v, "<> ") {
			return "", fmt.Errorf("the consult dialog's id %q cannot go into a Refer-To", v)
		}
	}
	u.Headers = nil
	value := r.CallID + ";to-tag=" + r.RemoteTag + ";from-tag=" + r.LocalTag
	return u.String() + "?Replaces=" + url.QueryEscape(value), nil
}
