package api

import (
	"net/http"
	"time"

	"phoned/auth"
	"phoned/sip"
)

// PBXStates is the PBX registrar as the API reads it.
type PBXStates interface {
	States() []sip.PBXState
}

// SetPBX gives the server the PBX registrar (PBX mode), for
// GET /api/sip/pbx.
func (s *Server) SetPBX(p PBXStates) {
	s.depsMu.Lock()
	defer s.depsMu.Unlock()
	s.pbx = p
}

type pbxStateJSON struct {
	Extension   string `json:"extension"`
	Username    string `json:"username"`
	State       string `json:"state"`
	LastError   string `json:"last_error"`
	LastStatus  int    `json:"last_status"`
	ExpiresAt   string `json:"expires_at"`
	NextAttempt string `json:"next_attempt"`
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// listPBXRegistrations answers the state of phoned's registrations with
// the PBX: supervisors see all, agents their own extension's.
func (s *Server) listPBXRegistrations(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	s.depsMu.Lock()
	pbx := s.pbx
	s.depsMu.Unlock()
	out := []pbxStateJSON{}
	if pbx != nil {
		for _, st := range pbx.States() {
			if !p.Role.AtLeast(auth.RoleSupervisor) && (p.User == nil || p.User.Extension == "" || p.User.Extension != st.Extension) {
				continue
			}
			out = append(out, pbxStateJSON{Extension: st.Extension, Username: st.Username, State: string(st.State), LastError: st.LastError,
				LastStatus: st.LastStatus, ExpiresAt: stamp(st.ExpiresAt), NextAttempt: stamp(st.NextAttempt)})
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
