package sip

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestConfigDefaults(t *testing.T) {
	c, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:5060" || c.Realm != "phoned" || !strings.HasPrefix(c.UserAgent, "phoned/") ||
		c.MinExpires != time.Minute || c.MaxExpires != time.Hour || c.DefaultExpires != time.Hour ||
		c.AuthFailLimit != 10 || c.AuthFailWindow != time.Minute || c.AuthBlock != 5*time.Minute ||
		c.NonceTTL != 5*time.Minute || len(c.NonceKey) != 32 || c.PurgeInterval != time.Minute || c.Now == nil {
		t.Fatalf("defaults %+v", c)
	}
	c2, _ := Config{}.withDefaults()
	if string(c.NonceKey) == string(c2.NonceKey) {
		t.Fatal("two default nonce keys alike")
	}
	c, err = Config{Trust: []netip.Prefix{mustPrefix(t, "::ffff:10.1.2.3/120"), mustPrefix(t, "192.0.2.7/24")}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.Trust[0] != mustPrefix(t, "10.1.2.0/24") || c.Trust[1] != mustPrefix(t, "192.0.2.0/24") {
		t.Fatalf("trust not normalised: %v", c.Trust)
	}
}

func TestConfigRefusals(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Listen: "5060"}, "Listen"},
		{Config{Listen: "127.0.0.1:99999"}, "Listen"},
		{Config{Listen: "pbx.example.com:5060"}, "Listen"},
		{Config{Realm: `ph"oned`}, "Realm"},
		{Config{Realm: "a\r\nb"}, "Realm"},
		{Config{UserAgent: "x\r\nVia: evil"}, "UserAgent"},
		{Config{Trust: []netip.Prefix{{}}}, "Trust"},
		{Config{MinExpires: 10 * time.Minute, MaxExpires: time.Minute}, "MinExpires"},
		{Config{DefaultExpires: 10 * time.Second}, "DefaultExpires"},
		{Config{NonceTTL: time.Millisecond}, "NonceTTL"},
		{Config{PurgeInterval: -time.Second}, "PurgeInterval"},
		{Config{AuthFailLimit: -1}, "AuthFailLimit"},
		{Config{NonceKey: []byte("short")}, "NonceKey"},
	} {
		_, err := New(tc.cfg, Deps{Directory: newDirectory(), Bindings: newBindings()})
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error naming %s", tc.cfg, err, tc.want)
		}
	}
	for name, deps := range map[string]Deps{
		"Directory": {Bindings: newBindings()},
		"Bindings":  {Directory: newDirectory()},
	} {
		if _, err := New(Config{}, deps); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), name) {
			t.Errorf("without %s: %v", name, err)
		}
	}
}
