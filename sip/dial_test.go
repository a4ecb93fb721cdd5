package sip_test

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"phoned/internal/peertest"
	"phoned/media"
	"phoned/sip"
	"phoned/store"
	"phoned/switchboard"
)

// callsEnv is a SIP server with the calls adapter attached, over a real
// store holding alice (201); no call engine takes incoming calls.
type callsEnv struct {
	calls *sip.Calls
	srv   *sip.Server
	st    *store.Store
	alice int64
}

type noEngine struct{}

func (noEngine) Inbound(_ context.Context, in switchboard.Incoming, _ switchboard.InboundInfo) {
	_ = in.Reject(480, "Temporarily Unavailable")
}

func startCallsEnv(t *testing.T) *callsEnv {
	t.Helper()
	peer := startPeerEnv(t) // for its store and user; its server stays idle
	log := slog.New(slog.NewTextHandler(&lockedBuffer{}, nil))
	calls := sip.NewCalls(log, peer.st, peer.st)
	srv, err := sip.New(sip.Config{Listen: "127.0.0.1:0"}, sip.Deps{Log: log, Directory: peer.st, Bindings: peer.st, Inbound: calls})
	if err != nil {
		t.Fatal(err)
	}
	calls.Attach(srv, noEngine{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
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
	return &callsEnv{calls: calls, srv: srv, st: peer.st, alice: peer.alice}
}

// uas starts a SIPp callee scenario of testdata/sipp on a free port.
func uas(t *testing.T, scenario string, args ...string) (*peertest.SIPp, int) {
	t.Helper()
	port := freePort(t, "127.0.0.1")
	argv := append([]string{"-i", "127.0.0.1", "-p", strconv.Itoa(port), "-mi", "127.0.0.1", "-mp", strconv.Itoa(freePort(t, "127.0.0.1")),
		"-rtp_echo", "-m", "1", "-timeout", "15s", "-timeout_error"}, args...)
	return peertest.StartSIPp(t, filepath.Join("testdata", "sipp", scenario), 20*time.Second, argv...), port
}

func offer(t *testing.T) []byte {
	t.Helper()
	b, err := media.NewSession().Offer(netip.MustParseAddrPort("127.0.0.1:40000"), []media.Codec{media.PCMU, media.TelephoneEvent}, media.SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// call dials req, waits for the answer, and hangs up.
func call(t *testing.T, calls *sip.Calls, req switchboard.DialRequest) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := calls.Dial(ctx, req)
	if err != nil {
		return err
	}
	rang := false
	answer, err := out.Wait(ctx, func(int) { rang = true })
	if err != nil {
		return err
	}
	if !rang || !strings.Contains(string(answer), "m=audio") {
		t.Fatalf("rang %v, answer %q", rang, answer)
	}
	if err := out.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	return out.Hangup(ctx)
}

// An outside number goes to the PBX as sip:<E.164>@pbx, and phoned answers
// the PBX's digest challenge with the trunk account.
func TestSIPpDialNumberThroughThePBXWithDigest(t *testing.T) {
	env := startCallsEnv(t)
	pbx, port := uas(t, "uas-auth-echo.xml", "-key", "user", "trunk1", "-key", "pass", "trunkpw")
	if err := env.calls.SetPBX(sip.PBXRoute{URI: "sip:127.0.0.1:" + strconv.Itoa(port), Username: "trunk1", Password: "trunkpw"}); err != nil {
		t.Fatal(err)
	}
	if !env.calls.DialsOutside() {
		t.Fatal("DialsOutside is false with a PBX")
	}
	err := call(t, env.calls, switchboard.DialRequest{Number: "+3222123456", FromUser: "201", FromName: "Alice", CallID: "abc123@phoned", SDP: offer(t)})
	if err != nil {
		t.Fatal(err)
	}
	if code := pbx.Wait(); code != 0 {
		t.Fatalf("the PBX's side failed (exit %d)", code)
	}
}

func TestSIPpDialWithAWrongTrunkPasswordFails(t *testing.T) {
	env := startCallsEnv(t)
	pbx, port := uas(t, "uas-auth-echo.xml", "-key", "user", "trunk1", "-key", "pass", "trunkpw")
	if err := env.calls.SetPBX(sip.PBXRoute{URI: "sip:127.0.0.1:" + strconv.Itoa(port), Username: "trunk1", Password: "wrong"}); err != nil {
		t.Fatal(err)
	}
	err := call(t, env.calls, switchboard.DialRequest{Number: "+3222123456", FromUser: "201", SDP: offer(t)})
	var se *switchboard.StatusError
	if !errors.As(err, &se) || se.Status != 403 {
		t.Fatalf("error %v, want the PBX's 403", err)
	}
	pbx.Wait() // the scenario counts the refused call as failed
}

// Without a PBX, a number that is a registered extension is called on its
// phone, and any other number fails with ErrNoRoute.
func TestDialWithoutAPBX(t *testing.T) {
	env := startCallsEnv(t)
	if env.calls.DialsOutside() {
		t.Fatal("DialsOutside is true without a PBX")
	}
	if _, err := env.calls.Dial(context.Background(), switchboard.DialRequest{Number: "+3222123456", FromUser: "201", SDP: offer(t)}); !errors.Is(err, switchboard.ErrNoRoute) {
		t.Fatalf("outside number without a PBX: %v", err)
	}
	peertest.Require(t, "sipp")
	phone, port := uas(t, "uas-answer-echo.xml")
	contact := "sip:201@127.0.0.1:" + strconv.Itoa(port)
	if err := env.st.SaveSIPBinding(context.Background(), sip.Binding{Extension: "201", UserID: env.alice, Contact: contact,
		Received: "127.0.0.1:" + strconv.Itoa(port), Transport: sip.TransportUDP, CallID: "r1", CSeq: 1,
		ExpiresAt: time.Now().Add(time.Hour), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := call(t, env.calls, switchboard.DialRequest{Number: "201", FromUser: "202", SDP: offer(t)}); err != nil {
		t.Fatal(err)
	}
	if code := phone.Wait(); code != 0 {
		t.Fatalf("the phone's side failed (exit %d)", code)
	}
}

func TestDialRefusesHeaderInjection(t *testing.T) {
	env := startCallsEnv(t)
	if err := env.calls.SetPBX(sip.PBXRoute{URI: "sip:127.0.0.1:9"}); err != nil {
		t.Fatal(err)
	}
	for _, req := range []switchboard.DialRequest{
		{Number: "+3222\r\nX-Evil: 1", FromUser: "201"},
		{Number: "+3222123456", FromUser: "201>;x\r\n"},
		{Number: "+3222123456", FromUser: "201", CallID: "a b\r\nX: y"},
	} {
		if _, err := env.calls.Dial(context.Background(), req); err == nil {
			t.Errorf("Dial(%q) accepted", req)
		}
	}
}

func TestPBXRouteValidation(t *testing.T) {
	for _, ok := range []sip.PBXRoute{
		{URI: "sip:127.0.0.1:5080"},
		{URI: "sip:pbx.example.com"},
		{URI: "sip:[::1]:5060;transport=tcp"},
		{URI: "sip:10.0.0.1", Username: "trunk1", Password: "s3cr\"et"},
	} {
		if err := ok.Validate(); err != nil {
			t.Errorf("%+v: %v", ok.URI, err)
		}
	}
	for _, bad := range []sip.PBXRoute{
		{URI: "127.0.0.1:5080"},
		{URI: "sips:127.0.0.1"},
		{URI: "sip:100@127.0.0.1"},
		{URI: "sip:127.0.0.1:99999"},
		{URI: "sip:127.0.0.1;maddr=10.0.0.1"},
		{URI: "sip:127.0.0.1\r\nX: y"},
		{URI: "sip:bad_host!"},
		{URI: "sip:127.0.0.1", Username: "trunk1"},
		{URI: "sip:127.0.0.1", Password: "pw"},
		{URI: "sip:127.0.0.1", Username: "tr\"unk", Password: "pw"},
	} {
		err := bad.Validate()
		if err == nil {
			t.Errorf("%q accepted", bad.URI)
			continue
		}
		if bad.Password != "" && strings.Contains(err.Error(), bad.Password) {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}
