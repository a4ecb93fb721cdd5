package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"phoned/sip"
)

// SIP: the accounts of extensions (from users) and the registrar's
// bindings. *Store is the sip package's Directory and Bindings.

var (
	_ sip.Directory = (*Store)(nil)
	_ sip.Bindings  = (*Store)(nil)
)

// The reads of every incoming call (prepared: see prepareHot).
const (
	qSIPAccount    = "SELECT id, login, name, extension, sip_password, active FROM users WHERE extension = ?"
	qSIPBindingsOf = "SELECT " + sipBindingCols + " FROM sip_bindings WHERE extension = ? AND expires_at > ? ORDER BY contact"
)

// SIPAccount returns the SIP account of the user with extension ext, or an
// error wrapping sip.ErrUnknownAccount.
func (s *Store) SIPAccount(ctx context.Context, ext string) (sip.Account, error) {
	var a sip.Account
	err := s.readQueryRow(ctx, qSIPAccount, ext).
		Scan(&a.UserID, &a.Login, &a.Name, &a.Extension, &a.Password, &a.Active)
	if errors.Is(err, sql.ErrNoRows) {
		return sip.Account{}, fmt.Errorf("extension %q: %w", ext, sip.ErrUnknownAccount)
	}
	if err != nil {
		return sip.Account{}, fmt.Errorf("read SIP account %q: %w", ext, err)
	}
	return a, nil
}

// SaveSIPBinding inserts b or replaces the binding with its extension and
// contact.
func (s *Store) SaveSIPBinding(ctx context.Context, b sip.Binding) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO sip_bindings
		(extension, user_id, contact, received, transport, user_agent, call_id, cseq, expires_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (extension, contact) DO UPDATE SET
			user_id = excluded.user_id, received = excluded.received, transport = excluded.transport,
			user_agent = excluded.user_agent, call_id = excluded.call_id, cseq = excluded.cseq,
			expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
		b.Extension, b.UserID, b.Contact, b.Received, string(b.Transport), b.UserAgent, b.CallID, int64(b.CSeq),
		b.ExpiresAt.Unix(), b.UpdatedAt.Unix())
	if err != nil {
		return fmt.Errorf("save SIP binding %q of %q: %w", b.Contact, b.Extension, err)
	}
	return nil
}

// RemoveSIPBinding deletes one contact of an extension.
func (s *Store) RemoveSIPBinding(ctx context.Context, ext, contact string) error {
	if _, err := s.w.ExecContext(ctx, "DELETE FROM sip_bindings WHERE extension = ? AND contact = ?", ext, contact); err != nil {
		return fmt.Errorf("remove SIP binding %q of %q: %w", contact, ext, err)
	}
	return nil
}

// RemoveSIPBindings deletes every contact of an extension.
func (s *Store) RemoveSIPBindings(ctx context.Context, ext string) error {
	if _, err := s.w.ExecContext(ctx, "DELETE FROM sip_bindings WHERE extension = ?", ext); err != nil {
		return fmt.Errorf("remove SIP bindings of %q: %w", ext, err)
	}
	return nil
}

const sipBindingCols = "extension, user_id, contact, received, transport, user_agent, call_id, cseq, expires_at, updated_at"

// SIPBindings lists the bindings of ext alive at now, by contact.
func (s *Store) SIPBindings(ctx context.Context, ext string, now time.Time) ([]sip.Binding, error) {
	return s.sipBindings(ctx, qSIPBindingsOf, ext, now.Unix())
}

// AllSIPBindings lists every binding alive at now, by extension and contact.
func (s *Store) AllSIPBindings(ctx context.Context, now time.Time) ([]sip.Binding, error) {
	return s.sipBindings(ctx, "SELECT "+sipBindingCols+" FROM sip_bindings WHERE expires_at > ? ORDER BY extension, contact", now.Unix())
}

func (s *Store) sipBindings(ctx context.Context, query string, args ...any) ([]sip.Binding, error) {
	rows, err := s.readQuery(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list SIP bindings: %w", err)
	}
	defer rows.Close()
	out := []sip.Binding{}
	for rows.Next() {
		var b sip.Binding
		var transport string
		var cseq, expires, updated int64
		if err := rows.Scan(&b.Extension, &b.UserID, &b.Contact, &b.Received, &transport, &b.UserAgent, &b.CallID, &cseq, &expires, &updated); err != nil {
			return nil, fmt.Errorf("list SIP bindings: %w", err)
		}
		b.Transport = sip.Transport(transport)
		b.CSeq = uint32(cseq)
		b.ExpiresAt = time.Unix(expires, 0)
		b.UpdatedAt = time.Unix(updated, 0)
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list SIP bindings: %w", err)
	}
	return out, nil
}

// PurgeSIPBindings deletes the bindings expired at now.
func (s *Store) PurgeSIPBindings(ctx context.Context, now time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, "DELETE FROM sip_bindings WHERE expires_at <= ?", now.Unix())
	if err != nil {
		return 0, fmt.Errorf("purge SIP bindings: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
