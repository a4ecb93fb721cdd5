package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"phoned/auth"
	"phoned/comm"
	"phoned/planner"
	"phoned/store"
)

// PlannerRequest is the body of POST /api/planner/runs (see
// shared/planner/SPEC.md).
type PlannerRequest struct {
	Summary         string           `json:"summary"`
	Description     string           `json:"description"`
	User            string           `json:"user"`
	Purpose         string           `json:"purpose"`
	Tags            []string         `json:"tags"`
	Partners        *PartnerCriteria `json:"partners"`
	Campaign        string           `json:"campaign"`
	Source          string           `json:"source"`
	Medium          string           `json:"medium"`
	Start           *string          `json:"start"`
	End             *string          `json:"end"`
	TZ              string           `json:"tz"`
	DurationMinutes *int             `json:"duration_minutes"`
	Repeat          *Repeat          `json:"repeat"`
	DryRun          bool             `json:"dry_run"`
}

// PartnerCriteria selects the partners of a run.
type PartnerCriteria struct {
	IDs   []int64  `json:"ids"`
	Tags  []string `json:"tags"`
	Query string   `json:"query"`
}

// Repeat turns on repetition with a gap in days.
type Repeat struct {
	DaysGap *int `json:"days_gap"`
}

// PlannedCall is one call of a run's answer.
type PlannedCall struct {
	ID              int64     `json:"id,omitempty"`
	PartnerID       int64     `json:"partner_id"`
	PartnerName     string    `json:"partner_name"`
	Phone           string    `json:"phone"`
	Due             string    `json:"due"`
	User            string    `json:"user"`
	Summary         string    `json:"summary"`
	Description     string    `json:"description"`
	Tags            []string  `json:"tags"`
	Purpose         string    `json:"purpose"`
	Campaign        string    `json:"campaign"`
	Source          string    `json:"source"`
	Medium          string    `json:"medium"`
	DurationMinutes int       `json:"duration_minutes"`
	State           string    `json:"state"`
	due             time.Time // for storing
}

// PlannerResponse is the answer to a run (and GET /api/planner/runs/{id}).
type PlannerResponse struct {
	RunID   *int64        `json:"run_id"`
	Slots   int           `json:"slots"`
	Calls   []PlannedCall `json:"calls"`
	Skipped skippedJSON   `json:"skipped"`
}

// skippedJSON counts the matching partners that could not be candidates.
type skippedJSON struct {
	NoWindow int `json:"no_window"`
	NoPhone  int `json:"no_phone"`
}

// RunPlanner validates req, plans the calls and, unless req.DryRun, stores
// the run and its calls. Validation failures are *Error with status 400
// and the SPEC's field name; nothing is stored then.
func (s *Server) RunPlanner(ctx context.Context, p auth.Principal, req PlannerRequest) (*PlannerResponse, error) {
	if strings.TrimSpace(req.Summary) == "" {
		return nil, badRequest("summary", "summary is required")
	}
	u, err := s.resolveUser(ctx, p, req.User)
	if err != nil {
		return nil, err
	}
	purpose, err := s.resolvePurpose(ctx, req.Purpose)
	if err != nil {
		return nil, err
	}
	zone := s.zoneOf(u)
	if req.TZ != "" {
		if zone, err = loadZone(req.TZ); err != nil {
			return nil, badRequest("tz", "unknown time zone %q", req.TZ)
		}
	}
	if req.Start == nil {
		return nil, badRequest("start", "start is required (YYYY-MM-DDTHH:MM)")
	}
	if req.End == nil {
		return nil, badRequest("end", "end is required (YYYY-MM-DDTHH:MM)")
	}
	if req.DurationMinutes == nil {
		return nil, badRequest("duration_minutes", "duration_minutes is required (1 to 1440)")
	}
	slots, err := planner.Grid(planner.Times{Start: *req.Start, End: *req.End, Zone: zone, DurationMinutes: *req.DurationMinutes})
	if err != nil {
		return nil, plannerError(err)
	}
	var gap *int
	if req.Repeat != nil {
		if req.Repeat.DaysGap == nil {
			return nil, badRequest("repeat.days_gap", "repeat.days_gap is required when repeat is given (0 to 3650)")
		}
		if err := planner.CheckDaysGap(*req.Repeat.DaysGap); err != nil {
			return nil, plannerError(err)
		}
		gap = req.Repeat.DaysGap
	}
	utm := comm.UTM{Campaign: req.Campaign, Source: req.Source, Medium: req.Medium}
	var crit planner.Criteria
	if c := req.Partners; c != nil {
		crit = planner.Criteria{IDs: c.IDs, Tags: c.Tags, Query: c.Query}
	}

	// Reading the calls and writing the new ones must not interleave with
	// another run, or both would plan the same partner.
	s.planMu.Lock()
	defer s.planMu.Unlock()
	var near *store.TimeRange
	if gap != nil && len(slots) > 0 {
		g := time.Duration(*gap) * 24 * time.Hour
		near = &store.TimeRange{From: slots[0].Add(-g), To: slots[len(slots)-1].Add(g)}
	}
	// The partners and the history are independent reads: do them at once.
	var partners []planner.Partner
	var history map[int64]planner.History
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		partners, err = s.st.PlannerPartners(gctx, s.cfg.DefaultZone)
		return err
	})
	g.Go(func() (err error) {
		history, err = s.st.PlannerHistory(gctx, utm, near)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	res := planner.Run(planner.Input{Slots: slots, Partners: partners, Criteria: crit, History: history, DaysGap: gap})

	out := &PlannerResponse{Slots: res.Slots, Calls: make([]PlannedCall, 0, len(res.Calls)), Skipped: skippedJSON(res.Skipped)}
	tags := nonNil(req.Tags)
	dur := *req.DurationMinutes
	for _, c := range res.Calls {
		out.Calls = append(out.Calls, PlannedCall{
			PartnerID: c.PartnerID, PartnerName: c.Name, Phone: c.Phone, Due: c.Due.In(zone).Format(time.RFC3339),
			User: u.Login, Summary: strings.TrimSpace(req.Summary), Description: req.Description, Tags: tags, Purpose: purpose,
			Campaign: utm.Campaign, Source: utm.Source, Medium: utm.Medium, DurationMinutes: dur, State: string(comm.CallPlanned),
			due: c.Due,
		})
	}
	if req.DryRun {
		return out, nil
	}
	params, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	run := store.PlannerRun{RequesterUserID: p.UserID(), RequesterToken: p.TokenID, UserID: u.ID, Params: params, Slots: res.Slots, Skipped: res.Skipped}
	calls := make([]comm.PhoneCall, len(out.Calls))
	for i, pc := range out.Calls {
		calls[i] = comm.PhoneCall{
			PartnerID: pc.PartnerID, Phone: pc.Phone, UserID: u.ID, Due: pc.due, Summary: pc.Summary, Description: pc.Description,
			Tags: tags, Purpose: purpose, UTM: utm, DurationMinutes: dur, State: comm.CallPlanned, Origin: comm.OriginPlanner,
		}
	}
	if err := s.st.SavePlannerRun(ctx, &run, calls); err != nil {
		return nil, err
	}
	for i := range out.Calls {
		out.Calls[i].ID = calls[i].ID
	}
	out.RunID = &run.ID
	s.log.Info("planner run", "run", run.ID, "by", who(p), "user", u.Login, "slots", res.Slots, "calls", len(calls))
	return out, nil
}

func plannerError(err error) error {
	var fe *planner.FieldError
	if errors.As(err, &fe) {
		return badRequest(fe.Field, "%s", fe.Message)
	}
	return err
}

func (s *Server) createRun(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var req PlannerRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	res, err := s.RunPlanner(r.Context(), p, req)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if req.DryRun {
		status = http.StatusOK
	}
	writeJSON(w, status, res)
	return nil
}

// runJSON is a stored run as GET shows it.
type runJSON struct {
	ID        int64            `json:"id"`
	RunID     int64            `json:"run_id"`
	User      string           `json:"user"`
	Requester string           `json:"requester"`
	CreatedAt time.Time        `json:"created_at"`
	Params    json.RawMessage  `json:"params"`
	Slots     int              `json:"slots"`
	CallCount int              `json:"call_count"`
	Skipped   skippedJSON      `json:"skipped"`
	Calls     []comm.PhoneCall `json:"calls,omitempty"`
}

func (s *Server) runView(ctx context.Context, run *store.PlannerRun) (runJSON, error) {
	v := runJSON{ID: run.ID, RunID: run.ID, CreatedAt: run.CreatedAt, Params: run.Params, Slots: run.Slots, CallCount: run.Calls, Skipped: skippedJSON(run.Skipped)}
	if u, err := s.st.User(ctx, run.UserID); err == nil {
		v.User = u.Login
	}
	switch {
	case run.RequesterUserID != 0:
		if u, err := s.st.User(ctx, run.RequesterUserID); err == nil {
			v.Requester = u.Login
		}
	case run.RequesterToken != 0:
		v.Requester = "API token"
	}
	return v, nil
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	run, err := s.st.PlannerRunByID(r.Context(), id)
	if err != nil {
		return storeError(err, "planner run")
	}
	v, err := s.runView(r.Context(), run)
	if err != nil {
		return err
	}
	calls, err := s.st.Calls(r.Context(), store.CallFilter{RunID: id, Limit: 10000})
	if err != nil {
		return err
	}
	zone := s.cfg.DefaultZone
	var params PlannerRequest
	if json.Unmarshal(run.Params, &params) == nil && params.TZ != "" {
		if z, err := loadZone(params.TZ); err == nil {
			zone = z
		}
	} else if u, err := s.st.User(r.Context(), run.UserID); err == nil {
		zone = s.zoneOf(u)
	}
	for i := range calls {
		calls[i] = s.callJSON(calls[i], zone)
	}
	v.Calls = calls
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	runs, err := s.st.PlannerRuns(r.Context(), 100)
	if err != nil {
		return err
	}
	out := make([]runJSON, 0, len(runs))
	for i := range runs {
		v, err := s.runView(r.Context(), &runs[i])
		if err != nil {
			return err
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// deleteRun undoes a run: its still-planned calls are removed.
func (s *Server) deleteRun(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	s.planMu.Lock()
	defer s.planMu.Unlock()
	n, err := s.st.DeletePlannerRun(r.Context(), id)
	if err != nil {
		return storeError(err, "planner run")
	}
	s.log.Info("planner run undone", "run", id, "by", who(p), "calls_removed", n)
	writeJSON(w, http.StatusOK, map[string]any{"run_id": id, "calls_removed": n})
	return nil
}
