package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"phoned/auth"
	"phoned/comm"
	"phoned/queue"
	"phoned/store"
)

func (s *Server) queueUser(p auth.Principal) (*auth.User, error) {
	if p.User == nil {
		return nil, &Error{Status: http.StatusForbidden, Message: "the queue belongs to a user; this API token acts for none"}
	}
	return p.User, nil
}

// getQueue answers the requester's planned calls due today in their zone,
// each with its partner's call windows on that day and next window.
func (s *Server) getQueue(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	u, err := s.queueUser(p)
	if err != nil {
		return err
	}
	now, zone := s.cfg.Now(), s.zoneOf(u)
	calls, err := queue.Today(r.Context(), s.st, u.ID, now, zone)
	if err != nil {
		return err
	}
	items, err := queue.WithWindows(r.Context(), s.st, calls, now, zone, s.cfg.DefaultZone)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, items)
	return nil
}

// addToQueue plans a call to a partner for the requester (due now unless
// given).
func (s *Server) addToQueue(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	u, err := s.queueUser(p)
	if err != nil {
		return err
	}
	var req struct {
		PartnerID *int64  `json:"partner_id"`
		Due       *string `json:"due"`
		Summary   string  `json:"summary"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.PartnerID == nil {
		return badRequest("partner_id", "partner_id is required")
	}
	due := s.cfg.Now().Truncate(time.Second)
	if req.Due != nil {
		if due, err = time.Parse(time.RFC3339, *req.Due); err != nil {
			return badRequest("due", "due %q is not an RFC 3339 time", *req.Due)
		}
	}
	partner, err := s.st.Partner(r.Context(), *req.PartnerID)
	if errors.Is(err, store.ErrNotFound) {
		return badRequest("partner_id", "unknown partner %d", *req.PartnerID)
	} else if err != nil {
		return err
	}
	summary := strings.TrimSpace(req.Summary)
	if summary == "" {
		summary = "Call " + partner.Name
	}
	c := comm.PhoneCall{PartnerID: partner.ID, PartnerName: partner.Name, UserID: u.ID, User: u.Login, Due: due,
		Summary: summary, Tags: []string{}, State: comm.CallPlanned, Origin: comm.OriginManual}
	if len(partner.Phones) > 0 {
		c.Phone = partner.Phones[0].E164
	}
	if err := s.st.CreateCall(r.Context(), &c); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, s.callJSON(c, s.zoneOf(u)))
	return nil
}

// removeFromQueue cancels one of the requester's planned calls.
func (s *Server) removeFromQueue(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	c, err := s.ownCall(r, p)
	if err != nil {
		return err
	}
	if c.State != comm.CallPlanned {
		return &Error{Status: http.StatusConflict, Message: "call is " + string(c.State) + ", not planned"}
	}
	if err := s.st.SetCallState(r.Context(), c.ID, comm.CallCancelled); err != nil {
		return storeError(err, "call")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
