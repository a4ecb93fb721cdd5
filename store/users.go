package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"phoned/auth"
)

const userCols = "id, login, name, role, COALESCE(extension, ''), tz, active"

func scanUser(row interface{ Scan(...any) error }) (*auth.User, error) {
	var u auth.User
	var role string
	if err := row.Scan(&u.ID, &u.Login, &u.Name, &role, &u.Extension, &u.TZ, &u.Active); err != nil {
		return nil, err
	}
	u.Role = auth.Role(role)
	return &u, nil
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// NewUser is what creating a user takes besides the user itself.
type NewUser struct {
	auth.User
	PasswordHash string
	SIPPassword  string
}

// CreateUser stores a new user and sets u.ID. A taken login or extension
// is ErrConflict.
func (s *Store) CreateUser(ctx context.Context, nu *NewUser) error {
	u := &nu.User
	res, err := s.w.ExecContext(ctx, `INSERT INTO users (login, name, role, extension, tz, password_hash, sip_password, active, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.Login, u.Name, string(u.Role), nullIfEmpty(u.Extension), u.TZ, nu.PasswordHash, nu.SIPPassword, u.Active, s.stamp())
	if isUnique(err) {
		return fmt.Errorf("create user %q: login or extension %w", u.Login, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create user %q: %w", u.Login, err)
	}
	u.ID, err = res.LastInsertId()
	return err
}

// UserPatch lists the fields of a user to change; nil fields stay.
type UserPatch struct {
	Name, Extension, TZ       *string
	Role                      *auth.Role
	Active                    *bool
	PasswordHash, SIPPassword *string
}

// UpdateUser applies p to the user with the given id.
func (s *Store) UpdateUser(ctx context.Context, id int64, p UserPatch) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		sets := []struct {
			col string
			val any
			ok  bool
		}{
			{"name", deref(p.Name), p.Name != nil},
			{"extension", nullIfEmpty(deref(p.Extension)), p.Extension != nil},
			{"tz", deref(p.TZ), p.TZ != nil},
			{"role", roleText(p.Role), p.Role != nil},
			{"active", p.Active != nil && *p.Active, p.Active != nil},
			{"password_hash", deref(p.PasswordHash), p.PasswordHash != nil},
			{"sip_password", deref(p.SIPPassword), p.SIPPassword != nil},
		}
		var exists int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM users WHERE id = ?", id).Scan(&exists); err != nil {
			return err
		}
		if exists == 0 {
			return fmt.Errorf("user %d: %w", id, ErrNotFound)
		}
		for _, st := range sets {
			if !st.ok {
				continue
			}
			_, err := tx.ExecContext(ctx, "UPDATE users SET "+st.col+" = ? WHERE id = ?", st.val, id)
			if isUnique(err) {
				return fmt.Errorf("update user %d: extension %w", id, ErrConflict)
			}
			if err != nil {
				return fmt.Errorf("update user %d: %w", id, err)
			}
		}
		if p.Active != nil && !*p.Active {
			if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = ?", id); err != nil {
				return err
			}
		}
		return nil
	})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func roleText(r *auth.Role) string {
	if r == nil {
		return ""
	}
	return string(*r)
}

// User returns the user with the given id.
func (s *Store) User(ctx context.Context, id int64) (*auth.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, "SELECT "+userCols+" FROM users WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("user %d: %w", id, ErrNotFound)
	}
	return u, err
}

// UserByLogin returns the user with the given login (case-insensitive).
func (s *Store) UserByLogin(ctx context.Context, login string) (*auth.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, "SELECT "+userCols+" FROM users WHERE login = ?", login))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("user %q: %w", login, ErrNotFound)
	}
	return u, err
}

// UserByExtension returns the user whose extension is ext.
func (s *Store) UserByExtension(ctx context.Context, ext string) (*auth.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, "SELECT "+userCols+" FROM users WHERE extension = ?", ext))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("extension %q: %w", ext, ErrNotFound)
	}
	return u, err
}

// PasswordHash returns the stored password hash of an active user found by
// login, with the user.
func (s *Store) PasswordHash(ctx context.Context, login string) (*auth.User, string, error) {
	var hash string
	row := s.r.QueryRowContext(ctx, "SELECT "+userCols+", password_hash FROM users WHERE login = ?", login)
	var u auth.User
	var role string
	err := row.Scan(&u.ID, &u.Login, &u.Name, &role, &u.Extension, &u.TZ, &u.Active, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", fmt.Errorf("user %q: %w", login, ErrNotFound)
	}
	if err != nil {
		return nil, "", fmt.Errorf("read user %q: %w", login, err)
	}
	u.Role = auth.Role(role)
	return &u, hash, nil
}

// Users lists every user by login.
func (s *Store) Users(ctx context.Context) ([]auth.User, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+userCols+" FROM users ORDER BY login")
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	out := []auth.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, *u)
	}
	return out, rows.Err()
}

// CountUsers returns how many users exist.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM users").Scan(&n)
	return n, err
}
