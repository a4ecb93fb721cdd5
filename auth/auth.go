// Package auth owns who may do what: users and their roles, password
// hashing (argon2id), and the random secrets behind sessions and API
// tokens. It has no storage and no HTTP code.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
)

// Role is a user's role. The zero Role is no role at all.
type Role string

// The roles, from least to most powerful.
const (
	RoleAgent      Role = "agent"
	RoleSupervisor Role = "supervisor"
	RoleAdmin      Role = "admin"
)

// ParseRole returns the Role named s, or an error naming the valid ones.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleAgent, RoleSupervisor, RoleAdmin:
		return r, nil
	}
	return "", fmt.Errorf("unknown role %q (want agent, supervisor or admin)", s)
}

func (r Role) rank() int {
	switch r {
	case RoleAgent:
		return 1
	case RoleSupervisor:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// AtLeast reports whether r has every right of min.
func (r Role) AtLeast(min Role) bool { return r.rank() >= min.rank() && r.rank() > 0 }

// User is a person who logs in: an agent, a supervisor or an admin.
type User struct {
	ID        int64  `json:"id"`
	Login     string `json:"login"`
	Name      string `json:"name"`
	Role      Role   `json:"role"`
	Extension string `json:"extension"`
	TZ        string `json:"tz"`
	Active    bool   `json:"active"`
}

// Principal is whoever makes a request: a logged-in user, or an API token
// that may or may not act for a user.
type Principal struct {
	Role    Role
	User    *User // nil for a token that belongs to no user
	TokenID int64 // 0 for a session
}

// UserID returns the principal's user id, or 0 when it has none.
func (p Principal) UserID() int64 {
	if p.User == nil {
		return 0
	}
	return p.User.ID
}

// NewSecret returns a random URL-safe secret with the given prefix
// (e.g. "phd_" for API tokens), carrying 256 bits of entropy.
func NewSecret(prefix string) string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand never fails on supported platforms (Go 1.24+ panics itself).
		panic(err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// SecretHash is what is stored for a session id or an API token: its
// SHA-256. Secrets carry 256 bits, so a fast hash is enough; a slow one is
// for passwords only.
func SecretHash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// NewPassword returns a random password for one-time use (first admin,
// demo users), easy to type: 20 characters of base32 in groups.
func NewPassword() string {
	var b [15]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	s := strings.ToLower(base32NoPad(b[:]))
	return s[0:5] + "-" + s[5:10] + "-" + s[10:15] + "-" + s[15:20]
}
