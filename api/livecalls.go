package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"phoned/auth"
	"phoned/switchboard"
)

// CallControl is the call engine as the API drives it; the
// switchboard.Engine implements it. main hands it over with SetCalls.
type CallControl interface {
	// Outbound places a click-to-dial call for an agent.
	Outbound(ctx context.Context, req switchboard.OutboundRequest) (switchboard.Snapshot, error)
	// Calls lists the live calls.
	Calls() []switchboard.Snapshot
	// LiveCall returns one live call.
	LiveCall(id string) (switchboard.Snapshot, bool)
	// Hangup ends a live call at the agent's request.
	Hangup(ctx context.Context, id string) error
	// SendDTMF sends DTMF digits (RFC 4733, else SIP INFO) to the remote party of a live call.
	SendDTMF(ctx context.Context, id, digits string) error
	// Hold puts the remote party of an answered call on hold.
	Hold(ctx context.Context, id string) error
	// Resume takes it off hold.
	Resume(ctx context.Context, id string) error
	// Transfer sends the remote party of a live call to an extension or
	// a number (blind transfer, or forward).
	Transfer(ctx context.Context, id string, req switchboard.TransferRequest) error
	// Consult holds the remote party and calls an extension or a number
	// for the agent (the first half of an attended transfer).
	Consult(ctx context.Context, id string, req switchboard.TransferRequest) error
	// CompleteConsult transfers the remote party to the consulted party.
	CompleteConsult(ctx context.Context, id string) error
	// CancelConsult hangs up the consult call and resumes the remote party.
	CancelConsult(ctx context.Context, id string) error
}

// SetCalls gives the server the call engine behind /api/dial and
// /api/live-calls; until then those routes answer 503.
func (s *Server) SetCalls(c CallControl) {
	s.callsMu.Lock()
	s.calls = c
	s.callsMu.Unlock()
}

// callControl returns the call engine, or the 503 of a server without one.
func (s *Server) callControl() (CallControl, error) {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	if s.calls == nil {
		return nil, &Error{Status: http.StatusServiceUnavailable, Message: "calls are not available: phoned runs without its call engine"}
	}
	return s.calls, nil
}

// hangupWait bounds how long POST .../hangup waits for the call to end:
// the BYEs of a peer that does not answer must not hold the request.
const hangupWait = 5 * time.Second

// listLiveCalls answers GET /api/live-calls: an agent's own calls, every
// call for supervisors and admins, oldest first.
func (s *Server) listLiveCalls(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	cc, err := s.callControl()
	if err != nil {
		return err
	}
	all := cc.Calls()
	out := make([]switchboard.Snapshot, 0, len(all))
	for _, c := range all {
		if p.Role.AtLeast(auth.RoleSupervisor) || (p.User != nil && c.UserID == p.UserID()) {
			out = append(out, c)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// ownLiveCall returns the live call of the path's {id} that the principal
// may act on: agents their own only (others' are not found).
func (s *Server) ownLiveCall(r *http.Request, p auth.Principal) (CallControl, switchboard.Snapshot, error) {
	cc, err := s.callControl()
	if err != nil {
		return nil, switchboard.Snapshot{}, err
	}
	snap, ok := cc.LiveCall(r.PathValue("id"))
	if !ok || (!p.Role.AtLeast(auth.RoleSupervisor) && (p.User == nil || snap.UserID != p.UserID())) {
		return nil, switchboard.Snapshot{}, notFound("live call")
	}
	return cc, snap, nil
}

// hangupLiveCall answers POST /api/live-calls/{id}/hangup with 204 once
// the call has ended (or its hang-up is under way after hangupWait).
func (s *Server) hangupLiveCall(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	cc, snap, err := s.ownLiveCall(r, p)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), hangupWait)
	defer cancel()
	switch err := cc.Hangup(ctx, snap.ID); {
	case errors.Is(err, switchboard.ErrNoCall):
		return notFound("live call")
	case err != nil && ctx.Err() == nil:
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// dtmfLiveCall answers POST /api/live-calls/{id}/dtmf {"digits": "12#"}:
// RFC 4733 events to the other party (SIP INFO when its phone takes
// none), 204 once sent.
func (s *Server) dtmfLiveCall(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	cc, snap, err := s.ownLiveCall(r, p)
	if err != nil {
		return err
	}
	var req struct {
		Digits *string `json:"digits"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Digits == nil {
		return badRequest("digits", "digits is required (0-9, *, # and A-D, at most 32)")
	}
	if err := switchboard.CheckDTMF(*req.Digits); err != nil {
		return badRequest("digits", "%v", err)
	}
	switch err := cc.SendDTMF(r.Context(), snap.ID, *req.Digits); {
	case errors.Is(err, switchboard.ErrNoCall):
		return notFound("live call")
	case errors.Is(err, switchboard.ErrNotAnswered), errors.Is(err, switchboard.ErrNoDTMF):
		return &Error{Status: http.StatusConflict, Message: err.Error(), Err: err}
	case err != nil:
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// holdLiveCall answers POST /api/live-calls/{id}/hold: 204 once the
// remote party accepted the re-INVITE (sendonly); 409 when the call is
// not answered or already held.
func (s *Server) holdLiveCall(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return s.setHold(w, r, p, true)
}

// resumeLiveCall answers POST /api/live-calls/{id}/resume: 204 once the
// remote party accepted the re-INVITE (sendrecv); 409 when the call is
// not held.
func (s *Server) resumeLiveCall(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return s.setHold(w, r, p, false)
}

func (s *Server) setHold(w http.ResponseWriter, r *http.Request, p auth.Principal, hold bool) error {
	cc, snap, err := s.ownLiveCall(r, p)
	if err != nil {
		return err
	}
	act := cc.Resume
	if hold {
		act = cc.Hold
	}
	var se *switchboard.StatusError
	switch err := act(r.Context(), snap.ID); {
	case errors.Is(err, switchboard.ErrNoCall):
		return notFound("live call")
	case errors.Is(err, switchboard.ErrNotAnswered), errors.Is(err, switchboard.ErrHeld), errors.Is(err, switchboard.ErrNotHeld):
		return &Error{Status: http.StatusConflict, Message: err.Error(), Err: err}
	case errors.As(err, &se):
		// The other party refused the re-INVITE: the call goes on as it was.
		return &Error{Status: http.StatusBadGateway, Message: "the other party refused the re-INVITE: " + se.Error(), Err: err}
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Status: http.StatusGatewayTimeout, Message: "the other party did not answer the re-INVITE", Err: err}
	case err != nil:
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// transferLiveCall answers POST /api/live-calls/{id}/transfer with
// {"extension": "102"} (a blind transfer to another agent) or
// {"number": "+3222..."} (a forward, under the dial plan): 202 once the
// transfer is under way (the live call's state is transferring; the
// event ends transferred or forwarded). A transfer that fails leaves the
// call as it was.
func (s *Server) transferLiveCall(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return s.targetAction(w, r, p, CallControl.Transfer)
}

// targetAction runs act, an action of a live call towards an extension
// or a number (transfer, consult), for POST .../{id}/<action>: 202 once
// it is under way.
func (s *Server) targetAction(w http.ResponseWriter, r *http.Request, p auth.Principal,
	act func(CallControl, context.Context, string, switchboard.TransferRequest) error) error {
	cc, snap, err := s.ownLiveCall(r, p)
	if err != nil {
		return err
	}
	tr, field, err := transferBody(w, r)
	if err != nil {
		return err
	}
	if err := callActionError(act(cc, r.Context(), snap.ID, tr), field); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// callAction runs act, an action of a live call without a body
// (completing or cancelling a consult), answering status when done.
func (s *Server) callAction(w http.ResponseWriter, r *http.Request, p auth.Principal,
	act func(CallControl, context.Context, string) error, status int) error {
	cc, snap, err := s.ownLiveCall(r, p)
	if err != nil {
		return err
	}
	if err := callActionError(act(cc, r.Context(), snap.ID), ""); err != nil {
		return err
	}
	w.WriteHeader(status)
	return nil
}

// transferBody reads {"extension": "102"} or {"number": "+3222..."}; field
// is the one given, for errors.
func transferBody(w http.ResponseWriter, r *http.Request) (switchboard.TransferRequest, string, error) {
	var req struct {
		Extension *string `json:"extension"`
		Number    *string `json:"number"`
	}
	var tr switchboard.TransferRequest
	if err := decode(w, r, &req); err != nil {
		return tr, "", err
	}
	switch {
	case req.Extension != nil && req.Number != nil:
		return tr, "", badRequest("extension", "give extension (a transfer) or number (a forward), not both")
	case req.Extension != nil:
		tr.Extension = strings.TrimSpace(*req.Extension)
		if tr.Extension == "" {
			return tr, "", badRequest("extension", "extension is empty")
		}
		return tr, "extension", nil
	case req.Number != nil:
		tr.Number = strings.TrimSpace(*req.Number)
		if tr.Number == "" {
			return tr, "", badRequest("number", "number is empty")
		}
		return tr, "number", nil
	}
	return tr, "", badRequest("extension", "extension (a transfer) or number (a forward) is required")
}

// callActionError turns the engine's refusals of a transfer or consult
// into client errors with words.
func callActionError(err error, field string) error {
	var se *switchboard.StatusError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, switchboard.ErrNoCall):
		return notFound("live call")
	case errors.Is(err, switchboard.ErrBadNumber), errors.Is(err, switchboard.ErrNotAllowed):
		return &Error{Status: http.StatusBadRequest, Field: field, Message: err.Error(), Err: err}
	case errors.Is(err, switchboard.ErrNotAnswered), errors.Is(err, switchboard.ErrHeld), errors.Is(err, switchboard.ErrTransferring),
		errors.Is(err, switchboard.ErrNoDevice), errors.Is(err, switchboard.ErrNoRoute), errors.Is(err, switchboard.ErrConsulting),
		errors.Is(err, switchboard.ErrNoConsult), errors.Is(err, switchboard.ErrConsultRinging):
		return &Error{Status: http.StatusConflict, Message: err.Error(), Err: err}
	case errors.As(err, &se):
		return &Error{Status: http.StatusBadGateway, Message: "the other party refused: " + se.Error(), Err: err}
	}
	return err
}

// consultLiveCall answers POST /api/live-calls/{id}/consult with
// {"extension"} or {"number"}: the remote party goes on hold and phoned
// calls the target for the agent (attended transfer, first half). 202
// once the target rings; the live call shows the consult.
func (s *Server) consultLiveCall(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return s.targetAction(w, r, p, CallControl.Consult)
}

// completeConsult answers POST /api/live-calls/{id}/consult/transfer:
// the remote party goes to the consulted party (a REFER with Replaces; if
// refused, phoned bridges the two). 202 once under way.
func (s *Server) completeConsult(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return s.callAction(w, r, p, CallControl.CompleteConsult, http.StatusAccepted)
}

// cancelConsult answers POST /api/live-calls/{id}/consult/cancel: the
// consult call is hung up and the remote party taken off hold. 204.
func (s *Server) cancelConsult(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return s.callAction(w, r, p, CallControl.CancelConsult, http.StatusNoContent)
}
