package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"phoned/auth"
	"phoned/comm"
	"phoned/store"
)

type callRequest struct {
	PartnerID       *int64   `json:"partner_id"`
	Due             *string  `json:"due"`
	User            string   `json:"user"`
	Summary         string   `json:"summary"`
	Description     string   `json:"description"`
	Purpose         string   `json:"purpose"`
	Tags            []string `json:"tags"`
	Campaign        string   `json:"campaign"`
	Source          string   `json:"source"`
	Medium          string   `json:"medium"`
	DurationMinutes int      `json:"duration_minutes"`
	Priority        int      `json:"priority"`
	State           string   `json:"state"`
}

// resolveUser finds the user a request names by login, or the requester
// when it names none. Agents may only name themselves.
func (s *Server) resolveUser(ctx context.Context, p auth.Principal, login string) (*auth.User, error) {
	if login == "" {
		if p.User == nil {
			return nil, badRequest("user", "user is required: this API token acts for no user")
		}
		return p.User, nil
	}
	u, err := s.st.UserByLogin(ctx, login)
	if errors.Is(err, store.ErrNotFound) {
		return nil, badRequest("user", "unknown user %q", login)
	}
	if err != nil {
		return nil, err
	}
	if !p.Role.AtLeast(auth.RoleSupervisor) && u.ID != p.UserID() {
		return nil, &Error{Status: http.StatusForbidden, Message: "agents may only plan calls for themselves"}
	}
	return u, nil
}

// resolvePurpose checks that a named purpose exists and returns its stored name.
func (s *Server) resolvePurpose(ctx context.Context, name string) (string, error) {
	if name == "" {
		return "", nil
	}
	pu, err := s.st.PurposeByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return "", badRequest("purpose", "unknown purpose %q", name)
	}
	if err != nil {
		return "", err
	}
	return pu.Name, nil
}

func (s *Server) createCall(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var req callRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	ctx := r.Context()
	if req.PartnerID == nil {
		return badRequest("partner_id", "partner_id is required")
	}
	if req.Due == nil {
		return badRequest("due", "due is required (RFC 3339, e.g. 2026-12-02T10:00:00+01:00)")
	}
	due, err := time.Parse(time.RFC3339, *req.Due)
	if err != nil {
		return badRequest("due", "due %q is not an RFC 3339 time (e.g. 2026-12-02T10:00:00+01:00)", *req.Due)
	}
	if strings.TrimSpace(req.Summary) == "" {
		return badRequest("summary", "summary is required")
	}
	state := comm.CallPlanned
	if req.State != "" {
		if state, err = comm.ParseCallState(req.State); err != nil {
			return badRequest("state", "%v", err)
		}
	}
	if req.DurationMinutes < 0 || req.DurationMinutes > 1440 {
		return badRequest("duration_minutes", "duration_minutes must be between 0 and 1440")
	}
	u, err := s.resolveUser(ctx, p, req.User)
	if err != nil {
		return err
	}
	purpose, err := s.resolvePurpose(ctx, req.Purpose)
	if err != nil {
		return err
	}
	partner, err := s.st.Partner(ctx, *req.PartnerID)
	if errors.Is(err, store.ErrNotFound) {
		return badRequest("partner_id", "unknown partner %d", *req.PartnerID)
	}
	if err != nil {
		return err
	}
	c := comm.PhoneCall{
		PartnerID: partner.ID, PartnerName: partner.Name, UserID: u.ID, User: u.Login, Due: due,
		Summary: strings.TrimSpace(req.Summary), Description: req.Description, Tags: nonNil(req.Tags), Purpose: purpose,
		UTM:             comm.UTM{Campaign: req.Campaign, Source: req.Source, Medium: req.Medium},
		DurationMinutes: req.DurationMinutes, Priority: req.Priority, State: state, Origin: comm.OriginManual,
	}
	if len(partner.Phones) > 0 {
		c.Phone = partner.Phones[0].E164
	}
	if err := s.st.CreateCall(ctx, &c); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, s.callJSON(c, due.Location()))
	return nil
}

func nonNil(tags []string) []string {
	if tags == nil {
		return []string{}
	}
	return tags
}

// callJSON renders a call with its due time in loc.
func (s *Server) callJSON(c comm.PhoneCall, loc *time.Location) comm.PhoneCall {
	c.Due = c.Due.In(loc)
	c.Tags = nonNil(c.Tags)
	return c
}

// zoneOf returns the zone of a user (the default when unset).
func (s *Server) zoneOf(u *auth.User) *time.Location {
	if u != nil && u.TZ != "" {
		if z, err := loadZone(u.TZ); err == nil {
			return z
		}
	}
	return s.cfg.DefaultZone
}

func (s *Server) listCalls(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	q := r.URL.Query()
	var f store.CallFilter
	var err error
	if f.PartnerID, err = queryInt(r, "partner_id"); err != nil {
		return err
	}
	if f.RunID, err = queryInt(r, "run_id"); err != nil {
		return err
	}
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	offset, err := queryInt(r, "offset")
	if err != nil {
		return err
	}
	f.Limit, f.Offset = int(limit), int(offset)
	if v := q.Get("state"); v != "" {
		if f.State, err = comm.ParseCallState(v); err != nil {
			return badRequest("state", "%v", err)
		}
	}
	for name, dst := range map[string]*time.Time{"from": &f.From, "to": &f.To} {
		if v := q.Get(name); v != "" {
			if *dst, err = time.Parse(time.RFC3339, v); err != nil {
				return badRequest(name, "%s %q is not an RFC 3339 time", name, v)
			}
		}
	}
	if login := q.Get("user"); login != "" {
		u, err := s.st.UserByLogin(r.Context(), login)
		if errors.Is(err, store.ErrNotFound) {
			return badRequest("user", "unknown user %q", login)
		} else if err != nil {
			return err
		}
		f.UserID = u.ID
	}
	if !p.Role.AtLeast(auth.RoleSupervisor) {
		if p.User == nil {
			return &Error{Status: http.StatusForbidden, Message: "an agent's calls belong to a user; this API token acts for none"}
		}
		if f.UserID != 0 && f.UserID != p.UserID() {
			return errForbidden
		}
		f.UserID = p.UserID()
	}
	calls, err := s.st.Calls(r.Context(), f)
	if err != nil {
		return err
	}
	loc := s.zoneOf(p.User)
	for i := range calls {
		calls[i] = s.callJSON(calls[i], loc)
	}
	writeJSON(w, http.StatusOK, calls)
	return nil
}

// ownCall reads a call the principal may see: agents their own only.
func (s *Server) ownCall(r *http.Request, p auth.Principal) (*comm.PhoneCall, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	c, err := s.st.Call(r.Context(), id)
	if err != nil {
		return nil, storeError(err, "call")
	}
	if !p.Role.AtLeast(auth.RoleSupervisor) && c.UserID != p.UserID() {
		return nil, notFound("call")
	}
	return c, nil
}

func (s *Server) getCall(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	c, err := s.ownCall(r, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.callJSON(*c, s.zoneOf(p.User)))
	return nil
}

func (s *Server) patchCall(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	c, err := s.ownCall(r, p)
	if err != nil {
		return err
	}
	var req struct {
		State string `json:"state"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	st, err := comm.ParseCallState(req.State)
	if err != nil {
		return badRequest("state", "%v", err)
	}
	if err := s.st.SetCallState(r.Context(), c.ID, st); err != nil {
		return storeError(err, "call")
	}
	c.State = st
	writeJSON(w, http.StatusOK, s.callJSON(*c, s.zoneOf(p.User)))
	return nil
}

func (s *Server) listPurposes(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	ps, err := s.st.Purposes(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ps)
	return nil
}

func (s *Server) createPurpose(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	var pu comm.Purpose
	if err := decode(w, r, &pu); err != nil {
		return err
	}
	pu.ID = 0
	pu.Name = strings.TrimSpace(pu.Name)
	if pu.Name == "" || len(pu.Name) > 100 || strings.ContainsAny(pu.Name, "\x00\r\n") {
		return badRequest("name", "name is required: one line of at most 100 bytes")
	}
	if err := s.st.CreatePurpose(r.Context(), &pu); err != nil {
		return storeError(err, "a purpose with this name")
	}
	writeJSON(w, http.StatusCreated, pu)
	return nil
}
