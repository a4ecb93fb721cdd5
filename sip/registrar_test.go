package sip

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

const phone = "192.0.2.10:5093"

func TestRegisterChallengesThenBinds(t *testing.T) {
	e := newEnv(t, Config{})
	first := e.do(parse(t, msg(gosip.REGISTER, "201", "201", "c1", 1, "Contact: <sip:201@192.0.2.10:5093>"), phone, "UDP"))
	if status(first) != 401 {
		t.Fatalf("REGISTER without credentials: %d, want 401", status(first))
	}
	chal, err := digest.ParseChallenge(first.GetHeader("WWW-Authenticate").Value())
	if err != nil {
		t.Fatal(err)
	}
	if chal.Realm != "phoned" || chal.Algorithm != "MD5" || !chal.SupportsQOP("auth") || chal.Stale || chal.Nonce == "" {
		t.Fatalf("challenge %+v", chal)
	}
	if e.binds.count() != 0 {
		t.Fatal("a binding was saved before auth")
	}

	for _, qop := range []bool{true, false} {
		auth := answer(t, first, gosip.REGISTER, "201", "secret201", qop)
		res := e.do(parse(t, msg(gosip.REGISTER, "201", "201", "c1", 2, "Contact: <sip:201@192.0.2.10:5093>", auth), phone, "UDP"))
		if status(res) != 200 {
			t.Fatalf("qop %v: REGISTER with the right password: %d", qop, status(res))
		}
		if got, want := contacts(res), []string{"<sip:201@192.0.2.10:5093>;expires=3600"}; !slices.Equal(got, want) {
			t.Fatalf("200 contacts %q, want %q", got, want)
		}
		if res.GetHeader("Date") == nil || res.GetHeader("User-Agent") == nil {
			t.Fatalf("200 without Date or User-Agent:\n%s", res)
		}
		e.binds.RemoveSIPBindings(t.Context(), "201")
	}
}

func TestRegisterFromATrustedAddressAuthenticatesToo(t *testing.T) {
	e := newEnv(t, Config{Trust: []netip.Prefix{mustPrefix(t, "192.0.2.0/24")}})
	if res := e.do(parse(t, msg(gosip.REGISTER, "201", "201", "c1", 1, "Contact: <sip:201@h>"), phone, "UDP")); status(res) != 401 {
		t.Fatalf("REGISTER from a trusted address: %d, want 401", status(res))
	}
}

func TestRegisterBindingRecordsSourceAndTransport(t *testing.T) {
	e := newEnv(t, Config{})
	res := e.register("201", "secret201", "198.51.100.7:40123", 1, "c1",
		"Contact: <sip:201@10.0.0.5:5060;transport=tcp>;expires=120", "User-Agent: Test\x01Phone 1.0")
	if status(res) != 200 {
		t.Fatalf("REGISTER: %d", status(res))
	}
	bs, _ := e.binds.SIPBindings(t.Context(), "201", e.clock.Now())
	if len(bs) != 1 {
		t.Fatalf("bindings %+v", bs)
	}
	want := Binding{Extension: "201", UserID: 1, Contact: "sip:201@10.0.0.5:5060;transport=tcp", Received: "198.51.100.7:40123",
		Transport: TransportUDP, UserAgent: "TestPhone 1.0", CallID: "c1", CSeq: 2,
		ExpiresAt: e.clock.Now().Add(120 * time.Second), UpdatedAt: e.clock.Now()}
	if bs[0] != want {
		t.Fatalf("binding\n got %+v\nwant %+v", bs[0], want)
	}
}

func TestRegisterExpiries(t *testing.T) {
	for _, tc := range []struct {
		name    string
		headers []string
		status  int
		expires []string // the 200's contacts
	}{
		{"default", []string{"Contact: <sip:201@h1>"}, 200, []string{"<sip:201@h1>;expires=3600"}},
		{"Expires header", []string{"Contact: <sip:201@h1>", "Expires: 300"}, 200, []string{"<sip:201@h1>;expires=300"}},
		{"contact param wins", []string{"Contact: <sip:201@h1>;expires=120", "Expires: 300"}, 200, []string{"<sip:201@h1>;expires=120"}},
		{"cut to max", []string{"Contact: <sip:201@h1>", "Expires: 86400"}, 200, []string{"<sip:201@h1>;expires=3600"}},
		{"huge", []string{"Contact: <sip:201@h1>", "Expires: 99999999999999"}, 200, []string{"<sip:201@h1>;expires=3600"}},
		{"min is fine", []string{"Contact: <sip:201@h1>;expires=60"}, 200, []string{"<sip:201@h1>;expires=60"}},
		{"below min", []string{"Contact: <sip:201@h1>;expires=59"}, 423, nil},
		{"several contacts", []string{"Contact: <sip:201@h1>, <sip:201@h2>;expires=90", "Contact: <sip:201@h3>", "Expires: 600"}, 200,
			[]string{"<sip:201@h1>;expires=600", "<sip:201@h2>;expires=90", "<sip:201@h3>;expires=600"}},
		{"query", nil, 200, nil},
		{"bad Expires", []string{"Contact: <sip:201@h1>", "Expires: soon"}, 400, nil},
		{"bad contact expires", []string{"Contact: <sip:201@h1>;expires=-1"}, 400, nil},
		{"tel contact", []string{"Contact: <tel:+3222001122>"}, 400, nil},
		{"wildcard without Expires 0", []string{"Contact: *"}, 400, nil},
		{"wildcard with another contact", []string{"Contact: *, <sip:201@h1>", "Expires: 0"}, 400, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Config{})
			res := e.register("201", "secret201", phone, 1, "c1", tc.headers...)
			if status(res) != tc.status {
				t.Fatalf("status %d, want %d\n%s", status(res), tc.status, res)
			}
			if tc.status == 423 {
				if h := res.GetHeader("Min-Expires"); h == nil || h.Value() != "60" {
					t.Fatalf("423 without Min-Expires: 60:\n%s", res)
				}
			}
			if tc.status != 200 {
				if e.binds.count() != 0 {
					t.Fatal("a refused REGISTER saved bindings")
				}
				return
			}
			if got := contacts(res); !slices.Equal(got, tc.expires) {
				t.Fatalf("contacts %q, want %q", got, tc.expires)
			}
		})
	}
}

func TestUnregister(t *testing.T) {
	e := newEnv(t, Config{})
	if res := e.register("201", "secret201", phone, 1, "c1", "Contact: <sip:201@h1>, <sip:201@h2>, <sip:201@h3>"); len(contacts(res)) != 3 {
		t.Fatalf("three contacts: %d %q", status(res), contacts(res))
	}
	// Another device of the same extension, another Call-ID.
	res := e.register("201", "secret201", phone, 1, "c2", "Contact: <sip:201@h2>", "Expires: 0")
	if got, want := contacts(res), []string{"<sip:201@h1>;expires=3600", "<sip:201@h3>;expires=3600"}; status(res) != 200 || !slices.Equal(got, want) {
		t.Fatalf("after removing h2: %d %q, want %q", status(res), got, want)
	}
	res = e.register("201", "secret201", phone, 1, "c3", "Contact: <sip:201@h1>;expires=0")
	if got := contacts(res); status(res) != 200 || !slices.Equal(got, []string{"<sip:201@h3>;expires=3600"}) {
		t.Fatalf("after removing h1 by its param: %d %q", status(res), got)
	}
	e.register("202", "secret202", phone, 1, "c4", "Contact: <sip:202@h9>")
	res = e.register("201", "secret201", phone, 1, "c5", "Contact: *", "Expires: 0")
	if status(res) != 200 || len(contacts(res)) != 0 {
		t.Fatalf("wildcard removal: %d %q", status(res), contacts(res))
	}
	if all, _ := e.binds.AllSIPBindings(t.Context(), e.clock.Now()); len(all) != 1 || all[0].Extension != "202" {
		t.Fatalf("wildcard of 201 touched others: %+v", all)
	}
}

func TestRegisterLateCSeqChangesNothing(t *testing.T) {
	e := newEnv(t, Config{})
	e.register("201", "secret201", phone, 10, "c1", "Contact: <sip:201@h1>") // saved with CSeq 11
	res := e.register("201", "secret201", phone, 5, "c1", "Contact: <sip:201@h1>", "Expires: 0")
	if status(res) != 400 {
		t.Fatalf("older CSeq of the same Call-ID: %d, want 400", status(res))
	}
	if e.binds.count() != 1 {
		t.Fatal("a late REGISTER removed the binding")
	}
}

func TestRegisterExpiredBindingsAreNotListedAndArePurged(t *testing.T) {
	e := newEnv(t, Config{})
	e.register("201", "secret201", phone, 1, "c1", "Contact: <sip:201@h1>;expires=60")
	e.register("201", "secret201", phone, 1, "c2", "Contact: <sip:201@h2>;expires=600")
	e.clock.Add(61 * time.Second)
	res := e.register("201", "secret201", phone, 1, "c3") // a query
	if got := contacts(res); !slices.Equal(got, []string{"<sip:201@h2>;expires=539"}) {
		t.Fatalf("after h1 expired: %q", got)
	}
	e.s.purge(t.Context())
	if e.binds.count() != 1 {
		t.Fatalf("purge left %d bindings, want 1", e.binds.count())
	}
}

func TestRegisterRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, ext, user, password string
	}{
		{"wrong password", "201", "201", "guess"},
		{"unknown extension", "299", "299", "whatever"},
		{"another user's name", "201", "202", "secret202"},
		{"inactive account", "203", "203", "secret203"},
		{"account without SIP password", "204", "204", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Config{})
			first := e.do(parse(t, msg(gosip.REGISTER, tc.ext, tc.ext, "c1", 1, "Contact: <sip:x@h1>"), phone, "UDP"))
			if status(first) != 401 {
				t.Fatalf("first REGISTER: %d, want a challenge", status(first))
			}
			auth := answer(t, first, gosip.REGISTER, tc.user, tc.password, true)
			res := e.do(parse(t, msg(gosip.REGISTER, tc.ext, tc.ext, "c1", 2, "Contact: <sip:x@h1>", auth), phone, "UDP"))
			if status(res) != 403 {
				t.Fatalf("answered REGISTER: %d, want 403", status(res))
			}
			if res.GetHeader("WWW-Authenticate") != nil {
				t.Fatal("403 with a challenge")
			}
			if e.binds.count() != 0 {
				t.Fatal("binding saved")
			}
		})
	}
	t.Run("bad To user", func(t *testing.T) {
		e := newEnv(t, Config{})
		if res := e.do(parse(t, msg(gosip.REGISTER, "2%0D%0A01", "201", "c1", 1), phone, "UDP")); status(res) != 400 {
			t.Fatalf("%d, want 400", status(res))
		}
	})
	t.Run("directory down", func(t *testing.T) {
		e := newEnv(t, Config{})
		first := e.do(parse(t, msg(gosip.REGISTER, "201", "201", "c1", 1), phone, "UDP"))
		e.dir.err = errTest
		res := e.do(parse(t, msg(gosip.REGISTER, "201", "201", "c1", 2, answer(t, first, gosip.REGISTER, "201", "secret201", true)), phone, "UDP"))
		if status(res) != 500 {
			t.Fatalf("%d, want 500", status(res))
		}
	})
}

func TestNonceRulesOnTheWire(t *testing.T) {
	e := newEnv(t, Config{})
	first := e.do(parse(t, msg(gosip.REGISTER, "201", "201", "c1", 1), phone, "UDP"))
	auth := answer(t, first, gosip.REGISTER, "201", "secret201", true)

	// Replayed from another address: the nonce is not for it, a fresh challenge.
	res := e.do(parse(t, msg(gosip.REGISTER, "201", "201", "c1", 2, auth), "198.51.100.1:5060", "UDP"))
	if status(res) != 401 || strings.Contains(res.GetHeader("WWW-Authenticate").Value(), "stale") {
		t.Fatalf("nonce of another address: %d, want a fresh 401", status(res))
	}
	// A forged nonce: a fresh challenge, not a failure.
	forged := strings.Replace(auth, "nonce=\"", "nonce=\"AAAA", 1)
	if res := e.do(parse(t, msg(gosip.REGISTER, "201", "201", "c1", 2, forged), phone, "UDP")); status(res) != 401 {
		t.Fatalf("forged nonce: %d, want 401", status(res))
	}
	// Five minutes later the nonce is stale.
	e.clock.Add(5*time.Minute + time.Second)
	res = e.do(parse(t, msg(gosip.REGISTER, "201", "201", "c1", 2, auth), phone, "UDP"))
	if status(res) != 401 {
		t.Fatalf("stale nonce: %d, want 401", status(res))
	}
	chal, _ := digest.ParseChallenge(res.GetHeader("WWW-Authenticate").Value())
	if !chal.Stale {
		t.Fatalf("stale nonce challenge without stale=true: %s", res.GetHeader("WWW-Authenticate").Value())
	}
	// The new nonce works.
	res = e.do(parse(t, msg(gosip.REGISTER, "201", "201", "c1", 3, answer(t, res, gosip.REGISTER, "201", "secret201", true)), phone, "UDP"))
	if status(res) != 200 {
		t.Fatalf("with the new nonce: %d", status(res))
	}
	if e.s.fails.blocked(mustAddr(t, "192.0.2.10")) || len(e.s.fails.sources) != 0 {
		t.Fatal("nonce problems counted as failures")
	}
}

func TestAuthFailuresBlockTheSource(t *testing.T) {
	e := newEnv(t, Config{AuthFailLimit: 3, AuthFailWindow: time.Minute, AuthBlock: 5 * time.Minute})
	attacker := "203.0.113.9:5060"
	try := func(src, password string) int {
		t.Helper()
		first := e.do(parse(t, msg(gosip.REGISTER, "201", "201", "c1", 1), src, "UDP"))
		if status(first) != 401 {
			return status(first)
		}
		return status(e.do(parse(t, msg(gosip.REGISTER, "201", "201", "c1", 2, answer(t, first, gosip.REGISTER, "201", password, true)), src, "UDP")))
	}
	for i := range 3 {
		if got := try(attacker, "guess"); got != 403 {
			t.Fatalf("guess %d: %d, want 403", i, got)
		}
	}
	// Blocked: 403 at once, no challenge, even with the right password.
	res := e.do(parse(t, msg(gosip.REGISTER, "201", "201", "c1", 1), attacker, "UDP"))
	if status(res) != 403 || res.GetHeader("WWW-Authenticate") != nil {
		t.Fatalf("blocked source: %d, want 403 without challenge", status(res))
	}
	// INVITEs from it are refused the same way.
	if res := e.do(parse(t, msg(gosip.INVITE, "101", "201", "i1", 1), attacker, "UDP")); status(res) != 403 {
		t.Fatalf("INVITE from a blocked source: %d", status(res))
	}
	// Other sources are not affected.
	if got := try(phone, "secret201"); got != 200 {
		t.Fatalf("another source: %d, want 200", got)
	}
	e.clock.Add(5*time.Minute + time.Second)
	if got := try(attacker, "secret201"); got != 200 {
		t.Fatalf("after the block: %d, want 200", got)
	}
}
