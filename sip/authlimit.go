package sip

import (
	"net/netip"
	"sync"
	"time"
)

// maxFailSources bounds the failure table: a flood from spoofed UDP
// sources must not grow it without end. When it is full of live entries
// new sources go uncounted (their attempts still fail).
const maxFailSources = 100_000

// failLimiter counts failed digest attempts per source address in a fixed
// window; a source reaching the limit is blocked for a while, during which
// it gets 403 without a challenge (no more guesses).
type failLimiter struct {
	limit  int
	window time.Duration
	block  time.Duration
	now    func() time.Time

	mu      sync.Mutex // guards the following
	sources map[netip.Addr]*failCount
}

type failCount struct {
	start        time.Time // of the current window
	n            int
	blockedUntil time.Time
}

func newFailLimiter(cfg Config) *failLimiter {
	return &failLimiter{limit: cfg.AuthFailLimit, window: cfg.AuthFailWindow, block: cfg.AuthBlock, now: cfg.Now,
		sources: map[netip.Addr]*failCount{}}
}

// blocked reports whether src is refused without a challenge now.
func (l *failLimiter) blocked(src netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.sources[src.Unmap()]
	return c != nil && l.now().Before(c.blockedUntil)
}

// fail records a failed attempt from src and reports whether src is now
// blocked.
func (l *failLimiter) fail(src netip.Addr) bool {
	src = src.Unmap()
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	c := l.sources[src]
	if c == nil {
		if len(l.sources) >= maxFailSources {
			l.sweepLocked(now)
			if len(l.sources) >= maxFailSources {
				return false
			}
		}
		c = &failCount{start: now}
		l.sources[src] = c
	}
	if now.Sub(c.start) >= l.window {
		c.start, c.n = now, 0
	}
	c.n++
	if c.n >= l.limit {
		c.blockedUntil = now.Add(l.block)
	}
	return now.Before(c.blockedUntil)
}

// sweep forgets sources whose window and block are over.
func (l *failLimiter) sweep() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweepLocked(l.now())
}

func (l *failLimiter) sweepLocked(now time.Time) {
	for a, c := range l.sources {
		if now.Sub(c.start) >= l.window && !now.Before(c.blockedUntil) {
			delete(l.sources, a)
		}
	}
}
