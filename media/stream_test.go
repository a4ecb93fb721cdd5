package media

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

func TestRestartedFollowsRFC3550(t *testing.T) {
	s := outStream{maxIn: 100}
	for seq, want := range map[uint16]bool{101: false, 3100: false, 3101: true, 0: false, 65535: true, 65000: true} {
		if got := s.restarted(seq); got != want {
			t.Errorf("after 100, %d restarted = %v", seq, got)
		}
	}
	s.maxIn = 65530 // across the wrap
	if s.restarted(10) || s.restarted(65500) {
		t.Error("wrap read as a restart")
	}
}

func TestPositionRoundsToPackets(t *testing.T) {
	s := outStream{frame: 160, started: true, lastTS: 1000, lastAt: 1}
	for elapsed, want := range map[time.Duration]uint32{
		0:                      1160, // at least one packet on
		5 * time.Millisecond:   1160,
		20 * time.Millisecond:  1160,
		31 * time.Millisecond:  1320,
		time.Second:            1000 + 8000,
		-50 * time.Millisecond: 1160, // a clock that went back
	} {
		if got := s.position(1 + int64(elapsed)); got != want {
			t.Errorf("after %v: %d, want %d", elapsed, got, want)
		}
	}
}

// The relay's per-packet path allocates nothing.
func TestForwardDoesNotAllocate(t *testing.T) {
	a, b := newMemLeg(t), newMemLeg(t)
	r, err := Bridge(a, b, BridgeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	pkt, _ := audio(1, 1, 1).Marshal()
	buf := make([]byte, len(pkt))
	seq := uint16(1)
	allocs := testing.AllocsPerRun(1000, func() {
		copy(buf, pkt)
		buf[3] = byte(seq)
		seq++
		if !a.forward(buf, stamp(time.Now())) {
			t.Fatal("not forwarded")
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per packet", allocs)
	}
}

// memTransport discards writes; its reader waits for Close.
type memTransport struct {
	closed chan struct{}
	writes int
}

func (m *memTransport) ReadRTP([]byte) (int, error) { <-m.closed; return 0, ErrLegClosed }
func (m *memTransport) WriteRTP(pkt []byte) error   { m.writes++; return nil }
func (m *memTransport) Close() error                { close(m.closed); return nil }

func newMemLeg(tb testing.TB) *Leg {
	l, err := NewTransportLeg(&memTransport{closed: make(chan struct{})}, LegConfig{Media: pcmu(netip.AddrPort{}, 101)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	return l
}

// BenchmarkForward is the relay's own work per packet, without syscalls:
// header checks, payload type mapping, rewriting, counters.
func BenchmarkForward(b *testing.B) {
	x, y := newMemLeg(b), newMemLeg(b)
	r, err := Bridge(x, y, BridgeOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	pkt, _ := audio(1, 1, 1).Marshal()
	b.ReportAllocs()
	seq := uint16(0)
	for b.Loop() {
		seq++
		pkt[2], pkt[3] = byte(seq>>8), byte(seq)
		x.forward(pkt, stamp(time.Now()))
	}
}

func TestFormatTable(t *testing.T) {
	// We offered telephone-event on 101; the answer renumbered it to 96.
	n := Negotiated{Audio: Format{8, PCMA}, Event: Format{96, TelephoneEvent}, Recv: []Format{{101, TelephoneEvent}, {8, PCMU}}}
	ft, err := newFormatTable(n)
	if err != nil {
		t.Fatal(err)
	}
	if ft.recv[8] != PCMA || ft.recv[96] != TelephoneEvent || ft.recv[101] != TelephoneEvent || ft.recv[0] != CodecUnknown {
		t.Errorf("recv map: 8=%v 96=%v 101=%v 0=%v", ft.recv[8], ft.recv[96], ft.recv[101], ft.recv[0])
	}
	if ft.send[TelephoneEvent] != 96 || ft.send[PCMA] != 8 || ft.send[PCMU] != -1 || ft.ptime != 20 {
		t.Errorf("send map %v ptime %d", ft.send, ft.ptime)
	}
	n.Event.PT = 8
	if _, err := newFormatTable(n); !errors.Is(err, ErrInvalidCodec) {
		t.Errorf("event on the audio payload type: %v", err)
	}
}
