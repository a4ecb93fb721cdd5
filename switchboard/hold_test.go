package switchboard

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"phoned/media"
)

// answeredInbound is an inbound call of the rig that the device answered.
func answeredInbound(t *testing.T, r *rig) (*fakeIncoming, string) {
	t.Helper()
	return answeredInboundOffer(t, r, r.callerOffer())
}

// answeredInboundOffer is answeredInbound with the caller offering offer.
func answeredInboundOffer(t *testing.T, r *rig, offer []byte) (*fakeIncoming, string) {
	t.Helper()
	in := newIncoming(offer)
	r.e.Inbound(context.Background(), in, InboundInfo{Extension: "101", FromNumber: "+3222123456", CallID: "hold@pbx"})
	waitFor(t, r.dialer.dialed, "sip:101@127.0.0.1:5093")
	r.dialer.mu.Lock()
	devOffer := r.dialer.offers[0]
	r.dialer.mu.Unlock()
	r.dialer.outs["sip:101@127.0.0.1:5093"].answer <- r.deviceAnswer(devOffer)
	waitFor(t, in.events, "answer")
	live := r.e.Calls()
	if len(live) != 1 {
		t.Fatalf("live calls %+v", live)
	}
	waitState(t, r.e, live[0].ID, StateAnswered)
	return in, live[0].ID
}

// remoteDirection reads the remote leg's direction on the call's owner.
func remoteDirection(t *testing.T, e *Engine, id string) media.Direction {
	t.Helper()
	c, ok := e.Call(id)
	if !ok {
		t.Fatal("the call is gone")
	}
	got := make(chan media.Direction, 1)
	c.Do(func() { got <- c.ctl.remoteLeg().Direction() })
	select {
	case d := <-got:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("the call's owner did not answer")
		return media.DirectionUnknown
	}
}

func sdpVersion(t *testing.T, sdp []byte) string {
	t.Helper()
	for line := range strings.Lines(string(sdp)) {
		if f := strings.Fields(line); len(f) >= 3 && strings.HasPrefix(line, "o=") {
			return f[2]
		}
	}
	t.Fatalf("no o= line in %q", sdp)
	return ""
}

func TestHoldAndResumeReinviteTheRemoteParty(t *testing.T) {
	r := newRig(t, []Contact{{URI: "sip:101@127.0.0.1:5093"}}, 5*time.Second)
	ctx := context.Background()
	if err := r.e.Hold(ctx, "no-such-call"); !errors.Is(err, ErrNoCall) {
		t.Fatalf("hold of no call: %v", err)
	}
	in, id := answeredInbound(t, r)
	callerSess := media.NewSession()
	in.mu.Lock()
	in.reanswer = func(offer []byte) ([]byte, error) {
		d, err := media.ParseSDP(offer)
		if err != nil {
			return nil, err
		}
		b, _, err := callerSess.Answer(d, addrOf(r.caller), []media.Codec{media.PCMA, media.PCMU, media.TelephoneEvent}, media.SendRecv)
		return b, err
	}
	first := in.answer
	in.mu.Unlock()

	if err := r.e.Resume(ctx, id); !errors.Is(err, ErrNotHeld) {
		t.Fatalf("resume of a call not held: %v", err)
	}
	if err := r.e.Hold(ctx, id); err != nil {
		t.Fatal(err)
	}
	in.mu.Lock()
	holdOffer := in.reoffers[0]
	in.mu.Unlock()
	if !strings.Contains(string(holdOffer), "a=sendonly") {
		t.Fatalf("hold offer without a=sendonly:\n%s", holdOffer)
	}
	if sdpVersion(t, holdOffer) == sdpVersion(t, first) {
		t.Fatalf("the hold offer kept the o= version %s", sdpVersion(t, first))
	}
	if s, _ := r.e.LiveCall(id); s.State != StateHeld {
		t.Fatalf("state %v, want held", s.State)
	}
	if d := remoteDirection(t, r.e, id); d != media.SendOnly {
		t.Fatalf("remote leg %v, want sendonly", d)
	}
	if err := r.e.Hold(ctx, id); !errors.Is(err, ErrHeld) {
		t.Fatalf("second hold: %v", err)
	}

	if err := r.e.Resume(ctx, id); err != nil {
		t.Fatal(err)
	}
	in.mu.Lock()
	resumeOffer := in.reoffers[1]
	in.mu.Unlock()
	if !strings.Contains(string(resumeOffer), "a=sendrecv") {
		t.Fatalf("resume offer without a=sendrecv:\n%s", resumeOffer)
	}
	if sdpVersion(t, resumeOffer) == sdpVersion(t, holdOffer) {
		t.Fatal("the resume offer kept the hold's o= version")
	}
	if s, _ := r.e.LiveCall(id); s.State != StateAnswered {
		t.Fatalf("state %v, want answered", s.State)
	}
	if d := remoteDirection(t, r.e, id); d != media.SendRecv {
		t.Fatalf("remote leg %v, want sendrecv", d)
	}
}

func TestHoldRefusedLeavesTheCallAsItWas(t *testing.T) {
	r := newRig(t, []Contact{{URI: "sip:101@127.0.0.1:5093"}}, 5*time.Second)
	_, id := answeredInbound(t, r) // reanswer nil: the caller answers 501
	var se *StatusError
	if err := r.e.Hold(context.Background(), id); !errors.As(err, &se) || se.Status != 501 {
		t.Fatalf("hold refused: %v", err)
	}
	if s, _ := r.e.LiveCall(id); s.State != StateAnswered {
		t.Fatalf("state %v, want answered", s.State)
	}
	if d := remoteDirection(t, r.e, id); d != media.SendRecv {
		t.Fatalf("remote leg %v, want sendrecv", d)
	}
}

func TestHoldBeforeTheAnswerIsRefused(t *testing.T) {
	r := newRig(t, []Contact{{URI: "sip:101@127.0.0.1:5093"}}, 5*time.Second)
	in := newIncoming(r.callerOffer())
	r.e.Inbound(context.Background(), in, InboundInfo{Extension: "101", FromNumber: "+3222123456"})
	waitFor(t, r.dialer.dialed, "sip:101@127.0.0.1:5093")
	live := r.e.Calls()
	if len(live) != 1 {
		t.Fatalf("live calls %+v", live)
	}
	if err := r.e.Hold(context.Background(), live[0].ID); !errors.Is(err, ErrNotAnswered) {
		t.Fatalf("hold while ringing: %v", err)
	}
}

// A click-to-dial call holds the callee (the party called), not the agent.
func TestHoldOutboundReinvitesTheCallee(t *testing.T) {
	r := newOutRig(t, 5*time.Second, 5*time.Second)
	snap := r.dial("02 212 34 56")
	_, calleeReq := r.agentAnswers("tel:" + partnerNumber)
	callee := r.dialer.outs["tel:"+partnerNumber]
	callee.answer <- answerFrom(t, r.caller, calleeReq.SDP, media.PCMU, media.TelephoneEvent)
	waitState(t, r.e, snap.ID, StateAnswered)
	callee.mu.Lock()
	callee.reanswer = func(offer []byte) ([]byte, error) {
		return answerFrom(t, r.caller, offer, media.PCMU, media.TelephoneEvent), nil
	}
	callee.mu.Unlock()

	if err := r.e.Hold(context.Background(), snap.ID); err != nil {
		t.Fatal(err)
	}
	waitState(t, r.e, snap.ID, StateHeld)
	if d := remoteDirection(t, r.e, snap.ID); d != media.SendOnly {
		t.Fatalf("callee leg %v, want sendonly", d)
	}
	if err := r.e.Resume(context.Background(), snap.ID); err != nil {
		t.Fatal(err)
	}
	waitState(t, r.e, snap.ID, StateAnswered)
	callee.mu.Lock()
	n := len(callee.reoffers)
	callee.mu.Unlock()
	if n != 2 {
		t.Fatalf("%d re-INVITEs to the callee, want 2", n)
	}
	if agent := r.dialer.outs["sip:101@desk"]; len(agent.reoffers) != 0 {
		t.Fatal("the agent's phone got a re-INVITE")
	}
}

// The caller holds phoned (its own re-INVITE, sendonly): phoned answers
// recvonly and stops sending to it; sendrecv again resumes.
func TestCallerReofferFlipsTheDirection(t *testing.T) {
	r := newRig(t, []Contact{{URI: "sip:101@127.0.0.1:5093"}}, 5*time.Second)
	in, id := answeredInbound(t, r)
	// The engine takes the caller's re-INVITEs once its answer was ACKed.
	var h func(context.Context, []byte) ([]byte, error)
	for deadline := time.Now().Add(3 * time.Second); h == nil; time.Sleep(2 * time.Millisecond) {
		in.mu.Lock()
		h = in.reoffer
		in.mu.Unlock()
		if h == nil && time.Now().After(deadline) {
			t.Fatal("the engine takes no re-INVITE of the caller")
		}
	}
	sess := media.NewSession()
	for _, tc := range []struct {
		name     string
		offer    media.Direction
		answer   string
		legAfter media.Direction
	}{
		{"hold sendonly", media.SendOnly, "a=recvonly", media.RecvOnly},
		{"hold inactive", media.Inactive, "a=inactive", media.Inactive},
		{"resume", media.SendRecv, "a=sendrecv", media.SendRecv},
	} {
		offer, err := sess.Offer(addrOf(r.caller), []media.Codec{media.PCMA, media.TelephoneEvent}, tc.offer)
		if err != nil {
			t.Fatal(err)
		}
		answer, err := h(context.Background(), offer)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !strings.Contains(string(answer), tc.answer) {
			t.Fatalf("%s: answer without %s:\n%s", tc.name, tc.answer, answer)
		}
		if d := remoteDirection(t, r.e, id); d != tc.legAfter {
			t.Fatalf("%s: caller leg %v, want %v", tc.name, d, tc.legAfter)
		}
		if _, err := sess.Accept(mustParse(t, answer)); err != nil {
			t.Fatal(err)
		}
	}
	var se *StatusError
	if _, err := h(context.Background(), []byte("not sdp")); !errors.As(err, &se) || se.Status != 488 {
		t.Fatalf("garbage offer: %v", err)
	}
}

func mustParse(t *testing.T, sdp []byte) media.Description {
	t.Helper()
	d, err := media.ParseSDP(sdp)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// The agent's own phone holds (its re-INVITE, sendonly): phoned answers
// recvonly on the agent's leg, and the caller's leg is left alone.
func TestAgentPhoneReofferFlipsItsOwnLeg(t *testing.T) {
	r := newRig(t, []Contact{{URI: "sip:101@127.0.0.1:5093"}}, 5*time.Second)
	_, id := answeredInbound(t, r)
	dev := r.dialer.outs["sip:101@127.0.0.1:5093"]
	dev.mu.Lock()
	h := dev.reoffer
	dev.mu.Unlock()
	if h == nil {
		t.Fatal("the engine takes no re-INVITE of the agent's phone")
	}
	offer, err := media.NewSession().Offer(addrOf(r.device), []media.Codec{media.PCMA, media.TelephoneEvent}, media.SendOnly)
	if err != nil {
		t.Fatal(err)
	}
	answer, err := h(context.Background(), offer)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(answer), "a=recvonly") {
		t.Fatalf("answer without a=recvonly:\n%s", answer)
	}
	c, _ := r.e.Call(id)
	got := make(chan [2]media.Direction, 1)
	c.Do(func() {
		b := c.ctl.(*inbound).media
		got <- [2]media.Direction{b.agent.Direction(), b.remote.Direction()}
	})
	if d := <-got; d[0] != media.RecvOnly || d[1] != media.SendRecv {
		t.Fatalf("agent leg %v, caller leg %v; want recvonly, sendrecv", d[0], d[1])
	}
	if err := r.e.Transfer(context.Background(), id, TransferRequest{Extension: "101"}); !errors.Is(err, ErrBadNumber) {
		t.Fatalf("transfer to the own extension: %v", err)
	}
}
