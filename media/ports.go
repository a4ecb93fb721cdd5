package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
)

// PortRange is the UDP port range RTP sockets are taken from. Min must be
// even: RTP uses the even port of each pair and the odd one above it is kept
// for RTCP (not relayed yet, but never handed to another call).
type PortRange struct {
	Min, Max uint16
}

// DefaultPortRange is the conventional RTP range of PBXs (Asterisk's too):
// 5,000 pairs.
var DefaultPortRange = PortRange{Min: 10000, Max: 20000}

// pairs is how many RTP/RTCP pairs fit in the range.
func (r PortRange) pairs() int { return (int(r.Max) - int(r.Min) + 1) / 2 }

// Validate reports a range that cannot hold a single pair.
func (r PortRange) Validate() error {
	switch {
	case r.Min == 0:
		return fmt.Errorf("%w: %d-%d starts at port 0", ErrInvalidPortRange, r.Min, r.Max)
	case r.Min%2 != 0:
		return fmt.Errorf("%w: %d-%d starts on an odd port", ErrInvalidPortRange, r.Min, r.Max)
	case r.pairs() < 1:
		return fmt.Errorf("%w: %d-%d holds no RTP/RTCP pair", ErrInvalidPortRange, r.Min, r.Max)
	}
	return nil
}

// PortAllocator hands out RTP sockets from a PortRange. Allocation goes
// round the range rather than taking the lowest free pair, so a port just
// released rests before it is reused and late packets of an ended call do
// not land in a new one. One pool serves every local IP. Safe for
// concurrent use.
type PortAllocator struct {
	r PortRange

	mu    sync.Mutex // guards the following
	used  []bool     // by pair index
	next  int        // where the next search starts
	inUse int
}

// NewPortAllocator returns an allocator over r.
func NewPortAllocator(r PortRange) (*PortAllocator, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return &PortAllocator{r: r, used: make([]bool, r.pairs())}, nil
}

// InUse is the number of sockets currently handed out.
func (a *PortAllocator) InUse() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.inUse
}

// Listen binds an RTP socket on ip, on the next free even port. Ports that
// another process holds are skipped. It fails with ErrNoPorts when no pair
// is left.
func (a *PortAllocator) Listen(ip netip.Addr) (*RTPConn, error) {
	ip = ip.Unmap()
	if !ip.IsValid() {
		return nil, fmt.Errorf("listen for RTP: %w: invalid IP", ErrUnsupportedAddress)
	}
	network := "udp4"
	if ip.Is6() {
		network = "udp6"
	}
	for range len(a.used) {
		pair, ok := a.reserve()
		if !ok {
			break
		}
		port := a.r.Min + uint16(2*pair)
		conn, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, port)))
		if err == nil {
			return &RTPConn{conn: conn, local: netip.AddrPortFrom(ip, port), alloc: a, pair: pair}, nil
		}
		a.release(pair)
		if !errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("listen for RTP on %s port %d: %w", ip, port, err)
		}
	}
	return nil, fmt.Errorf("listen for RTP on %s: %w (range %d-%d)", ip, ErrNoPorts, a.r.Min, a.r.Max)
}

// reserve takes the next free pair, going round the range.
func (a *PortAllocator) reserve() (int, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for range len(a.used) {
		p := a.next
		a.next = (a.next + 1) % len(a.used)
		if !a.used[p] {
			a.used[p] = true
			a.inUse++
			return p, true
		}
	}
	return 0, false
}

func (a *PortAllocator) release(pair int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.used[pair] {
		a.used[pair] = false
		a.inUse--
	}
}

// RTPConn is an RTP socket from a PortAllocator. Closing it returns its
// port pair. A Leg made from it owns it and closes it.
type RTPConn struct {
	conn  *net.UDPConn
	local netip.AddrPort
	alloc *PortAllocator
	pair  int
	once  sync.Once
}

// LocalAddr is the bound RTP address (the IP given to Listen).
func (c *RTPConn) LocalAddr() netip.AddrPort { return c.local }

// RTCPPort is the odd port kept for RTCP beside the RTP port. Nothing is
// bound there yet: phoned does not relay RTCP.
func (c *RTPConn) RTCPPort() uint16 { return c.local.Port() + 1 }

// Close closes the socket and returns its ports to the allocator.
func (c *RTPConn) Close() error {
	err := net.ErrClosed
	c.once.Do(func() {
		err = c.conn.Close()
		c.alloc.release(c.pair)
	})
	return err
}
