package switchboard

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"phoned/media"
)

func (f *fakeIncoming) sentInfos() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.infos)
}

// A caller whose phone offered telephone-event gets RFC 4733 events: no
// SIP INFO.
func TestSendDTMFUsesTelephoneEvents(t *testing.T) {
	r := newRig(t, []Contact{{URI: "sip:101@127.0.0.1:5093"}}, 5*time.Second)
	in, id := answeredInbound(t, r)
	if err := r.e.SendDTMF(context.Background(), id, "12"); err != nil {
		t.Fatalf("SendDTMF: %v", err)
	}
	if got := in.sentInfos(); len(got) != 0 {
		t.Fatalf("SIP INFO sent %v with telephone-event negotiated", got)
	}
}

// A caller whose phone offered no telephone-event gets one SIP INFO per
// digit.
func TestSendDTMFFallsBackToSIPInfo(t *testing.T) {
	r := newRig(t, []Contact{{URI: "sip:101@127.0.0.1:5093"}}, 5*time.Second)
	offer, err := media.NewSession().Offer(addrOf(r.caller), []media.Codec{media.PCMA, media.PCMU}, media.SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	in, id := answeredInboundOffer(t, r, offer)
	if err := r.e.SendDTMF(context.Background(), id, "5#A"); err != nil {
		t.Fatalf("SendDTMF: %v", err)
	}
	want := []string{"5/160ms", "#/160ms", "A/160ms"}
	if got := in.sentInfos(); !slices.Equal(got, want) {
		t.Fatalf("SIP INFO digits %v, want %v", got, want)
	}
	if err := r.e.SendDTMF(context.Background(), id, "x"); !errors.Is(err, ErrBadDigits) {
		t.Fatalf("bad digit: %v", err)
	}
}

// A phone without telephone-event that refuses the INFO too: ErrNoDTMF.
func TestSendDTMFInfoRefused(t *testing.T) {
	r := newRig(t, []Contact{{URI: "sip:101@127.0.0.1:5093"}}, 5*time.Second)
	offer, err := media.NewSession().Offer(addrOf(r.caller), []media.Codec{media.PCMU}, media.SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	in, id := answeredInboundOffer(t, r, offer)
	in.mu.Lock()
	in.infoErr = &StatusError{Status: 501, Reason: "Not Implemented"}
	in.mu.Unlock()
	if err := r.e.SendDTMF(context.Background(), id, "12"); !errors.Is(err, ErrNoDTMF) {
		t.Fatalf("SendDTMF: %v, want ErrNoDTMF", err)
	}
	if got := in.sentInfos(); !slices.Equal(got, []string{"1/160ms"}) {
		t.Fatalf("SIP INFO digits %v, want the first only", got)
	}
}

// Digits the caller sends by SIP INFO reach Deps.OnDTMF with the call, as
// RFC 4733 ones do.
func TestInfoDigitsFromTheCallerReachOnDTMF(t *testing.T) {
	r := newRig(t, []Contact{{URI: "sip:101@127.0.0.1:5093"}}, 5*time.Second)
	got := make(chan string, 4)
	r.e.deps.OnDTMF = func(call string, d rune) { got <- call + "/" + string(d) }
	in := newIncoming(r.callerOffer())
	r.e.Inbound(context.Background(), in, InboundInfo{Extension: "101", FromNumber: "+3222123456", CallID: "c9@pbx"})
	waitFor(t, r.dialer.dialed, "sip:101@127.0.0.1:5093")
	r.dialer.mu.Lock()
	offer := r.dialer.offers[0]
	r.dialer.mu.Unlock()
	r.dialer.outs["sip:101@127.0.0.1:5093"].answer <- r.deviceAnswer(offer)
	waitFor(t, in.events, "answer")
	id := r.e.Calls()[0].ID
	in.mu.Lock()
	digit := in.digit
	in.mu.Unlock()
	if digit == nil {
		t.Fatal("the engine took no digits from the caller's leg")
	}
	digit('7')
	select {
	case g := <-got:
		if g != id+"/7" {
			t.Fatalf("OnDTMF got %q", g)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("OnDTMF got nothing")
	}
}
