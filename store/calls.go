package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"phoned/comm"
	"phoned/crm"
)

const callSelect = `SELECT c.id, c.partner_id, p.name, c.phone, c.user_id, u.login, c.due, c.summary, c.description, c.tags,
	COALESCE(pu.name, ''), c.campaign, c.source, c.medium, c.duration_minutes, c.priority, c.state, c.origin, COALESCE(c.run_id, 0)
	FROM phone_calls c JOIN partners p ON p.id = c.partner_id JOIN users u ON u.id = c.user_id
	LEFT JOIN purposes pu ON pu.id = c.purpose_id`

func scanCall(r interface{ Scan(...any) error }) (comm.PhoneCall, error) {
	var c comm.PhoneCall
	var due int64
	var tags, state, origin string
	err := r.Scan(&c.ID, &c.PartnerID, &c.PartnerName, &c.Phone, &c.UserID, &c.User, &due, &c.Summary, &c.Description, &tags,
		&c.Purpose, &c.Campaign, &c.Source, &c.Medium, &c.DurationMinutes, &c.Priority, &state, &origin, &c.RunID)
	c.Due = time.Unix(due, 0).UTC()
	c.Tags = parseTags(tags)
	c.State, c.Origin = comm.CallState(state), comm.Origin(origin)
	return c, err
}

// insertCalls writes calls within tx, setting their IDs. Purposes are
// looked up by name (they must exist); the user by UserID. One prepared
// statement for all rows: with modernc's SQLite, multi-row INSERTs were
// slower (each large statement is parsed anew).
func (s *Store) insertCalls(ctx context.Context, tx *sql.Tx, calls []comm.PhoneCall) error {
	st, err := tx.PrepareContext(ctx, `INSERT INTO phone_calls (partner_id, phone, user_id, due, summary, description, tags, purpose_id,
		campaign, source, medium, duration_minutes, priority, state, origin, run_id, created_at, contact_id, done_at)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
		(SELECT id FROM contact_mechanisms WHERE partner_id = ?1 AND e164 = ?2 AND ?2 <> '' ORDER BY position LIMIT 1), ?18)`)
	if err != nil {
		return fmt.Errorf("prepare call insert: %w", err)
	}
	defer st.Close()
	purposes := map[string]any{"": nil}
	now := s.stamp()
	for i := range calls {
		c := &calls[i]
		pid, ok := purposes[c.Purpose]
		if !ok {
			var id int64
			if err := tx.QueryRowContext(ctx, "SELECT id FROM purposes WHERE name = ?", c.Purpose).Scan(&id); err != nil {
				return fmt.Errorf("purpose %q of a call: %w", c.Purpose, err)
			}
			pid, purposes[c.Purpose] = id, id
		}
		var run, done any
		if c.RunID != 0 {
			run = c.RunID
		}
		if c.State == comm.CallDone {
			done = now
		}
		res, err := st.ExecContext(ctx, c.PartnerID, c.Phone, c.UserID, c.Due.Unix(), c.Summary, c.Description, tagsJSON(c.Tags),
			pid, c.Campaign, c.Source, c.Medium, c.DurationMinutes, c.Priority, string(c.State), string(c.Origin), run, now, done)
		if err != nil {
			return fmt.Errorf("insert call for partner %d: %w", c.PartnerID, err)
		}
		if c.ID, err = res.LastInsertId(); err != nil {
			return err
		}
	}
	return nil
}

// CreateCall stores one call entered by hand and sets its ID.
func (s *Store) CreateCall(ctx context.Context, c *comm.PhoneCall) error {
	calls := []comm.PhoneCall{*c}
	if err := s.tx(ctx, func(tx *sql.Tx) error { return s.insertCalls(ctx, tx, calls) }); err != nil {
		return err
	}
	s.callsChanged()
	c.ID = calls[0].ID
	return nil
}

// Call returns one call.
func (s *Store) Call(ctx context.Context, id int64) (*comm.PhoneCall, error) {
	c, err := scanCall(s.r.QueryRowContext(ctx, callSelect+" WHERE c.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("call %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read call %d: %w", id, err)
	}
	return &c, nil
}

// CallFilter selects calls for a listing; zero fields do not filter.
type CallFilter struct {
	UserID    int64
	PartnerID int64
	RunID     int64
	State     comm.CallState
	From, To  time.Time // due in [From, To)
	Limit     int       // default 1000, at most 10000
	Offset    int
}

// Calls lists the calls that match f by due time, then id.
func (s *Store) Calls(ctx context.Context, f CallFilter) ([]comm.PhoneCall, error) {
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if f.UserID != 0 {
		add("c.user_id = ?", f.UserID)
	}
	if f.PartnerID != 0 {
		add("c.partner_id = ?", f.PartnerID)
	}
	if f.RunID != 0 {
		add("c.run_id = ?", f.RunID)
	}
	if f.State != "" {
		add("c.state = ?", string(f.State))
	}
	if !f.From.IsZero() {
		add("c.due >= ?", f.From.Unix())
	}
	if !f.To.IsZero() {
		add("c.due < ?", f.To.Unix())
	}
	q := callSelect
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	q += " ORDER BY c.due, c.priority DESC, c.id LIMIT ? OFFSET ?"
	args = append(args, min(limit, 10000), max(f.Offset, 0))
	out := []comm.PhoneCall{}
	err := s.eachRow(ctx, q, args, func(r *sql.Rows) error {
		c, err := scanCall(r)
		out = append(out, c)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list calls: %w", err)
	}
	return out, nil
}

// SetCallState changes a call's state (done stamps done_at).
func (s *Store) SetCallState(ctx context.Context, id int64, st comm.CallState) error {
	var done any
	if st == comm.CallDone {
		done = s.stamp()
	}
	res, err := s.w.ExecContext(ctx, "UPDATE phone_calls SET state = ?, done_at = ? WHERE id = ?", string(st), done, id)
	if err != nil {
		return fmt.Errorf("set state of call %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("call %d: %w", id, ErrNotFound)
	}
	s.callsChanged()
	return nil
}

// Purposes lists the purposes by name.
func (s *Store) Purposes(ctx context.Context) ([]comm.Purpose, error) {
	out := []comm.Purpose{}
	err := s.eachRow(ctx, "SELECT id, name FROM purposes ORDER BY name", nil, func(r *sql.Rows) error {
		var p comm.Purpose
		err := r.Scan(&p.ID, &p.Name)
		out = append(out, p)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list purposes: %w", err)
	}
	return out, nil
}

// CreatePurpose stores a purpose; a taken name is ErrConflict.
func (s *Store) CreatePurpose(ctx context.Context, p *comm.Purpose) error {
	res, err := s.w.ExecContext(ctx, "INSERT INTO purposes (name) VALUES (?)", p.Name)
	if isUnique(err) {
		return fmt.Errorf("purpose %q %w", p.Name, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create purpose %q: %w", p.Name, err)
	}
	p.ID, err = res.LastInsertId()
	return err
}

// PurposeByName returns the purpose with this name (case-insensitive).
func (s *Store) PurposeByName(ctx context.Context, name string) (*comm.Purpose, error) {
	var p comm.Purpose
	err := s.r.QueryRowContext(ctx, "SELECT id, name FROM purposes WHERE name = ?", name).Scan(&p.ID, &p.Name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("purpose %q: %w", name, ErrNotFound)
	}
	return &p, err
}

// PlannedCalls returns a user's planned calls due in [from, to) (queue.Lister).
func (s *Store) PlannedCalls(ctx context.Context, userID int64, from, to time.Time) ([]comm.PhoneCall, error) {
	return s.Calls(ctx, CallFilter{UserID: userID, State: comm.CallPlanned, From: from, To: to, Limit: 10000})
}

// PartnerSchedules returns the zone (defaultZone when a partner has none)
// and call windows of the partners with these ids, by id, for the queue:
// one query whatever the number of ids (they travel as one JSON array),
// and each distinct zone and window list is resolved once. Unknown ids
// are left out.
func (s *Store) PartnerSchedules(ctx context.Context, ids []int64, defaultZone *time.Location) (map[int64]crm.Schedule, error) {
	out := make(map[int64]crm.Schedule, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, fmt.Errorf("partner schedules: %w", err)
	}
	c := &plannerDecoder{defaultZone: defaultZone, zones: map[string]*time.Location{"": defaultZone}, windowSets: map[string][]crm.Window{}}
	err = s.eachRow(ctx, "SELECT id, tz, call_windows FROM partners WHERE id IN (SELECT value FROM json_each(?))", []any{string(list)},
		func(r *sql.Rows) error {
			var id int64
			var tz, windows string
			if err := r.Scan(&id, &tz, &windows); err != nil {
				return err
			}
			zone, ws, err := c.decode(tz, windows)
			if err != nil {
				return fmt.Errorf("partner %d: %w", id, err)
			}
			out[id] = crm.Schedule{Zone: zone, Windows: ws}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("partner schedules: %w", err)
	}
	return out, nil
}

// CreateCalls stores many calls in one transaction (all or none) and sets
// their IDs: for imports and for loading test data.
func (s *Store) CreateCalls(ctx context.Context, calls []comm.PhoneCall) error {
	if err := s.tx(ctx, func(tx *sql.Tx) error { return s.insertCalls(ctx, tx, calls) }); err != nil {
		return err
	}
	s.callsChanged()
	return nil
}
