package media

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
)

// Transport carries one leg's RTP packets. A UDP leg's transport is its
// RTPConn (see NewLeg); a WebRTC leg adapts a pion track pair.
type Transport interface {
	// ReadRTP blocks until a packet from the peer arrives and copies it into
	// buf. Once the transport is closed it returns an error.
	ReadRTP(buf []byte) (int, error)
	// WriteRTP sends one packet to the peer; it must not keep pkt.
	WriteRTP(pkt []byte) error
	// Close ends the transport and unblocks ReadRTP.
	Close() error
}

// LegConfig configures a Leg.
type LegConfig struct {
	// Media is what the leg's offer/answer settled. Its Audio format is
	// required.
	Media Negotiated
	// AllowAnySource lets a UDP leg latch onto a source address whose IP is
	// not the one in the peer's SDP, as a phone behind NAT needs when its
	// SDP shows its private address.
	//
	// Symmetric RTP: the leg sends to the address that the peer's packets
	// come from. A new source port on the signalled IP is followed at any
	// time (NAT bindings change). Another IP is refused unless
	// AllowAnySource is set, and even then only the first source heard
	// after the SDP was (re)applied is learnt: once the peer has been
	// heard, packets from other IPs are dropped and counted as Foreign, so
	// nobody can steal the stream by spraying packets (RTP bleed).
	AllowAnySource bool
	// OnDTMF, if set, receives each RFC 4733 digit (0-9, *, #, A-D) the
	// peer sends, once per event. It runs on the leg's reader goroutine
	// and must return quickly, without calling Close on this leg.
	OnDTMF func(digit rune)
	// Clock defaults to SystemClock.
	Clock Clock
}

// Leg is one RTP endpoint of a call: a transport and the stream phoned
// sends over it. It has one goroutine, which reads the transport and, when
// the leg is bridged, writes each packet on to the other leg. Its methods
// are safe for concurrent use.
type Leg struct {
	t      Transport
	udp    *udpTransport // t when it is a UDP socket, else nil
	clock  Clock
	onDTMF func(rune)

	formats atomic.Pointer[formatTable]
	dir     atomic.Uint32 // Direction
	peer    atomic.Pointer[Leg]
	relay   atomic.Pointer[Relay]

	out    outStream  // what we send to the peer
	dtmfMu sync.Mutex // one SendDTMF at a time

	rx rxCounters
	tx txCounters

	dtmfIn dtmfDetector // reader goroutine only

	closeOnce sync.Once
	closing   chan struct{}
	done      chan struct{} // closed when the reader goroutine returns
	closeErr  error
}

// formatTable maps payload types for one negotiation; it is replaced whole
// on Update and read lock-free per packet.
type formatTable struct {
	recv  [128]Codec // payload type the peer sends -> codec
	send  [4]int16   // codec -> payload type the peer expects, -1 if none
	ptime int        // milliseconds
	media Negotiated // as given, for Media()
}

func newFormatTable(n Negotiated) (*formatTable, error) {
	if !n.Audio.Codec.IsAudio() || n.Audio.PT > 127 {
		return nil, fmt.Errorf("%w: %v", ErrNoAudioFormat, n.Audio)
	}
	if n.HasEvents() && (n.Event.PT > 127 || n.Event.PT == n.Audio.PT) {
		return nil, fmt.Errorf("%w: telephone-event on payload type %d", ErrInvalidCodec, n.Event.PT)
	}
	t := &formatTable{ptime: n.Ptime, media: n}
	if t.ptime <= 0 {
		t.ptime = defaultPtime
	}
	t.send = [4]int16{-1, -1, -1, -1}
	t.send[n.Audio.Codec] = int16(n.Audio.PT)
	t.recv[n.Audio.PT] = n.Audio.Codec
	if n.HasEvents() {
		t.send[TelephoneEvent] = int16(n.Event.PT)
		t.recv[n.Event.PT] = TelephoneEvent
	}
	for _, f := range n.Recv {
		if f.Codec.valid() && f.PT < 128 && t.recv[f.PT] == CodecUnknown {
			t.recv[f.PT] = f.Codec
		}
	}
	return t, nil
}

// NewLeg makes a UDP leg on conn, sending to cfg.Media.Remote with
// symmetric RTP (see LegConfig.AllowAnySource). The leg owns conn from then
// on and closes it with itself; if NewLeg fails, conn stays the caller's.
func NewLeg(conn *RTPConn, cfg LegConfig) (*Leg, error) {
	u := newUDPTransport(conn, cfg.Media.Remote, cfg.AllowAnySource)
	l, err := newLeg(u, cfg)
	if err != nil {
		return nil, err
	}
	l.udp = u
	go l.run()
	return l, nil
}

// NewTransportLeg makes a leg on any transport, such as a WebRTC track
// pair. The leg owns t and closes it with itself.
func NewTransportLeg(t Transport, cfg LegConfig) (*Leg, error) {
	l, err := newLeg(t, cfg)
	if err != nil {
		return nil, err
	}
	go l.run()
	return l, nil
}

func newLeg(t Transport, cfg LegConfig) (*Leg, error) {
	ft, err := newFormatTable(cfg.Media)
	if err != nil {
		return nil, fmt.Errorf("new leg: %w", err)
	}
	l := &Leg{
		t:       t,
		clock:   cfg.Clock,
		onDTMF:  cfg.OnDTMF,
		out:     newOutStream(ft.ptime),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	if l.clock == nil {
		l.clock = SystemClock{}
	}
	l.formats.Store(ft)
	l.dir.Store(uint32(cfg.Media.Direction.orDefault()))
	return l, nil
}

// Update applies a new negotiation (a re-INVITE): remote address (which
// restarts latching), payload types, direction and ptime. The outgoing
// stream keeps its SSRC and numbering.
func (l *Leg) Update(n Negotiated) error {
	ft, err := newFormatTable(n)
	if err != nil {
		return fmt.Errorf("update leg: %w", err)
	}
	l.formats.Store(ft)
	l.dir.Store(uint32(n.Direction.orDefault()))
	if l.udp != nil {
		l.udp.setRemote(n.Remote)
	}
	l.out.mu.Lock()
	l.out.frame = frameSamples(ft.ptime)
	l.out.mu.Unlock()
	return nil
}

// Media returns the negotiation the leg currently applies.
func (l *Leg) Media() Negotiated { return l.formats.Load().media }

// SetDirection changes only the direction: RecvOnly or Inactive stop what
// is sent to this leg's peer (hold); SendOnly or Inactive stop relaying what
// it sends.
func (l *Leg) SetDirection(d Direction) { l.dir.Store(uint32(d.orDefault())) }

// Direction is the leg's current direction, from our side.
func (l *Leg) Direction() Direction { return Direction(l.dir.Load()) }

// SSRC is the SSRC of the stream this leg sends.
func (l *Leg) SSRC() uint32 { return l.out.ssrc }

// LocalAddr is a UDP leg's own RTP address; the zero value for other
// transports.
func (l *Leg) LocalAddr() netip.AddrPort {
	if l.udp == nil {
		return netip.AddrPort{}
	}
	return l.udp.conn.LocalAddr()
}

// Remote is the address a UDP leg sends to now (after latching); the zero
// value for other transports or while unknown.
func (l *Leg) Remote() netip.AddrPort {
	if l.udp == nil {
		return netip.AddrPort{}
	}
	return l.udp.peer.Load().addr
}

// Close ends the leg's relay (if any), closes its transport (returning a
// UDP leg's ports) and waits for its goroutine to end.
func (l *Leg) Close() error {
	l.closeOnce.Do(func() {
		close(l.closing)
		if r := l.relay.Load(); r != nil {
			r.end(EndLegClosed)
		}
		l.closeErr = l.t.Close()
		<-l.done
	})
	return l.closeErr
}

func (l *Leg) closed() bool {
	select {
	case <-l.closing:
		return true
	default:
		return false
	}
}

// run is the leg's goroutine. It ends when the transport fails, which
// Close causes; a failure of its own ends the relay.
func (l *Leg) run() {
	err := l.readLoop()
	close(l.done)
	if !l.closed() && err != nil {
		if r := l.relay.Load(); r != nil {
			r.end(EndTransport)
		}
	}
}

func (l *Leg) readLoop() error {
	buf := make([]byte, readBufferSize)
	for {
		n, err := l.t.ReadRTP(buf)
		if err != nil {
			if errors.Is(err, errForeignSource) {
				l.rx.foreign.Add(1)
				continue
			}
			return err
		}
		now := stamp(l.clock.Now())
		l.rx.last.Store(now)
		l.rx.packets.Add(1)
		l.rx.bytes.Add(uint64(n))
		if !l.forward(buf[:n], now) {
			l.rx.dropped.Add(1)
		}
	}
}

// forward hands one packet from this leg's peer to the bridged leg.
func (l *Leg) forward(pkt []byte, now int64) bool {
	hl := rtpHeaderLen(pkt)
	if hl < 0 || isRTCP(pkt) {
		return false
	}
	codec := l.formats.Load().recv[pkt[1]&0x7f]
	if codec == CodecUnknown || !l.Direction().Receives() {
		return false
	}
	if codec == TelephoneEvent {
		l.detectDTMF(payloadOf(pkt, hl), pkt)
	}
	to := l.peer.Load()
	if to == nil {
		return false
	}
	return to.send(l, pkt, hl, codec, now)
}

// send writes a packet relayed from src to this leg's peer.
func (l *Leg) send(src *Leg, pkt []byte, hl int, codec Codec, now int64) bool {
	if !l.Direction().Sends() {
		return false
	}
	pt := l.formats.Load().send[codec]
	if pt < 0 {
		return false // codec not negotiated here: no transcoding
	}
	if hl > fixedHeaderLen {
		pkt = stripHeader(pkt, hl)
	}
	l.out.mu.Lock()
	l.out.restamp(pkt, src, uint8(pt), codec.IsAudio(), now)
	err := l.t.WriteRTP(pkt)
	l.out.mu.Unlock()
	return l.wrote(len(pkt), now, err)
}

// wrote counts a write; a leg with nowhere to send drops quietly.
func (l *Leg) wrote(n int, now int64, err error) bool {
	if err != nil {
		if !errors.Is(err, ErrNoRemote) {
			l.tx.errors.Add(1)
		}
		return false
	}
	l.tx.packets.Add(1)
	l.tx.bytes.Add(uint64(n))
	l.tx.last.Store(now)
	return true
}
