package media

import (
	"errors"
	"net/netip"
	"sync/atomic"
)

// errForeignSource is what a UDP transport's ReadRTP returns for a packet
// it refused; the leg counts it and reads on.
var errForeignSource = errors.New("media: packet from a foreign source")

// udpTransport is an RTPConn with symmetric RTP (see
// LegConfig.AllowAnySource for the rules).
type udpTransport struct {
	conn      *RTPConn
	anySource bool
	peer      atomic.Pointer[udpPeer] // replaced whole when it changes
}

type udpPeer struct {
	addr      netip.AddrPort // where we send
	signalled netip.Addr     // the IP in the peer's SDP
	heard     bool           // a packet was accepted since the SDP was applied
}

func newUDPTransport(conn *RTPConn, remote netip.AddrPort, anySource bool) *udpTransport {
	u := &udpTransport{conn: conn, anySource: anySource}
	u.peer.Store(&udpPeer{})
	u.setRemote(remote)
	return u
}

// setRemote applies the peer's SDP address and starts latching afresh. An
// unspecified address (RFC 2543 hold) stops sending but keeps accepting
// the peer's IP.
func (u *udpTransport) setRemote(remote netip.AddrPort) {
	remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	next := &udpPeer{addr: remote, signalled: remote.Addr()}
	if !remote.Addr().IsValid() || remote.Addr().IsUnspecified() {
		next.signalled = u.peer.Load().signalled
	}
	u.peer.Store(next)
}

func (u *udpTransport) ReadRTP(buf []byte) (int, error) {
	n, src, err := u.conn.conn.ReadFromUDPAddrPort(buf)
	if err != nil {
		return 0, err
	}
	if !u.accept(netip.AddrPortFrom(src.Addr().Unmap(), src.Port())) {
		return 0, errForeignSource
	}
	return n, nil
}

// accept decides whether a packet from src is the peer's, latching onto
// src when the rules allow.
func (u *udpTransport) accept(src netip.AddrPort) bool {
	for {
		p := u.peer.Load()
		if src == p.addr && p.heard {
			return true
		}
		sameIP := p.signalled.IsValid() && !p.signalled.IsUnspecified() && src.Addr() == p.signalled
		if src != p.addr && !sameIP && !(u.anySource && !p.heard) {
			return false
		}
		next := *p
		next.addr, next.heard = src, true
		if u.peer.CompareAndSwap(p, &next) {
			return true
		}
	}
}

func (u *udpTransport) WriteRTP(pkt []byte) error {
	p := u.peer.Load()
	if p.addr.Port() == 0 || !p.addr.Addr().IsValid() || p.addr.Addr().IsUnspecified() {
		return ErrNoRemote
	}
	_, err := u.conn.conn.WriteToUDPAddrPort(pkt, p.addr)
	return err
}

func (u *udpTransport) Close() error { return u.conn.Close() }
