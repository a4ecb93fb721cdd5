package switchboard

import (
	"context"
	"errors"
	"testing"
	"time"

	"phoned/comm"
	"phoned/media"
)

// bridgedCall is alice's click-to-dial call to the partner, answered on
// both sides; the rig's caller socket is the partner's.
func bridgedCall(t *testing.T, r *outRig) (string, *fakeOutgoing) {
	t.Helper()
	snap := r.dial("02 212 34 56")
	_, calleeReq := r.agentAnswers("tel:" + partnerNumber)
	callee := r.dialer.outs["tel:"+partnerNumber]
	callee.answer <- answerFrom(t, r.caller, calleeReq.SDP, media.PCMU, media.TelephoneEvent)
	waitState(t, r.e, snap.ID, StateAnswered)
	return snap.ID, callee
}

func hungUp(t *testing.T, o *fakeOutgoing, what string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		if _, h, _ := o.state(); h {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s got no BYE", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// The partner accepts the REFER and its NOTIFY reports the target's 200:
// phoned leaves the call, the event says transferred to 102.
func TestTransferByREFER(t *testing.T) {
	r := newOutRig(t, 5*time.Second, 5*time.Second)
	id, callee := bridgedCall(t, r)
	done := make(chan struct{})
	callee.mu.Lock()
	callee.refer = func(ReferTarget) error { <-done; return nil }
	callee.mu.Unlock()

	if err := r.e.Transfer(context.Background(), id, TransferRequest{Extension: "102"}); err != nil {
		t.Fatal(err)
	}
	waitState(t, r.e, id, StateTransferring)
	if err := r.e.Transfer(context.Background(), id, TransferRequest{Extension: "102"}); !errors.Is(err, ErrTransferring) {
		t.Fatalf("second transfer: %v", err)
	}
	if err := r.e.Hold(context.Background(), id); !errors.Is(err, ErrTransferring) {
		t.Fatalf("hold while transferring: %v", err)
	}
	close(done) // the NOTIFY with 200
	end := waitEnd(t, r.rig)
	if end.Outcome != comm.OutcomeTransferred || end.HangupBy != comm.HangupBy(HangupAgent) {
		t.Fatalf("event end %+v", end)
	}
	hungUp(t, callee, "the partner")
	hungUp(t, r.dialer.outs["sip:101@desk"], "alice's phone")
	r.events.mu.Lock()
	targets := r.events.targets
	r.events.mu.Unlock()
	if len(targets) != 1 || targets[0] != "102" {
		t.Fatalf("event targets %v", targets)
	}
	if got := callee.refers; len(got) != 1 || got[0] != (ReferTarget{Extension: "102"}) {
		t.Fatalf("REFERs %+v", got)
	}
}

// A forward to a number under the dial plan: outcome forwarded.
func TestForwardByREFER(t *testing.T) {
	r := newOutRig(t, 5*time.Second, 5*time.Second)
	id, callee := bridgedCall(t, r)
	callee.mu.Lock()
	callee.refer = func(ReferTarget) error { return nil }
	callee.mu.Unlock()
	if err := r.e.Transfer(context.Background(), id, TransferRequest{Number: "02 555 66 77"}); err != nil {
		t.Fatal(err)
	}
	if end := waitEnd(t, r.rig); end.Outcome != comm.OutcomeForwarded {
		t.Fatalf("event end %+v", end)
	}
	if got := callee.refers; len(got) != 1 || got[0] != (ReferTarget{Number: "+3225556677"}) {
		t.Fatalf("REFERs %+v", got)
	}
}

// The partner refuses REFER (501): phoned rings bob's phone itself and,
// once he answers, bridges the partner to him and lets alice go.
func TestTransferFallsBackToCallingTheTarget(t *testing.T) {
	r := newOutRig(t, 5*time.Second, 5*time.Second)
	id, callee := bridgedCall(t, r) // callee.refer nil: 501
	if err := r.e.Transfer(context.Background(), id, TransferRequest{Extension: "102"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, r.dialer.dialed, "sip:102@desk")
	bobReq := r.request(r.dialCount() - 1)
	bob := udp(t)
	r.dialer.outs["sip:102@desk"].answer <- answerFrom(t, bob, bobReq.SDP, media.PCMU, media.TelephoneEvent)
	hungUp(t, r.dialer.outs["sip:101@desk"], "alice's phone")
	waitState(t, r.e, id, StateAnswered)

	// The partner and bob hear each other.
	toBob := mustParse(t, bobReq.SDP).Addr
	partnerOffer := r.request(r.dialCount() - 2) // the INVITE to the partner
	want := sendPT(t, bob, toBob, 0, 1)
	if got := readRTP(t, r.caller); string(got.Payload) != string(want) {
		t.Fatal("the partner did not get bob's audio")
	}
	want = sendPT(t, r.caller, mustParse(t, partnerOffer.SDP).Addr, 0, 2)
	if got := readRTP(t, bob); string(got.Payload) != string(want) {
		t.Fatal("bob did not get the partner's audio")
	}

	close(callee.gone) // the partner hangs up
	end := waitEnd(t, r.rig)
	if end.Outcome != comm.OutcomeTransferred {
		t.Fatalf("event end %+v", end)
	}
	hungUp(t, r.dialer.outs["sip:102@desk"], "bob's phone")
}

func TestTransferRefusals(t *testing.T) {
	r := newOutRig(t, 5*time.Second, 5*time.Second)
	ctx := context.Background()
	if err := r.e.Transfer(ctx, "nope", TransferRequest{Extension: "102"}); !errors.Is(err, ErrNoCall) {
		t.Fatalf("no call: %v", err)
	}
	id, _ := bridgedCall(t, r)
	for _, tc := range []struct {
		name string
		req  TransferRequest
		want error
	}{
		{"nothing", TransferRequest{}, ErrBadNumber},
		{"both", TransferRequest{Extension: "102", Number: "+3225556677"}, ErrBadNumber},
		{"own extension", TransferRequest{Extension: "101"}, ErrBadNumber},
		{"no such agent", TransferRequest{Extension: "999"}, ErrBadNumber},
		{"not an extension", TransferRequest{Extension: "+32"}, ErrBadNumber},
		{"outside the dial plan", TransferRequest{Number: "+33123456789"}, ErrNotAllowed},
	} {
		if err := r.e.Transfer(ctx, id, tc.req); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// The partner took the REFER and hangs up before its NOTIFY says how the
// transfer went (many phones do): the call was transferred.
func TestRemotePartyHangsUpWithTheREFER(t *testing.T) {
	r := newOutRig(t, 5*time.Second, 5*time.Second)
	id, callee := bridgedCall(t, r)
	block := make(chan struct{})
	defer close(block)
	callee.mu.Lock()
	callee.refer = func(ReferTarget) error { <-block; return nil }
	callee.mu.Unlock()
	if err := r.e.Transfer(context.Background(), id, TransferRequest{Extension: "102"}); err != nil {
		t.Fatal(err)
	}
	waitState(t, r.e, id, StateTransferring)
	close(callee.gone) // its BYE, no NOTIFY
	end := waitEnd(t, r.rig)
	if end.Outcome != comm.OutcomeTransferred || end.HangupBy != comm.HangupBy(HangupCallee) {
		t.Fatalf("event end %+v", end)
	}
	r.events.mu.Lock()
	targets := r.events.targets
	r.events.mu.Unlock()
	if len(targets) != 1 || targets[0] != "102" {
		t.Fatalf("event targets %v", targets)
	}
	hungUp(t, r.dialer.outs["sip:101@desk"], "alice's phone")
}
