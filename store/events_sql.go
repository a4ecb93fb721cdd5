package store

import (
	"context"
	"database/sql"
	"fmt"
)

// The statements of a call's event (start, answer, end), which run for
// every call: they are prepared once when the store opens (prepareHot)
// and reused, as parsing a statement costs modernc's SQLite about as much
// as running a small one.
const (
	qInsertEvent = `INSERT INTO comm_events (type, direction, case_id, activity_id, user_id, start_at, state,
		sip_call_id, from_number, to_number, created_at) VALUES (?, ?, ?, ?, ?, ?, 'in_progress', ?, ?, ?, ?)`
	qContactsPartners = `INSERT OR IGNORE INTO comm_event_parties (event_id, partner_id)
		SELECT ?1, partner_id FROM contact_mechanisms WHERE id IN (SELECT contact_id FROM comm_event_contacts WHERE event_id = ?1)`
	qNumberContacts = `INSERT OR IGNORE INTO comm_event_contacts (event_id, contact_id)
		SELECT ?1, id FROM contact_mechanisms WHERE e164 = ?2`
	qNumberPartners = `INSERT OR IGNORE INTO comm_event_parties (event_id, partner_id)
		SELECT DISTINCT ?1, partner_id FROM contact_mechanisms WHERE e164 = ?2`
	qActivityPartner = `INSERT OR IGNORE INTO comm_event_parties (event_id, partner_id)
		SELECT ?1, partner_id FROM phone_calls WHERE id = ?2`
	qActivityContact = `INSERT OR IGNORE INTO comm_event_contacts (event_id, contact_id)
		SELECT ?1, contact_id FROM phone_calls WHERE id = ?2 AND contact_id IS NOT NULL`
	qEventState = "SELECT state, answered_at IS NOT NULL FROM comm_events WHERE id = ?"

	setAnswer   = "answered_at = max(?1, COALESCE(start_at, ?1))"
	extraAnswer = "answered_at IS NULL"
	setTarget   = "target = ?"
	setUser     = "user_id = ?"
	setEnd      = "state = 'completed', end_at = max(?1, COALESCE(start_at, ?1)), outcome = ?2, sip_status = ?3, hangup_by = ?4, quality = COALESCE(?5, quality)"
)

// updateLiveQuery is updateLive's statement.
func updateLiveQuery(set, extra string) string {
	q := "UPDATE comm_events SET " + set + " WHERE id = ? AND state = 'in_progress'"
	if extra != "" {
		q += " AND " + extra
	}
	return q
}

// markPlannedDoneQuery is markPlannedDone's statement.
func markPlannedDoneQuery(cond string) string {
	return `UPDATE phone_calls SET state = 'done', done_at = ?
		WHERE state = 'planned' AND id IN (SELECT activity_id FROM comm_events WHERE activity_id IS NOT NULL AND ` + cond + `)`
}

// hotQueries are the statements prepareHot prepares.
func hotQueries() []string {
	qs := []string{qInsertEvent, qContactsPartners, qNumberContacts, qNumberPartners, qActivityPartner, qActivityContact, qEventState,
		updateLiveQuery(setAnswer, extraAnswer), updateLiveQuery(setTarget, ""), updateLiveQuery(setUser, ""), updateLiveQuery(setEnd, ""),
		markPlannedDoneQuery("id = ?"), qSavepoint, qRollbackToSavepoint, qReleaseSavepoint}
	for _, t := range []string{"users", "cases", "phone_calls", "partners", "contact_mechanisms"} {
		qs = append(qs, existsQuery(t))
	}
	return qs
}

// prepareHot prepares the hot statements on the writer. It runs at Open,
// while no transaction holds the writer's one connection (preparing on
// the pool inside a transaction would wait for that connection for ever).
func (s *Store) prepareHot(ctx context.Context) error {
	s.hot = map[string]*sql.Stmt{}
	for _, q := range hotQueries() {
		st, err := s.w.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", q, err)
		}
		s.hot[q] = st
	}
	// Every incoming call reads the extension's account and its phones.
	s.hotR = map[string]*sql.Stmt{}
	for _, q := range []string{qSIPAccount, qSIPBindingsOf} {
		st, err := s.r.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", q, err)
		}
		s.hotR[q] = st
	}
	return nil
}

// readQuery runs a read on the read pool, through its prepared statement
// when it has one.
func (s *Store) readQuery(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := s.hotR[q]; st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.r.QueryContext(ctx, q, args...)
}

// readQueryRow is readQuery for one row.
func (s *Store) readQueryRow(ctx context.Context, q string, args ...any) *sql.Row {
	if st := s.hotR[q]; st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.r.QueryRowContext(ctx, q, args...)
}

// txExec runs q in tx, through its prepared statement when it has one.
func (s *Store) txExec(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	if st := s.hot[q]; st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, q, args...)
}

// txQueryRow runs q in tx, through its prepared statement when it has one.
func (s *Store) txQueryRow(ctx context.Context, tx *sql.Tx, q string, args ...any) *sql.Row {
	if st := s.hot[q]; st != nil {
		return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, q, args...)
}
