package media

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// fakeClock moves only when told to; due timers fire in Advance.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

// Advance moves the clock and runs, in order, every timer that falls due,
// including timers set by those it runs.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	for {
		sort.Slice(c.timers, func(i, j int) bool { return c.timers[i].at.Before(c.timers[j].at) })
		var due *fakeTimer
		for i, t := range c.timers {
			if !t.stopped && !t.at.After(end) {
				due = t
				c.timers = append(c.timers[:i], c.timers[i+1:]...)
				break
			}
		}
		if due == nil {
			break
		}
		due.stopped = true
		c.now = due.at
		c.mu.Unlock()
		due.f()
		c.mu.Lock()
	}
	c.now = end
	c.mu.Unlock()
}

// phone is a far end: a plain UDP socket that sends and receives RTP.
type phone struct {
	t    *testing.T
	conn *net.UDPConn
}

func newPhone(t *testing.T, ip string) *phone {
	t.Helper()
	conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(ip), 0)))
	if err != nil {
		t.Fatalf("phone socket on %s: %v", ip, err)
	}
	t.Cleanup(func() { conn.Close() })
	return &phone{t: t, conn: conn}
}

func (p *phone) addr() netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

func (p *phone) send(to netip.AddrPort, pkt *rtp.Packet) {
	p.t.Helper()
	b, err := pkt.Marshal()
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.conn.WriteToUDPAddrPort(b, to); err != nil {
		p.t.Fatal(err)
	}
}

// recv waits for the next packet (2 s at most).
func (p *phone) recv() *rtp.Packet {
	p.t.Helper()
	pkt, err := p.tryRecv(2 * time.Second)
	if err != nil {
		p.t.Fatalf("phone %v: no packet: %v", p.addr(), err)
	}
	return pkt
}

func (p *phone) tryRecv(wait time.Duration) (*rtp.Packet, error) {
	buf := make([]byte, 1500)
	p.conn.SetReadDeadline(time.Now().Add(wait))
	n, err := p.conn.Read(buf)
	if err != nil {
		return nil, err
	}
	var pkt rtp.Packet
	if err := pkt.Unmarshal(buf[:n]); err != nil {
		return nil, err
	}
	return &pkt, nil
}

// expectNothing checks that no packet arrives for a short while.
func (p *phone) expectNothing() {
	p.t.Helper()
	pkt, err := p.tryRecv(100 * time.Millisecond)
	if err == nil {
		p.t.Fatalf("phone %v: unexpected packet %v", p.addr(), pkt)
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		p.t.Fatal(err)
	}
}

// audio builds a PCMU packet with a payload that tells packets apart.
func audio(ssrc uint32, seq uint16, ts uint32) *rtp.Packet {
	payload := make([]byte, 160)
	for i := range payload {
		payload[i] = byte(seq) + byte(i)
	}
	return &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SSRC: ssrc, SequenceNumber: seq, Timestamp: ts}, Payload: payload}
}

func event(pt uint8, ssrc uint32, seq uint16, ts uint32, code uint8, end bool, duration uint16) *rtp.Packet {
	e := byte(10)
	if end {
		e |= 0x80
	}
	return &rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: pt, SSRC: ssrc, SequenceNumber: seq, Timestamp: ts},
		Payload: []byte{code, e, byte(duration >> 8), byte(duration)},
	}
}

// eventually polls cond for up to 2 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func testPorts(t *testing.T) *PortAllocator {
	t.Helper()
	a, err := NewPortAllocator(PortRange{Min: 31000, Max: 31999})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

var localhost = netip.MustParseAddr("127.0.0.1")

func pcmu(remote netip.AddrPort, eventPT uint8) Negotiated {
	n := Negotiated{Remote: remote, Direction: SendRecv, Audio: Format{PT: 0, Codec: PCMU}, Ptime: 20}
	if eventPT != 0 {
		n.Event = Format{PT: eventPT, Codec: TelephoneEvent}
	}
	return n
}

// newTestLeg opens a UDP leg towards remote, closed at the end of the test.
func newTestLeg(t *testing.T, ports *PortAllocator, cfg LegConfig) *Leg {
	t.Helper()
	conn, err := ports.Listen(localhost)
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLeg(conn, cfg)
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// call is two phones, each with its leg, bridged.
type call struct {
	pa, pb *phone
	a, b   *Leg
	relay  *Relay
}

func newCall(t *testing.T, ports *PortAllocator, cfgA, cfgB LegConfig, opts BridgeOptions) *call {
	t.Helper()
	c := &call{pa: newPhone(t, "127.0.0.1"), pb: newPhone(t, "127.0.0.1")}
	if cfgA.Media.Audio.Codec == CodecUnknown {
		cfgA.Media = pcmu(c.pa.addr(), 101)
	}
	if cfgB.Media.Audio.Codec == CodecUnknown {
		cfgB.Media = pcmu(c.pb.addr(), 101)
	}
	cfgA.Media.Remote, cfgB.Media.Remote = c.pa.addr(), c.pb.addr()
	c.a = newTestLeg(t, ports, cfgA)
	c.b = newTestLeg(t, ports, cfgB)
	r, err := Bridge(c.a, c.b, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	c.relay = r
	return c
}

// toB sends pkt from phone A into the relay.
func (c *call) toB(pkt *rtp.Packet) { c.pa.send(c.a.LocalAddr(), pkt) }

// toA sends pkt from phone B into the relay.
func (c *call) toA(pkt *rtp.Packet) { c.pb.send(c.b.LocalAddr(), pkt) }

var errDeadline = context.DeadlineExceeded

func contextWithTimeout(t *testing.T, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), d)
}
