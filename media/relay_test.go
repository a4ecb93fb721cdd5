package media

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/pion/rtp"
)

func TestRelayBothWaysKeepsPayloads(t *testing.T) {
	c := newCall(t, testPorts(t), LegConfig{}, LegConfig{}, BridgeOptions{})
	for i := range uint16(5) {
		sent := audio(0x1111, 100+i, 1000+160*uint32(i))
		c.toB(sent)
		got := c.pb.recv()
		if !bytes.Equal(got.Payload, sent.Payload) {
			t.Fatalf("A->B payload %d changed", i)
		}
		if got.SSRC != c.b.SSRC() || got.PayloadType != 0 {
			t.Fatalf("A->B header: ssrc %x pt %d, want ssrc %x pt 0", got.SSRC, got.PayloadType, c.b.SSRC())
		}
		back := audio(0x2222, 7000+i, 50+160*uint32(i))
		c.toA(back)
		got = c.pa.recv()
		if !bytes.Equal(got.Payload, back.Payload) || got.SSRC != c.a.SSRC() {
			t.Fatalf("B->A packet %d: ssrc %x, payload intact %v", i, got.SSRC, bytes.Equal(got.Payload, back.Payload))
		}
	}
	if c.a.SSRC() == c.b.SSRC() {
		t.Error("both legs send with the same SSRC")
	}
	eventually(t, "counters", func() bool { return c.b.Stats().PacketsOut == 5 && c.a.Stats().PacketsOut == 5 })
	sa, sb := c.a.Stats(), c.b.Stats()
	if sa.PacketsIn != 5 || sa.BytesIn != 5*172 || sb.BytesOut != 5*172 || sa.Dropped != 0 || sa.LastIn.IsZero() || sb.LastOut.IsZero() {
		t.Errorf("stats A %+v B %+v", sa, sb)
	}
}

func checkRun(t *testing.T, pkts []*rtp.Packet, ssrc uint32, tsSteps []uint32) {
	t.Helper()
	for i, p := range pkts {
		if p.SSRC != ssrc {
			t.Errorf("packet %d: SSRC %x, want %x", i, p.SSRC, ssrc)
		}
		if i == 0 {
			continue
		}
		if d := p.SequenceNumber - pkts[i-1].SequenceNumber; d != 1 {
			t.Errorf("packet %d: sequence moved by %d", i, d)
		}
		if d := p.Timestamp - pkts[i-1].Timestamp; d != tsSteps[i-1] {
			t.Errorf("packet %d: timestamp moved by %d, want %d", i, d, tsSteps[i-1])
		}
	}
}

func TestRewriteAcrossSSRCChange(t *testing.T) {
	clock := newFakeClock()
	c := newCall(t, testPorts(t), LegConfig{Clock: clock}, LegConfig{Clock: clock}, BridgeOptions{})
	var got []*rtp.Packet
	for i := range uint16(4) {
		c.toB(audio(0xAAAA, 65534+i, 4294967000+160*uint32(i))) // both wrap
		got = append(got, c.pb.recv())
		clock.Advance(20 * time.Millisecond)
	}
	// A re-INVITE or a transfer: a new source, with numbers of its own,
	// after a 1 s pause.
	clock.Advance(time.Second)
	for i := range uint16(3) {
		c.toB(audio(0xBBBB, 12+i, 777+160*uint32(i)))
		got = append(got, c.pb.recv())
		clock.Advance(20 * time.Millisecond)
	}
	// 1 s + the usual 20 ms since the last packet: 51 packets of 160.
	checkRun(t, got, c.b.SSRC(), []uint32{160, 160, 160, 51 * 160, 160, 160})
	if !got[0].Marker || !got[4].Marker || got[5].Marker {
		t.Errorf("markers %v %v %v: want the first packet of each source marked", got[0].Marker, got[4].Marker, got[5].Marker)
	}
}

func TestRewriteKeepsSourceTiming(t *testing.T) {
	clock := newFakeClock()
	c := newCall(t, testPorts(t), LegConfig{Clock: clock}, LegConfig{Clock: clock}, BridgeOptions{})
	var got []*rtp.Packet
	send := func(seq uint16, ts uint32) {
		c.toB(audio(0xAAAA, seq, ts))
		got = append(got, c.pb.recv())
	}
	send(10, 1000)
	send(11, 1160)
	// Silence suppression: the source skipped 2 s of timestamps.
	clock.Advance(2 * time.Second)
	send(12, 1160+16000+160)
	// A lost packet (13) stays a gap; the peer must see the loss.
	send(14, 1160+16000+480)
	// A sequence jump RFC 3550 reads as a restart, on the same SSRC:
	// numbering goes on by one.
	send(30000, 99)
	if d := got[2].Timestamp - got[1].Timestamp; d != 16160 {
		t.Errorf("pause: timestamp moved by %d, want the source's 16160", d)
	}
	if d := got[3].SequenceNumber - got[2].SequenceNumber; d != 2 {
		t.Errorf("loss: sequence moved by %d, want 2", d)
	}
	if d := got[4].SequenceNumber - got[3].SequenceNumber; d != 1 {
		t.Errorf("restart: sequence moved by %d, want 1", d)
	}
	if d := got[4].Timestamp - got[3].Timestamp; d != 160 {
		t.Errorf("restart: timestamp moved by %d, want 160", d)
	}
}

func TestTransferKeepsOutgoingStream(t *testing.T) {
	ports := testPorts(t)
	c := newCall(t, ports, LegConfig{}, LegConfig{}, BridgeOptions{})
	c.toA(audio(0x2222, 500, 0))
	first := c.pa.recv()
	c.relay.Close()
	if c.relay.Reason() != EndClosed {
		t.Fatalf("reason %v", c.relay.Reason())
	}
	c.toA(audio(0x2222, 501, 160))
	c.pa.expectNothing()

	pc := newPhone(t, "127.0.0.1")
	legC := newTestLeg(t, ports, LegConfig{Media: pcmu(pc.addr(), 101)})
	r, err := Bridge(c.a, legC, BridgeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	pc.send(legC.LocalAddr(), audio(0x3333, 9, 90))
	second := c.pa.recv()
	if second.SSRC != first.SSRC || second.SequenceNumber != first.SequenceNumber+1 {
		t.Errorf("after transfer: ssrc %x seq %d, want ssrc %x seq %d", second.SSRC, second.SequenceNumber, first.SSRC, first.SequenceNumber+1)
	}
	// And the other way, to the new party.
	c.toB(audio(0x1111, 1, 1))
	if got := pc.recv(); got.SSRC != legC.SSRC() {
		t.Errorf("to C: ssrc %x, want %x", got.SSRC, legC.SSRC())
	}
}

func TestHoldStopsOneDirection(t *testing.T) {
	c := newCall(t, testPorts(t), LegConfig{}, LegConfig{}, BridgeOptions{})
	c.b.SetDirection(RecvOnly) // B is held: nothing is sent to it
	c.toB(audio(1, 1, 1))
	c.pb.expectNothing()
	c.toA(audio(2, 1, 1))
	c.pa.recv()
	if s := c.a.Stats(); s.Dropped != 1 {
		t.Errorf("A dropped %d, want 1", s.Dropped)
	}
	c.b.SetDirection(SendRecv)
	c.toB(audio(1, 2, 161))
	c.pb.recv()
}

func TestBridgeRefusals(t *testing.T) {
	ports := testPorts(t)
	p := newPhone(t, "127.0.0.1")
	leg := func(n Negotiated) *Leg { return newTestLeg(t, ports, LegConfig{Media: n}) }
	a, b, d := leg(pcmu(p.addr(), 101)), leg(pcmu(p.addr(), 101)), leg(pcmu(p.addr(), 101))
	alaw := pcmu(p.addr(), 101)
	alaw.Audio = Format{PT: 8, Codec: PCMA}
	c := leg(alaw)
	if _, err := Bridge(a, a, BridgeOptions{}); !errors.Is(err, ErrSameLeg) {
		t.Errorf("self: %v", err)
	}
	if _, err := Bridge(a, c, BridgeOptions{}); !errors.Is(err, ErrCodecMismatch) {
		t.Errorf("PCMU to PCMA: %v", err)
	}
	ended := make(chan EndReason, 1)
	if _, err := Bridge(a, b, BridgeOptions{OnEnd: func(r EndReason) { ended <- r }}); err != nil {
		t.Fatal(err)
	}
	if _, err := Bridge(d, b, BridgeOptions{}); !errors.Is(err, ErrLegBridged) {
		t.Errorf("bridged twice: %v", err)
	}
	b.Close()
	if got := <-ended; got != EndLegClosed {
		t.Errorf("reason %v, want leg closed", got)
	}
	if _, err := Bridge(a, b, BridgeOptions{}); !errors.Is(err, ErrLegClosed) {
		t.Errorf("closed leg: %v", err)
	}
	// a is free again once its relay ended.
	r, err := Bridge(a, d, BridgeOptions{})
	if err != nil {
		t.Fatalf("re-bridge after the relay ended: %v", err)
	}
	r.Close()
	if _, err := NewLeg(nil, LegConfig{}); !errors.Is(err, ErrNoAudioFormat) {
		t.Errorf("no audio format: %v", err)
	}
}

func TestNonRTPAndRTCPDropped(t *testing.T) {
	c := newCall(t, testPorts(t), LegConfig{}, LegConfig{}, BridgeOptions{})
	if _, err := c.pa.conn.WriteToUDPAddrPort([]byte("hello"), c.a.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	// An RTCP receiver report, as a peer doing rtcp-mux would send.
	rr := []byte{0x80, 201, 0, 1, 0, 0, 0, 1}
	if _, err := c.pa.conn.WriteToUDPAddrPort(rr, c.a.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	unknown := audio(1, 1, 1)
	unknown.PayloadType = 18 // G.729, not negotiated
	c.toB(unknown)
	eventually(t, "drops", func() bool { return c.a.Stats().Dropped == 3 })
	c.pb.expectNothing()
}

func TestCSRCAndExtensionsStripped(t *testing.T) {
	c := newCall(t, testPorts(t), LegConfig{}, LegConfig{}, BridgeOptions{})
	p := audio(1, 1, 1)
	p.CSRC = []uint32{7, 8}
	if err := p.SetExtension(1, []byte{0xAA}); err != nil {
		t.Fatal(err)
	}
	c.toB(p)
	got := c.pb.recv()
	if len(got.CSRC) != 0 || got.Extension || !bytes.Equal(got.Payload, p.Payload) {
		t.Errorf("got csrc %v extension %v, payload intact %v", got.CSRC, got.Extension, bytes.Equal(got.Payload, p.Payload))
	}
}

func TestCloseReleasesPortsAndGoroutines(t *testing.T) {
	ports := testPorts(t)
	p := newPhone(t, "127.0.0.1")
	var legs []*Leg
	for range 4 {
		conn, err := ports.Listen(localhost)
		if err != nil {
			t.Fatal(err)
		}
		l, err := NewLeg(conn, LegConfig{Media: pcmu(p.addr(), 101)})
		if err != nil {
			t.Fatal(err)
		}
		legs = append(legs, l)
	}
	r, err := Bridge(legs[0], legs[1], BridgeOptions{InactivityTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if ports.InUse() != 4 {
		t.Fatalf("in use %d", ports.InUse())
	}
	for _, l := range legs {
		if err := l.Close(); err != nil {
			t.Error(err)
		}
	}
	<-r.Done()
	if ports.InUse() != 0 {
		t.Errorf("in use after close: %d", ports.InUse())
	}
	// goleak in TestMain checks that the readers are gone.
}
