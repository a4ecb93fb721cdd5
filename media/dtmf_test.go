package media

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/pion/rtp"
)

func TestTelephoneEventPayloadTypeMapped(t *testing.T) {
	var digits []rune
	got := make(chan rune, 8)
	cfgA := LegConfig{OnDTMF: func(d rune) { got <- d }}
	cfgB := LegConfig{}
	c := newCall(t, testPorts(t), cfgA, cfgB, BridgeOptions{})
	// B's side negotiated telephone-event on 96, A's on 101.
	if err := c.b.Update(pcmu(c.pb.addr(), 96)); err != nil {
		t.Fatal(err)
	}
	c.toB(audio(0xA, 10, 8000))
	c.pb.recv()
	// An event on A's side: start, continuation, three end packets.
	sent := []*rtp.Packet{
		event(101, 0xA, 11, 8160, 5, false, 160),
		event(101, 0xA, 12, 8160, 5, false, 320),
		event(101, 0xA, 13, 8160, 5, true, 480),
		event(101, 0xA, 14, 8160, 5, true, 480),
		event(101, 0xA, 15, 8160, 5, true, 480),
	}
	sent[0].Marker = true
	var out []*rtp.Packet
	for _, p := range sent {
		c.toB(p)
		out = append(out, c.pb.recv())
	}
	for i, p := range out {
		if p.PayloadType != 96 || !bytes.Equal(p.Payload, sent[i].Payload) || p.Marker != (i == 0) {
			t.Errorf("event packet %d: pt %d marker %v payload %x, want pt 96 payload %x", i, p.PayloadType, p.Marker, p.Payload, sent[i].Payload)
		}
		if p.Timestamp != out[0].Timestamp {
			t.Errorf("event packet %d: timestamp %d, want the event's %d", i, p.Timestamp, out[0].Timestamp)
		}
	}
	checkRun(t, out, c.b.SSRC(), []uint32{0, 0, 0, 0})
	// And back: B's 96 becomes A's 101.
	c.toA(event(96, 0xB, 1, 1, 11, true, 800))
	if p := c.pa.recv(); p.PayloadType != 101 || p.Payload[0] != 11 {
		t.Errorf("B->A event: pt %d code %d", p.PayloadType, p.Payload[0])
	}
	select {
	case d := <-got:
		digits = append(digits, d)
	case <-time.After(2 * time.Second):
		t.Fatal("no digit reported")
	}
	if len(got) != 0 || digits[0] != '5' {
		t.Errorf("digits reported: %q and %d more, want one '5'", digits, len(got))
	}
}

func TestTelephoneEventDroppedWhereNotNegotiated(t *testing.T) {
	c := newCall(t, testPorts(t), LegConfig{}, LegConfig{}, BridgeOptions{})
	if err := c.b.Update(pcmu(c.pb.addr(), 0)); err != nil { // no telephone-event
		t.Fatal(err)
	}
	c.toB(event(101, 0xA, 1, 1, 1, false, 160))
	eventually(t, "drop", func() bool { return c.a.Stats().Dropped == 1 })
	c.pb.expectNothing()
}

func TestSendDTMF(t *testing.T) {
	c := newCall(t, testPorts(t), LegConfig{}, LegConfig{}, BridgeOptions{})
	var got []*rtp.Packet
	for i := range uint16(2) {
		c.toA(audio(0xB, 40+i, 160*uint32(i)))
		got = append(got, c.pa.recv())
	}
	if err := c.a.SendDTMF(t.Context(), '#', 60*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	// 60 ms: durations 160, 320, then the end (480) three times.
	var ev []*rtp.Packet
	for range 5 {
		ev = append(ev, c.pa.recv())
	}
	c.toA(audio(0xB, 42, 320))
	after := c.pa.recv()

	all := append(append(got, ev...), after)
	for i := 1; i < len(all); i++ {
		if d := all[i].SequenceNumber - all[i-1].SequenceNumber; d != 1 || all[i].SSRC != c.a.SSRC() {
			t.Fatalf("packet %d: sequence moved by %d, ssrc %x", i, d, all[i].SSRC)
		}
	}
	wantDur := []uint16{160, 320, 480, 480, 480}
	for i, p := range ev {
		if p.PayloadType != 101 || len(p.Payload) != 4 {
			t.Fatalf("event packet %d: pt %d payload %x", i, p.PayloadType, p.Payload)
		}
		code, end, dur := p.Payload[0], p.Payload[1]&0x80 != 0, uint16(p.Payload[2])<<8|uint16(p.Payload[3])
		if code != 11 || end != (i >= 2) || dur != wantDur[i] || p.Marker != (i == 0) || p.Timestamp != ev[0].Timestamp {
			t.Errorf("event packet %d: code %d end %v duration %d marker %v ts %d", i, code, end, dur, p.Marker, p.Timestamp)
		}
	}
	if d := int32(ev[0].Timestamp - got[1].Timestamp); d < 160 {
		t.Errorf("event starts %d samples after the last audio packet, want at least one packet", d)
	}
}

func TestSendDTMFRefusals(t *testing.T) {
	c := newCall(t, testPorts(t), LegConfig{}, LegConfig{}, BridgeOptions{})
	if err := c.a.SendDTMF(t.Context(), 'x', 0); !errors.Is(err, ErrInvalidDigit) {
		t.Errorf("digit x: %v", err)
	}
	if err := c.a.SendDTMF(t.Context(), '1', time.Minute); !errors.Is(err, ErrInvalidDuration) {
		t.Errorf("a minute: %v", err)
	}
	c.a.SetDirection(Inactive)
	if err := c.a.SendDTMF(t.Context(), '1', 0); !errors.Is(err, ErrNotSending) {
		t.Errorf("inactive: %v", err)
	}
	if err := c.b.Update(pcmu(c.pb.addr(), 0)); err != nil {
		t.Fatal(err)
	}
	if err := c.b.SendDTMF(t.Context(), '1', 0); !errors.Is(err, ErrNoTelephoneEvent) {
		t.Errorf("no telephone-event: %v", err)
	}
}

func TestSendDTMFCancelledEndsEvent(t *testing.T) {
	c := newCall(t, testPorts(t), LegConfig{}, LegConfig{}, BridgeOptions{})
	ctx, cancel := contextWithTimeout(t, 30*time.Millisecond)
	defer cancel()
	err := c.a.SendDTMF(ctx, '1', 5*time.Second)
	if !errors.Is(err, errDeadline) {
		t.Fatalf("err %v", err)
	}
	var last *rtp.Packet
	for {
		p, err := c.pa.tryRecv(100 * time.Millisecond)
		if err != nil {
			break
		}
		last = p
	}
	if last == nil || last.Payload[1]&0x80 == 0 {
		t.Fatalf("last packet %v: want an end packet", last)
	}
}
