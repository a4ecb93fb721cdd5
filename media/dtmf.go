package media

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"
)

// RFC 4733 sending parameters.
const (
	// DefaultDTMFDuration is used when SendDTMF is given no duration.
	DefaultDTMFDuration = 100 * time.Millisecond
	// minDTMFDuration is the shortest tone receivers reliably detect.
	minDTMFDuration = 40 * time.Millisecond
	// maxDTMFDuration is what the 16-bit duration field holds at 8 kHz.
	maxDTMFDuration = 65535 * time.Second / clockRate
	// dtmfVolume is the power level field: -10 dBm0, as phones send.
	dtmfVolume = 10
	// dtmfEndRepeats is how often the final packet is sent (RFC 4733
	// §2.5.1.4 asks for retransmission, three is common practice).
	dtmfEndRepeats = 3
)

// eventCode maps a digit to its RFC 4733 event code.
func eventCode(d rune) (uint8, bool) {
	switch {
	case d >= '0' && d <= '9':
		return uint8(d - '0'), true
	case d == '*':
		return 10, true
	case d == '#':
		return 11, true
	case d >= 'A' && d <= 'D':
		return uint8(d-'A') + 12, true
	case d >= 'a' && d <= 'd':
		return uint8(d-'a') + 12, true
	}
	return 0, false
}

// eventDigit maps an RFC 4733 event code to its digit.
func eventDigit(code uint8) (rune, bool) {
	switch {
	case code <= 9:
		return rune('0' + code), true
	case code == 10:
		return '*', true
	case code == 11:
		return '#', true
	case code <= 15:
		return rune('A' + code - 12), true
	}
	return 0, false
}

// dtmfDetector reports each received event once: packets of one event share
// its timestamp.
type dtmfDetector struct {
	seen  bool
	ts    uint32
	event uint8
}

func (l *Leg) detectDTMF(payload, pkt []byte) {
	if l.onDTMF == nil || len(payload) < 4 {
		return
	}
	ts := binary.BigEndian.Uint32(pkt[4:])
	d := &l.dtmfIn
	if d.seen && d.ts == ts && d.event == payload[0] {
		return
	}
	d.seen, d.ts, d.event = true, ts, payload[0]
	if digit, ok := eventDigit(payload[0]); ok {
		l.onDTMF(digit)
	}
}

// SendDTMF sends digit (0-9, *, #, A-D) to the leg's peer as an RFC 4733
// event lasting duration (DefaultDTMFDuration if zero, at least 40 ms): one
// packet per ptime with the duration so far, then the end packet three
// times. The event is stamped on the leg's outgoing stream, between the
// packets relayed to it. SendDTMF returns when the event has been sent;
// digits sent concurrently go one after the other. If ctx ends first, the
// event is ended at once (so no tone hangs) and ctx's error returned.
func (l *Leg) SendDTMF(ctx context.Context, digit rune, duration time.Duration) error {
	code, ok := eventCode(digit)
	if !ok {
		return fmt.Errorf("send DTMF: %w: %q", ErrInvalidDigit, digit)
	}
	switch {
	case duration == 0:
		duration = DefaultDTMFDuration
	case duration > maxDTMFDuration || duration < 0:
		return fmt.Errorf("send DTMF: %w: %v", ErrInvalidDuration, duration)
	case duration < minDTMFDuration:
		duration = minDTMFDuration
	}
	ft := l.formats.Load()
	pt := ft.send[TelephoneEvent]
	switch {
	case pt < 0:
		return fmt.Errorf("send DTMF: %w", ErrNoTelephoneEvent)
	case !l.Direction().Sends():
		return fmt.Errorf("send DTMF: %w", ErrNotSending)
	case l.closed():
		return fmt.Errorf("send DTMF: %w", ErrLegClosed)
	}
	l.dtmfMu.Lock()
	defer l.dtmfMu.Unlock()

	e := dtmfEvent{leg: l, pt: uint8(pt), code: code}
	total := uint16(duration * clockRate / time.Second)
	interval := time.Duration(ft.ptime) * time.Millisecond
	step := uint16(frameSamples(ft.ptime))
	var err error
	for sofar := step; sofar < total; sofar += step {
		if err = e.send(sofar, false); err != nil {
			return fmt.Errorf("send DTMF: %w", err)
		}
		if err = l.wait(ctx, interval); err != nil {
			total = sofar // end the event where it stands
			break
		}
	}
	for i := range dtmfEndRepeats {
		if serr := e.send(total, true); serr != nil {
			return fmt.Errorf("send DTMF: %w", serr)
		}
		if i < dtmfEndRepeats-1 && err == nil {
			err = l.wait(ctx, interval)
		}
	}
	if err != nil {
		return fmt.Errorf("send DTMF: %w", err)
	}
	return nil
}

// dtmfEvent is one event being sent; its first packet fixes its timestamp.
type dtmfEvent struct {
	leg     *Leg
	pt      uint8
	code    uint8
	started bool
	ts      uint32
}

func (e *dtmfEvent) send(duration uint16, end bool) error {
	l := e.leg
	var pkt [fixedHeaderLen + 4]byte
	now := stamp(l.clock.Now())
	l.out.mu.Lock()
	seq := l.out.inject(now)
	pkt[0] = 0x80
	pkt[1] = e.pt
	if !e.started {
		e.started, e.ts = true, l.out.position(now)
		pkt[1] |= 0x80 // marker: start of the event
	}
	binary.BigEndian.PutUint16(pkt[2:], seq)
	binary.BigEndian.PutUint32(pkt[4:], e.ts)
	binary.BigEndian.PutUint32(pkt[8:], l.out.ssrc)
	pkt[12] = e.code
	pkt[13] = dtmfVolume
	if end {
		pkt[13] |= 0x80
	}
	binary.BigEndian.PutUint16(pkt[14:], duration)
	err := l.t.WriteRTP(pkt[:])
	l.out.mu.Unlock()
	l.wrote(len(pkt), now, err)
	return err
}

// wait sleeps d on the leg's clock, or less if ctx ends or the leg closes.
func (l *Leg) wait(ctx context.Context, d time.Duration) error {
	fired := make(chan struct{})
	t := l.clock.AfterFunc(d, func() { close(fired) })
	select {
	case <-fired:
		return nil
	case <-ctx.Done():
		t.Stop()
		return ctx.Err()
	case <-l.closing:
		t.Stop()
		return ErrLegClosed
	}
}
