package sip

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// The fuzz server's fixed key, clock and addresses: committed seeds carry
// nonces minted with them, so that mutations of an authenticated REGISTER
// or INVITE get past auth and exercise what follows.
var (
	fuzzKey     = []byte("phoned fuzz nonce key, 32 bytes!")
	fuzzNow     = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	fuzzPhone   = "192.0.2.10:5093"
	fuzzTrusted = "10.1.2.3:5060"
)

// FuzzHandleRequest feeds bytes through sipgo's parser into the server's
// router with a fake transaction, from an untrusted phone or a trusted
// PBX address. It checks that nothing panics, that every request but ACK
// gets exactly one well-formed answer, and the gate: a call reaches the
// engine only from the trusted address or with the From user's own
// credentials, and a binding is saved only for the To user with
// credentials.
func FuzzHandleRequest(f *testing.F) {
	e := fuzzEnv(f)
	for _, seed := range fuzzSeeds(f) {
		f.Add([]byte(seed), false)
	}
	f.Add([]byte(crlf(msg(gosip.INVITE, "101", "+3222001122", "t1", 1))), true)
	f.Fuzz(func(t *testing.T, data []byte, trusted bool) {
		m, err := gosip.ParseMessage(data)
		if err != nil {
			return
		}
		req, ok := m.(*gosip.Request)
		if !ok {
			return
		}
		src := fuzzPhone
		if trusted {
			src = fuzzTrusted
		}
		req.SetSource(src)
		req.SetTransport("UDP")
		e.binds.mu.Lock()
		e.binds.b = map[string]Binding{}
		e.binds.mu.Unlock()
		e.in.mu.Lock()
		e.in.callers = nil
		e.in.mu.Unlock()

		tx := newTx()
		e.s.route(context.Background(), req, tx)

		res := tx.responses()
		switch {
		case req.IsAck() && len(res) > 0:
			t.Fatalf("ACK answered %d", res[0].StatusCode)
		case !req.IsAck() && len(res) != 1:
			t.Fatalf("%d answers to %s", len(res), req.Method)
		}
		for _, r := range res {
			if r.StatusCode < 100 || r.StatusCode > 699 {
				t.Fatalf("status %d", r.StatusCode)
			}
			// sipgo copies headers into answers as it parsed them: what
			// it cannot write back readably in the request is not ours.
			if _, err := gosip.ParseMessage([]byte(r.String())); err != nil && reparses(req) {
				t.Fatalf("answer does not parse: %v\n%s", err, r)
			}
			if !strings.HasPrefix(r.StartLine(), "SIP/2.0 ") {
				t.Fatalf("answer %q", r.StartLine())
			}
		}
		for _, c := range e.in.calls() {
			if c.Trusted != trusted || c.Source.String() != src {
				t.Fatalf("caller %+v from %s", c, src)
			}
			if !c.Trusted && (c.Account == nil || c.Account.Extension != req.From().Address.User || !hasCredentials(req, "Proxy-Authorization", c.Account.Extension)) {
				t.Fatalf("untrusted INVITE reached the engine as %+v", c)
			}
		}
		all, _ := e.binds.AllSIPBindings(context.Background(), fuzzNow)
		for _, b := range all {
			if req.Method != gosip.REGISTER || b.Extension != req.To().Address.User || !hasCredentials(req, "Authorization", b.Extension) {
				t.Fatalf("binding %+v saved by\n%s", b, req)
			}
			if hasControl(b.Contact) || b.Received != src || CheckDialString(b.Extension) != nil {
				t.Fatalf("binding %+v", b)
			}
		}
	})
}

func reparses(req *gosip.Request) bool {
	_, err := gosip.ParseMessage([]byte(req.String()))
	return err == nil
}

// hasCredentials reports whether req carries a digest header for user.
func hasCredentials(req *gosip.Request, header, user string) bool {
	for _, h := range req.GetHeaders(header) {
		if c, err := digest.ParseCredentials(h.Value()); err == nil && c.Username == user {
			return true
		}
	}
	return false
}

func fuzzEnv(tb testing.TB) *env {
	clk := &clock{t: fuzzNow}
	e := &env{clock: clk, dir: newDirectory(alice, bob, carol, dave), binds: newBindings(), in: &inbound{}}
	s, err := New(Config{
		NonceKey:      fuzzKey,
		Now:           clk.Now,
		Trust:         []netip.Prefix{netip.MustParsePrefix("10.1.2.0/24")},
		AuthFailLimit: 1 << 30, // the fuzzer must keep reaching auth
	}, Deps{Directory: e.dir, Bindings: e.binds, Inbound: e.in})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.ua.Close() })
	e.s = s
	return e
}

// fuzzSeeds are requests the fuzz server answers in every way: OPTIONS,
// REGISTER and INVITE challenged, and authenticated with nonces of the
// fuzz key, so that mutations reach the registrar and the engine.
func fuzzSeeds(tb testing.TB) []string {
	e := fuzzEnv(tb)
	ask := func(raw string) *gosip.Response {
		req := parse(tb, raw, fuzzPhone, "UDP")
		tx := newTx()
		e.s.route(context.Background(), req, tx)
		return tx.responses()[0]
	}
	reg := msg(gosip.REGISTER, "201", "201", "f1", 1, "Contact: <sip:201@192.0.2.10:5093>;expires=120, <sip:201@10.0.0.1>", "Expires: 600", "User-Agent: fuzz")
	inv := msg(gosip.INVITE, "0032470123456", "201", "f2", 1)
	regAuth := answer(tb, ask(reg), gosip.REGISTER, "201", "secret201", true)
	invAuth := answer(tb, ask(inv), gosip.INVITE, "201", "secret201", false)
	seeds := []string{
		options("f0", "192.0.2.10:5093;rport"),
		reg,
		msg(gosip.REGISTER, "201", "201", "f1", 2, "Contact: <sip:201@192.0.2.10:5093>;expires=120, <sip:201@10.0.0.1>", "Expires: 600", regAuth),
		msg(gosip.REGISTER, "201", "201", "f1", 3, "Contact: *", "Expires: 0", regAuth),
		inv,
		msg(gosip.INVITE, "0032470123456", "201", "f2", 2, invAuth),
		strings.Replace(msg(gosip.BYE, "201", "202", "f3", 1), "To: <sip:201@127.0.0.1>", "To: <sip:201@127.0.0.1>;tag=x", 1),
	}
	for i := range seeds {
		seeds[i] = crlf(seeds[i])
	}
	return seeds
}

// The authenticated seeds do get past auth (else the fuzzer would never
// reach the registrar's and the engine's side of the gate).
func TestFuzzSeedsPassAuth(t *testing.T) {
	e := fuzzEnv(t)
	seeds := fuzzSeeds(t)
	for i, want := range map[int]int{0: 200, 1: 401, 2: 200, 3: 200, 4: 407, 5: 486, 6: 481} {
		tx := newTx()
		e.s.route(context.Background(), parse(t, seeds[i], fuzzPhone, "UDP"), tx)
		if r := tx.responses(); len(r) != 1 || r[0].StatusCode != want {
			t.Errorf("seed %d: %v, want %d", i, r, want)
		}
	}
	if c := e.in.calls(); len(c) != 1 || c[0].Account == nil || c[0].Account.Extension != "201" {
		t.Fatalf("engine calls %+v", c)
	}
}
