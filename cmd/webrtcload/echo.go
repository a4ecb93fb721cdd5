package main

import (
	"encoding/binary"
	"net"
	"net/netip"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"phoned/internal/loadua"
	"phoned/media"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// The probe payload: 160 bytes (20 ms of PCMU) that say which flow sent
// them, in what order, when, and whether they are part of the measured
// window. The rest is PCMU silence.
const (
	payloadLen = 160
	probeMagic = 0x57524c44 // "WRLD"
	offFlow    = 4
	offSeq     = 8
	offSent    = 12 // time.Now().UnixNano() just before the send
	offMeasure = 20
	probeLen   = 21
)

// probe is a decoded payload.
type probe struct {
	flow     uint32
	seq      uint32
	sent     int64
	measured bool
}

func readProbe(payload []byte) (probe, bool) {
	if len(payload) < probeLen || binary.BigEndian.Uint32(payload) != probeMagic {
		return probe{}, false
	}
	return probe{
		flow:     binary.BigEndian.Uint32(payload[offFlow:]),
		seq:      binary.BigEndian.Uint32(payload[offSeq:]),
		sent:     int64(binary.BigEndian.Uint64(payload[offSent:])),
		measured: payload[offMeasure] == 1,
	}, true
}

// rtpPayload is the payload of a plain RTP packet (nil if it is none).
func rtpPayload(pkt []byte) []byte {
	if len(pkt) < 12 || pkt[0]>>6 != 2 {
		return nil
	}
	off := 12 + 4*int(pkt[0]&0x0f)
	if pkt[0]&0x10 != 0 { // header extension
		if len(pkt) < off+4 {
			return nil
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(pkt[off+2:]))
	}
	end := len(pkt)
	if pkt[0]&0x20 != 0 && end > off { // padding
		end -= int(pkt[end-1])
	}
	if off > end {
		return nil
	}
	return pkt[off:end]
}

// echoSock is the media of one echoed call (or baseline flow): it sends
// every RTP packet back to where it came from, and records the one-way
// delay of the measured ones. Its delays are read once its loop ended.
type echoSock struct {
	conn     *net.UDPConn
	done     chan struct{}
	recv     atomic.Int64 // measured packets received
	echoed   atomic.Int64 // measured packets sent back
	foreign  atomic.Int64 // packets that are no probe
	delaysUS []int32      // one-way delay of each measured packet, µs
}

func newEchoSock() (*echoSock, error) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	_ = conn.SetReadBuffer(1 << 20)
	e := &echoSock{conn: conn, done: make(chan struct{})}
	go e.loop()
	return e, nil
}

func (e *echoSock) port() uint16 { return e.conn.LocalAddr().(*net.UDPAddr).AddrPort().Port() }

func (e *echoSock) loop() {
	defer close(e.done)
	buf := make([]byte, 1500)
	for {
		n, from, err := e.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		now := time.Now().UnixNano()
		p, ok := readProbe(rtpPayload(buf[:n]))
		if !ok {
			e.foreign.Add(1)
		} else if p.measured {
			e.recv.Add(1)
			e.delaysUS = append(e.delaysUS, usSince(p.sent, now))
		}
		if _, err := e.conn.WriteToUDPAddrPort(buf[:n], from); err == nil && ok && p.measured {
			e.echoed.Add(1)
		}
	}
}

// close stops the echo and waits for its loop.
func (e *echoSock) close() {
	_ = e.conn.Close()
	<-e.done
}

func usSince(sent, now int64) int32 {
	d := (now - sent) / 1000
	switch {
	case d < 0:
		return 0
	case d > 1<<30:
		return 1 << 30
	}
	return int32(d)
}

// sipPeer plays the PBX: a sipgo user agent that answers every INVITE at
// once with PCMU (and telephone-event) on an echoSock of its own, and
// ends the echo with the BYE.
type sipPeer struct {
	*loadua.Agent
	addr netip.AddrPort

	mu    sync.Mutex
	calls map[string]*echoSock // by Call-ID
	all   []*echoSock
}

func startSIPPeer(dir string, n int) (*sipPeer, error) {
	p := &sipPeer{calls: map[string]*echoSock{}}
	a, err := loadua.Start("echo", filepath.Join(dir, "sippeer-"+itoa(n)+".log"), p.answer, p.bye)
	if err != nil {
		return nil, err
	}
	p.Agent, p.addr = a, a.Addr
	return p, nil
}

// answer gives each call an echo socket of its own.
func (p *sipPeer) answer(req *gosip.Request) ([]byte, int, string) {
	offer, err := media.ParseSDP(req.Body())
	if err != nil {
		return nil, 488, "Not Acceptable Here"
	}
	e, err := newEchoSock()
	if err != nil {
		return nil, 503, "Service Unavailable"
	}
	answer, _, err := media.NewSession().Answer(offer, netip.AddrPortFrom(loopback, e.port()), []media.Codec{media.PCMU, media.TelephoneEvent}, media.SendRecv)
	if err != nil {
		e.close()
		return nil, 488, "Not Acceptable Here"
	}
	p.mu.Lock()
	p.calls[req.CallID().Value()] = e
	p.all = append(p.all, e)
	p.mu.Unlock()
	return answer, 0, ""
}

// bye ends a call's echo.
func (p *sipPeer) bye(callID string) {
	p.mu.Lock()
	e := p.calls[callID]
	delete(p.calls, callID)
	p.mu.Unlock()
	if e != nil {
		e.close()
	}
}

// echoes are every call's echo so far.
func (p *sipPeer) echoes() []*echoSock {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*echoSock(nil), p.all...)
}

// shutdown ends every echo still open, then the SIP side.
func (p *sipPeer) shutdown() {
	for _, e := range p.echoes() {
		e.close()
	}
	p.Shutdown()
}
