package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// clock is a controlled clock for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// memDirectory is a Directory in memory.
type memDirectory struct {
	mu       sync.Mutex
	accounts map[string]Account
	err      error // returned by every lookup when set
}

func newDirectory(accts ...Account) *memDirectory {
	d := &memDirectory{accounts: map[string]Account{}}
	for _, a := range accts {
		d.accounts[a.Extension] = a
	}
	return d
}

func (d *memDirectory) SIPAccount(_ context.Context, ext string) (Account, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return Account{}, d.err
	}
	a, ok := d.accounts[ext]
	if !ok {
		return Account{}, fmt.Errorf("extension %q: %w", ext, ErrUnknownAccount)
	}
	return a, nil
}

// memBindings is Bindings in memory.
type memBindings struct {
	mu     sync.Mutex
	b      map[string]Binding // by extension + " " + contact
	purges int
}

func newBindings() *memBindings { return &memBindings{b: map[string]Binding{}} }

func (m *memBindings) SaveSIPBinding(_ context.Context, b Binding) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.b[b.Extension+" "+b.Contact] = b
	return nil
}

func (m *memBindings) RemoveSIPBinding(_ context.Context, ext, contact string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.b, ext+" "+contact)
	return nil
}

func (m *memBindings) RemoveSIPBindings(_ context.Context, ext string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, b := range m.b {
		if b.Extension == ext {
			delete(m.b, k)
		}
	}
	return nil
}

func (m *memBindings) SIPBindings(_ context.Context, ext string, now time.Time) ([]Binding, error) {
	return m.list(func(b Binding) bool { return b.Extension == ext }, now), nil
}

func (m *memBindings) AllSIPBindings(_ context.Context, now time.Time) ([]Binding, error) {
	return m.list(func(Binding) bool { return true }, now), nil
}

func (m *memBindings) list(keep func(Binding) bool, now time.Time) []Binding {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Binding
	for _, b := range m.b {
		if keep(b) && b.ExpiresAt.After(now) {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b Binding) int {
		return strings.Compare(a.Extension+" "+a.Contact, b.Extension+" "+b.Contact)
	})
	return out
}

func (m *memBindings) PurgeSIPBindings(_ context.Context, now time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.purges++
	n := 0
	for k, b := range m.b {
		if !b.ExpiresAt.After(now) {
			delete(m.b, k)
			n++
		}
	}
	return n, nil
}

// count is how many bindings are stored, expired or not.
func (m *memBindings) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.b)
}

// inbound is a fake call engine: it records the INVITEs that reach it
// and answers them with code.
type inbound struct {
	mu      sync.Mutex
	callers []Caller
	code    int
	block   bool // wait for ctx to end before answering
}

func (in *inbound) HandleInvite(ctx context.Context, req *gosip.Request, tx gosip.ServerTransaction, from Caller) {
	in.mu.Lock()
	in.callers = append(in.callers, from)
	code, block := in.code, in.block
	in.mu.Unlock()
	if block {
		<-ctx.Done()
	}
	if code == 0 {
		code = 486
	}
	tx.Respond(gosip.NewResponseFromRequest(req, code, "Busy Here", nil))
}

func (in *inbound) calls() []Caller {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.callers)
}

// fakeTx is a server transaction that keeps the responses.
type fakeTx struct {
	mu   sync.Mutex
	res  []*gosip.Response
	done chan struct{}
}

func newTx() *fakeTx { return &fakeTx{done: make(chan struct{})} }

func (f *fakeTx) Respond(r *gosip.Response) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.res = append(f.res, r)
	return nil
}
func (f *fakeTx) Acks() <-chan *gosip.Request          { return nil }
func (f *fakeTx) OnCancel(gosip.FnTxCancel) bool       { return true }
func (f *fakeTx) Terminate()                           {}
func (f *fakeTx) OnTerminate(gosip.FnTxTerminate) bool { return true }
func (f *fakeTx) Done() <-chan struct{}                { return f.done }
func (f *fakeTx) Err() error                           { return nil }
func (f *fakeTx) responses() []*gosip.Response {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.res)
}

// env is a Server not serving, whose handlers the tests call directly
// with fake transactions.
type env struct {
	t     *testing.T
	s     *Server
	clock *clock
	dir   *memDirectory
	binds *memBindings
	in    *inbound
}

var (
	alice = Account{UserID: 1, Extension: "201", Password: "secret201", Active: true}
	bob   = Account{UserID: 2, Extension: "202", Password: "secret202", Active: true}
	carol = Account{UserID: 3, Extension: "203", Password: "secret203", Active: false}
	dave  = Account{UserID: 4, Extension: "204", Password: "", Active: true}
)

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	e := &env{t: t, clock: newClock(), dir: newDirectory(alice, bob, carol, dave), binds: newBindings(), in: &inbound{}}
	if cfg.Now == nil {
		cfg.Now = e.clock.Now
	}
	s, err := New(cfg, Deps{Log: testLogger(t), Directory: e.dir, Bindings: e.binds, Inbound: e.in})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.ua.Close() })
	e.s = s
	return e
}

// testLogger writes to the test's log until the test ends (sipgo
// goroutines may log a moment later: those lines are dropped).
func testLogger(t testing.TB) *slog.Logger {
	w := &tlogWriter{t: t}
	t.Cleanup(func() { w.done.Store(true) })
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tlogWriter struct {
	t    testing.TB
	done atomic.Bool
}

func (w *tlogWriter) Write(p []byte) (int, error) {
	if !w.done.Load() {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// parse reads a request written with \n line ends, as received from src
// over transport.
func parse(t testing.TB, raw, src, transport string) *gosip.Request {
	t.Helper()
	msg, err := gosip.ParseMessage([]byte(crlf(raw)))
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	req, ok := msg.(*gosip.Request)
	if !ok {
		t.Fatalf("not a request: %q", raw)
	}
	req.SetSource(src)
	req.SetTransport(transport)
	return req
}

func crlf(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}

// do routes req as if received and returns the final response (nil: none).
func (e *env) do(req *gosip.Request) *gosip.Response {
	e.t.Helper()
	tx := newTx()
	e.s.route(context.Background(), req, tx)
	res := tx.responses()
	if len(res) == 0 {
		return nil
	}
	return res[len(res)-1]
}

// msg is a request's text: method, the To/From user, Call-ID, CSeq and
// more header lines.
func msg(method gosip.RequestMethod, toUser, fromUser, callID string, cseq int, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s sip:%s@127.0.0.1:5060 SIP/2.0\n", method, toUser)
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP 192.0.2.10:5093;branch=z9hG4bK-%s-%d;rport\n", callID, cseq)
	fmt.Fprintf(&b, "From: <sip:%s@127.0.0.1>;tag=f%s\n", fromUser, callID)
	fmt.Fprintf(&b, "To: <sip:%s@127.0.0.1>\n", toUser)
	fmt.Fprintf(&b, "Call-ID: %s\nCSeq: %d %s\nMax-Forwards: 70\n", callID, cseq, method)
	for _, h := range extra {
		b.WriteString(h + "\n")
	}
	b.WriteString("Content-Length: 0\n\n")
	return b.String()
}

// answer computes the Authorization (or Proxy-Authorization) header line
// answering the challenge in res, with icholy/digest (the library sipgo's
// client uses), the way SIPp does: uri is sip:host:port, not the
// Request-URI. qop false answers without qop (RFC 2069 style).
func answer(t testing.TB, res *gosip.Response, method gosip.RequestMethod, user, pass string, qop bool) string {
	t.Helper()
	name, hname := "WWW-Authenticate", "Authorization"
	if res.StatusCode == 407 {
		name, hname = "Proxy-Authenticate", "Proxy-Authorization"
	}
	h := res.GetHeader(name)
	if h == nil {
		t.Fatalf("%d without %s", res.StatusCode, name)
	}
	chal, err := digest.ParseChallenge(h.Value())
	if err != nil {
		t.Fatalf("challenge %q: %v", h.Value(), err)
	}
	if !qop {
		chal.QOP = nil
	}
	cred, err := digest.Digest(chal, digest.Options{Method: method.String(), URI: "sip:127.0.0.1:5060", Username: user, Password: pass})
	if err != nil {
		t.Fatal(err)
	}
	return hname + ": " + cred.String()
}

// register sends a REGISTER for ext from src, answers the challenge with
// password and returns the final response. extra are header lines
// (Contact, Expires).
func (e *env) register(ext, password, src string, cseq int, callID string, extra ...string) *gosip.Response {
	e.t.Helper()
	res := e.do(parse(e.t, msg(gosip.REGISTER, ext, ext, callID, cseq, extra...), src, "UDP"))
	if res == nil || res.StatusCode != 401 {
		return res
	}
	auth := answer(e.t, res, gosip.REGISTER, ext, password, true)
	return e.do(parse(e.t, msg(gosip.REGISTER, ext, ext, callID, cseq+1, append(extra, auth)...), src, "UDP"))
}

// contacts lists the Contact header values of res.
func contacts(res *gosip.Response) []string {
	var out []string
	for _, h := range res.GetHeaders("Contact") {
		out = append(out, h.Value())
	}
	return out
}

func status(res *gosip.Response) int {
	if res == nil {
		return 0
	}
	return res.StatusCode
}

func mustPrefix(t testing.TB, s string) netip.Prefix {
	t.Helper()
	p, err := netip.ParsePrefix(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var errTest = errors.New("test: storage down")

func mustAddr(t testing.TB, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func replaceOnce(s, old, new string) string { return strings.Replace(s, old, new, 1) }
