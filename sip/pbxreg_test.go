package sip

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// The registration loops against a PBX in the test: a sipgo server on
// 127.0.0.1 that answers REGISTER as a registrar does (401 challenge,
// then 200 with the binding), or as the test scripts it.

const fakePBXRealm = "pbx.test"

// fakePBX is a registrar on 127.0.0.1, UDP and TCP on one port.
type fakePBX struct {
	addr string             // "127.0.0.1:port"
	got  chan fakePBXRecord // every REGISTER, once answered

	mu         sync.Mutex // guards the following
	passwords  map[string]string
	grant      time.Duration // the expiry granted (0: as asked)
	minExpires int           // answer 423 below it (0: never)
	fail       []int         // answer the next REGISTERs with these codes
	silent     bool          // answer nothing
	refuseWith int           // the answer to wrong credentials: 401 (a new challenge, as Kamailio) or 403
	staleOnce  bool          // answer the first right credentials with stale=true
	proxy      bool          // challenge as a proxy (407) before the registrar does
	proxyNonce string        // of the last proxy challenge
	nonce      string        // of the last challenge
}

// fakePBXRecord is one REGISTER the PBX got and what it answered.
type fakePBXRecord struct {
	at         time.Time
	user       string // the To user
	contact    string
	expires    int
	transport  string
	source     string
	callID     string
	cseq       uint32
	authorized bool // it carried the right credentials
	answered   int  // 0: not answered
}

func startFakePBX(t *testing.T, passwords map[string]string) *fakePBX {
	t.Helper()
	p := &fakePBX{got: make(chan fakePBXRecord, 100), passwords: passwords, refuseWith: 401}
	quiet := slog.New(slog.DiscardHandler)
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent("fakepbx"),
		sipgo.WithUserAgentTransportLayerOptions(gosip.WithTransportLayerLogger(quiet)),
		sipgo.WithUserAgentTransactionLayerOptions(gosip.WithTransactionLayerLogger(quiet)),
	)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	srv.OnRegister(p.handle)
	udp, tcp, err := listenPair("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = udp.LocalAddr().String()
	var wg sync.WaitGroup
	wg.Go(func() { srv.ServeUDP(udp) })
	wg.Go(func() { srv.ServeTCP(tcp) })
	t.Cleanup(func() {
		udp.Close()
		tcp.Close()
		wg.Wait()
		ua.Close()
	})
	return p
}

// set changes the PBX's script.
func (p *fakePBX) set(change func(p *fakePBX)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	change(p)
}

func (p *fakePBX) handle(req *gosip.Request, tx gosip.ServerTransaction) {
	rec := fakePBXRecord{at: time.Now(), user: req.To().Address.User, transport: req.Transport(), source: req.Source(),
		callID: req.CallID().Value(), cseq: req.CSeq().SeqNo}
	if c := req.Contact(); c != nil {
		rec.contact = c.Address.String()
	}
	rec.expires, _ = strconv.Atoi(headerValue(req, "Expires"))
	p.mu.Lock()
	code, headers := p.decide(req, &rec)
	p.mu.Unlock()
	// Recorded before the answer: the registrar's next REGISTER, which the
	// answer lets go, must not be recorded first.
	rec.answered = code
	p.got <- rec
	if code != 0 {
		res := gosip.NewResponseFromRequest(req, code, sipReasons[code], nil)
		for _, h := range headers {
			res.AppendHeader(h)
		}
		tx.Respond(res)
	}
}

var sipReasons = map[int]string{200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 407: "Proxy Authentication Required",
	423: "Interval Too Brief", 503: "Service Unavailable"}

// decide answers as the script says; p.mu is held.
func (p *fakePBX) decide(req *gosip.Request, rec *fakePBXRecord) (int, []gosip.Header) {
	switch {
	case p.silent:
		return 0, nil
	case len(p.fail) > 0:
		code := p.fail[0]
		p.fail = p.fail[1:]
		return code, nil
	}
	if p.proxy {
		var pvalues []string
		for _, h := range req.GetHeaders("Proxy-Authorization") {
			pvalues = append(pvalues, h.Value())
		}
		cred, found, err := findCredentials(pvalues, "proxy.test")
		if !found || err != nil || cred.Nonce != p.proxyNonce ||
			!responseMatches(cred.Response, digestResponse(cred, "REGISTER", p.passwords[rec.user])) {
			p.proxyNonce = gosip.GenerateTagN(20)
			c := digest.Challenge{Realm: "proxy.test", Nonce: p.proxyNonce, Algorithm: "MD5"}
			return 407, []gosip.Header{gosip.NewHeader("Proxy-Authenticate", c.String())}
		}
	}
	var values []string
	for _, h := range req.GetHeaders("Authorization") {
		values = append(values, h.Value())
	}
	cred, found, err := findCredentials(values, fakePBXRealm)
	if !found || err != nil || cred.Nonce != p.nonce {
		return 401, p.challenge(false)
	}
	password, known := p.passwords[rec.user]
	if !known || cred.Username != rec.user || !responseMatches(cred.Response, digestResponse(cred, "REGISTER", password)) {
		if p.refuseWith == 403 {
			return 403, nil
		}
		return 401, p.challenge(false)
	}
	if cred.URI != req.Recipient.String() {
		return 400, nil // the digest must sign the Request-URI
	}
	if p.staleOnce {
		p.staleOnce = false
		return 401, p.challenge(true)
	}
	rec.authorized = true
	if p.minExpires > 0 && rec.expires > 0 && rec.expires < p.minExpires {
		return 423, []gosip.Header{gosip.NewHeader("Min-Expires", strconv.Itoa(p.minExpires))}
	}
	if rec.expires == 0 {
		return 200, nil
	}
	grant := rec.expires
	if p.grant > 0 {
		grant = int(p.grant / time.Second)
	}
	// Another phone's binding first: the registrar must find its own.
	return 200, []gosip.Header{
		gosip.NewHeader("Contact", "<sip:"+rec.user+"@192.0.2.7:5062>;expires=3600"),
		gosip.NewHeader("Contact", "<"+rec.contact+">;expires="+strconv.Itoa(grant)),
	}
}

func (p *fakePBX) challenge(stale bool) []gosip.Header {
	p.nonce = gosip.GenerateTagN(20)
	c := digest.Challenge{Realm: fakePBXRealm, Nonce: p.nonce, Algorithm: "MD5", QOP: []string{"auth"}, Stale: stale}
	return []gosip.Header{gosip.NewHeader("WWW-Authenticate", c.String())}
}

// next returns the next REGISTER the PBX got (5 s at most).
func (p *fakePBX) next(t *testing.T) fakePBXRecord {
	t.Helper()
	select {
	case r := <-p.got:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no REGISTER reached the PBX within 5 s")
		return fakePBXRecord{}
	}
}

// pbxRun is a PBXRegistrar serving, its updates and its log.
type pbxRun struct {
	r       *PBXRegistrar
	updates chan PBXState
	log     *lockedLog
	stop    func() time.Duration // ends Serve, says how long it took to return
}

type lockedLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startRegistrar serves a registrar through srv, with no jitter (waits
// are the low end of their range).
func startRegistrar(t *testing.T, srv *Server, cfg PBXConfig) *pbxRun {
	t.Helper()
	run := &pbxRun{updates: make(chan PBXState, 1000), log: &lockedLog{}}
	r, err := NewPBXRegistrar(cfg, srv, slog.New(slog.NewTextHandler(run.log, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	r.jitter = func() float64 { return 0 }
	r.observe = func(s PBXState) {
		select {
		case run.updates <- s:
		default:
		}
	}
	run.r = r
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx) }()
	run.stop = sync.OnceValue(func() time.Duration {
		start := time.Now()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("PBXRegistrar.Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("PBXRegistrar.Serve did not return within 10 s of its context ending")
		}
		return time.Since(start)
	})
	t.Cleanup(func() {
		run.stop()
		if t.Failed() {
			t.Logf("registrar log:\n%s", run.log.String())
		}
	})
	return run
}

// waitFor returns the first update (in order) in the given state, failing
// after 5 s.
func (run *pbxRun) waitFor(t *testing.T, state PBXRegState) PBXState {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case s := <-run.updates:
			if s.State == state {
				return s
			}
		case <-timeout:
			t.Fatalf("no registration became %s within 5 s; now %+v", state, run.r.States())
			return PBXState{}
		}
	}
}

func TestPBXRegisterChallengesRefreshesAndUnregisters(t *testing.T) {
	pbx := startFakePBX(t, map[string]string{"201": "secret201"})
	pbx.set(func(p *fakePBX) { p.grant = time.Second })
	phoned := serve(t, Config{})
	clk := newClock()
	run := startRegistrar(t, phoned.s, PBXConfig{URI: "sip:" + pbx.addr, Accounts: []PBXAccount{{Extension: "201", Password: "secret201"}}, Now: clk.Now})

	contact := "sip:201@" + phoned.addr.String()
	first := pbx.next(t)
	if first.answered != 401 || first.authorized || first.user != "201" || first.contact != contact || first.expires != 300 ||
		first.transport != "UDP" || first.source != phoned.addr.String() {
		t.Fatalf("first REGISTER %+v, want 401 to 201 asking 300 s for %s, sent from the listener %s", first, contact, phoned.addr)
	}
	second := pbx.next(t)
	if second.answered != 200 || !second.authorized || second.callID != first.callID || second.cseq != first.cseq+1 {
		t.Fatalf("second REGISTER %+v, want the digest answer (same Call-ID, next CSeq) and 200", second)
	}
	st := run.waitFor(t, PBXRegistered)
	want := PBXState{Extension: "201", Username: "201", State: PBXRegistered, LastStatus: 200,
		ExpiresAt: clk.Now().Add(time.Second), NextAttempt: clk.Now().Add(750 * time.Millisecond)}
	if st != want {
		t.Fatalf("state %+v, want %+v (granted 1 s, refreshed at 75%% with no jitter)", st, want)
	}

	// The refresh, at 75% of the second granted.
	third, fourth := pbx.next(t), pbx.next(t)
	if gap := third.at.Sub(second.at); gap < 700*time.Millisecond || gap > 1500*time.Millisecond {
		t.Fatalf("refresh %v after the grant of 1 s, want about 750 ms", gap)
	}
	if third.callID != first.callID || third.cseq != second.cseq+1 || fourth.answered != 200 || !fourth.authorized || fourth.cseq != third.cseq+1 {
		t.Fatalf("refresh %+v then %+v", third, fourth)
	}

	run.stop()
	for {
		r := pbx.next(t)
		if r.expires != 0 {
			continue // a refresh that crossed the stop
		}
		if r.answered == 401 {
			r = pbx.next(t)
		}
		if r.expires != 0 || !r.authorized || r.answered != 200 || r.contact != contact || r.callID != first.callID {
			t.Fatalf("un-REGISTER %+v, want Expires 0 for %s, authorized, 200", r, contact)
		}
		break
	}
	want = PBXState{Extension: "201", Username: "201", State: PBXUnregistered, LastStatus: 200}
	if got := run.r.States(); len(got) != 1 || got[0] != want {
		t.Fatalf("States after Serve %+v, want [%+v]", got, want)
	}
}

func TestPBXBacksOffWhileThePBXFails(t *testing.T) {
	pbx := startFakePBX(t, map[string]string{"201": "secret201"})
	pbx.set(func(p *fakePBX) { p.fail = []int{503, 503} })
	phoned := serve(t, Config{})
	clk := newClock()
	run := startRegistrar(t, phoned.s, PBXConfig{URI: "sip:" + pbx.addr, Accounts: []PBXAccount{{Extension: "201", Password: "secret201"}},
		RetryMin: 200 * time.Millisecond, RetryMax: 300 * time.Millisecond, Now: clk.Now})

	// Waits with no jitter: half of 200 ms, then half of 400 ms cut to 300 ms.
	for i, wait := range []time.Duration{100 * time.Millisecond, 150 * time.Millisecond} {
		st := run.waitFor(t, PBXFailed)
		if st.LastStatus != 503 || !strings.Contains(st.LastError, "503") || st.NextAttempt != clk.Now().Add(wait) {
			t.Fatalf("failure %d: %+v, want 503 and the next attempt in %v", i+1, st, wait)
		}
	}
	st := run.waitFor(t, PBXRegistered)
	if st.LastStatus != 200 || st.LastError != "" {
		t.Fatalf("after the PBX came back: %+v", st)
	}
	r1, r2, r3 := pbx.next(t), pbx.next(t), pbx.next(t)
	if r1.answered != 503 || r2.answered != 503 || r3.answered != 401 {
		t.Fatalf("answers %d, %d, %d, want 503, 503, 401", r1.answered, r2.answered, r3.answered)
	}
	if g1, g2 := r2.at.Sub(r1.at), r3.at.Sub(r2.at); g1 < 100*time.Millisecond || g2 < 150*time.Millisecond {
		t.Fatalf("retries after %v and %v, want at least 100 ms and 150 ms", g1, g2)
	}
	if n := strings.Count(run.log.String(), "PBX registration failed"); n != 1 {
		t.Fatalf("the failure was logged %d times, want once (one state change):\n%s", n, run.log.String())
	}
}

func TestPBXRefusedCredentialsFail(t *testing.T) {
	const password = "not-the-secret-xyz"
	for _, tc := range []struct {
		name   string
		refuse int
		reason string
	}{
		{"new challenge as Kamailio", 401, `refused the credentials of "201"`},
		{"403 as Asterisk", 403, "403 Forbidden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pbx := startFakePBX(t, map[string]string{"201": "secret201"})
			pbx.set(func(p *fakePBX) { p.refuseWith = tc.refuse })
			phoned := serve(t, Config{})
			run := startRegistrar(t, phoned.s, PBXConfig{URI: "sip:" + pbx.addr, Accounts: []PBXAccount{{Extension: "201", Password: password}},
				RetryMin: 50 * time.Millisecond, RetryMax: 100 * time.Millisecond})
			for range 2 { // the first failure and a retry
				st := run.waitFor(t, PBXFailed)
				if st.LastStatus != tc.refuse || !strings.Contains(st.LastError, tc.reason) || strings.Contains(st.LastError, password) {
					t.Fatalf("state %+v, want status %d and an error saying %q", st, tc.refuse, tc.reason)
				}
			}
			run.stop()
			log := run.log.String()
			if strings.Contains(log, password) {
				t.Fatalf("the password is in the log:\n%s", log)
			}
			if n := strings.Count(log, "PBX registration failed"); n != 1 {
				t.Fatalf("the failure was logged %d times, want once:\n%s", n, log)
			}
		})
	}
}

func TestPBXNoAnswerThenThePBXComesBack(t *testing.T) {
	pbx := startFakePBX(t, map[string]string{"201": "secret201"})
	pbx.set(func(p *fakePBX) { p.silent = true })
	phoned := serve(t, Config{})
	run := startRegistrar(t, phoned.s, PBXConfig{URI: "sip:" + pbx.addr, Accounts: []PBXAccount{{Extension: "201", Password: "secret201"}},
		Timeout: 200 * time.Millisecond, RetryMin: 100 * time.Millisecond, RetryMax: 100 * time.Millisecond})
	st := run.waitFor(t, PBXFailed)
	if st.LastStatus != 0 || !strings.Contains(st.LastError, "no answer") {
		t.Fatalf("state %+v, want no status and \"no answer\"", st)
	}
	pbx.set(func(p *fakePBX) { p.silent = false })
	run.waitFor(t, PBXRegistered)
}

// When the PBX is gone at shutdown, the un-REGISTER gives up after
// UnregisterTimeout.
func TestPBXUnregisterIsBounded(t *testing.T) {
	pbx := startFakePBX(t, map[string]string{"201": "secret201"})
	phoned := serve(t, Config{})
	run := startRegistrar(t, phoned.s, PBXConfig{URI: "sip:" + pbx.addr, Accounts: []PBXAccount{{Extension: "201", Password: "secret201"}},
		UnregisterTimeout: 300 * time.Millisecond})
	run.waitFor(t, PBXRegistered)
	pbx.set(func(p *fakePBX) { p.silent = true })
	if took := run.stop(); took > 2*time.Second {
		t.Fatalf("Serve took %v to return, want about the UnregisterTimeout of 300 ms", took)
	}
	st := run.r.States()[0]
	if st.State != PBXUnregistered || !strings.Contains(st.LastError, "un-REGISTER") {
		t.Fatalf("state %+v, want unregistered with the un-REGISTER's failure", st)
	}
}

// A SIP server that stopped first: nothing is sent through its closed
// user agent, Serve returns at once.
func TestPBXServeEndsWhenTheServerStoppedFirst(t *testing.T) {
	pbx := startFakePBX(t, map[string]string{"201": "secret201"})
	phoned := serve(t, Config{})
	run := startRegistrar(t, phoned.s, PBXConfig{URI: "sip:" + pbx.addr, Accounts: []PBXAccount{{Extension: "201", Password: "secret201"}}})
	run.waitFor(t, PBXRegistered)
	if err := phoned.stop(); err != nil {
		t.Fatal(err)
	}
	if took := run.stop(); took > time.Second {
		t.Fatalf("Serve took %v to return", took)
	}
	if st := run.r.States()[0]; st.State != PBXUnregistered || !strings.Contains(st.LastError, "not serving") {
		t.Fatalf("state %+v, want unregistered, the un-REGISTER skipped", st)
	}
}

// A stale nonce is answered again; a 423 raises the expiry asked for.
func TestPBXFollowsStaleNoncesAnd423(t *testing.T) {
	pbx := startFakePBX(t, map[string]string{"trunk1": "trunkpw"})
	pbx.set(func(p *fakePBX) { p.staleOnce, p.minExpires = true, 600 })
	phoned := serve(t, Config{})
	clk := newClock()
	run := startRegistrar(t, phoned.s, PBXConfig{URI: "sip:" + pbx.addr, Accounts: []PBXAccount{{Username: "trunk1", Password: "trunkpw"}}, Now: clk.Now})
	st := run.waitFor(t, PBXRegistered)
	if st.ExpiresAt != clk.Now().Add(600*time.Second) || st.Extension != "trunk1" {
		t.Fatalf("state %+v, want 600 s granted to trunk1", st)
	}
	var answers []int
	for range 4 {
		r := pbx.next(t)
		answers = append(answers, r.answered)
		if r.answered == 200 && r.expires != 600 {
			t.Fatalf("REGISTER after the 423 asked %d s, want 600", r.expires)
		}
	}
	if want := []int{401, 401, 423, 200}; !slices.Equal(answers, want) {
		t.Fatalf("answers %v, want %v (challenge, stale, 423, 200)", answers, want)
	}
}

// A proxy in front of the registrar challenges too (407, without qop):
// both answers go in the next REGISTER.
func TestPBXAnswersAProxyAndTheRegistrar(t *testing.T) {
	pbx := startFakePBX(t, map[string]string{"201": "secret201"})
	pbx.set(func(p *fakePBX) { p.proxy = true })
	phoned := serve(t, Config{})
	run := startRegistrar(t, phoned.s, PBXConfig{URI: "sip:" + pbx.addr, Accounts: []PBXAccount{{Extension: "201", Password: "secret201"}}})
	run.waitFor(t, PBXRegistered)
	var answers []int
	for range 3 {
		answers = append(answers, pbx.next(t).answered)
	}
	if want := []int{407, 401, 200}; !slices.Equal(answers, want) {
		t.Fatalf("answers %v, want %v", answers, want)
	}
}

func TestPBXRegistersOverTCP(t *testing.T) {
	pbx := startFakePBX(t, map[string]string{"202": "secret202"})
	phoned := serve(t, Config{})
	run := startRegistrar(t, phoned.s, PBXConfig{URI: "sip:" + pbx.addr + ";transport=tcp", Accounts: []PBXAccount{{Extension: "202", Password: "secret202"}}})
	run.waitFor(t, PBXRegistered)
	r := pbx.next(t)
	if r.transport != "TCP" || r.contact != "sip:202@"+phoned.addr.String()+";transport=tcp" {
		t.Fatalf("REGISTER %+v, want TCP and a Contact with transport=tcp", r)
	}
}

func TestPBXServeOnceAndBeforeTheServerIsReady(t *testing.T) {
	e := newEnv(t, Config{}) // never served
	r, err := NewPBXRegistrar(PBXConfig{URI: "sip:127.0.0.1:5070", Accounts: []PBXAccount{{Extension: "201"}}}, e.s, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Serve(ctx); err != nil {
		t.Fatalf("Serve with its context ended: %v", err)
	}
	if st := r.States(); st[0].State != PBXUnregistered {
		t.Fatalf("States %+v", st)
	}
	if err := r.Serve(ctx); !errors.Is(err, ErrPBXServed) {
		t.Fatalf("second Serve: %v, want ErrPBXServed", err)
	}
}

func TestPBXConfig(t *testing.T) {
	e := newEnv(t, Config{})
	acct := []PBXAccount{{Extension: "201", Password: "x"}}
	r, err := NewPBXRegistrar(PBXConfig{URI: "sip:pbx.example.com", Accounts: []PBXAccount{{Username: "trunk1", Password: "pw"}}}, e.s, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := r.cfg
	if c.Expires != 300*time.Second || c.RetryMin != time.Second || c.RetryMax != time.Minute || c.Timeout != 10*time.Second ||
		c.UnregisterTimeout != 2*time.Second || c.Now == nil || c.Accounts[0] != (PBXAccount{Extension: "trunk1", Username: "trunk1", Password: "pw"}) ||
		r.transport != "UDP" || r.domain != "pbx.example.com" {
		t.Fatalf("defaults %+v, transport %s, domain %s", c, r.transport, r.domain)
	}

	for _, tc := range []struct {
		name string
		cfg  PBXConfig
		want string
	}{
		{"no URI", PBXConfig{Accounts: acct}, "URI"},
		{"sips", PBXConfig{URI: "sips:pbx.example.com", Accounts: acct}, "sips"},
		{"tel", PBXConfig{URI: "tel:+3222001122", Accounts: acct}, "sip"},
		{"user part", PBXConfig{URI: "sip:201@pbx.example.com", Accounts: acct}, "user part"},
		{"transport", PBXConfig{URI: "sip:pbx.example.com;transport=sctp", Accounts: acct}, "transport"},
		{"unknown parameter", PBXConfig{URI: "sip:pbx.example.com;maddr=10.0.0.1", Accounts: acct}, "maddr"},
		{"header injection", PBXConfig{URI: "sip:pbx.example.com\r\nX: 1", Accounts: acct}, "control"},
		{"no extension nor user", PBXConfig{URI: "sip:pbx.example.com", Accounts: []PBXAccount{{Password: "x"}}}, "extension"},
		{"bad extension", PBXConfig{URI: "sip:pbx.example.com", Accounts: []PBXAccount{{Extension: "201\r\nX: 1"}}}, "extension"},
		{"bad username", PBXConfig{URI: "sip:pbx.example.com", Accounts: []PBXAccount{{Extension: "201", Username: `a"b`}}}, "username"},
		{"password with CR LF", PBXConfig{URI: "sip:pbx.example.com", Accounts: []PBXAccount{{Extension: "201", Password: "pw\r\n"}}}, "password"},
		{"twice", PBXConfig{URI: "sip:pbx.example.com", Accounts: []PBXAccount{{Extension: "201"}, {Extension: "201"}}}, "twice"},
		{"same user, two extensions", PBXConfig{URI: "sip:pbx.example.com", Accounts: []PBXAccount{{Extension: "201", Username: "t"}, {Extension: "202", Username: "t"}}}, "twice"},
		{"expires under a second", PBXConfig{URI: "sip:pbx.example.com", Accounts: acct, Expires: 500 * time.Millisecond}, "Expires"},
		{"negative retry", PBXConfig{URI: "sip:pbx.example.com", Accounts: acct, RetryMin: -time.Second}, "RetryMin"},
		{"retry bounds", PBXConfig{URI: "sip:pbx.example.com", Accounts: acct, RetryMin: time.Minute, RetryMax: time.Second}, "RetryMin"},
		{"contact host", PBXConfig{URI: "sip:pbx.example.com", Accounts: acct, ContactHost: "a b"}, "ContactHost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewPBXRegistrar(tc.cfg, e.s, nil)
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want ErrInvalidConfig naming %q", err, tc.want)
			}
		})
	}
	if _, err := NewPBXRegistrar(PBXConfig{URI: "sip:pbx.example.com", Accounts: acct}, nil, nil); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("no server: %v", err)
	}
}

func TestBackoffAndRefresh(t *testing.T) {
	for _, tc := range []struct {
		n      int
		jitter float64
		want   time.Duration
	}{
		{1, 0, 500 * time.Millisecond},
		{1, 0.999, 999500 * time.Microsecond},
		{2, 0, time.Second},
		{4, 0, 4 * time.Second},
		{7, 0, 30 * time.Second}, // 64 s cut to 60
		{1000, 0.5, 45 * time.Second},
	} {
		if got := backoff(tc.n, time.Second, time.Minute, tc.jitter); got != tc.want {
			t.Errorf("backoff(%d, 1s, 1m, %v) = %v, want %v", tc.n, tc.jitter, got, tc.want)
		}
	}
	for _, tc := range []struct {
		granted time.Duration
		jitter  float64
		want    time.Duration
	}{
		{300 * time.Second, 0, 225 * time.Second},
		{300 * time.Second, 0.5, 240 * time.Second},
		{time.Second, 0, 750 * time.Millisecond},
		{100 * time.Millisecond, 0, 500 * time.Millisecond},
	} {
		if got := refreshAfter(tc.granted, tc.jitter); got != tc.want {
			t.Errorf("refreshAfter(%v, %v) = %v, want %v", tc.granted, tc.jitter, got, tc.want)
		}
	}
}

func TestGrantedExpiry(t *testing.T) {
	ours := gosip.Uri{Scheme: "sip", User: "201", Host: "127.0.0.1", Port: 5060}
	for _, tc := range []struct {
		name    string
		headers []string
		want    time.Duration
	}{
		{"our contact's expires", []string{"Contact: <sip:201@10.0.0.9:5060>;expires=30", "Contact: <sip:201@127.0.0.1;transport=udp>;expires=120", "Expires: 60"}, 120 * time.Second},
		{"the Expires header", []string{"Contact: <sip:201@10.0.0.9:5060>;expires=30", "Expires: 60"}, 60 * time.Second},
		{"what was asked", nil, 300 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\nFrom: <sip:201@pbx>;tag=1\r\nTo: <sip:201@pbx>;tag=2\r\n" +
				"Call-ID: x\r\nCSeq: 2 REGISTER\r\n" + strings.Join(append(tc.headers, ""), "\r\n") + "Content-Length: 0\r\n\r\n"
			msg, err := gosip.ParseMessage([]byte(raw))
			if err != nil {
				t.Fatal(err)
			}
			if got := grantedExpiry(msg.(*gosip.Response), ours, 300*time.Second); got != tc.want {
				t.Fatalf("granted %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPBXAccountsFor(t *testing.T) {
	dir := newDirectory(alice, bob, carol, dave) // carol inactive, dave without a password
	got, skipped, err := PBXAccountsFor(context.Background(), dir, []string{"201", "202", "203", "204", "299"})
	if err != nil {
		t.Fatal(err)
	}
	want := []PBXAccount{{"201", "201", "secret201"}, {"202", "202", "secret202"}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] || strings.Join(skipped, ",") != "203,204,299" {
		t.Fatalf("accounts %+v, skipped %v", got, skipped)
	}
	dir.err = errors.New("disk on fire")
	if _, _, err := PBXAccountsFor(context.Background(), dir, []string{"201"}); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("directory failure: %v", err)
	}
}

// Agents added or removed while phoned runs: SetAccounts registers the
// new extension, un-registers the one that went, and leaves the others
// alone.
func TestPBXAccountsChangeWhileServing(t *testing.T) {
	pbx := startFakePBX(t, map[string]string{"201": "secret201", "202": "secret202"})
	phoned := serve(t, Config{})
	run := startRegistrar(t, phoned.s, PBXConfig{URI: "sip:" + pbx.addr})
	if got := run.r.States(); len(got) != 0 {
		t.Fatalf("states with no account: %+v", got)
	}
	if err := run.r.SetAccounts([]PBXAccount{{Extension: "201", Password: "secret201"}}); err != nil {
		t.Fatal(err)
	}
	if st := run.waitFor(t, PBXRegistered); st.Extension != "201" {
		t.Fatalf("registered %+v", st)
	}
	if err := run.r.SetAccounts([]PBXAccount{{Extension: "201", Password: "secret201"}, {Extension: "202", Password: "secret202"}}); err != nil {
		t.Fatal(err)
	}
	if st := run.waitFor(t, PBXRegistered); st.Extension != "202" {
		t.Fatalf("registered %+v, want 202", st)
	}
	if err := run.r.SetAccounts([]PBXAccount{{Extension: "202", Password: "secret202"}}); err != nil {
		t.Fatal(err)
	}
	if st := run.waitFor(t, PBXUnregistered); st.Extension != "201" {
		t.Fatalf("un-registered %+v, want 201", st)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := run.r.States()
		if len(got) == 1 && got[0].Extension == "202" && got[0].State == PBXRegistered {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("states %+v, want 202 alone, registered", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := run.r.SetAccounts([]PBXAccount{{Extension: "20\r\n1"}}); err == nil {
		t.Fatal("an account with CR/LF was taken")
	}
}
