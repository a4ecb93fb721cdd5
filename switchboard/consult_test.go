package switchboard

import (
	"context"
	"errors"
	"testing"
	"time"

	"phoned/comm"
	"phoned/media"
)

// Replaces implements Replaceable for devices that set a dialog.
func (o *fakeOutgoing) Replaces() (Replaces, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.dialog == nil {
		return Replaces{}, false
	}
	return *o.dialog, true
}

// consultRig is alice's answered call with the partner, whose phone takes
// re-INVITEs (hold and resume), and bob's desk phone with a dialog id.
func consultRig(t *testing.T) (*outRig, string, *fakeOutgoing, *fakeOutgoing) {
	t.Helper()
	r := newOutRig(t, 5*time.Second, 5*time.Second)
	id, partner := bridgedCall(t, r)
	partner.mu.Lock()
	partner.reanswer = func(sdp []byte) ([]byte, error) {
		d, err := media.ParseSDP(sdp)
		if err != nil {
			return nil, err
		}
		b, _, err := media.NewSession().Answer(d, addrOf(r.caller), []media.Codec{media.PCMU, media.TelephoneEvent}, d.Direction.Reverse())
		return b, err
	}
	partner.mu.Unlock()
	bob := r.dialer.outs["sip:102@desk"]
	bob.dialog = &Replaces{URI: "sip:102@127.0.0.1:5999", CallID: "consult-1@phoned", LocalTag: "ph1", RemoteTag: "bob1"}
	return r, id, partner, bob
}

// consultBob starts the consult to 102 and has bob answer from his
// socket; it returns bob's socket address as phoned sends to it.
func consultBob(t *testing.T, r *outRig, id string, bob *fakeOutgoing) (_ struct{}, bobReq DialRequest) {
	t.Helper()
	if err := r.e.Consult(context.Background(), id, TransferRequest{Extension: "102"}); err != nil {
		t.Fatal(err)
	}
	if s, _ := r.e.LiveCall(id); s.State != StateHeld || s.Consult == nil || s.Consult.State != StateRinging || s.Consult.Target != "102" {
		t.Fatalf("snapshot while the consult rings: %+v %+v", s, s.Consult)
	}
	waitFor(t, r.dialer.dialed, "sip:102@desk")
	bobReq = r.request(r.dialCount() - 1)
	return struct{}{}, bobReq
}

func waitConsult(t *testing.T, r *outRig, id string, state State) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		s, _ := r.e.LiveCall(id)
		if s.Consult != nil && s.Consult.State == state {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("consult not %v: %+v", state, s.Consult)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// The consult: the partner is held, alice talks to bob; the transfer is a
// REFER to the partner whose Refer-To names bob's dialog with phoned;
// once its NOTIFY says 200, phoned leaves every leg.
func TestAttendedTransferByREFERWithReplaces(t *testing.T) {
	r, id, partner, bob := consultRig(t)
	_, bobReq := consultBob(t, r, id, bob)
	bobSock := udp(t)
	bob.answer <- answerFrom(t, bobSock, bobReq.SDP, media.PCMU, media.TelephoneEvent)
	waitConsult(t, r, id, StateAnswered)
	if partner.reoffers == nil || mustParse(t, partner.reoffers[0]).Direction != media.SendOnly {
		t.Fatal("the partner was not put on hold")
	}

	// Alice and bob hear each other.
	agentOffer := r.request(0)
	want := sendPT(t, bobSock, mustParse(t, bobReq.SDP).Addr, 0, 1)
	if got := readRTP(t, r.device); string(got.Payload) != string(want) {
		t.Fatal("alice did not get bob's audio")
	}
	want = sendPT(t, r.device, mustParse(t, agentOffer.SDP).Addr, 0, 2)
	if got := readRTP(t, bobSock); string(got.Payload) != string(want) {
		t.Fatal("bob did not get alice's audio")
	}

	partner.mu.Lock()
	partner.refer = func(to ReferTarget) error {
		if to.Replaces == nil || to.Replaces.CallID != "consult-1@phoned" || to.Replaces.RemoteTag != "bob1" {
			return errors.New("no Replaces for bob's dialog")
		}
		return nil
	}
	partner.mu.Unlock()
	if err := r.e.CompleteConsult(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	end := waitEnd(t, r.rig)
	if end.Outcome != comm.OutcomeTransferred {
		t.Fatalf("event end %+v", end)
	}
	hungUp(t, partner, "the partner")
	hungUp(t, bob, "bob's phone (replaced)")
	hungUp(t, r.dialer.outs["sip:101@desk"], "alice's phone")
	if got := partner.refers; len(got) != 1 || got[0].Extension != "102" || got[0].Replaces == nil {
		t.Fatalf("REFERs %+v", got)
	}
}

// The partner refuses the REFER: phoned takes the partner off hold and
// bridges it to bob itself, and lets alice go; the call is bob's now.
func TestAttendedTransferFallsBackToBridging(t *testing.T) {
	r, id, partner, bob := consultRig(t)
	_, bobReq := consultBob(t, r, id, bob)
	bobSock := udp(t)
	bob.answer <- answerFrom(t, bobSock, bobReq.SDP, media.PCMU, media.TelephoneEvent)
	waitConsult(t, r, id, StateAnswered)
	if err := r.e.CompleteConsult(context.Background(), id); err != nil { // partner.refer nil: 501
		t.Fatal(err)
	}
	hungUp(t, r.dialer.outs["sip:101@desk"], "alice's phone")
	deadline := time.Now().Add(3 * time.Second)
	for {
		s, _ := r.e.LiveCall(id)
		if s.State == StateAnswered && s.Consult == nil && s.Extension == "102" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the fallback: %+v", s)
		}
		time.Sleep(2 * time.Millisecond)
	}
	last := partner.reoffers[len(partner.reoffers)-1]
	if mustParse(t, last).Direction != media.SendRecv {
		t.Fatal("the partner was not taken off hold")
	}
	partnerOffer := partnerRequest(t, r)
	want := sendPT(t, bobSock, mustParse(t, bobReq.SDP).Addr, 0, 7)
	if got := readRTP(t, r.caller); string(got.Payload) != string(want) {
		t.Fatal("the partner did not get bob's audio")
	}
	want = sendPT(t, r.caller, mustParse(t, partnerOffer.SDP).Addr, 0, 8)
	if got := readRTP(t, bobSock); string(got.Payload) != string(want) {
		t.Fatal("bob did not get the partner's audio")
	}
	close(bob.gone) // bob hangs up
	if end := waitEnd(t, r.rig); end.Outcome != comm.OutcomeTransferred {
		t.Fatalf("event end %+v", end)
	}
	hungUp(t, partner, "the partner")
}

// Cancelling the consult hangs bob up and gives alice the partner back,
// off hold.
func TestCancelConsult(t *testing.T) {
	r, id, _, bob := consultRig(t)
	_, bobReq := consultBob(t, r, id, bob)
	bobSock := udp(t)
	bob.answer <- answerFrom(t, bobSock, bobReq.SDP, media.PCMU, media.TelephoneEvent)
	waitConsult(t, r, id, StateAnswered)
	ctx := context.Background()
	for name, err := range map[string]error{
		"second consult": r.e.Consult(ctx, id, TransferRequest{Extension: "102"}),
		"blind transfer": r.e.Transfer(ctx, id, TransferRequest{Extension: "102"}),
		"resume":         r.e.Resume(ctx, id),
	} {
		if !errors.Is(err, ErrConsulting) {
			t.Errorf("%s during the consult: %v", name, err)
		}
	}
	if err := r.e.CancelConsult(ctx, id); err != nil {
		t.Fatal(err)
	}
	hungUp(t, bob, "bob's phone")
	if s, _ := r.e.LiveCall(id); s.State != StateAnswered || s.Consult != nil || s.Extension != "101" {
		t.Fatalf("after the cancel: %+v", s)
	}
	partnerOffer := partnerRequest(t, r)
	want := sendPT(t, r.device, mustParse(t, r.request(0).SDP).Addr, 0, 9)
	if got := readRTP(t, r.caller); string(got.Payload) != string(want) {
		t.Fatal("the partner does not hear alice again")
	}
	want = sendPT(t, r.caller, mustParse(t, partnerOffer.SDP).Addr, 0, 10)
	if got := readRTP(t, r.device); string(got.Payload) != string(want) {
		t.Fatal("alice does not hear the partner again")
	}
	if err := r.e.CancelConsult(ctx, id); !errors.Is(err, ErrNoConsult) {
		t.Fatalf("second cancel: %v", err)
	}
	if err := r.e.CompleteConsult(ctx, id); !errors.Is(err, ErrNoConsult) {
		t.Fatalf("complete without a consult: %v", err)
	}
}

// Completing while the consulted party still rings is refused.
func TestCompleteConsultBeforeTheAnswer(t *testing.T) {
	r, id, _, bob := consultRig(t)
	consultBob(t, r, id, bob)
	if err := r.e.CompleteConsult(context.Background(), id); !errors.Is(err, ErrConsultRinging) {
		t.Fatalf("complete while ringing: %v", err)
	}
}

// partnerRequest is the INVITE to the partner's number.
func partnerRequest(t *testing.T, r *outRig) DialRequest {
	t.Helper()
	for i := 0; i < r.dialCount(); i++ {
		if req := r.request(i); req.Number != "" {
			return req
		}
	}
	t.Fatal("the partner was never dialled")
	return DialRequest{}
}
