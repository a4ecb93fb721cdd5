package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestPasswordRoundTrip(t *testing.T) {
	h := HashPassword("correct horse")
	if !strings.HasPrefix(h, "$argon2id$v=19$") {
		t.Fatalf("hash %q is not an argon2id PHC string", h)
	}
	if err := CheckPassword(h, "correct horse"); err != nil {
		t.Fatalf("right password refused: %v", err)
	}
	if err := CheckPassword(h, "correct horsE"); !errors.Is(err, ErrBadPassword) {
		t.Fatalf("wrong password: got %v, want ErrBadPassword", err)
	}
	if h2 := HashPassword("correct horse"); h2 == h {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	if err := CheckPassword("$2a$10$whatever", "x"); err == nil || errors.Is(err, ErrBadPassword) {
		t.Fatalf("foreign hash: got %v, want a format error", err)
	}
}

func TestRoles(t *testing.T) {
	tests := []struct {
		r, min Role
		want   bool
	}{
		{RoleAgent, RoleAgent, true},
		{RoleAgent, RoleSupervisor, false},
		{RoleSupervisor, RoleAgent, true},
		{RoleAdmin, RoleSupervisor, true},
		{RoleSupervisor, RoleAdmin, false},
		{"", RoleAgent, false},
		{"root", RoleAgent, false},
	}
	for _, tt := range tests {
		if got := tt.r.AtLeast(tt.min); got != tt.want {
			t.Errorf("%q.AtLeast(%q) = %v, want %v", tt.r, tt.min, got, tt.want)
		}
	}
	if _, err := ParseRole("root"); err == nil {
		t.Error("ParseRole(root) accepted")
	}
	if r, err := ParseRole("supervisor"); err != nil || r != RoleSupervisor {
		t.Errorf("ParseRole(supervisor) = %q, %v", r, err)
	}
}

func TestSecrets(t *testing.T) {
	a, b := NewSecret("phd_"), NewSecret("phd_")
	if a == b || !strings.HasPrefix(a, "phd_") || len(a) < 40 {
		t.Fatalf("secrets %q %q", a, b)
	}
	if string(SecretHash(a)) == string(SecretHash(b)) || len(SecretHash(a)) != 32 {
		t.Fatal("secret hashes collide or have the wrong size")
	}
	p := NewPassword()
	if len(p) != 23 || CheckPasswordPolicy(p) != nil {
		t.Fatalf("generated password %q", p)
	}
	if CheckPasswordPolicy("short") == nil {
		t.Fatal("short password accepted")
	}
}
