package switchboard

import (
	"errors"
	"strings"
	"testing"
)

func TestDialPlan(t *testing.T) {
	def, err := NewDialPlan("be", nil)
	if err != nil {
		t.Fatal(err)
	}
	if def.String() != "+32" {
		t.Fatalf("default plan of BE allows %s, want +32", def)
	}
	if us, _ := NewDialPlan("US", nil); us.String() != "+1" {
		t.Fatalf("default plan of US allows %s, want +1", us)
	}
	two, err := ParseDialAllow("BE", " +32, +33 ,")
	if err != nil || two.String() != "+32,+33" {
		t.Fatalf("plan %v, %v", two, err)
	}
	for _, tc := range []struct {
		plan    *DialPlan
		number  string
		want    string
		wantErr error
	}{
		{def, "02 212 34 56", "+3222123456", nil},
		{def, "+32 (0)2 212.34.56", "+3222123456", nil},
		{def, "+32 2 212 34 56", "+3222123456", nil},
		{def, "0032 2 212 34 56", "+3222123456", nil},
		{def, "tel:+3222123456", "+3222123456", nil},
		{def, "+33 1 23 45 67 89", "", ErrNotAllowed},
		{two, "+33 1 23 45 67 89", "+33123456789", nil},
		{def, "+882 1234 5678", "", ErrNotAllowed},
		{def, "+3222123456\r\nX: y", "", ErrBadNumber},
		{def, "+32\x00222123456", "", ErrBadNumber},
		{def, "abc", "", ErrBadNumber},
		{def, "", "", ErrBadNumber},
	} {
		got, err := tc.plan.Check(tc.number)
		if got != tc.want || !errors.Is(err, tc.wantErr) && !(tc.wantErr == nil && err == nil) {
			t.Errorf("%s: Check(%q) = %q, %v; want %q, %v", tc.plan, tc.number, got, err, tc.want, tc.wantErr)
		}
	}
	if _, err := def.Check("+33 1 23 45 67 89"); err == nil || !strings.Contains(err.Error(), "+33123456789 does not start with +32") {
		t.Fatalf("refusal says %v", err)
	}
	for _, bad := range [][]string{{"32"}, {"+"}, {"+3a"}, {"+0032"}, {"+1234567890123456"}, {"+3\n2"}} {
		if _, err := NewDialPlan("BE", bad); err == nil {
			t.Errorf("NewDialPlan(%q) accepted", bad)
		}
	}
	if _, err := NewDialPlan("XX", nil); err == nil {
		t.Error("an unknown region was accepted")
	}
}
