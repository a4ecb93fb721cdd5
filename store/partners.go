package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"phoned/crm"
)

// CreatePartners stores the partners in one transaction (all or none) and
// sets their IDs. The partners must already be normalised (crm.Partner.Normalize).
func (s *Store) CreatePartners(ctx context.Context, ps []*crm.Partner) error {
	defer s.partnersChanged()
	return s.tx(ctx, func(tx *sql.Tx) error {
		ins, err := newPartnerWriter(ctx, tx)
		if err != nil {
			return err
		}
		defer ins.close()
		now := s.stamp()
		for _, p := range ps {
			res, err := ins.partner.ExecContext(ctx, p.Name, p.Company, p.TZ, tagsJSON(p.Tags), encodeWindows(p.Windows), now, now)
			if err != nil {
				return fmt.Errorf("create partner %q: %w", p.Name, err)
			}
			if p.ID, err = res.LastInsertId(); err != nil {
				return err
			}
			if err := ins.children(ctx, p); err != nil {
				return err
			}
		}
		return nil
	})
}

// UpdatePartner replaces the partner's fields, phones and windows.
func (s *Store) UpdatePartner(ctx context.Context, p *crm.Partner) error {
	defer s.partnersChanged()
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE partners SET name = ?, company = ?, tz = ?, tags = ?, call_windows = ?, updated_at = ? WHERE id = ?",
			p.Name, p.Company, p.TZ, tagsJSON(p.Tags), encodeWindows(p.Windows), s.stamp(), p.ID)
		if err != nil {
			return fmt.Errorf("update partner %d: %w", p.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("partner %d: %w", p.ID, ErrNotFound)
		}
		return s.replacePhones(ctx, tx, p)
	})
}

// replacePhones makes the partner's contact mechanisms its new phone list
// while keeping the row (and so the links of calls and events to it) of
// every number that stays, whatever its new place in the list.
func (s *Store) replacePhones(ctx context.Context, tx *sql.Tx, p *crm.Partner) error {
	old := map[string][]int64{} // E.164 -> ids of the rows that have it
	err := func() error {
		rows, err := tx.QueryContext(ctx, "SELECT id, e164 FROM contact_mechanisms WHERE partner_id = ? ORDER BY position", p.ID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var e164 string
			if err := rows.Scan(&id, &e164); err != nil {
				return err
			}
			old[e164] = append(old[e164], id)
		}
		return rows.Err()
	}()
	if err != nil {
		return fmt.Errorf("read phones of partner %d: %w", p.ID, err)
	}
	// Move the old rows out of the way of UNIQUE (partner_id, position).
	if _, err := tx.ExecContext(ctx, "UPDATE contact_mechanisms SET position = -id WHERE partner_id = ?", p.ID); err != nil {
		return fmt.Errorf("update phones of partner %d: %w", p.ID, err)
	}
	for i, ph := range p.Phones {
		if ids := old[ph.E164]; len(ids) > 0 {
			old[ph.E164] = ids[1:]
			if _, err := tx.ExecContext(ctx, "UPDATE contact_mechanisms SET position = ?, type = ?, value = ? WHERE id = ?", i, ph.Type, ph.Number, ids[0]); err != nil {
				return fmt.Errorf("update phone %d of partner %d: %w", i, p.ID, err)
			}
			continue
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO contact_mechanisms (partner_id, position, type, value, e164) VALUES (?, ?, ?, ?, ?)",
			p.ID, i, ph.Type, ph.Number, ph.E164); err != nil {
			return fmt.Errorf("store phone %d of partner %d: %w", i, p.ID, err)
		}
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM contact_mechanisms WHERE partner_id = ? AND position < 0", p.ID); err != nil {
		return fmt.Errorf("remove old phones of partner %d: %w", p.ID, err)
	}
	return nil
}

// DeletePartner removes a partner with its phones, windows and calls.
func (s *Store) DeletePartner(ctx context.Context, id int64) error {
	defer s.partnersChanged()
	res, err := s.w.ExecContext(ctx, "DELETE FROM partners WHERE id = ?", id)
	if err != nil {
		return fmt.Errorf("delete partner %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("partner %d: %w", id, ErrNotFound)
	}
	return nil
}

type partnerWriter struct {
	partner, phone *sql.Stmt
}

func newPartnerWriter(ctx context.Context, tx *sql.Tx) (*partnerWriter, error) {
	var w partnerWriter
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = tx.PrepareContext(ctx, q)
		return st
	}
	w.partner = prep("INSERT INTO partners (name, company, tz, tags, call_windows, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
	w.phone = prep("INSERT INTO contact_mechanisms (partner_id, position, type, value, e164) VALUES (?, ?, ?, ?, ?)")
	if err != nil {
		w.close()
		return nil, fmt.Errorf("prepare partner writes: %w", err)
	}
	return &w, nil
}

func (w *partnerWriter) children(ctx context.Context, p *crm.Partner) error {
	for i, ph := range p.Phones {
		if _, err := w.phone.ExecContext(ctx, p.ID, i, ph.Type, ph.Number, ph.E164); err != nil {
			return fmt.Errorf("store phone %d of partner %q: %w", i, p.Name, err)
		}
	}
	return nil
}

func (w *partnerWriter) close() {
	for _, st := range []*sql.Stmt{w.partner, w.phone} {
		if st != nil {
			st.Close()
		}
	}
}

func tagsJSON(tags []string) string {
	if len(tags) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(tags)
	return string(b)
}

func parseTags(s string) []string {
	tags := []string{}
	_ = json.Unmarshal([]byte(s), &tags) // the column is checked json_valid; a non-array reads as none
	return tags
}

// PartnerFilter selects partners for a listing.
type PartnerFilter struct {
	IDs    []int64  // one of these ids
	E164   []string // has a phone with one of these E.164 forms
	Query  string   // case-insensitive substring of name or company
	Tag    string   // has this tag
	Limit  int      // default 1000, at most 10000
	Offset int
}

// Partner returns one partner with its phones and windows.
func (s *Store) Partner(ctx context.Context, id int64) (*crm.Partner, error) {
	ps, err := s.Partners(ctx, PartnerFilter{IDs: []int64{id}, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("partner %d: %w", id, ErrNotFound)
	}
	return &ps[0], nil
}

// Partners lists the partners that match f, by name then id.
func (s *Store) Partners(ctx context.Context, f PartnerFilter) ([]crm.Partner, error) {
	var where []string
	var args []any
	if len(f.IDs) > 0 {
		where = append(where, "p.id IN ("+placeholders(len(f.IDs))+")")
		for _, id := range f.IDs {
			args = append(args, id)
		}
	}
	if len(f.E164) > 0 {
		where = append(where, "p.id IN (SELECT partner_id FROM contact_mechanisms WHERE e164 IN ("+placeholders(len(f.E164))+"))")
		for _, e := range f.E164 {
			args = append(args, e)
		}
	}
	if f.Query != "" {
		where = append(where, "(instr(lower(p.name), lower(?)) > 0 OR instr(lower(p.company), lower(?)) > 0)")
		args = append(args, f.Query, f.Query)
	}
	if f.Tag != "" {
		where = append(where, "EXISTS (SELECT 1 FROM json_each(p.tags) WHERE value = ?)")
		args = append(args, f.Tag)
	}
	q := "SELECT p.id, p.name, p.company, p.tz, p.tags, p.call_windows FROM partners p"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	q += " ORDER BY lower(p.name), p.id LIMIT ? OFFSET ?"
	args = append(args, min(limit, 10000), max(f.Offset, 0))

	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list partners: %w", err)
	}
	out := []crm.Partner{}
	index := map[int64]int{}
	for rows.Next() {
		var p crm.Partner
		var tags, windows string
		if err := rows.Scan(&p.ID, &p.Name, &p.Company, &p.TZ, &tags, &windows); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list partners: %w", err)
		}
		p.Tags = parseTags(tags)
		p.Phones = []crm.Phone{}
		var err error
		if p.Windows, err = decodeWindows(windows); err != nil {
			rows.Close()
			return nil, fmt.Errorf("partner %d: %w", p.ID, err)
		}
		index[p.ID] = len(out)
		out = append(out, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list partners: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	ids := make([]any, 0, len(out))
	for _, p := range out {
		ids = append(ids, p.ID)
	}
	in := placeholders(len(ids))
	if err := s.eachRow(ctx, "SELECT partner_id, type, value, e164 FROM contact_mechanisms WHERE partner_id IN ("+in+") ORDER BY partner_id, position", ids, func(r *sql.Rows) error {
		var pid int64
		var ph crm.Phone
		if err := r.Scan(&pid, &ph.Type, &ph.Number, &ph.E164); err != nil {
			return err
		}
		p := &out[index[pid]]
		p.Phones = append(p.Phones, ph)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("list partner phones: %w", err)
	}
	return out, nil
}

func (s *Store) eachRow(ctx context.Context, q string, args []any, fn func(*sql.Rows) error) error {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// PartnerExists reports whether a partner with this id exists.
func (s *Store) PartnerExists(ctx context.Context, id int64) (bool, error) {
	var one int
	err := s.r.QueryRowContext(ctx, "SELECT 1 FROM partners WHERE id = ?", id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// CountPartners returns how many partners exist.
func (s *Store) CountPartners(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM partners").Scan(&n)
	return n, err
}
