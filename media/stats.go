package media

import (
	"sync/atomic"
	"time"
)

// Stats are a leg's counters, read without stopping it.
type Stats struct {
	// PacketsIn and BytesIn count what the peer sent and the leg accepted.
	PacketsIn, BytesIn uint64
	// PacketsOut and BytesOut count what was sent to the peer.
	PacketsOut, BytesOut uint64
	// Dropped counts accepted packets that were not relayed: not RTP,
	// RTCP, an unknown payload type, a direction that does not receive, no
	// bridge, or a codec the other leg did not negotiate.
	Dropped uint64
	// Foreign counts packets refused because of their source address.
	Foreign uint64
	// WriteErrors counts failed sends to the peer.
	WriteErrors uint64
	// LastIn and LastOut are the times of the last packet each way (zero
	// if none).
	LastIn, LastOut time.Time
}

// The two counter groups are written by different goroutines (this leg's
// reader, and the reader of the leg bridged to it); padding keeps them on
// separate cache lines.
type rxCounters struct {
	packets, bytes, dropped, foreign atomic.Uint64
	last                             atomic.Int64
	_                                [64]byte
}

type txCounters struct {
	packets, bytes, errors atomic.Uint64
	last                   atomic.Int64
	_                      [64]byte
}

// Stats returns the leg's counters.
func (l *Leg) Stats() Stats {
	return Stats{
		PacketsIn:   l.rx.packets.Load(),
		BytesIn:     l.rx.bytes.Load(),
		Dropped:     l.rx.dropped.Load(),
		Foreign:     l.rx.foreign.Load(),
		LastIn:      unstamp(l.rx.last.Load()),
		PacketsOut:  l.tx.packets.Load(),
		BytesOut:    l.tx.bytes.Load(),
		WriteErrors: l.tx.errors.Load(),
		LastOut:     unstamp(l.tx.last.Load()),
	}
}
