package api

import (
	"net/http"
	"time"

	"phoned/auth"
	"phoned/sip"
)

// registration is a live binding of the embedded registrar as the API
// shows it.
type registration struct {
	Extension string `json:"extension"`
	User      string `json:"user"` // the login of the extension's user
	Contact   string `json:"contact"`
	Received  string `json:"received"` // the source address of the REGISTER: where calls go behind NAT
	Transport string `json:"transport"`
	UserAgent string `json:"user_agent"`
	ExpiresAt string `json:"expires_at"` // RFC 3339, UTC
}

// listRegistrations answers GET /api/sip/registrations: every live
// binding for supervisors and admins, an agent's own extension's for
// agents (none for a principal without an extension).
func (s *Server) listRegistrations(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	now := s.cfg.Now()
	var bindings []sip.Binding
	logins := map[int64]string{}
	switch {
	case p.Role.AtLeast(auth.RoleSupervisor):
		var err error
		if bindings, err = s.st.AllSIPBindings(ctx, now); err != nil {
			return err
		}
		users, err := s.st.Users(ctx)
		if err != nil {
			return err
		}
		for _, u := range users {
			logins[u.ID] = u.Login
		}
	case p.User != nil && p.User.Extension != "":
		all, err := s.st.SIPBindings(ctx, p.User.Extension, now)
		if err != nil {
			return err
		}
		for _, b := range all {
			if b.UserID == p.User.ID {
				bindings = append(bindings, b)
			}
		}
		logins[p.User.ID] = p.User.Login
	}
	out := make([]registration, 0, len(bindings))
	for _, b := range bindings {
		out = append(out, registration{
			Extension: b.Extension,
			User:      logins[b.UserID],
			Contact:   b.Contact,
			Received:  b.Received,
			Transport: b.Transport.String(),
			UserAgent: b.UserAgent,
			ExpiresAt: b.ExpiresAt.UTC().Format(time.RFC3339),
		})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
