package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"phoned/auth"
	"phoned/comm"
	"phoned/sip"
	"phoned/store"
	"phoned/switchboard"
)

// dialRequest is the body of POST /api/dial.
type dialRequest struct {
	CallID *int64 `json:"call_id"` // a planned call: its partner's number, linked to the event
	Number string `json:"number"`  // an extension or a number (overrides the planned call's)
	Device string `json:"device"`  // "phone" (the default): the agent's registered SIP phone rings first
}

// maxDialText bounds the number as typed ("+32 (0)2 212 34 56").
const maxDialText = 64

// dial answers POST /api/dial: click-to-dial for the requesting user, who
// needs an extension with a registered phone. The phone rings first; once
// it is answered phoned calls the number (or extension) and bridges. 201
// with the live call.
func (s *Server) dial(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	cc, err := s.callControl()
	if err != nil {
		return err
	}
	var req dialRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	switch req.Device {
	case "", "phone":
	default:
		return badRequest("device", `device %q is not "phone" (the agent's registered SIP phone; the browser phone comes later)`, req.Device)
	}
	out, err := s.OutboundFor(r.Context(), p, DialTarget{CallID: req.CallID, Number: req.Number})
	if err != nil {
		return err
	}
	snap, err := cc.Outbound(r.Context(), out)
	if err != nil {
		return dialError(err)
	}
	w.Header().Set("Location", "/api/live-calls/"+snap.ID)
	writeJSON(w, http.StatusCreated, snap)
	return nil
}

// dialError turns the engine's refusals into client errors with words.
func dialError(err error) error {
	switch {
	case errors.Is(err, switchboard.ErrBadNumber), errors.Is(err, switchboard.ErrNotAllowed):
		return &Error{Status: http.StatusBadRequest, Field: "number", Message: err.Error(), Err: err}
	case errors.Is(err, switchboard.ErrNoDevice), errors.Is(err, switchboard.ErrNoRoute):
		return &Error{Status: http.StatusConflict, Message: err.Error(), Err: err}
	case errors.Is(err, switchboard.ErrNoExtension):
		return &Error{Status: http.StatusForbidden, Message: err.Error(), Err: err}
	case errors.Is(err, switchboard.ErrDraining):
		return &Error{Status: http.StatusServiceUnavailable, Message: "phoned is stopping: it takes no new calls", Err: err}
	}
	return err
}

// DialTarget is whom a user asks to call: a planned call (its partner's
// number, unless Number overrides it), a partner (its first number), or a
// number or extension typed.
type DialTarget struct {
	CallID    *int64
	PartnerID *int64
	Number    string
}

// OutboundFor checks a user's click-to-dial request and turns it into the
// engine's request: the user needs an extension; a planned call must be
// theirs (supervisors may dial any) and not cancelled; the number is one
// line of text without quotes (no header injection). Its refusals are
// *Error with words for the user. The browser phone's signalling uses it
// too.
func (s *Server) OutboundFor(ctx context.Context, p auth.Principal, t DialTarget) (switchboard.OutboundRequest, error) {
	if p.User == nil {
		return switchboard.OutboundRequest{}, &Error{Status: http.StatusForbidden, Message: "this API token acts for no user: only a user with an extension can dial"}
	}
	if p.User.Extension == "" {
		return switchboard.OutboundRequest{}, &Error{Status: http.StatusForbidden, Message: switchboard.ErrNoExtension.Error()}
	}
	// No header injection: the number is one line of text without quotes
	// (the dial plan then reduces it to "+" and digits).
	number := strings.TrimSpace(t.Number)
	if len(number) > maxDialText {
		return switchboard.OutboundRequest{}, badRequest("number", "number is longer than %d bytes", maxDialText)
	}
	if err := sip.CheckDisplayName(number); err != nil {
		return switchboard.OutboundRequest{}, badRequest("number", "number %q is refused: it has control characters or quotes", number)
	}
	u := p.User
	out := switchboard.OutboundRequest{
		Agent:  switchboard.Agent{UserID: u.ID, Login: u.Login, Name: u.Name, Extension: u.Extension},
		Target: number,
	}
	if t.CallID != nil {
		c, err := s.st.Call(ctx, *t.CallID)
		if errors.Is(err, store.ErrNotFound) {
			return switchboard.OutboundRequest{}, badRequest("call_id", "unknown planned call %d", *t.CallID)
		}
		if err != nil {
			return switchboard.OutboundRequest{}, err
		}
		if !p.Role.AtLeast(auth.RoleSupervisor) && c.UserID != p.UserID() {
			return switchboard.OutboundRequest{}, &Error{Status: http.StatusForbidden, Field: "call_id", Message: fmt.Sprintf("planned call %d is not yours", c.ID)}
		}
		if c.State == comm.CallCancelled {
			return switchboard.OutboundRequest{}, &Error{Status: http.StatusConflict, Field: "call_id", Message: fmt.Sprintf("planned call %d was cancelled", c.ID)}
		}
		if out.Target == "" {
			if c.Phone == "" {
				return switchboard.OutboundRequest{}, &Error{Status: http.StatusConflict, Field: "call_id", Message: fmt.Sprintf("planned call %d has no phone number: give one in number", c.ID)}
			}
			out.Target = c.Phone
		}
		out.PartnerID, out.ActivityID = c.PartnerID, c.ID
		if sip.CheckDisplayName(c.PartnerName) == nil {
			out.FromName = c.PartnerName // shown on the agent's phone
		}
	}
	if t.PartnerID != nil && t.CallID == nil {
		pa, err := s.st.Partner(ctx, *t.PartnerID)
		if errors.Is(err, store.ErrNotFound) {
			return switchboard.OutboundRequest{}, badRequest("partner_id", "unknown partner %d", *t.PartnerID)
		}
		if err != nil {
			return switchboard.OutboundRequest{}, err
		}
		if out.Target == "" {
			if len(pa.Phones) == 0 {
				return switchboard.OutboundRequest{}, &Error{Status: http.StatusConflict, Field: "partner_id", Message: fmt.Sprintf("partner %s has no phone number: give one in number", pa.Name)}
			}
			out.Target = pa.Phones[0].E164
			if out.Target == "" {
				out.Target = pa.Phones[0].Number
			}
		}
		out.PartnerID = pa.ID
		if sip.CheckDisplayName(pa.Name) == nil {
			out.FromName = pa.Name
		}
	}
	if out.Target == "" {
		return switchboard.OutboundRequest{}, badRequest("number", "number, partner_id or call_id is required")
	}
	return out, nil
}
