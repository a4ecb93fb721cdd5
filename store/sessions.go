package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"phoned/auth"
)

// CreateSession stores a session for the user under the hash of its id.
func (s *Store) CreateSession(ctx context.Context, idHash []byte, userID int64, expires time.Time) error {
	_, err := s.w.ExecContext(ctx, "INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
		idHash, userID, s.stamp(), expires.Unix())
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionUser returns the active user of an unexpired session.
func (s *Store) SessionUser(ctx context.Context, idHash []byte) (*auth.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT u.id, u.login, u.name, u.role, COALESCE(u.extension, ''), u.tz, u.active
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.id_hash = ? AND s.expires_at > ? AND u.active = 1`, idHash, s.stamp()))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("session: %w", ErrNotFound)
	}
	return u, err
}

// DeleteSession ends a session (logout).
func (s *Store) DeleteSession(ctx context.Context, idHash []byte) error {
	_, err := s.w.ExecContext(ctx, "DELETE FROM sessions WHERE id_hash = ?", idHash)
	return err
}

// DeleteExpiredSessions removes the sessions past their expiry.
func (s *Store) DeleteExpiredSessions(ctx context.Context) (int64, error) {
	res, err := s.w.ExecContext(ctx, "DELETE FROM sessions WHERE expires_at <= ?", s.stamp())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// CreateToken stores an API token's hash with its role and, when userID
// is not 0, the user it acts for. It returns the token's id.
func (s *Store) CreateToken(ctx context.Context, hash []byte, role auth.Role, userID int64, name string) (int64, error) {
	var uid any
	if userID != 0 {
		uid = userID
	}
	res, err := s.w.ExecContext(ctx, "INSERT INTO api_tokens (hash, role, user_id, name, created_at) VALUES (?, ?, ?, ?, ?)",
		hash, string(role), uid, name, s.stamp())
	if err != nil {
		return 0, fmt.Errorf("create token: %w", err)
	}
	return res.LastInsertId()
}

// TokenPrincipal returns who an API token stands for.
func (s *Store) TokenPrincipal(ctx context.Context, hash []byte) (auth.Principal, error) {
	var p auth.Principal
	var role string
	var uid sql.NullInt64
	err := s.r.QueryRowContext(ctx, "SELECT id, role, user_id FROM api_tokens WHERE hash = ?", hash).Scan(&p.TokenID, &role, &uid)
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("token: %w", ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("read token: %w", err)
	}
	p.Role = auth.Role(role)
	if uid.Valid {
		u, err := s.User(ctx, uid.Int64)
		if err != nil {
			return p, err
		}
		if !u.Active {
			return p, fmt.Errorf("token's user %q is inactive: %w", u.Login, ErrNotFound)
		}
		p.User = u
	}
	return p, nil
}
