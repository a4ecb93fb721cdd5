package media

import "time"

// Clock is the time source of legs and relays; tests inject a fake one.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the call if it has not started; it reports whether it
	// did so.
	Stop() bool
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// AfterFunc is time.AfterFunc.
func (SystemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// epoch anchors the int64 stamps kept in atomics: nanoseconds since epoch,
// plus one so that zero can mean "never". Differences of stamps use the
// monotonic clock when the Clock's times carry it.
var epoch = time.Now()

func stamp(t time.Time) int64 { return int64(t.Sub(epoch)) + 1 }

func unstamp(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return epoch.Add(time.Duration(s - 1))
}
