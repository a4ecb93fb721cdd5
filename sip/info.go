package sip

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"phoned/switchboard"
)

// DTMF in the signalling (SIP INFO), for peers whose media has no
// telephone-event. application/dtmf-relay is what Cisco, Asterisk and
// most phones send and take:
//
//	Signal=5
//	Duration=160
//
// application/dtmf carries the bare digit.
const (
	contentDTMFRelay = "application/dtmf-relay"
	contentDTMF      = "application/dtmf"
)

// newInfoDTMF builds the INFO carrying digit (its dialog headers are the
// session's Do's to add).
func newInfoDTMF(target gosip.Uri, dest string, digit rune, d time.Duration) (*gosip.Request, error) {
	if !isDTMFDigit(digit) {
		return nil, fmt.Errorf("SIP INFO DTMF: %q is not a DTMF digit", digit)
	}
	ms := d.Milliseconds()
	if ms <= 0 {
		ms = 160
	}
	req := gosip.NewRequest(gosip.INFO, target)
	req.SetBody(fmt.Appendf(nil, "Signal=%c\r\nDuration=%d\r\n", digit, ms))
	req.AppendHeader(gosip.NewHeader("Content-Type", contentDTMFRelay))
	if dest != "" {
		req.SetDestination(dest)
	}
	return req, nil
}

// sendInfoDTMF sends one digit as INFO within the dialog of ds and waits
// for its final answer; a refusal is a *switchboard.StatusError.
func sendInfoDTMF(ctx context.Context, ds dialogRequester, target gosip.Uri, dest string, digit rune, d time.Duration) error {
	req, err := newInfoDTMF(target, dest, digit, d)
	if err != nil {
		return err
	}
	res, err := ds.Do(ctx, req)
	if err != nil {
		return fmt.Errorf("SIP INFO DTMF: %w", err)
	}
	if !res.IsSuccess() {
		return &switchboard.StatusError{Status: res.StatusCode, Reason: res.Reason}
	}
	return nil
}

// SendInfoDTMF implements switchboard.DTMFSender: the INFO goes to the
// caller's Contact.
func (l *incoming) SendInfoDTMF(ctx context.Context, digit rune, d time.Duration) error {
	req := l.ds.InviteRequest
	target := req.Recipient
	if ct := req.Contact(); ct != nil {
		target = ct.Address
	}
	return sendInfoDTMF(ctx, l.ds, target, "", digit, d)
}

// SendInfoDTMF implements switchboard.DTMFSender: the INFO goes to the
// callee's Contact.
func (o *outgoing) SendInfoDTMF(ctx context.Context, digit rune, d time.Duration) error {
	return sendInfoDTMF(ctx, o.dcs, o.remoteTarget(), o.dest, digit, d)
}

func isDTMFDigit(r rune) bool {
	return r >= '0' && r <= '9' || r == '*' || r == '#' || r >= 'A' && r <= 'D'
}

var (
	// errInfoContentType is an INFO whose body is no DTMF phoned knows.
	errInfoContentType = errors.New("unsupported INFO content type")
	// errInfoBody is a DTMF INFO without a valid digit.
	errInfoBody = errors.New("no valid DTMF digit in the INFO body")
)

// parseInfoDTMF reads the digit of a DTMF INFO: application/dtmf-relay
// ("Signal=5", also 10 and 11 for * and #) or application/dtmf (the bare
// digit). Other content types are errInfoContentType, a bad body
// errInfoBody.
func parseInfoDTMF(contentType string, body []byte) (rune, error) {
	ct := strings.ToLower(strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0]))
	var sig string
	switch ct {
	case contentDTMFRelay:
		for line := range strings.Lines(string(body)) {
			k, v, ok := strings.Cut(line, "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "signal") {
				sig = strings.TrimSpace(v)
				break
			}
		}
	case contentDTMF:
		sig = strings.TrimSpace(string(body))
	default:
		return 0, fmt.Errorf("%w: %q", errInfoContentType, contentType)
	}
	switch sig {
	case "10":
		return '*', nil
	case "11":
		return '#', nil
	}
	if len(sig) == 1 {
		r := rune(strings.ToUpper(sig)[0])
		if isDTMFDigit(r) {
			return r, nil
		}
	}
	return 0, fmt.Errorf("%w: %q", errInfoBody, sig)
}

// handleInfo answers an INFO in the dialog id: a DTMF digit gets 200 and
// is reported; any other content 415, a bad digit 400.
func (c *Calls) handleInfo(req *gosip.Request, tx gosip.ServerTransaction, id string) {
	var ct string
	if h := req.ContentType(); h != nil {
		ct = h.Value()
	}
	digit, err := parseInfoDTMF(ct, req.Body())
	switch {
	case errors.Is(err, errInfoContentType):
		res := gosip.NewResponseFromRequest(req, 415, "Unsupported Media Type", nil)
		res.AppendHeader(gosip.NewHeader("Accept", contentDTMFRelay+", "+contentDTMF))
		_ = tx.Respond(res)
		return
	case err != nil:
		_ = tx.Respond(gosip.NewResponseFromRequest(req, 400, "Bad Request", nil))
		return
	}
	// The digit goes on before the 200: a peer sends its next INFO only
	// once this one is answered (RFC 6086), so the digits keep their order
	// although sipgo hands each request to a goroutine of its own.
	if v, ok := c.reoffers.Load(id); ok {
		if f := v.(*reofferHook).digitHandler(); f != nil {
			f(digit)
		}
	}
	c.log.Debug("DTMF received by SIP INFO", "dialog", id, "digit", string(digit))
	_ = tx.Respond(gosip.NewResponseFromRequest(req, 200, "OK", nil))
}
