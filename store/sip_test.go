package store

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"phoned/auth"
	"phoned/sip"
)

// sipUser creates an active agent with an extension and a SIP password.
func sipUser(t *testing.T, s *Store, login, ext, secret string) int64 {
	t.Helper()
	nu := NewUser{User: auth.User{Login: login, Role: auth.RoleAgent, Extension: ext, Active: true},
		PasswordHash: auth.HashPassword("pw-" + login), SIPPassword: secret}
	if err := s.CreateUser(context.Background(), &nu); err != nil {
		t.Fatal(err)
	}
	return nu.ID
}

func TestSIPAccount(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	id := sipUser(t, s, "alice", "101", "secret101")
	a, err := s.SIPAccount(ctx, "101")
	if err != nil {
		t.Fatal(err)
	}
	if want := (sip.Account{UserID: id, Login: "alice", Extension: "101", Password: "secret101", Active: true}); a != want {
		t.Fatalf("account %+v, want %+v", a, want)
	}
	for _, ext := range []string{"102", "", "101 "} {
		if _, err := s.SIPAccount(ctx, ext); !errors.Is(err, sip.ErrUnknownAccount) {
			t.Errorf("SIPAccount(%q) = %v, want ErrUnknownAccount", ext, err)
		}
	}
	off := false
	if err := s.UpdateUser(ctx, id, UserPatch{Active: &off}); err != nil {
		t.Fatal(err)
	}
	if a, err := s.SIPAccount(ctx, "101"); err != nil || a.Active {
		t.Fatalf("inactive user: %+v, %v", a, err)
	}
}

func TestSIPBindings(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	alice := sipUser(t, s, "alice", "101", "a")
	bob := sipUser(t, s, "bob", "102", "b")
	now := time.Unix(1_700_000_000, 0)
	b := func(ext string, user int64, contact string, expires time.Duration) sip.Binding {
		return sip.Binding{Extension: ext, UserID: user, Contact: contact, Received: "127.0.0.1:5093",
			Transport: sip.TransportUDP, UserAgent: "SIPp", CallID: "c1", CSeq: 2,
			ExpiresAt: now.Add(expires), UpdatedAt: now}
	}
	desk := b("101", alice, "sip:101@10.0.0.1:5060", time.Hour)
	soft := b("101", alice, "sip:101@10.0.0.2:5062;transport=tcp", time.Minute)
	soft.Transport = sip.TransportTCP
	old := b("102", bob, "sip:102@10.0.0.3", -time.Second) // expired already
	for _, x := range []sip.Binding{desk, soft, old} {
		if err := s.SaveSIPBinding(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.SIPBindings(ctx, "101", now)
	if err != nil {
		t.Fatal(err)
	}
	if want := []sip.Binding{desk, soft}; !reflect.DeepEqual(got, want) {
		t.Fatalf("bindings of 101:\n got %+v\nwant %+v", got, want)
	}
	// Saving the same contact again replaces it.
	desk.CSeq, desk.ExpiresAt, desk.Received = 3, now.Add(2*time.Hour), "192.0.2.1:40000"
	if err := s.SaveSIPBinding(ctx, desk); err != nil {
		t.Fatal(err)
	}
	all, err := s.AllSIPBindings(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := []sip.Binding{desk, soft}; !reflect.DeepEqual(all, want) {
		t.Fatalf("all bindings (the expired one hidden):\n got %+v\nwant %+v", all, want)
	}
	// Expired rows stay hidden until purged, then are gone.
	if n, err := s.PurgeSIPBindings(ctx, now); err != nil || n != 1 {
		t.Fatalf("purge: %d, %v; want 1", n, err)
	}
	if n, err := s.PurgeSIPBindings(ctx, now.Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("purge a minute later (soft expires): %d, %v; want 1", n, err)
	}
	if err := s.RemoveSIPBinding(ctx, "101", desk.Contact); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveSIPBinding(ctx, "101", "sip:none@x"); err != nil {
		t.Fatal("removing a missing binding:", err)
	}
	if got, _ := s.SIPBindings(ctx, "101", now); len(got) != 0 {
		t.Fatalf("after removal: %+v", got)
	}
	// A binding of a missing user is refused (foreign key).
	if err := s.SaveSIPBinding(ctx, b("999", 999, "sip:x@y", time.Hour)); err == nil {
		t.Fatal("binding of a missing user was stored")
	}
	// A bad transport is refused by the table.
	bad := b("102", bob, "sip:102@h", time.Hour)
	bad.Transport = "carrier-pigeon"
	if err := s.SaveSIPBinding(ctx, bad); err == nil {
		t.Fatal("binding with an unknown transport was stored")
	}
}

func TestSIPBindingsGoWithTheirUser(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	alice := sipUser(t, s, "alice", "101", "a")
	bob := sipUser(t, s, "bob", "102", "b")
	save := func(ext string, id int64) {
		t.Helper()
		if err := s.SaveSIPBinding(ctx, sip.Binding{Extension: ext, UserID: id, Contact: "sip:" + ext + "@h", Transport: sip.TransportUDP,
			CallID: "c", CSeq: 1, ExpiresAt: now.Add(time.Hour), UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	count := func(ext string) int {
		t.Helper()
		bs, err := s.SIPBindings(ctx, ext, now)
		if err != nil {
			t.Fatal(err)
		}
		return len(bs)
	}
	str := func(v string) *string { return &v }
	for _, tc := range []struct {
		name  string
		patch UserPatch
		gone  bool
	}{
		{"name change keeps them", UserPatch{Name: str("Alice A.")}, false},
		{"same SIP password keeps them", UserPatch{SIPPassword: str("a")}, false},
		{"new SIP password drops them", UserPatch{SIPPassword: str("a2")}, true},
		{"new extension drops them", UserPatch{Extension: str("111")}, true},
		{"deactivation drops them", UserPatch{Active: new(bool)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ext := "101"
			if u, _ := s.User(ctx, alice); u.Extension != "" {
				ext = u.Extension
			}
			save(ext, alice)
			save("102", bob)
			if err := s.UpdateUser(ctx, alice, tc.patch); err != nil {
				t.Fatal(err)
			}
			if got := count(ext) == 0; got != tc.gone {
				t.Fatalf("alice's binding gone = %v, want %v", got, tc.gone)
			}
			if count("102") != 1 {
				t.Fatal("bob's binding went too")
			}
			s.RemoveSIPBindings(ctx, ext)
		})
	}
	if _, err := s.w.ExecContext(ctx, "DELETE FROM users WHERE id = ?", bob); err != nil {
		t.Fatal(err)
	}
	if count("102") != 0 {
		t.Fatal("a deleted user's bindings stayed")
	}
}
