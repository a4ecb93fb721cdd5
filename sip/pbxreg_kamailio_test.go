package sip_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"phoned/internal/peertest"
	"phoned/sip"
	"phoned/store"
)

// Kamailio as the PBX (testdata/kamailio/kamailio.cfg, a copy of
// shared/rig/kamailio/): phoned registers extensions with it, and a call
// to a registered extension goes caller → Kamailio → phoned.

// pbxCallee is phoned's call engine here: it records the INVITEs that
// pass the gate and answers 486, which uac-busy.xml expects.
type pbxCallee struct {
	mu      sync.Mutex
	invites []pbxInvite
}

type pbxInvite struct {
	uri    gosip.Uri
	caller sip.Caller
}

func (c *pbxCallee) HandleInvite(_ context.Context, req *gosip.Request, tx gosip.ServerTransaction, from sip.Caller) {
	c.mu.Lock()
	c.invites = append(c.invites, pbxInvite{uri: req.Recipient, caller: from})
	c.mu.Unlock()
	tx.Respond(gosip.NewResponseFromRequest(req, 486, "Busy Here", nil))
}

func (c *pbxCallee) calls() []pbxInvite {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]pbxInvite(nil), c.invites...)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestKamailioPBXRegistersAndRoutesCalls(t *testing.T) {
	peertest.Require(t, "sipp")
	carrier := peertest.FreePort(t, "127.0.0.1")
	kam := peertest.StartKamailio(t, filepath.Join("testdata", "kamailio", "kamailio.cfg"), 90*time.Second,
		fmt.Sprintf(`CARRIER="sip:127.0.0.1:%d"`, carrier))
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) { testKamailioPBX(t, kam, transport) })
	}
}

// testKamailioPBX registers 201 and 202 (wrong password) with Kamailio
// over transport, calls 201 through Kamailio, and un-registers.
func testKamailioPBX(t *testing.T, kam *peertest.Kamailio, transport string) {
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("phoned's log:\n%s\nkamailio's log:\n%s", logs.String(), kam.Log())
		}
	})

	// phoned: its SIP server trusts the PBX's address, as --trust would.
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "phoned.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	callee := &pbxCallee{}
	srv, err := sip.New(sip.Config{Listen: "127.0.0.1:0", Trust: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}},
		sip.Deps{Log: log, Directory: st, Bindings: st, Inbound: callee})
	if err != nil {
		t.Fatal(err)
	}
	serveUntilCleanup(t, "sip.Server.Serve", srv.Serve)
	select {
	case <-srv.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("the SIP server did not bind in 5 s")
	}

	// The registrar; 202's password is wrong. Its cleanup runs first, so
	// the un-REGISTERs leave while the server serves.
	reg, err := sip.NewPBXRegistrar(sip.PBXConfig{
		URI:      "sip:" + kam.Addr + ";transport=" + transport,
		Accounts: []sip.PBXAccount{{Extension: "201", Password: "secret201"}, {Extension: "202", Password: "not-secret202"}},
		Expires:  60 * time.Second, RetryMin: 500 * time.Millisecond, RetryMax: 2 * time.Second, Timeout: 5 * time.Second,
	}, srv, log)
	if err != nil {
		t.Fatal(err)
	}
	stopReg := serveUntilCleanup(t, "PBXRegistrar.Serve", reg.Serve)

	states := waitPBXStates(t, reg, func(s []sip.PBXState) bool {
		return s[0].State == sip.PBXRegistered && s[1].State == sip.PBXFailed
	})
	now := time.Now()
	if s := states[0]; s.Extension != "201" || s.LastStatus != 200 || s.LastError != "" ||
		s.ExpiresAt.Before(now.Add(50*time.Second)) || s.ExpiresAt.After(now.Add(61*time.Second)) {
		t.Fatalf("201: %+v, want registered for 60 s", s)
	}
	if s := states[1]; s.Extension != "202" || s.LastStatus != 401 || !strings.Contains(s.LastError, "refused the credentials") {
		t.Fatalf("202: %+v, want failed with 401 (Kamailio challenges wrong credentials again)", s)
	}
	contact := "sip:201@" + srv.Addr().String()
	if transport == "tcp" {
		contact += ";transport=tcp"
	}
	if kam.WaitLog(5*time.Second, "REGISTER 201 from", "contact <"+contact+">", "expires 60") == "" {
		t.Fatalf("Kamailio logged no REGISTER of 201 with contact %s", contact)
	}

	// A call for 201 through Kamailio reaches phoned, whose 486 goes back.
	code := peertest.RunSIPp(t, filepath.Join("testdata", "sipp", "uac-busy.xml"), 40*time.Second,
		"-i", "127.0.0.1", "-p", strconv.Itoa(peertest.FreePort(t, "127.0.0.1")),
		"-mi", "127.0.0.1", "-mp", strconv.Itoa(peertest.FreePort(t, "127.0.0.1")),
		"-s", "201", "-m", "1", "-timeout", "30s", "-timeout_error", kam.Addr)
	if code != 0 {
		t.Fatalf("uac-busy through Kamailio: SIPp exit %d, want 0 (486 from phoned)", code)
	}
	calls := callee.calls()
	kamAddr := netip.MustParseAddrPort(kam.Addr)
	if len(calls) != 1 || calls[0].uri.User != "201" || !calls[0].caller.Trusted || string(calls[0].caller.Transport) != transport ||
		calls[0].caller.Source.Addr() != kamAddr.Addr() || (transport == "udp" && calls[0].caller.Source != kamAddr) {
		t.Fatalf("phoned got %+v, want one trusted INVITE for 201 from Kamailio at %s over %s", calls, kam.Addr, transport)
	}
	if kam.WaitLog(5*time.Second, "INVITE to registered 201 -> "+contact) == "" {
		t.Fatal("Kamailio logged no INVITE routed to phoned's contact")
	}

	// Stop: 201's binding is withdrawn, and Kamailio answers 480 for it.
	stopReg()
	if s := reg.States()[0]; s.State != sip.PBXUnregistered || s.LastStatus != 200 || s.LastError != "" {
		t.Fatalf("201 after Serve: %+v, want unregistered by a 200", s)
	}
	if kam.WaitLog(5*time.Second, "REGISTER 201 from", "contact <"+contact+">", "expires 0") == "" {
		t.Fatal("Kamailio logged no un-REGISTER of 201")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := gosip.NewRequest(gosip.INVITE, gosip.Uri{Scheme: "sip", User: "201", Host: "127.0.0.1", Port: int(kamAddr.Port())})
	req.AppendHeader(&gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: "test", Host: srv.Addr().Addr().String(), Port: int(srv.Addr().Port())}})
	res, err := srv.Client().Do(ctx, req)
	if err != nil || res.StatusCode != 480 {
		t.Fatalf("INVITE for 201 after the un-REGISTER: %v %v, want 480", res, err)
	}
	if n := len(callee.calls()); n != 1 {
		t.Fatalf("phoned got %d INVITEs, want still 1", n)
	}
}

// serveUntilCleanup runs serve in a goroutine until the test's cleanup
// (or the returned stop) ends its context, then waits 10 s at most for
// it to return.
func serveUntilCleanup(t *testing.T, name string, serve func(context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx) }()
	stop = sync.OnceFunc(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("%s did not return within 10 s of its context ending", name)
		}
	})
	t.Cleanup(stop)
	return stop
}

// waitPBXStates polls the registrar's states until ok (10 s at most).
func waitPBXStates(t *testing.T, reg *sip.PBXRegistrar, ok func([]sip.PBXState) bool) []sip.PBXState {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := reg.States()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("registrations after 10 s: %+v", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
