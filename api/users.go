package api

import (
	"net/http"
	"regexp"
	"strings"
	"time"

	"phoned/auth"
	"phoned/store"
)

var (
	loginRe     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)
	extensionRe = regexp.MustCompile(`^[0-9]{2,10}$`)
)

type userRequest struct {
	Login       *string `json:"login"`
	Name        *string `json:"name"`
	Role        *string `json:"role"`
	Extension   *string `json:"extension"`
	TZ          *string `json:"tz"`
	Password    *string `json:"password"`
	SIPPassword *string `json:"sip_password"`
	Active      *bool   `json:"active"`
}

// checkZone validates an IANA zone name ("" is allowed: the default zone).
func checkZone(field, tz string) error {
	if tz == "" {
		return nil
	}
	if _, err := loadZone(tz); err != nil {
		return badRequest(field, "%s: unknown time zone %q", field, tz)
	}
	return nil
}

// loadZone loads an IANA zone, refusing "Local" (the server's own zone is
// not a zone a client can mean).
func loadZone(tz string) (*time.Location, error) {
	if tz == "Local" || strings.ContainsAny(tz, "\x00\r\n") {
		return nil, errUnknownZone
	}
	return time.LoadLocation(tz)
}

var errUnknownZone = badRequest("tz", "unknown time zone")

func (req *userRequest) validate(creating bool) error {
	if creating {
		if req.Login == nil || *req.Login == "" {
			return badRequest("login", "login is required")
		}
		if req.Role == nil {
			return badRequest("role", "role is required (agent, supervisor or admin)")
		}
		if req.Password == nil {
			return badRequest("password", "password is required")
		}
	}
	if req.Login != nil && !loginRe.MatchString(*req.Login) {
		return badRequest("login", "login must be 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit")
	}
	if req.Name != nil && (len(*req.Name) > 200 || strings.ContainsAny(*req.Name, "\x00\r\n")) {
		return badRequest("name", "name must be one line of at most 200 bytes")
	}
	if req.Role != nil {
		if _, err := auth.ParseRole(*req.Role); err != nil {
			return badRequest("role", "%v", err)
		}
	}
	if req.Extension != nil && *req.Extension != "" && !extensionRe.MatchString(*req.Extension) {
		return badRequest("extension", "extension must be 2 to 10 digits")
	}
	if req.TZ != nil {
		if err := checkZone("tz", *req.TZ); err != nil {
			return err
		}
	}
	if req.Password != nil {
		if err := auth.CheckPasswordPolicy(*req.Password); err != nil {
			return badRequest("password", "%v", err)
		}
	}
	if req.SIPPassword != nil && *req.SIPPassword != "" {
		if len(*req.SIPPassword) < 8 || len(*req.SIPPassword) > 128 || strings.ContainsAny(*req.SIPPassword, "\x00\r\n\"") {
			return badRequest("sip_password", "sip_password must be 8 to 128 characters, without quotes or line breaks")
		}
	}
	return nil
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	var req userRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Active != nil {
		return badRequest("active", "a new user is always active")
	}
	if err := req.validate(true); err != nil {
		return err
	}
	nu := store.NewUser{
		User: auth.User{
			Login: *req.Login, Name: deref(req.Name), Role: auth.Role(*req.Role),
			Extension: deref(req.Extension), TZ: deref(req.TZ), Active: true,
		},
		PasswordHash: auth.HashPassword(*req.Password),
		SIPPassword:  deref(req.SIPPassword),
	}
	if err := s.st.CreateUser(r.Context(), &nu); err != nil {
		return storeError(err, "a user with this login or extension")
	}
	s.log.Info("user created", "login", nu.Login, "role", nu.Role)
	writeJSON(w, http.StatusCreated, nu.User)
	return nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	us, err := s.st.Users(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, us)
	return nil
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if !p.Role.AtLeast(auth.RoleSupervisor) && p.UserID() != id {
		return errForbidden
	}
	u, err := s.st.User(r.Context(), id)
	if err != nil {
		return storeError(err, "user")
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

// patchUser changes a user. Admins change anything; anybody may change
// their own name, zone and passwords.
func (s *Server) patchUser(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req userRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Login != nil {
		return badRequest("login", "a login cannot be changed")
	}
	admin := p.Role.AtLeast(auth.RoleAdmin)
	if !admin {
		if p.UserID() != id {
			return errForbidden
		}
		if req.Role != nil || req.Extension != nil || req.Active != nil {
			return &Error{Status: http.StatusForbidden, Message: "only an admin may change role, extension or active"}
		}
	}
	if err := req.validate(false); err != nil {
		return err
	}
	patch := store.UserPatch{Name: req.Name, Extension: req.Extension, TZ: req.TZ, Active: req.Active, SIPPassword: req.SIPPassword}
	if req.Role != nil {
		role := auth.Role(*req.Role)
		patch.Role = &role
	}
	if req.Password != nil {
		h := auth.HashPassword(*req.Password)
		patch.PasswordHash = &h
	}
	if err := s.st.UpdateUser(r.Context(), id, patch); err != nil {
		return storeError(err, "user")
	}
	u, err := s.st.User(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}
