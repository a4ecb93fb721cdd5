package sip

import (
	"net/netip"
	"testing"

	gosip "github.com/emiago/sipgo/sip"
)

func TestInviteGate(t *testing.T) {
	pbx := "10.1.2.3:5060"
	cfg := Config{Trust: []netip.Prefix{mustPrefix(t, "10.1.2.0/24"), mustPrefix(t, "::ffff:172.16.0.0/108")}}
	invite := func(fromUser, callID string, cseq int, extra ...string) string {
		return msg(gosip.INVITE, "101", fromUser, callID, cseq, extra...)
	}

	t.Run("trusted source passes without auth", func(t *testing.T) {
		e := newEnv(t, cfg)
		res := e.do(parse(t, invite("+3222001122", "i1", 1), pbx, "UDP"))
		if status(res) != 486 {
			t.Fatalf("%d, want the fake engine's 486", status(res))
		}
		calls := e.in.calls()
		if len(calls) != 1 || !calls[0].Trusted || calls[0].Account != nil || calls[0].Source.String() != pbx || calls[0].Transport != TransportUDP {
			t.Fatalf("caller %+v", calls)
		}
	})
	t.Run("trusted IPv4-mapped source", func(t *testing.T) {
		e := newEnv(t, cfg)
		e.do(parse(t, invite("x", "i1", 1), "[::ffff:172.16.5.5]:5060", "TCP"))
		if calls := e.in.calls(); len(calls) != 1 || !calls[0].Trusted || calls[0].Source.Addr() != mustAddr(t, "172.16.5.5") {
			t.Fatalf("caller %+v", calls)
		}
	})
	t.Run("untrusted source is challenged, then passes with the From user's password", func(t *testing.T) {
		e := newEnv(t, cfg)
		first := e.do(parse(t, invite("201", "i1", 1), phone, "UDP"))
		if status(first) != 407 || first.GetHeader("Proxy-Authenticate") == nil {
			t.Fatalf("%d, want 407 with Proxy-Authenticate\n%s", status(first), first)
		}
		if len(e.in.calls()) != 0 {
			t.Fatal("an unauthenticated INVITE reached the engine")
		}
		auth := answer(t, first, gosip.INVITE, "201", "secret201", true)
		if res := e.do(parse(t, invite("201", "i1", 2, auth), phone, "UDP")); status(res) != 486 {
			t.Fatalf("authenticated INVITE: %d", status(res))
		}
		calls := e.in.calls()
		if len(calls) != 1 || calls[0].Trusted || calls[0].Account == nil || *calls[0].Account != alice {
			t.Fatalf("caller %+v", calls)
		}
	})
	for _, tc := range []struct {
		name, from, user, password string
	}{
		{"wrong password", "201", "201", "guess"},
		{"credentials of another account than the From", "+3222001122", "201", "secret201"},
		{"From of another account", "202", "201", "secret201"},
		{"unknown From", "299", "299", "x"},
		{"inactive account", "203", "203", "secret203"},
	} {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			e := newEnv(t, cfg)
			first := e.do(parse(t, invite(tc.from, "i1", 1), phone, "UDP"))
			auth := answer(t, first, gosip.INVITE, tc.user, tc.password, true)
			if res := e.do(parse(t, invite(tc.from, "i1", 2, auth), phone, "UDP")); status(res) != 403 {
				t.Fatalf("%d, want 403", status(res))
			}
			if len(e.in.calls()) != 0 {
				t.Fatal("a refused INVITE reached the engine")
			}
		})
	}
	t.Run("Authorization instead of Proxy-Authorization is not taken", func(t *testing.T) {
		e := newEnv(t, cfg)
		first := e.do(parse(t, invite("201", "i1", 1), phone, "UDP"))
		auth := answer(t, first, gosip.INVITE, "201", "secret201", true)
		auth = "Authorization" + auth[len("Proxy-Authorization"):]
		if res := e.do(parse(t, invite("201", "i1", 2, auth), phone, "UDP")); status(res) != 407 {
			t.Fatalf("%d, want 407", status(res))
		}
	})
	t.Run("no engine: 480 after the gate", func(t *testing.T) {
		s, err := New(Config{Trust: cfg.Trust}, Deps{Directory: newDirectory(), Bindings: newBindings()})
		if err != nil {
			t.Fatal(err)
		}
		defer s.ua.Close()
		tx := newTx()
		s.route(t.Context(), parse(t, invite("x", "i1", 1), pbx, "UDP"), tx)
		if r := tx.responses(); len(r) != 1 || r[0].StatusCode != 480 {
			t.Fatalf("responses %v", r)
		}
		tx = newTx()
		s.route(t.Context(), parse(t, invite("x", "i2", 1), phone, "UDP"), tx)
		if r := tx.responses(); len(r) != 1 || r[0].StatusCode != 407 {
			t.Fatalf("untrusted without engine: %v", r)
		}
	})
}

func TestInDialogRequestsWithoutEngine(t *testing.T) {
	e := newEnv(t, Config{})
	for _, tc := range []struct {
		method gosip.RequestMethod
		extra  []string
		want   int
	}{
		{gosip.BYE, nil, 481},
		{gosip.INVITE, nil, 481}, // a re-INVITE: To has a tag below
		{gosip.ACK, nil, 0},
		{gosip.CANCEL, nil, 481},
		{gosip.REFER, []string{"Refer-To: <sip:102@h>"}, 481},
		{gosip.MESSAGE, nil, 405},
		{gosip.SUBSCRIBE, nil, 405},
		{gosip.RequestMethod("FOO"), nil, 501},
	} {
		raw := msg(tc.method, "201", "202", "d1", 1, tc.extra...)
		raw = replaceOnce(raw, "To: <sip:201@127.0.0.1>", "To: <sip:201@127.0.0.1>;tag=abc")
		if got := status(e.do(parse(t, raw, phone, "UDP"))); got != tc.want {
			t.Errorf("%s in a dialog: %d, want %d", tc.method, got, tc.want)
		}
	}
	if len(e.in.calls()) != 0 {
		t.Fatal("an in-dialog request reached HandleInvite")
	}
}
