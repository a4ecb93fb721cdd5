package api

import (
	"errors"
	"net"
	"net/http"
	"strings"

	"phoned/auth"
	"phoned/store"
)

// SessionCookie is the name of the session cookie.
const SessionCookie = "phoned_session"

// authenticate finds who makes the request: a bearer token first, else
// the session cookie.
func (s *Server) authenticate(r *http.Request) (auth.Principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
			return auth.Principal{}, &Error{Status: http.StatusUnauthorized, Message: "Authorization must be \"Bearer <token>\""}
		}
		p, err := s.st.TokenPrincipal(r.Context(), auth.SecretHash(strings.TrimSpace(tok)))
		if errors.Is(err, store.ErrNotFound) {
			return p, &Error{Status: http.StatusUnauthorized, Message: "invalid API token"}
		}
		return p, err
	}
	return s.Session(r)
}

// Session returns the logged-in user of the request's session cookie, for
// routes (the widget's WebSocket) that take sessions only.
func (s *Server) Session(r *http.Request) (auth.Principal, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return auth.Principal{}, errUnauthorized
	}
	u, err := s.st.SessionUser(r.Context(), auth.SecretHash(c.Value))
	if errors.Is(err, store.ErrNotFound) {
		return auth.Principal{}, &Error{Status: http.StatusUnauthorized, Message: "session expired or unknown: log in again"}
	}
	if err != nil {
		return auth.Principal{}, err
	}
	return auth.Principal{Role: u.Role, User: u}, nil
}

type loginRequest struct {
	Login    string `json:"login"`
	Password string `json:"password"`
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) login(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	ip := clientIP(r)
	if s.logins.Blocked(ip) {
		return &Error{Status: http.StatusTooManyRequests, Message: "too many failed logins; wait a minute"}
	}
	var req loginRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Login == "" {
		return badRequest("login", "login is required")
	}
	if req.Password == "" {
		return badRequest("password", "password is required")
	}
	u, hash, err := s.st.PasswordHash(r.Context(), req.Login)
	if errors.Is(err, store.ErrNotFound) {
		// Spend the same time as a real check so logins cannot be probed by timing.
		_ = auth.CheckPassword(dummyHash, req.Password)
		s.logins.Fail(ip)
		return &Error{Status: http.StatusUnauthorized, Message: "wrong login or password"}
	}
	if err != nil {
		return err
	}
	if err := auth.CheckPassword(hash, req.Password); err != nil {
		if !errors.Is(err, auth.ErrBadPassword) {
			return err
		}
		s.logins.Fail(ip)
		s.log.Info("login refused", "login", u.Login, "remote", ip)
		return &Error{Status: http.StatusUnauthorized, Message: "wrong login or password"}
	}
	if !u.Active {
		return &Error{Status: http.StatusForbidden, Message: "this user is deactivated"}
	}
	secret := auth.NewSecret("")
	expires := s.cfg.Now().Add(s.cfg.SessionTTL)
	if err := s.st.CreateSession(r.Context(), auth.SecretHash(secret), u.ID, expires); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: secret, Path: "/", Expires: expires, MaxAge: int(s.cfg.SessionTTL.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
	s.log.Info("login", "login", u.Login, "remote", ip)
	writeJSON(w, http.StatusOK, map[string]any{"user": u})
	return nil
}

var dummyHash = auth.HashPassword("not a password anyone has")

func (s *Server) logout(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		if err := s.st.DeleteSession(r.Context(), auth.SecretHash(c.Value)); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	writeJSON(w, http.StatusOK, map[string]any{"role": p.Role, "user": p.User, "token": p.TokenID != 0})
	return nil
}
