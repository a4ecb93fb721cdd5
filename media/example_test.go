package media_test

import (
	"context"
	"log/slog"
	"net/netip"
	"time"

	"phoned/media"
)

// The call engine's media path for a SIP call it receives and forwards:
// answer the caller with the codec the callee will use, bridge, then hold.
// (No output: it needs real peers.)
func Example() {
	ports, err := media.NewPortAllocator(media.DefaultPortRange)
	if err != nil {
		panic(err)
	}
	ip := netip.MustParseAddr("192.0.2.1") // the address peers reach us on

	var callerOffer, calleeAnswer []byte // from the INVITE and its 200 OK
	offer, err := media.ParseSDP(callerOffer)
	if err != nil {
		return // 488 Not Acceptable Here, naming err
	}

	// The callee's side: offer what the caller offered, learn its choice.
	calleeConn, _ := ports.Listen(ip)
	calleeSDP := media.NewSession()
	_, _ = calleeSDP.Offer(calleeConn.LocalAddr(), []media.Codec{offer.Audio().Codec, media.TelephoneEvent}, media.SendRecv)
	answer, _ := media.ParseSDP(calleeAnswer)
	calleeMedia, _ := calleeSDP.Accept(answer)

	// The caller's side: answer with the callee's codec only.
	callerConn, _ := ports.Listen(ip)
	callerSDP := media.NewSession()
	_, callerMedia, err := callerSDP.Answer(offer, callerConn.LocalAddr(), []media.Codec{calleeMedia.Audio.Codec, media.TelephoneEvent}, media.SendRecv)
	if err != nil {
		return
	}

	caller, _ := media.NewLeg(callerConn, media.LegConfig{
		Media:  callerMedia,
		OnDTMF: func(d rune) { slog.Info("caller pressed", "digit", string(d)) },
	})
	callee, _ := media.NewLeg(calleeConn, media.LegConfig{Media: calleeMedia})
	defer caller.Close()
	defer callee.Close()
	relay, _ := media.Bridge(caller, callee, media.BridgeOptions{
		InactivityTimeout: 30 * time.Second,
		OnEnd:             func(r media.EndReason) { slog.Info("relay ended", "reason", r) },
	})
	defer relay.Close()

	// Hold the callee (no music on hold): re-offer inactive, stop relaying
	// both ways, allow silence. The answer goes to Accept, then Update.
	_, _ = calleeSDP.Offer(calleeConn.LocalAddr(), []media.Codec{calleeMedia.Audio.Codec, media.TelephoneEvent}, media.Inactive)
	callee.SetDirection(media.Inactive)
	relay.SetInactivityTimeout(0)

	_ = caller.SendDTMF(context.Background(), '5', 0)
}
