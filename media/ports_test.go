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
	busy, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(localhost, 31200)))
	if err != nil {
		t.Skipf("cannot hold port 31200: %v", err)
	}
	defer busy.Close()
	a, err := NewPortAllocator(PortRange{Min: 31200, Max: 31209})
	if err != nil {
		t.Fatal(err)
	}
	c1, err := a.Listen(localhost)
	if err != nil {
		t.Fatal(err)
	}
	if c1.LocalAddr().Port() != 31202 {
		t.Errorf("first: %d, want 31202 past the busy port", c1.LocalAddr().Port())
	}
	c1.Close()
	// A port just released rests: the next socket takes the next pair.
	c2, err := a.Listen(localhost)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if c2.LocalAddr().Port() != 31204 {
		t.Errorf("second: %d, want 31204", c2.LocalAddr().Port())
	}
	if a.InUse() != 1 {
		t.Errorf("in use %d", a.InUse())
	}
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
