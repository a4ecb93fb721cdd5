package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"phoned/auth"
	"phoned/comm"
	"phoned/store"
)

// syncBuffer is an io.Writer that serve writes to while the test reads,
// and that tells waiters when something was written.
type syncBuffer struct {
	mu      sync.Mutex // guards b
	b       bytes.Buffer
	written chan struct{} // gets a value after a write, if it has none
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{written: make(chan struct{}, 1)} }

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() {
		select {
		case s.written <- struct{}{}:
		default:
		}
	}()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// daemon is one serve run of a test.
type daemon struct {
	t              *testing.T
	url            string // "http://127.0.0.1:port/"
	stdout, stderr *syncBuffer
	cancel         context.CancelFunc
	done           chan error // gets serve's result
	stopped        bool
	err            error
}

// startTimeout bounds a start (demo seeding hashes four passwords and
// plans two days, slower under -race); stopTimeout bounds a shutdown.
const (
	startTimeout = 20 * time.Second
	stopTimeout  = 5 * time.Second
)

var urlLine = regexp.MustCompile(`web and API at (http://\S+/) `)

// startServe runs serve on the database at db and a free port, with the
// extra flags, and returns once it printed its URL (and the listener is
// open). The daemon is stopped when the test ends.
func startServe(t *testing.T, db string, extra ...string) *daemon {
	t.Helper()
	cfg, err := parseServe(append([]string{"--db", db, "--http", "127.0.0.1:0", "--sip", "127.0.0.1:0"}, extra...), envOf(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{t: t, stdout: newSyncBuffer(), stderr: newSyncBuffer(), cancel: cancel, done: make(chan error, 1)}
	go func() { d.done <- serve(ctx, cfg, d.stdout, d.stderr) }()
	t.Cleanup(func() {
		if !d.stopped {
			if err := d.stop(); err != nil {
				t.Errorf("serve returned %v at the end of the test, want nil", err)
			}
		}
	})
	out := d.waitStdout(func(s string) bool { return urlLine.MatchString(s) })
	d.url = urlLine.FindStringSubmatch(out)[1]
	return d
}

// waitStdout waits until stdout satisfies ok and returns it, failing the
// test if serve ends first or startTimeout passes.
func (d *daemon) waitStdout(ok func(string) bool) string {
	d.t.Helper()
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	for {
		if out := d.stdout.String(); ok(out) {
			return out
		}
		select {
		case <-d.stdout.written:
		case err := <-d.done:
			d.stopped, d.err = true, err
			d.t.Fatalf("serve ended early: %v\nstdout:\n%s\nstderr:\n%s", err, d.stdout, d.stderr)
		case <-deadline.C:
			d.t.Fatalf("serve did not print what was expected within %v\nstdout:\n%s\nstderr:\n%s", startTimeout, d.stdout, d.stderr)
		}
	}
}

// stop cancels serve's context and returns what serve returned, failing
// the test if it does not return within stopTimeout.
func (d *daemon) stop() error {
	d.t.Helper()
	if d.stopped {
		return d.err
	}
	d.cancel()
	select {
	case d.err = <-d.done:
		d.stopped = true
		return d.err
	case <-time.After(stopTimeout):
		d.t.Fatalf("serve did not return within %v of its context ending\nstderr:\n%s", stopTimeout, d.stderr)
		return nil
	}
}

// newClient returns an HTTP client with its own cookie jar (one logged-in
// user) whose connections are closed when the test ends.
func newClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Jar: jar, Timeout: 10 * time.Second}
}

// do sends a request with an optional JSON body and returns the status
// and the body.
func do(t *testing.T, c *http.Client, method, url string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return resp.StatusCode, b
}

// getJSON GETs url, wants 200 and decodes the body into v.
func getJSON(t *testing.T, c *http.Client, url string, v any) {
	t.Helper()
	status, body := do(t, c, http.MethodGet, url, nil)
	if status != http.StatusOK {
		t.Fatalf("GET %s = %d %s, want 200", url, status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v in %s", url, err, body)
	}
}

// login logs c in and fails the test unless the server says 200.
func login(t *testing.T, c *http.Client, baseURL, user, password string) {
	t.Helper()
	status, body := do(t, c, http.MethodPost, baseURL+"api/login", map[string]string{"login": user, "password": password})
	if status != http.StatusOK {
		t.Fatalf("login as %s = %d %s, want 200", user, status, body)
	}
}

var passwordLine = regexp.MustCompile(`created user "admin" with the one-time password (\S+)\n`)

func TestServeFirstStartPrintsAdminPasswordOnce(t *testing.T) {
	db := filepath.Join(t.TempDir(), "phoned.db")
	d := startServe(t, db)
	m := passwordLine.FindStringSubmatch(d.stdout.String())
	if m == nil {
		t.Fatalf("first start on an empty database printed no admin password:\n%s", d.stdout)
	}
	pw := m[1]

	c := newClient(t)
	var health map[string]string
	getJSON(t, c, d.url+"healthz", &health)
	if len(health) != 1 || health["status"] != "ok" {
		t.Errorf("GET /healthz = %v, want {\"status\":\"ok\"}", health)
	}

	if status, body := do(t, c, http.MethodPost, d.url+"api/login", map[string]string{"login": "admin", "password": pw + "x"}); status != http.StatusUnauthorized {
		t.Errorf("login with a wrong password = %d %s, want 401", status, body)
	}
	login(t, c, d.url, "admin", pw)
	var me struct {
		Role string `json:"role"`
		User struct {
			Login string `json:"login"`
		} `json:"user"`
	}
	getJSON(t, c, d.url+"api/me", &me)
	if me.Role != "admin" || me.User.Login != "admin" {
		t.Errorf("GET /api/me after login = %+v, want the admin", me)
	}

	if err := d.stop(); err != nil {
		t.Fatalf("serve returned %v after its context ended, want nil", err)
	}
	logs := d.stderr.String()
	if strings.Contains(logs, pw) {
		t.Errorf("the one-time password %q appears in the log:\n%s", pw, logs)
	}
	if !strings.Contains(logs, "created the first admin") {
		t.Errorf("the log does not say the first admin was created:\n%s", logs)
	}

	// A second start on the same database keeps the admin and prints no password.
	d2 := startServe(t, db)
	if out := d2.stdout.String(); strings.Contains(out, "password") || strings.Contains(out, pw) {
		t.Errorf("second start printed a password:\n%s", out)
	}
	c2 := newClient(t)
	login(t, c2, d2.url, "admin", pw)
	if err := d2.stop(); err != nil {
		t.Fatalf("second serve returned %v, want nil", err)
	}
	if logs := d2.stderr.String(); strings.Contains(logs, pw) {
		t.Errorf("the one-time password appears in the second start's log:\n%s", logs)
	}
}

func TestServeShutsDownGracefully(t *testing.T) {
	d := startServe(t, filepath.Join(t.TempDir(), "phoned.db"), "--log-format", "json")
	c := newClient(t)
	if status, body := do(t, c, http.MethodGet, d.url+"healthz", nil); status != http.StatusOK {
		t.Fatalf("GET /healthz = %d %s, want 200", status, body)
	}
	addr := strings.TrimSuffix(strings.TrimPrefix(d.url, "http://"), "/")

	start := time.Now()
	if err := d.stop(); err != nil {
		t.Fatalf("serve returned %v after its context ended, want nil", err)
	}
	t.Logf("serve stopped in %v", time.Since(start))
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Errorf("%s still accepts connections after serve returned", addr)
	}
	// Every log line is JSON, as asked, and the last one says it stopped.
	lines := strings.Split(strings.TrimSpace(d.stderr.String()), "\n")
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Errorf("log line is not JSON: %s", l)
		}
	}
	if last := lines[len(lines)-1]; !strings.Contains(last, `"msg":"stopped"`) {
		t.Errorf("last log line = %s, want the stopped message", last)
	}
}

func TestServeTakenPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg, err := parseServe([]string{"--db", filepath.Join(t.TempDir(), "phoned.db"), "--http", ln.Addr().String()}, envOf(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), stopTimeout)
	defer cancel()
	var stdout bytes.Buffer
	err = serve(ctx, cfg, &stdout, io.Discard)
	if err == nil {
		t.Fatal("serve on a taken port returned nil, want an error")
	}
	if ctx.Err() != nil {
		t.Fatalf("serve on a taken port ran until its context ended (%v), want it to fail at once", err)
	}
	if !strings.Contains(err.Error(), "--http") || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Errorf("error %q does not name --http and the address", err)
	}
	if stdout.Len() > 0 {
		t.Errorf("serve printed %q though it could not listen, want nothing", stdout.String())
	}

	// The failed start created no admin whose one-time password scrolled
	// by with the error: the next start still prints one.
	d := startServe(t, cfg.DB)
	if passwordLine.FindStringSubmatch(d.stdout.String()) == nil {
		t.Errorf("start after a failed one printed no admin password:\n%s", d.stdout)
	}
}

// demoLogin is one row of the demo logins table that serve --demo prints.
type demoLogin struct{ login, password, role string }

var demoRow = regexp.MustCompile(`(?m)^  (\S+)\s+(\S+)\s+(admin|supervisor|agent)\s+\S+\s+\S+\s*$`)

// demoLogins parses the demo logins table from serve's output.
func demoLogins(out string) map[string]demoLogin {
	m := map[string]demoLogin{}
	for _, r := range demoRow.FindAllStringSubmatch(out, -1) {
		m[r[1]] = demoLogin{r[1], r[2], r[3]}
	}
	return m
}

func TestServeDemo(t *testing.T) {
	db := filepath.Join(t.TempDir(), "phoned.db")
	d := startServe(t, db, "--demo")
	wantRoles := map[string]string{"admin": "admin", "sam": "supervisor", "alice": "agent", "bob": "agent"}
	out := d.waitStdout(func(s string) bool { return len(demoLogins(s)) >= len(wantRoles) })
	if !strings.Contains(out, "demo mode: open "+d.url) {
		t.Errorf("demo start does not point at %s:\n%s", d.url, out)
	}
	if strings.Contains(out, "one-time password") {
		t.Errorf("demo start printed a first-admin password:\n%s", out)
	}
	logins := demoLogins(out)
	for login, role := range wantRoles {
		if l, ok := logins[login]; !ok || l.role != role {
			t.Errorf("demo logins table has %+v for %s, want role %s:\n%s", l, login, role, out)
		}
	}

	alice := newClient(t)
	login(t, alice, d.url, "alice", logins["alice"].password)
	var queue []struct {
		ID    int64     `json:"id"`
		User  string    `json:"user"`
		State string    `json:"state"`
		Due   time.Time `json:"due"`
	}
	getJSON(t, alice, d.url+"api/queue", &queue)
	if len(queue) == 0 {
		t.Fatalf("alice's demo queue is empty on %s", time.Now().UTC().Weekday())
	}
	for _, c := range queue {
		if c.User != "alice" || c.State != "planned" {
			t.Errorf("alice's queue holds %+v, want her planned calls only", c)
		}
	}
	var partners []json.RawMessage
	getJSON(t, alice, d.url+"api/partners?limit=1000", &partners)
	if n := len(partners); n < 40 || n > 60 {
		t.Errorf("GET /api/partners as alice = %d partners, want about 50", n)
	}
	if status, body := do(t, alice, http.MethodGet, d.url+"api/planner/runs", nil); status != http.StatusForbidden {
		t.Errorf("GET /api/planner/runs as alice = %d %s, want 403", status, body)
	}

	admin := newClient(t)
	login(t, admin, d.url, "admin", logins["admin"].password)
	var runs []struct {
		User      string `json:"user"`
		CallCount int    `json:"call_count"`
	}
	getJSON(t, admin, d.url+"api/planner/runs", &runs)
	planned := map[string]int{}
	for _, r := range runs {
		planned[r.User] += r.CallCount
	}
	if planned["alice"] == 0 || planned["bob"] == 0 {
		t.Errorf("demo planner runs = %+v, want a run with calls for alice and for bob", runs)
	}
	if planned["alice"] != len(queue) {
		t.Errorf("alice's runs planned %d calls, her queue has %d", planned["alice"], len(queue))
	}

	if err := d.stop(); err != nil {
		t.Fatalf("serve returned %v, want nil", err)
	}
	for _, l := range logins {
		if strings.Contains(d.stderr.String(), l.password) {
			t.Errorf("demo password of %s appears in the log", l.login)
		}
	}

	// A restart with --demo neither seeds nor plans again.
	d2 := startServe(t, db, "--demo")
	d2.waitStdout(func(s string) bool { return len(demoLogins(s)) >= len(wantRoles) })
	if logs := d2.stderr.String(); !strings.Contains(logs, "not seeding it again") {
		t.Errorf("demo restart does not say it kept the database:\n%s", logs)
	}
	alice2 := newClient(t)
	login(t, alice2, d2.url, "alice", logins["alice"].password)
	var queue2 []json.RawMessage
	getJSON(t, alice2, d2.url+"api/queue", &queue2)
	if len(queue2) != len(queue) {
		t.Errorf("after a demo restart alice's queue has %d calls, want the same %d", len(queue2), len(queue))
	}
	var partners2 []json.RawMessage
	getJSON(t, alice2, d2.url+"api/partners?limit=1000", &partners2)
	if len(partners2) != len(partners) {
		t.Errorf("after a demo restart there are %d partners, want the same %d", len(partners2), len(partners))
	}
}

// TestServeDemoOnExistingDatabase starts --demo on a database that a
// plain start created (it has an "admin" but no demo agents): serve must
// serve it as it is, neither failing on the missing demo agents nor
// printing demo passwords that do not work there.
func TestServeDemoOnExistingDatabase(t *testing.T) {
	db := filepath.Join(t.TempDir(), "phoned.db")
	d := startServe(t, db)
	m := passwordLine.FindStringSubmatch(d.stdout.String())
	if m == nil {
		t.Fatalf("first start printed no admin password:\n%s", d.stdout)
	}
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}

	d2 := startServe(t, db, "--demo")
	if err := d2.stop(); err != nil {
		t.Fatalf("serve --demo on an existing database returned %v, want nil", err)
	}
	if out := d2.stdout.String(); strings.Contains(out, "demo mode") || len(demoLogins(out)) > 0 {
		t.Errorf("serve --demo on a database it did not seed printed demo logins:\n%s", out)
	}
	if logs := d2.stderr.String(); !strings.Contains(logs, "not seeded by --demo") {
		t.Errorf("the log does not say the database is not a demo one:\n%s", logs)
	}

	d3 := startServe(t, db, "--demo")
	c := newClient(t)
	login(t, c, d3.url, "admin", m[1])
	var users []struct {
		Login string `json:"login"`
	}
	getJSON(t, c, d3.url+"api/users", &users)
	if len(users) != 1 || users[0].Login != "admin" {
		t.Errorf("users after serve --demo on an existing database = %+v, want only the admin", users)
	}
}

// A call left in progress by a daemon that died is closed as interrupted
// at the next start, and its planned call is marked done.
func TestServeClosesInterruptedEvents(t *testing.T) {
	db := filepath.Join(t.TempDir(), "phoned.db")
	ctx := context.Background()
	st, err := store.Open(ctx, db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	nu := store.NewUser{User: auth.User{Login: "ann", Role: auth.RoleAgent, Active: true}, PasswordHash: auth.HashPassword("ann-password")}
	if err := st.CreateUser(ctx, &nu); err != nil {
		t.Fatal(err)
	}
	id, err := st.StartEvent(ctx, comm.EventStart{Type: comm.EventPhone, Direction: comm.DirectionOut, UserID: nu.ID, ToNumber: "+3222123456", SIPCallID: "abc@host"})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()

	d := startServe(t, db)
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(d.stderr.String(), "interrupted") {
		t.Errorf("the log does not say events were closed: %s", d.stderr)
	}
	st, err = store.Open(ctx, db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ev, err := st.Event(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if ev.State != comm.EventCompleted || ev.Outcome != comm.OutcomeInterrupted || ev.End.IsZero() {
		t.Fatalf("event after restart: state %s, outcome %s, end %v", ev.State, ev.Outcome, ev.End)
	}
}
