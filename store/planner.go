package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"phoned/comm"
	"phoned/crm"
	"phoned/planner"
)

// PlannerPartners returns every partner in the planner's form: zone
// resolved (defaultZone when the partner has none), windows, and the
// first phone in E.164. The result is shared and must not be modified.
//
// Reading 100,000 partners with their windows row by row costs about a
// second, so the store keeps the last result and reuses it until a
// partner is written: phoned is the only writer of its database, and every
// partner write goes through this Store and moves partnerGen on.
func (s *Store) PlannerPartners(ctx context.Context, defaultZone *time.Location) ([]planner.Partner, error) {
	s.plannerMu.Lock()
	defer s.plannerMu.Unlock()
	gen := s.partnerGen.Load()
	if s.plannerCache != nil && s.plannerCacheGen == gen && s.plannerCacheZone == defaultZone {
		return s.plannerCache, nil
	}
	ps, err := s.loadPlannerPartners(ctx, defaultZone)
	if err != nil {
		return nil, err
	}
	s.plannerCache, s.plannerCacheGen, s.plannerCacheZone = ps, gen, defaultZone
	return ps, nil
}

// partnersChanged invalidates the planner's snapshot. It also moves
// CallsVersion on: deleting a partner deletes its calls (ON DELETE
// CASCADE), and any partner write changes what the queue shows of it.
func (s *Store) partnersChanged() {
	s.partnerGen.Add(1)
	s.callsChanged()
}

// loadPlannerPartners reads the partners in flat queries: each row has
// the partner's windows column and its first number (joined through the
// unique (partner_id, position) index). The id range is read in two
// halves at once, one per reader connection: SQLite's VM is the cost.
func (s *Store) loadPlannerPartners(ctx context.Context, defaultZone *time.Location) ([]planner.Partner, error) {
	var lo, hi sql.NullInt64
	if err := s.r.QueryRowContext(ctx, "SELECT min(id), max(id) FROM partners").Scan(&lo, &hi); err != nil {
		return nil, fmt.Errorf("planner partners: %w", err)
	}
	if !lo.Valid {
		return nil, nil
	}
	c := &plannerDecoder{defaultZone: defaultZone, zones: map[string]*time.Location{"": defaultZone}, windowSets: map[string][]crm.Window{}}
	mid := lo.Int64 + (hi.Int64-lo.Int64)/2
	var first, second []planner.Partner
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { first, err = s.plannerPartnerRange(gctx, c, lo.Int64, mid); return err })
	g.Go(func() (err error) { second, err = s.plannerPartnerRange(gctx, c, mid+1, hi.Int64); return err })
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("planner partners: %w", err)
	}
	return append(first, second...), nil
}

func (s *Store) plannerPartnerRange(ctx context.Context, c *plannerDecoder, from, to int64) ([]planner.Partner, error) {
	ps := make([]planner.Partner, 0, max(0, to-from+1))
	err := s.eachRow(ctx, `SELECT p.id, p.name, p.tz, p.tags, p.call_windows, COALESCE(c.e164, '')
		FROM partners p LEFT JOIN contact_mechanisms c ON c.partner_id = p.id AND c.position = 0
		WHERE p.id BETWEEN ? AND ?`, []any{from, to}, func(r *sql.Rows) error {
		var p planner.Partner
		var tz, tags, windows string
		if err := r.Scan(&p.ID, &p.Name, &tz, &tags, &windows, &p.Phone); err != nil {
			return err
		}
		if tags != "[]" {
			p.Tags = parseTags(tags)
		}
		var err error
		if p.Zone, p.Windows, err = c.decode(tz, windows); err != nil {
			return fmt.Errorf("partner %d: %w", p.ID, err)
		}
		ps = append(ps, p)
		return nil
	})
	return ps, err
}

// plannerDecoder resolves zones and window lists for loadPlannerPartners'
// readers. Partners of one zone share one *time.Location, and identical
// window lists (common: office hours) are decoded once and share one
// slice: the planner groups partners by both.
type plannerDecoder struct {
	defaultZone *time.Location

	mu         sync.Mutex // guards the following
	zones      map[string]*time.Location
	windowSets map[string][]crm.Window
}

func (c *plannerDecoder) decode(tz, windows string) (*time.Location, []crm.Window, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	z, ok := c.zones[tz]
	if !ok {
		var err error
		if z, err = time.LoadLocation(tz); err != nil || tz == "Local" {
			z = c.defaultZone
		}
		c.zones[tz] = z
	}
	if windows == "" {
		return z, nil, nil
	}
	ws, ok := c.windowSets[windows]
	if !ok {
		var err error
		if ws, err = decodeWindows(windows); err != nil {
			return nil, nil, err
		}
		c.windowSets[windows] = ws
	}
	return z, ws, nil
}

// PlannerHistory returns, per partner, the counting calls (planned or
// done) of the combination u: their number and latest due, and, when
// near is not nil, the dues inside [near.From, near.To] (those that can
// block a slot of the run). One grouped query: SQLite walks the
// combination's index and the Go side scans one row per partner called.
func (s *Store) PlannerHistory(ctx context.Context, u comm.UTM, near *TimeRange) (map[int64]planner.History, error) {
	h := map[int64]planner.History{}
	var lo, hi int64 = 1, 0 // an empty range unless near is given
	if near != nil {
		lo, hi = near.From.Unix(), near.To.Unix()
	}
	err := s.eachRow(ctx, `SELECT partner_id, count(*), max(due), COALESCE(group_concat(CASE WHEN due BETWEEN ? AND ? THEN due END), '')
		FROM phone_calls WHERE campaign = ? AND source = ? AND medium = ? AND state <> 'cancelled' GROUP BY partner_id`,
		[]any{lo, hi, u.Campaign, u.Source, u.Medium}, func(r *sql.Rows) error {
			var pid, latest int64
			var n int
			var dues string
			if err := r.Scan(&pid, &n, &latest, &dues); err != nil {
				return err
			}
			e := planner.History{Count: n, Latest: time.Unix(latest, 0)}
			if dues != "" {
				for _, d := range strings.Split(dues, ",") {
					v, err := strconv.ParseInt(d, 10, 64)
					if err != nil {
						return fmt.Errorf("stored due %q: %w", d, err)
					}
					e.Dues = append(e.Dues, time.Unix(v, 0))
				}
			}
			h[pid] = e
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("planner history: %w", err)
	}
	return h, nil
}

// TimeRange is an inclusive range of instants.
type TimeRange struct{ From, To time.Time }

// PlannerRun is a stored run of the planner.
type PlannerRun struct {
	ID              int64
	RequesterUserID int64
	RequesterToken  int64
	UserID          int64
	Params          []byte // the request as JSON
	Slots           int
	Calls           int
	Skipped         planner.Skipped
	CreatedAt       time.Time
}

// SavePlannerRun stores the run and its calls in one transaction and sets
// run.ID and the calls' IDs and RunID.
func (s *Store) SavePlannerRun(ctx context.Context, run *PlannerRun, calls []comm.PhoneCall) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO planner_runs (requester_user_id, requester_token, user_id, params, slots, calls,
			skipped_no_window, skipped_no_phone, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			nullID(run.RequesterUserID), nullID(run.RequesterToken), run.UserID, string(run.Params), run.Slots, len(calls),
			run.Skipped.NoWindow, run.Skipped.NoPhone, s.stamp())
		if err != nil {
			return fmt.Errorf("store planner run: %w", err)
		}
		if run.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		run.Calls = len(calls)
		for i := range calls {
			calls[i].RunID = run.ID
		}
		if err := s.insertCalls(ctx, tx, calls); err != nil {
			return fmt.Errorf("store planner run calls: %w", err)
		}
		return nil
	})
	if err == nil {
		s.callsChanged()
	}
	return err
}

// PlannerRunByID returns a stored run (without its calls; see Calls with RunID).
func (s *Store) PlannerRunByID(ctx context.Context, id int64) (*PlannerRun, error) {
	var r PlannerRun
	var ru, rt sql.NullInt64
	var params string
	var created int64
	err := s.r.QueryRowContext(ctx, `SELECT id, requester_user_id, requester_token, user_id, params, slots, calls,
		skipped_no_window, skipped_no_phone, created_at FROM planner_runs WHERE id = ?`, id).
		Scan(&r.ID, &ru, &rt, &r.UserID, &params, &r.Slots, &r.Calls, &r.Skipped.NoWindow, &r.Skipped.NoPhone, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("planner run %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read planner run %d: %w", id, err)
	}
	r.RequesterUserID, r.RequesterToken = ru.Int64, rt.Int64
	r.Params = []byte(params)
	r.CreatedAt = time.Unix(created, 0).UTC()
	return &r, nil
}

// PlannerRuns lists the newest runs first.
func (s *Store) PlannerRuns(ctx context.Context, limit int) ([]PlannerRun, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	var ids []int64
	err := s.eachRow(ctx, "SELECT id FROM planner_runs ORDER BY id DESC LIMIT ?", []any{limit}, func(r *sql.Rows) error {
		var id int64
		ids = append(ids, id)
		return r.Scan(&ids[len(ids)-1])
	})
	if err != nil {
		return nil, fmt.Errorf("list planner runs: %w", err)
	}
	out := make([]PlannerRun, 0, len(ids))
	for _, id := range ids {
		r, err := s.PlannerRunByID(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, nil
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// DeletePlannerRun undoes a run: its calls that are still planned go, the
// others (done or cancelled: work already recorded) stay, unlinked from
// the run, and so does the run's record of what was asked. It returns how
// many calls went.
func (s *Store) DeletePlannerRun(ctx context.Context, id int64) (int64, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, "SELECT 1 FROM planner_runs WHERE id = ?", id).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("planner run %d: %w", id, ErrNotFound)
		} else if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM phone_calls WHERE run_id = ? AND state = 'planned'", id)
		if err != nil {
			return fmt.Errorf("delete calls of planner run %d: %w", id, err)
		}
		n, _ = res.RowsAffected()
		if _, err := tx.ExecContext(ctx, "DELETE FROM planner_runs WHERE id = ?", id); err != nil {
			return fmt.Errorf("delete planner run %d: %w", id, err)
		}
		return nil
	})
	if err == nil {
		s.callsChanged() // the planned calls went, the others lost their run_id (ON DELETE SET NULL)
	}
	return n, err
}
