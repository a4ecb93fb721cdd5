package media

import (
	"errors"
	"net"
	"net/netip"
	"testing"
)

func TestPortRangeValidate(t *testing.T) {
	for _, r := range []PortRange{{0, 100}, {31001, 31010}, {31000, 31000}, {31010, 31000}} {
		if _, err := NewPortAllocator(r); !errors.Is(err, ErrInvalidPortRange) {
			t.Errorf("%v: %v", r, err)
		}
	}
	if err := DefaultPortRange.Validate(); err != nil {
		t.Error(err)
	}
}

func TestPortAllocatorPairsAndExhaustion(t *testing.T) {
	a, err := NewPortAllocator(PortRange{Min: 31100, Max: 31105}) // three pairs
	if err != nil {
		t.Fatal(err)
	}
	var conns []*RTPConn
	seen := map[uint16]bool{}
	for range 3 {
		c, err := a.Listen(localhost)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		p := c.LocalAddr().Port()
		if p%2 != 0 || p < 31100 || p > 31104 || c.RTCPPort() != p+1 || seen[p] || c.LocalAddr().Addr() != localhost {
			t.Errorf("got %v (RTCP %d)", c.LocalAddr(), c.RTCPPort())
		}
		seen[p] = true
	}
	if _, err := a.Listen(localhost); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("fourth: %v", err)
	}
	if a.InUse() != 3 {
		t.Errorf("in use %d", a.InUse())
	}
	freed := conns[1].LocalAddr().Port()
	if err := conns[1].Close(); err != nil {
		t.Fatal(err)
	}
	c, err := a.Listen(localhost)
	if err != nil {
		t.Fatal(err)
	}
	if c.LocalAddr().Port() != freed {
		t.Errorf("got %d, want the freed %d", c.LocalAddr().Port(), freed)
	}
	for _, c := range append(conns, c) {
		c.Close()
	}
	if a.InUse() != 0 {
		t.Errorf("in use after close %d", a.InUse())
	}
}

func TestPortAllocatorGoesRoundAndSkipsBusyPorts(t *testing.T) {
	// Another process holds the first pair's RTP port.
	base, busy := freeRange(t, 10)
	defer busy.Close()
	a, err := NewPortAllocator(PortRange{Min: base, Max: base + 9})
	if err != nil {
		t.Fatal(err)
	}
	c1, err := a.Listen(localhost)
	if err != nil {
		t.Fatal(err)
	}
	if c1.LocalAddr().Port() != base+2 {
		t.Errorf("first: %d, want %d past the busy port", c1.LocalAddr().Port(), base+2)
	}
	c1.Close()
	// A port just released rests: the next socket takes the next pair.
	c2, err := a.Listen(localhost)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if c2.LocalAddr().Port() != base+4 {
		t.Errorf("second: %d, want %d", c2.LocalAddr().Port(), base+4)
	}
	if a.InUse() != 1 {
		t.Errorf("in use %d", a.InUse())
	}
}

// freeRange finds n consecutive free UDP ports on localhost from an even
// base, outside the ranges other tests of the tree use, and returns the
// base with a socket holding it (the other ports are free again).
func freeRange(t *testing.T, n uint16) (uint16, *net.UDPConn) {
	t.Helper()
	for base := uint16(52000); base < 60000; base += 64 {
		var held []*net.UDPConn
		for p := base; p < base+n; p++ {
			c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(localhost, p)))
			if err != nil {
				break
			}
			held = append(held, c)
		}
		if len(held) == int(n) {
			for _, c := range held[1:] {
				c.Close()
			}
			return base, held[0]
		}
		for _, c := range held {
			c.Close()
		}
	}
	t.Fatal("no 10 free UDP ports in 52000-60000 on localhost")
	return 0, nil
}

func TestPortAllocatorBadIP(t *testing.T) {
	a := testPorts(t)
	if _, err := a.Listen(netip.Addr{}); !errors.Is(err, ErrUnsupportedAddress) {
		t.Errorf("invalid IP: %v", err)
	}
	// 192.0.2.1 (TEST-NET) is not ours: the bind error is returned, not
	// mistaken for a busy port.
	if _, err := a.Listen(netip.MustParseAddr("192.0.2.1")); err == nil || errors.Is(err, ErrNoPorts) {
		t.Errorf("foreign IP: %v", err)
	}
	if a.InUse() != 0 {
		t.Errorf("in use %d", a.InUse())
	}
}
