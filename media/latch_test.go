package media

import (
	"net/netip"
	"testing"
)

func TestSymmetricRTPLatchesOnSameIP(t *testing.T) {
	c := newCall(t, testPorts(t), LegConfig{}, LegConfig{}, BridgeOptions{})
	// The phone's NAT gave it another port than its SDP says.
	natted := newPhone(t, "127.0.0.1")
	natted.send(c.a.LocalAddr(), audio(1, 1, 1))
	c.pb.recv()
	if c.a.Remote() != natted.addr() {
		t.Fatalf("remote %v, want latched %v", c.a.Remote(), natted.addr())
	}
	c.toA(audio(2, 1, 1))
	natted.recv()
	c.pa.expectNothing()

	// Another IP is not the peer.
	stranger := newPhone(t, "127.0.0.2")
	stranger.send(c.a.LocalAddr(), audio(3, 1, 1))
	eventually(t, "foreign count", func() bool { return c.a.Stats().Foreign == 1 })
	c.pb.expectNothing()
	if c.a.Remote() != natted.addr() {
		t.Fatalf("remote moved to %v", c.a.Remote())
	}
	// A re-INVITE points the leg elsewhere: it sends there at once.
	if err := c.a.Update(pcmu(c.pa.addr(), 101)); err != nil {
		t.Fatal(err)
	}
	c.toA(audio(2, 2, 161))
	c.pa.recv()
}

func TestSymmetricRTPAnySourceLearnsOnce(t *testing.T) {
	ports := testPorts(t)
	pb := newPhone(t, "127.0.0.1")
	behindNAT := newPhone(t, "127.0.0.2") // its SDP shows 127.0.0.1
	a := newTestLeg(t, ports, LegConfig{Media: pcmu(pb.addr(), 101), AllowAnySource: true})
	b := newTestLeg(t, ports, LegConfig{Media: pcmu(pb.addr(), 101)})
	r, err := Bridge(a, b, BridgeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	behindNAT.send(a.LocalAddr(), audio(1, 1, 1))
	pb.recv()
	if a.Remote() != behindNAT.addr() {
		t.Fatalf("remote %v, want learnt %v", a.Remote(), behindNAT.addr())
	}
	// Once heard, another IP cannot take the stream over.
	intruder := newPhone(t, "127.0.0.3")
	intruder.send(a.LocalAddr(), audio(6, 6, 6))
	eventually(t, "foreign count", func() bool { return a.Stats().Foreign == 1 })
	if a.Remote() != behindNAT.addr() {
		t.Fatalf("remote taken over by %v", a.Remote())
	}
}

func TestUnspecifiedRemoteSendsNothing(t *testing.T) {
	c := newCall(t, testPorts(t), LegConfig{}, LegConfig{}, BridgeOptions{})
	held := pcmu(netip.MustParseAddrPort("0.0.0.0:4000"), 101) // RFC 2543 hold, applied as is
	if err := c.a.Update(held); err != nil {
		t.Fatal(err)
	}
	c.toA(audio(2, 1, 1))
	eventually(t, "drop", func() bool { return c.b.Stats().Dropped == 1 })
	c.pa.expectNothing()
	if s := c.a.Stats(); s.WriteErrors != 0 || s.PacketsOut != 0 {
		t.Errorf("stats %+v", s)
	}
	// The peer's IP is still accepted: its packets go on to B.
	c.toB(audio(1, 1, 1))
	c.pb.recv()
}
