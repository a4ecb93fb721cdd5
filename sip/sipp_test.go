package sip_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"phoned/auth"
	"phoned/internal/peertest"
	"phoned/sip"
	"phoned/store"
)

// Real-peer tests: SIPp (Debian package sip-tester) runs the scenarios of
// testdata/sipp/ (copies of shared/rig/sipp/) against a server over a real
// store in a temporary directory.

// peerEnv is a SIP server over a real store with the user alice (201,
// secret201), and a fake call engine.
type peerEnv struct {
	st    *store.Store
	srv   *sip.Server
	in    *engine
	alice int64
}

// engine is a fake call engine: it records the INVITEs that reach it
// and answers 486, which uac-busy.xml expects.
type engine struct {
	mu      sync.Mutex
	callers []sip.Caller
}

func (e *engine) HandleInvite(_ context.Context, req *gosip.Request, tx gosip.ServerTransaction, from sip.Caller) {
	e.mu.Lock()
	e.callers = append(e.callers, from)
	e.mu.Unlock()
	tx.Respond(gosip.NewResponseFromRequest(req, 486, "Busy Here", nil))
}

func (e *engine) calls() []sip.Caller {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]sip.Caller(nil), e.callers...)
}

func startPeerEnv(t *testing.T, trust ...string) *peerEnv {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "phoned.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	nu := store.NewUser{User: auth.User{Login: "alice", Role: auth.RoleAgent, Extension: "201", Active: true},
		PasswordHash: auth.HashPassword("pw"), SIPPassword: "secret201"}
	if err := st.CreateUser(ctx, &nu); err != nil {
		t.Fatal(err)
	}
	var prefixes []netip.Prefix
	for _, p := range trust {
		prefixes = append(prefixes, netip.MustParsePrefix(p))
	}
	in := &engine{}
	log := slog.New(slog.NewTextHandler(&lockedBuffer{}, nil))
	srv, err := sip.New(sip.Config{Listen: "127.0.0.1:0", Trust: prefixes}, sip.Deps{Log: log, Directory: st, Bindings: st, Inbound: in})
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	select {
	case <-srv.Ready():
	case err := <-done:
		t.Fatalf("Serve: %v", err)
	}
	return &peerEnv{st: st, srv: srv, in: in, alice: nu.ID}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// freePort returns a UDP port free on ip a moment ago (SIPp binds it).
func freePort(t *testing.T, ip string) int {
	t.Helper()
	c, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// sipp runs one SIPp scenario of testdata/sipp as a caller from ip:port
// against the server, one call, bounded by SIPp's own 30 s timeout and a
// 45 s context, in a temporary directory (SIPp writes its logs in its
// working directory). It returns SIPp's exit status.
func sipp(t *testing.T, env *peerEnv, scenario, ip string, port int, args ...string) int {
	t.Helper()
	bin := peertest.Require(t, "sipp")
	sf, err := filepath.Abs(filepath.Join("testdata", "sipp", scenario))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	argv := append([]string{"-sf", sf, "-i", ip, "-p", strconv.Itoa(port), "-mi", ip, "-mp", strconv.Itoa(freePort(t, ip)),
		"-m", "1", "-nostdin", "-timeout", "30s", "-timeout_error", "-trace_err"}, args...)
	argv = append(argv, env.srv.Addr().String())
	cmd := exec.CommandContext(ctx, bin, argv...)
	dir := t.TempDir()
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("sipp %s: %v", scenario, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("sipp %s did not end within 45 s", scenario)
	}
	if code != 0 {
		logs, _ := filepath.Glob(filepath.Join(dir, "*_errors.log"))
		for _, l := range logs {
			b, _ := os.ReadFile(l)
			t.Logf("%s:\n%s", filepath.Base(l), b)
		}
		t.Logf("sipp %s exited %d:\n%s", strings.Join(argv, " "), code, lastLines(out, 15))
	}
	return code
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func TestSIPpRegisterAndUnregister(t *testing.T) {
	for _, tc := range []struct {
		transport sip.Transport
		flags     []string
	}{
		{sip.TransportUDP, nil},
		{sip.TransportTCP, []string{"-t", "t1"}},
	} {
		t.Run(tc.transport.String(), func(t *testing.T) {
			env := startPeerEnv(t)
			port := freePort(t, "127.0.0.1")
			args := append([]string{"-s", "201", "-au", "201", "-ap", "secret201"}, tc.flags...)
			if code := sipp(t, env, "uac-register.xml", "127.0.0.1", port, args...); code != 0 {
				t.Fatalf("REGISTER with the right password: SIPp exit %d, want 0", code)
			}
			bs, err := env.st.SIPBindings(context.Background(), "201", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			addr := "127.0.0.1:" + strconv.Itoa(port)
			if len(bs) != 1 {
				t.Fatalf("bindings %+v, want one", bs)
			}
			b := bs[0]
			if b.Contact != "sip:201@"+addr+";transport="+strings.ToUpper(tc.transport.String()) || b.Transport != tc.transport ||
				(tc.transport == sip.TransportUDP && b.Received != addr) || b.UserID != env.alice || b.CSeq != 2 ||
				time.Until(b.ExpiresAt) < 3590*time.Second || time.Until(b.ExpiresAt) > 3600*time.Second {
				t.Fatalf("binding %+v", b)
			}
			if code := sipp(t, env, "uac-unregister.xml", "127.0.0.1", port, args...); code != 0 {
				t.Fatalf("un-REGISTER: SIPp exit %d, want 0", code)
			}
			if bs, _ := env.st.SIPBindings(context.Background(), "201", time.Now()); len(bs) != 0 {
				t.Fatalf("bindings after un-REGISTER: %+v", bs)
			}
		})
	}
}

func TestSIPpRegisterWithAWrongPasswordIsRefused(t *testing.T) {
	env := startPeerEnv(t)
	if code := sipp(t, env, "uac-register.xml", "127.0.0.1", freePort(t, "127.0.0.1"), "-s", "201", "-au", "201", "-ap", "not-the-secret"); code == 0 {
		t.Fatal("REGISTER with a wrong password: SIPp exit 0, want a failed call")
	}
	if bs, _ := env.st.SIPBindings(context.Background(), "201", time.Now()); len(bs) != 0 {
		t.Fatalf("bindings after a refused REGISTER: %+v", bs)
	}
}

// A caller at 127.0.0.2, outside Trust (127.0.0.1 only), without
// credentials: challenged (407, which uac-rejected.xml takes), never
// reaching the engine.
func TestSIPpUntrustedInviteIsRefused(t *testing.T) {
	env := startPeerEnv(t, "127.0.0.1/32")
	if code := sipp(t, env, "uac-rejected.xml", "127.0.0.2", freePort(t, "127.0.0.2"), "-s", "101"); code != 0 {
		t.Fatalf("untrusted INVITE: SIPp exit %d, want 0 (refused with 403 or 407)", code)
	}
	if calls := env.in.calls(); len(calls) != 0 {
		t.Fatalf("an untrusted INVITE reached the engine: %+v", calls)
	}
}

// A caller at a trusted address (the PBX) reaches the engine without
// auth; its 486 goes back to SIPp (uac-busy.xml expects it).
func TestSIPpTrustedInviteReachesTheEngine(t *testing.T) {
	env := startPeerEnv(t, "127.0.0.1/32")
	port := freePort(t, "127.0.0.1")
	if code := sipp(t, env, "uac-busy.xml", "127.0.0.1", port, "-s", "101"); code != 0 {
		t.Fatalf("trusted INVITE: SIPp exit %d, want 0 (486 from the engine)", code)
	}
	calls := env.in.calls()
	if len(calls) != 1 || !calls[0].Trusted || calls[0].Account != nil || calls[0].Source != netip.MustParseAddrPort("127.0.0.1:"+strconv.Itoa(port)) {
		t.Fatalf("engine calls %+v", calls)
	}
}
