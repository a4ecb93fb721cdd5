package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"phoned/comm"
)

// Communication events are written as the call goes: StartEvent at the
// first INVITE or the dial, AnswerEvent, SetEventTarget and SetEventUser
// while it lasts, EndEvent at hang-up, so a crash loses nothing; at the
// next start CloseInterruptedEvents closes what a dead process left open.
// Each write is one transaction.

// at returns t, or the store's clock when t is zero.
func (s *Store) at(t time.Time) int64 {
	if t.IsZero() {
		return s.stamp()
	}
	return t.Unix()
}

// existsQuery is mustExist's query for table.
func existsQuery(table string) string { return "SELECT 1 FROM " + table + " WHERE id = ?" }

// mustExist fails with ErrNotFound unless table has a row with this id.
// table is always a constant of this file.
func (s *Store) mustExist(ctx context.Context, tx *sql.Tx, table, what string, id int64) error {
	var one int
	err := s.txQueryRow(ctx, tx, existsQuery(table), id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s %d: %w", what, id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("look up %s %d: %w", what, id, err)
	}
	return nil
}

// StartEvent stores a call that begins as an event in progress and
// returns its id. Its parties are the partners named, the partners of
// the contact mechanisms named, every partner with the number PartyE164,
// and the partner of the planned call being dialled. A user, partner,
// contact, case or planned call that does not exist is ErrNotFound and
// stores nothing.
func (s *Store) StartEvent(ctx context.Context, st comm.EventStart) (int64, error) {
	if err := st.Validate(); err != nil {
		return 0, fmt.Errorf("start event: %w", err)
	}
	typ := st.Type
	if typ == "" {
		typ = comm.EventPhone
	}
	var id int64
	err := s.txGrouped(ctx, func(tx *sql.Tx) error {
		for _, ref := range []struct {
			table, what string
			id          int64
		}{{"users", "user", st.UserID}, {"cases", "case", st.CaseID}, {"phone_calls", "planned call", st.ActivityID}} {
			if ref.id != 0 {
				if err := s.mustExist(ctx, tx, ref.table, ref.what, ref.id); err != nil {
					return err
				}
			}
		}
		res, err := s.txExec(ctx, tx, qInsertEvent,
			string(typ), string(st.Direction), nullID(st.CaseID), nullID(st.ActivityID), nullID(st.UserID), s.at(st.At),
			st.SIPCallID, st.FromNumber, st.ToNumber, s.stamp())
		if err != nil {
			return fmt.Errorf("insert event: %w", err)
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		return s.addParties(ctx, tx, id, st)
	})
	if err != nil {
		return 0, fmt.Errorf("start event: %w", err)
	}
	return id, nil
}

// addParties links a new event to its partners and contact mechanisms.
func (s *Store) addParties(ctx context.Context, tx *sql.Tx, id int64, st comm.EventStart) error {
	for _, pid := range st.PartnerIDs {
		if err := s.mustExist(ctx, tx, "partners", "partner", pid); err != nil {
			return err
		}
		if _, err := s.txExec(ctx, tx, "INSERT OR IGNORE INTO comm_event_parties (event_id, partner_id) VALUES (?, ?)", id, pid); err != nil {
			return fmt.Errorf("add partner %d: %w", pid, err)
		}
	}
	for _, cid := range st.ContactIDs {
		if err := s.mustExist(ctx, tx, "contact_mechanisms", "contact mechanism", cid); err != nil {
			return err
		}
		if _, err := s.txExec(ctx, tx, "INSERT OR IGNORE INTO comm_event_contacts (event_id, contact_id) VALUES (?, ?)", id, cid); err != nil {
			return fmt.Errorf("add contact %d: %w", cid, err)
		}
	}
	// The partners of the contacts, of the number and of the planned call
	// take part too; the number's and the planned call's contact
	// mechanisms are the event's.
	type step struct {
		what, q string
		args    []any
	}
	var steps []step
	if len(st.ContactIDs) > 0 {
		steps = append(steps, step{"contacts' partners", qContactsPartners, []any{id}})
	}
	if st.PartyE164 != "" {
		steps = append(steps,
			step{"number's contacts", qNumberContacts, []any{id, st.PartyE164}},
			step{"number's partners", qNumberPartners, []any{id, st.PartyE164}})
	}
	if st.ActivityID != 0 {
		steps = append(steps,
			step{"planned call's partner", qActivityPartner, []any{id, st.ActivityID}},
			step{"planned call's contact", qActivityContact, []any{id, st.ActivityID}})
	}
	for _, step := range steps {
		if _, err := s.txExec(ctx, tx, step.q, step.args...); err != nil {
			return fmt.Errorf("add %s: %w", step.what, err)
		}
	}
	return nil
}

// updateLive applies set to event id if it is in progress (and meets
// extra, a condition of this file); otherwise it says why not: the event
// does not exist (ErrNotFound) or has moved on (ErrConflict).
func (s *Store) updateLive(ctx context.Context, tx *sql.Tx, id int64, doing, set, extra string, args ...any) error {
	res, err := s.txExec(ctx, tx, updateLiveQuery(set, extra), append(args, id)...)
	if err != nil {
		return fmt.Errorf("%s event %d: %w", doing, id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 1 {
		return nil
	}
	var state string
	var answered bool
	err = s.txQueryRow(ctx, tx, qEventState, id).Scan(&state, &answered)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("event %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("%s event %d: %w", doing, id, err)
	}
	if state == string(comm.EventInProgress) && answered {
		return fmt.Errorf("%s event %d: it was answered already: %w", doing, id, ErrConflict)
	}
	return fmt.Errorf("%s event %d: it is %s, not in progress: %w", doing, id, state, ErrConflict)
}

// AnswerEvent records when a call in progress was answered (zero at:
// now). Answering an event twice, or one that ended, is ErrConflict.
func (s *Store) AnswerEvent(ctx context.Context, id int64, at time.Time) error {
	return s.txGrouped(ctx, func(tx *sql.Tx) error {
		return s.updateLive(ctx, tx, id, "answer", setAnswer, extraAnswer, s.at(at))
	})
}

// SetEventTarget records where a call in progress is transferred or
// forwarded (an extension, a number). An event that ended is ErrConflict.
func (s *Store) SetEventTarget(ctx context.Context, id int64, target string) error {
	if err := comm.CheckTarget(target); err != nil {
		return fmt.Errorf("set target of event %d: %w", id, err)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		return s.updateLive(ctx, tx, id, "set target of", setTarget, "", target)
	})
}

// SetEventUser records the employee of a call in progress: who answered
// an inbound call. An unknown user is ErrNotFound, an event that ended
// ErrConflict.
func (s *Store) SetEventUser(ctx context.Context, id, userID int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.mustExist(ctx, tx, "users", "user", userID); err != nil {
			return err
		}
		return s.updateLive(ctx, tx, id, "set user of", setUser, "", userID)
	})
}

// markPlannedDone marks the planned calls carried out by the events that
// cond selects done at `at`: a planned call that was dialled is done,
// whatever the outcome. Calls already done or cancelled stay as they are.
// It returns how many calls it marked.
func (s *Store) markPlannedDone(ctx context.Context, tx *sql.Tx, at int64, cond string, args ...any) (int64, error) {
	res, err := s.txExec(ctx, tx, markPlannedDoneQuery(cond), append([]any{at}, args...)...)
	if err != nil {
		return 0, fmt.Errorf("mark planned calls done: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("mark planned calls done: %w", err)
	}
	return n, nil
}

// EndEvent completes a call in progress: its end time (zero: now; never
// before its start), outcome, final SIP status, who hung up and its audio
// quality figures; the planned call it carried out is marked done in the
// same transaction. Ending an event that is not in progress (ended
// already) is ErrConflict and changes nothing.
func (s *Store) EndEvent(ctx context.Context, id int64, end comm.EventEnd) error {
	if err := end.Validate(); err != nil {
		return fmt.Errorf("end event %d: %w", id, err)
	}
	var quality any
	if len(end.Quality) > 0 {
		quality = string(end.Quality)
	}
	at := s.at(end.At)
	var marked int64
	err := s.txGrouped(ctx, func(tx *sql.Tx) error {
		err := s.updateLive(ctx, tx, id, "end", setEnd, "", at, string(end.Outcome), end.SIPStatus, string(end.HangupBy), quality)
		if err != nil {
			return err
		}
		marked, err = s.markPlannedDone(ctx, tx, at, "id = ?", id)
		return err
	})
	if err == nil && marked > 0 {
		s.callsChanged()
	}
	return err
}

// CloseInterruptedEvents completes, with the outcome interrupted and the
// end time at, every event left in progress (by a process that died
// during its calls), and marks their planned calls done. It returns how
// many events it closed. Call it at start, before taking calls.
func (s *Store) CloseInterruptedEvents(ctx context.Context, at time.Time) (int64, error) {
	var n, marked int64
	end := s.at(at)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if marked, err = s.markPlannedDone(ctx, tx, end, "state = 'in_progress'"); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE comm_events SET state = 'completed', outcome = 'interrupted',
			end_at = max(?1, COALESCE(start_at, ?1)) WHERE state = 'in_progress'`, end)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("close interrupted events: %w", err)
	}
	if marked > 0 {
		s.callsChanged()
	}
	return n, nil
}

// WrapUp records what an agent says after a call: its note and purpose
// (any time), its outcome (only once the event is completed, else
// ErrConflict), and a follow-up: a new planned phone call (origin manual,
// state planned, the event's purpose) linked to the event by an open
// follow-up. An unknown purpose is ErrNotFound. All of it is one
// transaction: on any error nothing changes.
func (s *Store) WrapUp(ctx context.Context, id int64, w comm.WrapUp) error {
	if err := w.Normalize(); err != nil {
		return fmt.Errorf("wrap up event %d: %w", id, err)
	}
	var carried int64 // the planned call the event carried out, if any
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var state string
		var userID, activityID int64
		err := tx.QueryRowContext(ctx, "SELECT state, COALESCE(user_id, 0), COALESCE(activity_id, 0) FROM comm_events WHERE id = ?", id).
			Scan(&state, &userID, &activityID)
		carried = activityID
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("event %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if w.Outcome != "" && state != string(comm.EventCompleted) {
			return fmt.Errorf("outcome: the event is %s; its outcome is set once it is completed: %w", state, ErrConflict)
		}
		var sets []string
		var args []any
		if w.Outcome != "" {
			sets, args = append(sets, "outcome = ?"), append(args, string(w.Outcome))
		}
		if w.Note != nil {
			sets, args = append(sets, "note = ?"), append(args, *w.Note)
		}
		if w.Purpose != nil {
			var pid any
			if *w.Purpose != "" {
				var n int64
				err := tx.QueryRowContext(ctx, "SELECT id FROM purposes WHERE name = ?", *w.Purpose).Scan(&n)
				if errors.Is(err, sql.ErrNoRows) {
					return fmt.Errorf("purpose %q: %w", *w.Purpose, ErrNotFound)
				} else if err != nil {
					return err
				}
				pid = n
			}
			sets, args = append(sets, "purpose_id = ?"), append(args, pid)
		}
		if len(sets) > 0 {
			if _, err := tx.ExecContext(ctx, "UPDATE comm_events SET "+strings.Join(sets, ", ")+" WHERE id = ?", append(args, id)...); err != nil {
				return err
			}
		}
		if activityID != 0 {
			// The planned call the event carried out keeps what came of it:
			// the purpose, and the note added to its description.
			if w.Purpose != nil {
				if _, err := tx.ExecContext(ctx, "UPDATE phone_calls SET purpose_id = (SELECT purpose_id FROM comm_events WHERE id = ?) WHERE id = ?", id, activityID); err != nil {
					return err
				}
			}
			if w.Note != nil && *w.Note != "" {
				if _, err := tx.ExecContext(ctx, `UPDATE phone_calls SET description = CASE WHEN description = '' THEN ?1
					WHEN instr(description, ?1) > 0 THEN description ELSE description || char(10) || ?1 END WHERE id = ?2`, *w.Note, activityID); err != nil {
					return err
				}
			}
		}
		if w.FollowUp == nil {
			return nil
		}
		return s.addFollowUp(ctx, tx, id, userID, activityID, w.FollowUp)
	})
	if err != nil {
		return fmt.Errorf("wrap up event %d: %w", id, err)
	}
	if w.FollowUp != nil || (carried != 0 && (w.Note != nil || w.Purpose != nil)) {
		s.callsChanged() // a planned call changed, or a follow-up was planned
	}
	return nil
}

// addFollowUp plans the follow-up call of event id and links it.
func (s *Store) addFollowUp(ctx context.Context, tx *sql.Tx, id, userID, activityID int64, f *comm.FollowUpRequest) error {
	c := comm.PhoneCall{PartnerID: f.PartnerID, UserID: f.UserID, Due: f.Due, Summary: f.Summary,
		State: comm.CallPlanned, Origin: comm.OriginManual}
	if c.UserID == 0 {
		c.UserID = userID
	}
	if c.UserID == 0 {
		return &comm.FieldError{Field: "follow_up.user", Message: "the event has no user: say who calls back"}
	}
	if err := s.mustExist(ctx, tx, "users", "user", c.UserID); err != nil {
		return err
	}
	if c.PartnerID == 0 && activityID != 0 {
		err := tx.QueryRowContext(ctx, "SELECT partner_id FROM phone_calls WHERE id = ?", activityID).Scan(&c.PartnerID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
	}
	if c.PartnerID == 0 {
		var n int
		err := tx.QueryRowContext(ctx, "SELECT count(*), COALESCE(min(partner_id), 0) FROM comm_event_parties WHERE event_id = ?", id).Scan(&n, &c.PartnerID)
		if err != nil {
			return err
		}
		if n != 1 {
			return &comm.FieldError{Field: "follow_up.partner_id", Message: fmt.Sprintf("the event has %d partners: say which to call back", n)}
		}
	}
	err := tx.QueryRowContext(ctx, "SELECT name FROM partners WHERE id = ?", c.PartnerID).Scan(&c.PartnerName)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("partner %d: %w", c.PartnerID, ErrNotFound)
	} else if err != nil {
		return err
	}
	if c.Summary == "" {
		c.Summary = "Call back " + c.PartnerName
	}
	// The number to call back: the one this event used, else the partner's first.
	err = tx.QueryRowContext(ctx, `SELECT e164 FROM contact_mechanisms WHERE partner_id = ?1 AND e164 <> ''
		ORDER BY id IN (SELECT contact_id FROM comm_event_contacts WHERE event_id = ?2) DESC, position LIMIT 1`, c.PartnerID, id).Scan(&c.Phone)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	err = tx.QueryRowContext(ctx, "SELECT COALESCE(pu.name, '') FROM comm_events e LEFT JOIN purposes pu ON pu.id = e.purpose_id WHERE e.id = ?", id).Scan(&c.Purpose)
	if err != nil {
		return err
	}
	calls := []comm.PhoneCall{c}
	if err := s.insertCalls(ctx, tx, calls); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO follow_ups (event_id, name, state, activity_id, created_at) VALUES (?, ?, 'open', ?, ?)",
		id, c.Summary, calls[0].ID, s.stamp())
	if err != nil {
		return fmt.Errorf("insert follow-up: %w", err)
	}
	return nil
}

// EventFilter selects events for a listing; zero fields do not filter.
type EventFilter struct {
	PartnerID int64 // the partner takes part
	UserID    int64
	Since     time.Time // started at or after
	State     comm.EventState
	Outcome   comm.Outcome
	Limit     int // default 100, at most 1000
	Offset    int
}

const eventSelect = `SELECT e.id, e.type, e.direction, e.state, e.outcome, COALESCE(e.user_id, 0), COALESCE(u.login, ''),
	COALESCE(e.case_id, 0), COALESCE(e.activity_id, 0), e.start_at, e.answered_at, e.end_at, COALESCE(pu.name, ''), e.note,
	e.sip_call_id, e.from_number, e.to_number, e.target, e.sip_status, e.hangup_by, e.quality
	FROM comm_events e LEFT JOIN users u ON u.id = e.user_id LEFT JOIN purposes pu ON pu.id = e.purpose_id`

func scanEvent(r interface{ Scan(...any) error }) (comm.Event, error) {
	var e comm.Event
	var typ, dir, state, outcome, hangup, quality string
	var start, answered, end sql.NullInt64
	err := r.Scan(&e.ID, &typ, &dir, &state, &outcome, &e.UserID, &e.UserLogin, &e.CaseID, &e.ActivityID, &start, &answered, &end,
		&e.Purpose, &e.Note, &e.SIPCallID, &e.FromNumber, &e.ToNumber, &e.Target, &e.SIPStatus, &hangup, &quality)
	e.Type, e.Direction, e.State = comm.EventType(typ), comm.Direction(dir), comm.EventState(state)
	e.Outcome, e.HangupBy, e.Quality = comm.Outcome(outcome), comm.HangupBy(hangup), []byte(quality)
	e.Start, e.AnsweredAt, e.End = unixTime(start), unixTime(answered), unixTime(end)
	e.Parties, e.Contacts, e.FollowUps = []comm.Party{}, []comm.EventContact{}, []comm.FollowUp{}
	return e, err
}

// unixTime reads a nullable Unix time column (NULL: the zero time).
func unixTime(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(n.Int64, 0).UTC()
}

// Event returns one event with its parties, contacts and follow-ups.
func (s *Store) Event(ctx context.Context, id int64) (*comm.Event, error) {
	evs, err := s.events(ctx, " WHERE e.id = ?", []any{id})
	if err != nil {
		return nil, fmt.Errorf("read event %d: %w", id, err)
	}
	if len(evs) == 0 {
		return nil, fmt.Errorf("event %d: %w", id, ErrNotFound)
	}
	return &evs[0], nil
}

// Events lists the events that match f, newest first, with their
// parties, contacts and follow-ups.
func (s *Store) Events(ctx context.Context, f EventFilter) ([]comm.Event, error) {
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if f.PartnerID != 0 {
		add("e.id IN (SELECT event_id FROM comm_event_parties WHERE partner_id = ?)", f.PartnerID)
	}
	if f.UserID != 0 {
		add("e.user_id = ?", f.UserID)
	}
	if !f.Since.IsZero() {
		add("e.start_at >= ?", f.Since.Unix())
	}
	if f.State != "" {
		add("e.state = ?", string(f.State))
	}
	if f.Outcome != "" {
		add("e.outcome = ?", string(f.Outcome))
	}
	q := ""
	if len(where) > 0 {
		q = " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q += " ORDER BY e.start_at DESC, e.id DESC LIMIT ? OFFSET ?"
	args = append(args, min(limit, 1000), max(f.Offset, 0))
	evs, err := s.events(ctx, q, args)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return evs, nil
}

// events reads the events that tail (WHERE, ORDER, LIMIT) selects, then
// their parties, contacts and follow-ups in one query each.
func (s *Store) events(ctx context.Context, tail string, args []any) ([]comm.Event, error) {
	out := []comm.Event{}
	index := map[int64]int{}
	err := s.eachRow(ctx, eventSelect+tail, args, func(r *sql.Rows) error {
		e, err := scanEvent(r)
		index[e.ID] = len(out)
		out = append(out, e)
		return err
	})
	if err != nil || len(out) == 0 {
		return out, err
	}
	ids := make([]any, 0, len(out))
	for _, e := range out {
		ids = append(ids, e.ID)
	}
	in := "(" + placeholders(len(ids)) + ")"
	err = s.eachRow(ctx, `SELECT ep.event_id, p.id, p.name FROM comm_event_parties ep JOIN partners p ON p.id = ep.partner_id
		WHERE ep.event_id IN `+in+` ORDER BY lower(p.name), p.id`, ids, func(r *sql.Rows) error {
		var eid int64
		var p comm.Party
		if err := r.Scan(&eid, &p.PartnerID, &p.Name); err != nil {
			return err
		}
		e := &out[index[eid]]
		e.Parties = append(e.Parties, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("event parties: %w", err)
	}
	err = s.eachRow(ctx, `SELECT ec.event_id, c.id, c.partner_id, c.type, c.value, c.e164 FROM comm_event_contacts ec
		JOIN contact_mechanisms c ON c.id = ec.contact_id WHERE ec.event_id IN `+in+` ORDER BY c.partner_id, c.position`, ids, func(r *sql.Rows) error {
		var eid int64
		var c comm.EventContact
		if err := r.Scan(&eid, &c.ID, &c.PartnerID, &c.Type, &c.Value, &c.E164); err != nil {
			return err
		}
		e := &out[index[eid]]
		e.Contacts = append(e.Contacts, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("event contacts: %w", err)
	}
	err = s.eachRow(ctx, `SELECT f.id, f.event_id, f.name, f.state, COALESCE(f.activity_id, 0), c.due FROM follow_ups f
		LEFT JOIN phone_calls c ON c.id = f.activity_id WHERE f.event_id IN `+in+` ORDER BY f.id`, ids, func(r *sql.Rows) error {
		var f comm.FollowUp
		var state string
		var due sql.NullInt64
		if err := r.Scan(&f.ID, &f.EventID, &f.Name, &state, &f.ActivityID, &due); err != nil {
			return err
		}
		f.State, f.Due = comm.FollowUpState(state), unixTime(due)
		e := &out[index[f.EventID]]
		e.FollowUps = append(e.FollowUps, f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("event follow-ups: %w", err)
	}
	return out, nil
}
