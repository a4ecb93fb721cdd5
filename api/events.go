package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"phoned/auth"
	"phoned/comm"
	"phoned/store"
)

// eventJSON is the JSON form of a communication event. Times are RFC 3339
// in the reader's zone; what is not known yet (an end, an outcome, who
// hung up) is null.
type eventJSON struct {
	ID              int64               `json:"id"`
	Type            comm.EventType      `json:"type"`
	Direction       comm.Direction      `json:"direction"`
	State           comm.EventState     `json:"state"`
	Outcome         *comm.Outcome       `json:"outcome"`
	UserID          *int64              `json:"user_id"`
	User            string              `json:"user"`
	Parties         []comm.Party        `json:"parties"`
	Contacts        []comm.EventContact `json:"contacts"`
	CaseID          *int64              `json:"case_id"`
	ActivityID      *int64              `json:"activity_id"`
	Start           *time.Time          `json:"start"`
	AnsweredAt      *time.Time          `json:"answered_at"`
	End             *time.Time          `json:"end"`
	DurationSeconds int64               `json:"duration_seconds"`
	Purpose         string              `json:"purpose"`
	Note            string              `json:"note"`
	SIPCallID       string              `json:"sip_call_id"`
	FromNumber      string              `json:"from_number"`
	ToNumber        string              `json:"to_number"`
	Target          string              `json:"target"`
	SIPStatus       int                 `json:"sip_status"`
	HangupBy        *comm.HangupBy      `json:"hangup_by"`
	Quality         json.RawMessage     `json:"quality"`
	FollowUps       []followUpJSON      `json:"follow_ups"`
}

// followUpJSON is a follow-up with the due time of its planned call.
type followUpJSON struct {
	ID         int64              `json:"id"`
	Name       string             `json:"name"`
	State      comm.FollowUpState `json:"state"`
	ActivityID *int64             `json:"activity_id"`
	Due        *time.Time         `json:"due"`
}

func nullID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

func nullTime(t time.Time, loc *time.Location) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.In(loc)
	return &t
}

func nullText[T ~string](v T) *T {
	if v == "" {
		return nil
	}
	return &v
}

// eventToJSON renders an event with its times in loc.
func eventToJSON(e *comm.Event, loc *time.Location) eventJSON {
	j := eventJSON{
		ID: e.ID, Type: e.Type, Direction: e.Direction, State: e.State, Outcome: nullText(e.Outcome),
		UserID: nullID(e.UserID), User: e.UserLogin, Parties: e.Parties, Contacts: e.Contacts,
		CaseID: nullID(e.CaseID), ActivityID: nullID(e.ActivityID),
		Start: nullTime(e.Start, loc), AnsweredAt: nullTime(e.AnsweredAt, loc), End: nullTime(e.End, loc),
		DurationSeconds: e.DurationSeconds(), Purpose: e.Purpose, Note: e.Note,
		SIPCallID: e.SIPCallID, FromNumber: e.FromNumber, ToNumber: e.ToNumber, Target: e.Target,
		SIPStatus: e.SIPStatus, HangupBy: nullText(e.HangupBy), Quality: e.Quality,
		FollowUps: make([]followUpJSON, 0, len(e.FollowUps)),
	}
	if j.Parties == nil {
		j.Parties = []comm.Party{}
	}
	if j.Contacts == nil {
		j.Contacts = []comm.EventContact{}
	}
	if len(j.Quality) == 0 {
		j.Quality = json.RawMessage("{}")
	}
	for _, f := range e.FollowUps {
		j.FollowUps = append(j.FollowUps, followUpJSON{ID: f.ID, Name: f.Name, State: f.State,
			ActivityID: nullID(f.ActivityID), Due: nullTime(f.Due, loc)})
	}
	return j
}

// eventFilter reads GET /api/events' query: partner_id, user (a login),
// since (RFC 3339), state, outcome, limit and offset.
func (s *Server) eventFilter(r *http.Request) (store.EventFilter, error) {
	q := r.URL.Query()
	var f store.EventFilter
	var err error
	if f.PartnerID, err = queryInt(r, "partner_id"); err != nil {
		return f, err
	} else if f.PartnerID < 0 {
		return f, badRequest("partner_id", "partner_id must be a positive id")
	}
	for _, p := range []struct {
		name string
		dst  *int
		max  int64
	}{{"limit", &f.Limit, 1000}, {"offset", &f.Offset, 1 << 31}} {
		n, err := queryInt(r, p.name)
		if err != nil {
			return f, err
		}
		if n < 0 || n > p.max {
			return f, badRequest(p.name, "%s must be between 0 and %d", p.name, p.max)
		}
		*p.dst = int(n)
	}
	if v := q.Get("since"); v != "" {
		if f.Since, err = time.Parse(time.RFC3339, v); err != nil {
			return f, badRequest("since", "since %q is not an RFC 3339 time (e.g. 2026-12-02T10:00:00+01:00)", v)
		}
	}
	if v := q.Get("state"); v != "" {
		if f.State, err = comm.ParseEventState(v); err != nil {
			return f, badRequest("state", "%v", err)
		}
	}
	if v := q.Get("outcome"); v != "" {
		if f.Outcome, err = comm.ParseOutcome(v); err != nil {
			return f, badRequest("outcome", "%v", err)
		}
	}
	if login := q.Get("user"); login != "" {
		u, err := s.st.UserByLogin(r.Context(), login)
		if errors.Is(err, store.ErrNotFound) {
			return f, badRequest("user", "unknown user %q", login)
		} else if err != nil {
			return f, err
		}
		f.UserID = u.ID
	}
	return f, nil
}

// listEvents answers GET /api/events, newest first: agents see their own
// events only, supervisors all.
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	f, err := s.eventFilter(r)
	if err != nil {
		return err
	}
	if !p.Role.AtLeast(auth.RoleSupervisor) {
		if p.User == nil || (f.UserID != 0 && f.UserID != p.UserID()) {
			return &Error{Status: http.StatusForbidden, Message: "agents see their own events only"}
		}
		f.UserID = p.UserID()
	}
	evs, err := s.st.Events(r.Context(), f)
	if err != nil {
		return err
	}
	loc := s.zoneOf(p.User)
	out := make([]eventJSON, 0, len(evs))
	for i := range evs {
		out = append(out, eventToJSON(&evs[i], loc))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// ownEvent reads the event of the path that the principal may see:
// agents their own only (others' are "not found", not "forbidden", so
// ids reveal nothing).
func (s *Server) ownEvent(r *http.Request, p auth.Principal) (*comm.Event, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	e, err := s.st.Event(r.Context(), id)
	if err != nil {
		return nil, storeError(err, "event")
	}
	if !p.Role.AtLeast(auth.RoleSupervisor) && (p.User == nil || e.UserID != p.UserID()) {
		return nil, notFound("event")
	}
	return e, nil
}

// getEvent answers GET /api/events/{id}.
func (s *Server) getEvent(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	e, err := s.ownEvent(r, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, eventToJSON(e, s.zoneOf(p.User)))
	return nil
}

// wrapUpRequest is the body of PATCH /api/events/{id}: the wrap-up form.
// Absent (or null) members keep what is stored.
type wrapUpRequest struct {
	Outcome  *string `json:"outcome"`
	Note     *string `json:"note"`
	Purpose  *string `json:"purpose"` // "": none
	FollowUp *struct {
		Due       *string `json:"due"`
		Summary   string  `json:"summary"`
		PartnerID *int64  `json:"partner_id"` // whom to call back when the event has several partners
	} `json:"follow_up"`
}

// patchEvent answers PATCH /api/events/{id}: the wrap-up of a call (agents
// their own, supervisors any), answered with the event.
func (s *Server) patchEvent(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	e, err := s.ownEvent(r, p)
	if err != nil {
		return err
	}
	var req wrapUpRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	wu, err := s.wrapUp(r, p, e, &req)
	if err != nil {
		return err
	}
	if err := s.st.WrapUp(r.Context(), e.ID, wu); err != nil {
		return wrapUpError(err)
	}
	if e, err = s.st.Event(r.Context(), e.ID); err != nil {
		return storeError(err, "event")
	}
	writeJSON(w, http.StatusOK, eventToJSON(e, s.zoneOf(p.User)))
	return nil
}

// wrapUp checks a wrap-up request against the event and the stored
// purposes and partners, so that every bad value is a 400 naming its
// field before anything is written.
func (s *Server) wrapUp(r *http.Request, p auth.Principal, e *comm.Event, req *wrapUpRequest) (comm.WrapUp, error) {
	wu := comm.WrapUp{Note: req.Note}
	var err error
	if req.Outcome != nil {
		if wu.Outcome, err = comm.ParseOutcome(*req.Outcome); err != nil {
			return wu, badRequest("outcome", "%v", err)
		}
		if !wu.Outcome.SetByAgent() {
			return wu, badRequest("outcome", "outcome %s is set by phoned only, for calls it lost", wu.Outcome)
		}
		if e.State != comm.EventCompleted {
			return wu, &Error{Status: http.StatusConflict, Field: "outcome",
				Message: "the call has not ended yet: its outcome can be changed once it has"}
		}
	}
	if req.Purpose != nil {
		name, err := s.resolvePurpose(r.Context(), *req.Purpose)
		if err != nil {
			return wu, err
		}
		wu.Purpose = &name
	}
	if f := req.FollowUp; f != nil {
		if f.Due == nil {
			return wu, badRequest("follow_up.due", "follow_up.due is required (RFC 3339, e.g. 2026-12-02T10:00:00+01:00)")
		}
		due, err := time.Parse(time.RFC3339, *f.Due)
		if err != nil {
			return wu, badRequest("follow_up.due", "follow_up.due %q is not an RFC 3339 time (e.g. 2026-12-02T10:00:00+01:00)", *f.Due)
		}
		wu.FollowUp = &comm.FollowUpRequest{Due: due, Summary: f.Summary, UserID: e.UserID}
		if e.UserID == 0 { // a call nobody took: whoever wraps it up calls back
			wu.FollowUp.UserID = p.UserID()
		}
		if f.PartnerID != nil {
			ok, err := s.st.PartnerExists(r.Context(), *f.PartnerID)
			if err != nil {
				return wu, err
			}
			if !ok {
				return wu, badRequest("follow_up.partner_id", "unknown partner %d", *f.PartnerID)
			}
			wu.FollowUp.PartnerID = *f.PartnerID
		}
	}
	if err := wu.Normalize(); err != nil {
		return wu, wrapUpError(err)
	}
	return wu, nil
}

// wrapUpError turns a refused wrap-up into a client error: a field's
// problem is a 400 naming it; a purpose or partner deleted meanwhile, or
// an event that changed state meanwhile, is a 409.
func wrapUpError(err error) error {
	var fe *comm.FieldError
	switch {
	case errors.As(err, &fe):
		return badRequest(fe.Field, "%s", fe.Error())
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict):
		return &Error{Status: http.StatusConflict, Message: "the event or a record the wrap-up names changed meanwhile; reload and retry", Err: err}
	}
	return err
}
