package api

import (
	"sync"
	"time"
)

// limiter counts failures per key (a client address) in a fixed window and
// says when a key has had too many: it slows password guessing.
type limiter struct {
	max    int
	window time.Duration
	now    func() time.Time

	mu   sync.Mutex // guards the following
	hits map[string]*bucket
}

type bucket struct {
	start time.Time
	n     int
}

func newLimiter(max int, window time.Duration, now func() time.Time) *limiter {
	return &limiter{max: max, window: window, now: now, hits: map[string]*bucket{}}
}

// Blocked reports whether key has used up its failures in this window.
func (l *limiter) Blocked(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.hits[key]
	return b != nil && l.now().Sub(b.start) < l.window && b.n >= l.max
}

// Fail records a failure for key.
func (l *limiter) Fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.hits) > 10000 { // forget stale keys so the map cannot grow without bound
		for k, b := range l.hits {
			if now.Sub(b.start) >= l.window {
				delete(l.hits, k)
			}
		}
	}
	b := l.hits[key]
	if b == nil || now.Sub(b.start) >= l.window {
		b = &bucket{start: now}
		l.hits[key] = b
	}
	b.n++
}
