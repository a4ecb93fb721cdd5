package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"phoned/comm"
	"phoned/planner"
)

// PlannerPartners loads every partner in the planner's form: zone
// resolved (defaultZone when the partner has none, or an unknown one), the
// windows, and the first phone in E.164. Three flat queries, no per-row
// round trips: a run over 100,000 partners reads them in well under a second.
func (s *Store) PlannerPartners(ctx context.Context, defaultZone *time.Location) ([]planner.Partner, error) {
	conn, err := s.r.Conn(ctx) // one snapshot-consistent connection for the three reads
	if err != nil {
		return nil, fmt.Errorf("planner partners: %w", err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("planner partners: %w", err)
	}
	defer tx.Rollback()

	zones := map[string]*time.Location{"": defaultZone}
	zone := func(name string) *time.Location {
		if z, ok := zones[name]; ok {
			return z
		}
		z, err := time.LoadLocation(name)
		if err != nil || name == "Local" {
			z = defaultZone
		}
		zones[name] = z
		return z
	}

	var ps []planner.Partner
	index := map[int64]int32{}
	rows, err := tx.QueryContext(ctx, "SELECT id, name, tz, tags FROM partners")
	if err != nil {
		return nil, fmt.Errorf("planner partners: %w", err)
	}
	for rows.Next() {
		var p planner.Partner
		var tz, tags string
		if err := rows.Scan(&p.ID, &p.Name, &tz, &tags); err != nil {
			rows.Close()
			return nil, fmt.Errorf("planner partners: %w", err)
		}
		p.Zone = zone(tz)
		if tags != "[]" {
			p.Tags = parseTags(tags)
		}
		index[p.ID] = int32(len(ps))
		ps = append(ps, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("planner partners: %w", err)
	}

	rows, err = tx.QueryContext(ctx, "SELECT partner_id, e164 FROM contact_mechanisms WHERE position = 0 AND e164 <> ''")
	if err != nil {
		return nil, fmt.Errorf("planner phones: %w", err)
	}
	for rows.Next() {
		var pid int64
		var e164 string
		if err := rows.Scan(&pid, &e164); err != nil {
			rows.Close()
			return nil, fmt.Errorf("planner phones: %w", err)
		}
		if i, ok := index[pid]; ok {
			ps[i].Phone = e164
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("planner phones: %w", err)
	}

	rows, err = tx.QueryContext(ctx, "SELECT partner_id, weekday, from_s, to_s, valid_from, valid_to FROM call_windows ORDER BY partner_id, id")
	if err != nil {
		return nil, fmt.Errorf("planner windows: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var pid int64
		w, err := scanWindow(rows, &pid)
		if err != nil {
			return nil, fmt.Errorf("planner windows: %w", err)
		}
		if i, ok := index[pid]; ok {
			ps[i].Windows = append(ps[i].Windows, w)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("planner windows: %w", err)
	}
	return ps, nil
}

// PlannerHistory returns, per partner, the counting calls (planned or
// done) of the combination u: their number and latest due, and, when
// near is not nil, the dues inside [near.From, near.To] (those that can
// block a slot of the run).
func (s *Store) PlannerHistory(ctx context.Context, u comm.UTM, near *TimeRange) (map[int64]planner.History, error) {
	h := map[int64]planner.History{}
	const combo = "campaign = ? AND source = ? AND medium = ? AND state <> 'cancelled'"
	args := []any{u.Campaign, u.Source, u.Medium}
	err := s.eachRow(ctx, "SELECT partner_id, count(*), max(due) FROM phone_calls WHERE "+combo+" GROUP BY partner_id", args, func(r *sql.Rows) error {
		var pid, latest int64
		var n int
		if err := r.Scan(&pid, &n, &latest); err != nil {
			return err
		}
		h[pid] = planner.History{Count: n, Latest: time.Unix(latest, 0)}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("planner history: %w", err)
	}
	if near == nil {
		return h, nil
	}
	args = append(args, near.From.Unix(), near.To.Unix())
	err = s.eachRow(ctx, "SELECT partner_id, due FROM phone_calls WHERE "+combo+" AND due BETWEEN ? AND ?", args, func(r *sql.Rows) error {
		var pid, due int64
		if err := r.Scan(&pid, &due); err != nil {
			return err
		}
		e := h[pid]
		e.Dues = append(e.Dues, time.Unix(due, 0))
		h[pid] = e
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("planner history dues: %w", err)
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
	return s.tx(ctx, func(tx *sql.Tx) error {
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
