// Package api is phoned's HTTP server: authentication (sessions and API
// tokens), roles, the JSON routes for users, partners, calls, purposes,
// the planner and the queue, and the errors clients see. It hands main an
// http.Handler; other parts (the widget, signalling) mount on it.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"phoned/auth"
	"phoned/store"
)

// Config is the API's configuration. Zero fields take the defaults noted.
type Config struct {
	DefaultZone *time.Location // partners' and users' zone when they have none (default UTC)
	Region      string         // phone region for numbers without + (default "BE")
	SessionTTL  time.Duration  // default 12 h
	Now         func() time.Time
}

// Server serves the API.
type Server struct {
	cfg    Config
	st     *store.Store
	log    *slog.Logger
	mux    *http.ServeMux
	logins *limiter

	planMu sync.Mutex // one planner run at a time: a run reads then writes the calls it plans

	callsMu sync.Mutex  // guards calls
	calls   CallControl // the call engine (SetCalls); nil: the call routes answer 503

	depsMu sync.Mutex // guards pbx
	pbx    PBXStates  // the PBX registrar (SetPBX); nil: not in PBX mode
}

// New returns a Server over the store.
func New(cfg Config, st *store.Store, log *slog.Logger) *Server {
	if cfg.DefaultZone == nil {
		cfg.DefaultZone = time.UTC
	}
	if cfg.Region == "" {
		cfg.Region = "BE"
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, st: st, log: log, mux: http.NewServeMux(), logins: newLimiter(10, time.Minute, cfg.Now)}
	s.routes()
	return s
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.handle("POST /api/login", "", s.login)
	s.handle("POST /api/logout", auth.RoleAgent, s.logout)
	s.handle("GET /api/me", auth.RoleAgent, s.me)

	s.handle("GET /api/users", auth.RoleSupervisor, s.listUsers)
	s.handle("POST /api/users", auth.RoleAdmin, s.createUser)
	s.handle("GET /api/users/{id}", auth.RoleAgent, s.getUser)
	s.handle("PATCH /api/users/{id}", auth.RoleAgent, s.patchUser)

	s.handle("GET /api/partners", auth.RoleAgent, s.listPartners)
	s.handle("POST /api/partners", auth.RoleAgent, s.createPartner)
	s.handle("POST /api/partners/import", auth.RoleSupervisor, s.importPartners)
	s.handle("GET /api/partners/{id}", auth.RoleAgent, s.getPartner)
	s.handle("PUT /api/partners/{id}", auth.RoleAgent, s.putPartner)
	s.handle("DELETE /api/partners/{id}", auth.RoleSupervisor, s.deletePartner)

	s.handle("GET /api/calls", auth.RoleAgent, s.listCalls)
	s.handle("POST /api/calls", auth.RoleAgent, s.createCall)
	s.handle("GET /api/calls/{id}", auth.RoleAgent, s.getCall)
	s.handle("PATCH /api/calls/{id}", auth.RoleAgent, s.patchCall)

	s.handle("GET /api/purposes", auth.RoleAgent, s.listPurposes)
	s.handle("POST /api/purposes", auth.RoleSupervisor, s.createPurpose)

	s.handle("POST /api/planner/runs", auth.RoleSupervisor, s.createRun)
	s.handle("GET /api/planner/runs", auth.RoleSupervisor, s.listRuns)
	s.handle("GET /api/planner/runs/{id}", auth.RoleSupervisor, s.getRun)
	s.handle("DELETE /api/planner/runs/{id}", auth.RoleSupervisor, s.deleteRun)

	s.handle("GET /api/queue", auth.RoleAgent, s.getQueue)
	s.handle("POST /api/queue", auth.RoleAgent, s.addToQueue)
	s.handle("DELETE /api/queue/{id}", auth.RoleAgent, s.removeFromQueue)

	// events (issue 3)
	s.handle("GET /api/events", auth.RoleAgent, s.listEvents)
	s.handle("GET /api/events/{id}", auth.RoleAgent, s.getEvent)
	s.handle("PATCH /api/events/{id}", auth.RoleAgent, s.patchEvent)

	s.handle("GET /api/sip/registrations", auth.RoleAgent, s.listRegistrations)
	s.handle("GET /api/sip/pbx", auth.RoleAgent, s.listPBXRegistrations)

	// calls (issue 3): click-to-dial and the live calls (api/dial.go, api/livecalls.go)
	s.handle("POST /api/dial", auth.RoleAgent, s.dial)
	s.handle("GET /api/live-calls", auth.RoleAgent, s.listLiveCalls)
	s.handle("POST /api/live-calls/{id}/hangup", auth.RoleAgent, s.hangupLiveCall)
	s.handle("POST /api/live-calls/{id}/dtmf", auth.RoleAgent, s.dtmfLiveCall)
	s.handle("POST /api/live-calls/{id}/hold", auth.RoleAgent, s.holdLiveCall)
	s.handle("POST /api/live-calls/{id}/resume", auth.RoleAgent, s.resumeLiveCall)
	s.handle("POST /api/live-calls/{id}/transfer", auth.RoleAgent, s.transferLiveCall)
	s.handle("POST /api/live-calls/{id}/consult", auth.RoleAgent, s.consultLiveCall)
	s.handle("POST /api/live-calls/{id}/consult/transfer", auth.RoleAgent, s.completeConsult)
	s.handle("POST /api/live-calls/{id}/consult/cancel", auth.RoleAgent, s.cancelConsult)
}

// Handle mounts another handler (the widget, signalling) on the server's
// mux. The handler authenticates for itself.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// handlerFunc is a route's body: it writes its response, or returns an
// error that the wrapper turns into a JSON error response.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p auth.Principal) error

type ctxKey struct{}

// handle mounts fn under pattern for principals of at least role min
// ("" = no authentication: only the login route).
func (s *Server) handle(pattern string, min auth.Role, fn handlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		var p auth.Principal
		if min != "" {
			var err error
			p, err = s.authenticate(r)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			if !p.Role.AtLeast(min) {
				s.fail(w, r, errForbidden)
				return
			}
		}
		if err := fn(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, p)), p); err != nil {
			s.fail(w, r, err)
		}
	})
}

// fail answers err: its own status for an *Error, 500 with no detail for
// anything else (logged with the detail).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		if r.Context().Err() != nil {
			return // the client went away
		}
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		e = &Error{Status: http.StatusInternalServerError, Message: "internal error"}
	} else if e.Err != nil {
		s.log.Debug("request refused", "method", r.Method, "path", r.URL.Path, "status", e.Status, "err", e.Err)
	}
	writeError(w, e)
}

// Handler returns the server as an http.Handler: unknown routes and wrong
// methods get JSON errors too.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if _, pattern := s.mux.Handler(r); pattern == "" {
			rec := &statusRecorder{header: http.Header{}}
			h, _ := s.mux.Handler(r)
			h.ServeHTTP(rec, r)
			if allow := rec.header.Get("Allow"); allow != "" {
				w.Header().Set("Allow", allow)
			}
			switch rec.status {
			case http.StatusMethodNotAllowed:
				writeError(w, &Error{Status: rec.status, Message: r.Method + " is not allowed on " + r.URL.Path})
			case http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
				for k, v := range rec.header {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.status)
			default:
				writeError(w, &Error{Status: http.StatusNotFound, Message: "no route " + r.Method + " " + r.URL.Path})
			}
			return
		}
		s.mux.ServeHTTP(w, r)
	})
}

// statusRecorder captures what the mux would answer for an unmatched route.
type statusRecorder struct {
	header http.Header
	status int
}

func (r *statusRecorder) Header() http.Header         { return r.header }
func (r *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *statusRecorder) WriteHeader(code int)        { r.status = code }

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.st.Ping(ctx); err != nil {
		s.log.Error("health check", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": "database does not answer"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// pathID reads the {id} path value as a positive integer.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, &Error{Status: http.StatusNotFound, Message: "no such id " + strconvQuote(r.PathValue("id"))}
	}
	return id, nil
}

func strconvQuote(s string) string { return strconv.Quote(s) }

// queryInt reads an optional integer query parameter.
func queryInt(r *http.Request, name string) (int64, error) {
	v := strings.TrimSpace(r.URL.Query().Get(name))
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, badRequest(name, "%s must be an integer, not %q", name, v)
	}
	return n, nil
}
