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
