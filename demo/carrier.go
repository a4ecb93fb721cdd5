package demo

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"phoned/media"
	"phoned/switchboard"
)

// Carrier stands in for the PBX in demo mode, when no --pbx is given:
// a call to an outside number rings for a moment, is answered, and hears
// its own voice back (an RTP echo). So the widget's queue can be worked
// on a laptop with no phone line; nothing leaves the machine. Calls to
// devices (extensions) go to the real dialer.
type Carrier struct {
	base switchboard.Dialer
	ip   netip.Addr
	log  *slog.Logger
	ring time.Duration

	mu     sync.Mutex // guards the following
	calls  map[*echoCall]struct{}
	closed bool

	wg sync.WaitGroup // the echo goroutines
}

// maxEcho ends a demo call that nobody hung up.
const maxEcho = time.Hour

// NewCarrier returns a carrier answering outside numbers on ip; base
// dials everything else.
func NewCarrier(base switchboard.Dialer, ip netip.Addr, log *slog.Logger) *Carrier {
	return &Carrier{base: base, ip: ip, log: log, ring: 2 * time.Second, calls: map[*echoCall]struct{}{}}
}

// DialsOutside implements switchboard.OutsideDialer: the demo carrier
// takes every outside number.
func (c *Carrier) DialsOutside() bool { return true }

// Dial implements switchboard.Dialer.
func (c *Carrier) Dial(ctx context.Context, req switchboard.DialRequest) (switchboard.Outgoing, error) {
	if req.Number == "" {
		return c.base.Dial(ctx, req)
	}
	offer, err := media.ParseSDP(req.SDP)
	if err != nil {
		return nil, &switchboard.StatusError{Status: 488, Reason: "Not Acceptable Here"}
	}
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(c.ip, 0)))
	if err != nil {
		return nil, fmt.Errorf("demo carrier: %w", err)
	}
	local := netip.AddrPortFrom(c.ip, uint16(conn.LocalAddr().(*net.UDPAddr).Port))
	answer, _, err := media.NewSession().Answer(offer, local, []media.Codec{media.PCMU, media.PCMA, media.TelephoneEvent}, media.SendRecv)
	if err != nil {
		conn.Close()
		return nil, &switchboard.StatusError{Status: 488, Reason: "Not Acceptable Here"}
	}
	e := &echoCall{c: c, conn: conn, answer: answer, gone: make(chan struct{})}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		conn.Close()
		return nil, &switchboard.StatusError{Status: 503, Reason: "Service Unavailable"}
	}
	c.calls[e] = struct{}{}
	c.wg.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		e.echo()
	}()
	e.stop = time.AfterFunc(maxEcho, e.end)
	c.log.Info("demo carrier: simulating the party called", "number", req.Number)
	return e, nil
}

// Close ends the demo calls and waits for their goroutines.
func (c *Carrier) Close() {
	c.mu.Lock()
	c.closed = true
	calls := make([]*echoCall, 0, len(c.calls))
	for e := range c.calls {
		calls = append(calls, e)
	}
	c.mu.Unlock()
	for _, e := range calls {
		e.end()
	}
	c.wg.Wait()
}

// echoCall is one simulated party: it answers, then echoes what it hears.
type echoCall struct {
	c      *Carrier
	conn   *net.UDPConn
	answer []byte
	stop   *time.Timer
	gone   chan struct{}
	once   sync.Once
}

func (e *echoCall) echo() {
	buf := make([]byte, 1500)
	for {
		n, from, err := e.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		_, _ = e.conn.WriteToUDPAddrPort(buf[:n], from)
	}
}

func (e *echoCall) end() {
	e.once.Do(func() {
		if e.stop != nil {
			e.stop.Stop()
		}
		_ = e.conn.Close()
		close(e.gone)
		e.c.mu.Lock()
		delete(e.c.calls, e)
		e.c.mu.Unlock()
	})
}

// Wait rings for a moment, then answers.
func (e *echoCall) Wait(ctx context.Context, onRinging func(int)) ([]byte, error) {
	onRinging(180)
	t := time.NewTimer(e.c.ring)
	defer t.Stop()
	select {
	case <-t.C:
		return e.answer, nil
	case <-e.gone:
		return nil, &switchboard.StatusError{Status: 503, Reason: "Service Unavailable"}
	case <-ctx.Done():
		e.end()
		return nil, ctx.Err()
	}
}

func (e *echoCall) Ack(context.Context) error { return nil }

func (e *echoCall) Hangup(context.Context) error {
	e.end()
	return nil
}

func (e *echoCall) Reinvite(_ context.Context, sdp []byte) ([]byte, error) {
	d, err := media.ParseSDP(sdp)
	if err != nil {
		return nil, &switchboard.StatusError{Status: 488, Reason: "Not Acceptable Here"}
	}
	local := netip.AddrPortFrom(e.c.ip, uint16(e.conn.LocalAddr().(*net.UDPAddr).Port))
	answer, _, err := media.NewSession().Answer(d, local, []media.Codec{media.PCMU, media.PCMA, media.TelephoneEvent}, d.Direction.Reverse())
	if err != nil {
		return nil, &switchboard.StatusError{Status: 488, Reason: "Not Acceptable Here"}
	}
	return answer, nil
}

func (e *echoCall) Refer(context.Context, switchboard.ReferTarget) error {
	return &switchboard.StatusError{Status: 501, Reason: "Not Implemented"}
}

func (e *echoCall) SendInfoDTMF(context.Context, rune, time.Duration) error { return nil }

func (e *echoCall) Gone() <-chan struct{} { return e.gone }

var _ switchboard.Outgoing = (*echoCall)(nil)
