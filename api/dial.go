package api

import (
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
	if p.User == nil {
		return &Error{Status: http.StatusForbidden, Message: "this API token acts for no user: only a user with an extension can dial"}
	}
	if p.User.Extension == "" {
		return &Error{Status: http.StatusForbidden, Message: switchboard.ErrNoExtension.Error()}
	}
	// No header injection: the number is one line of text without quotes
	// (the dial plan then reduces it to "+" and digits).
	number := strings.TrimSpace(req.Number)
	if len(number) > maxDialText {
		return badRequest("number", "number is longer than %d bytes", maxDialText)
	}
	if err := sip.CheckDisplayName(number); err != nil {
		return badRequest("number", "number %q is refused: it has control characters or quotes", number)
	}
	u := p.User
	out := switchboard.OutboundRequest{
		Agent:  switchboard.Agent{UserID: u.ID, Login: u.Login, Name: u.Name, Extension: u.Extension},
		Target: number,
	}
	if req.CallID != nil {
		c, err := s.st.Call(r.Context(), *req.CallID)
		if errors.Is(err, store.ErrNotFound) {
			return badRequest("call_id", "unknown planned call %d", *req.CallID)
		}
		if err != nil {
			return err
		}
		if !p.Role.AtLeast(auth.RoleSupervisor) && c.UserID != p.UserID() {
			return &Error{Status: http.StatusForbidden, Field: "call_id", Message: fmt.Sprintf("planned call %d is not yours", c.ID)}
		}
		if c.State == comm.CallCancelled {
			return &Error{Status: http.StatusConflict, Field: "call_id", Message: fmt.Sprintf("planned call %d was cancelled", c.ID)}
		}
		if out.Target == "" {
			if c.Phone == "" {
				return &Error{Status: http.StatusConflict, Field: "call_id", Message: fmt.Sprintf("planned call %d has no phone number: give one in number", c.ID)}
			}
			out.Target = c.Phone
		}
		out.PartnerID, out.ActivityID = c.PartnerID, c.ID
		if sip.CheckDisplayName(c.PartnerName) == nil {
			out.FromName = c.PartnerName // shown on the agent's phone
		}
	}
	if out.Target == "" {
		return badRequest("number", "number or call_id is required")
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
