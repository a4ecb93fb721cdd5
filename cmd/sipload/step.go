package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// target is what a step loads: phoned (with its registered SIPp phone) or
// the bare agent.
type target struct {
	name   string
	addr   netip.AddrPort
	events *eventCounter // phoned's; nil for the bare agent
	phone  int           // the registered phone's SIP port; 0: no phone
}

// step is one rate's result.
type step struct {
	rate       int // asked of SIPp, calls per second
	calls      int
	caller     sippStats
	phone      *sippStats // nil without a phone
	events     *eventCounts
	wall       time.Duration // the caller's run
	selfCPU    time.Duration // this process (phoned or the bare agent) over the step
	callerCPU  time.Duration
	phoneCPU   time.Duration
	pass       bool
	why        string // why it failed
	callerLogs string
	phoneLogs  string
}

// achieved is the rate SIPp actually placed calls at.
func (s step) achieved() float64 { return s.caller.callRate }

// runStep places calls at rate from SIPp's caller to t, and checks that
// every one of them succeeded on every side.
func runStep(ctx context.Context, cfg config, sc scenarios, t target, dir string, rate int) (step, error) {
	s := step{rate: rate, calls: min(cfg.calls, int(math.Ceil(float64(rate)*cfg.seconds)))}
	expect := time.Duration(float64(s.calls)/float64(rate)*float64(time.Second)) + cfg.hold
	limit := 3*expect + 30*time.Second // SIPp's -timeout: a stuck step fails, it does not hang
	// In flight at once: a second's worth of calls. A target slower than
	// that makes SIPp wait, and the step falls short of its rate.
	concurrent := max(200, rate)

	var phone *sippRun
	if t.phone != 0 {
		mp, err := freePort()
		if err != nil {
			return s, err
		}
		phone, err = startSIPp(ctx, "phone", filepath.Join(dir, "phone"), sc.phone, limit+20*time.Second, cfg.verbose,
			"-i", "127.0.0.1", "-p", strconv.Itoa(t.phone), "-mi", "127.0.0.1", "-mp", strconv.Itoa(mp),
			"-m", strconv.Itoa(s.calls), "-recv_timeout", "10000", "-timeout", seconds(limit+10*time.Second), "-timeout_error")
		if err != nil {
			return s, err
		}
		if err := waitBound(ctx, t.phone, 5*time.Second); err != nil {
			phone.finish(0, time.Second)
			return s, fmt.Errorf("the SIPp phone: %w", err)
		}
	}
	p, err := freePort()
	if err != nil {
		return s, err
	}
	mp, err := freePort()
	if err != nil {
		return s, err
	}
	var before eventCounts
	if t.events != nil {
		before = t.events.counts()
	}
	cpu0 := selfCPU()
	caller, err := startSIPp(ctx, "caller", filepath.Join(dir, "caller"), sc.caller, limit+10*time.Second, cfg.verbose,
		"-i", "127.0.0.1", "-p", strconv.Itoa(p), "-mi", "127.0.0.1", "-mp", strconv.Itoa(mp),
		"-s", agentExtension, t.addr.String(), "-d", strconv.FormatInt(cfg.hold.Milliseconds(), 10),
		"-r", strconv.Itoa(rate), "-rp", "1000", "-m", strconv.Itoa(s.calls), "-l", strconv.Itoa(concurrent),
		"-recv_timeout", "10000", "-timeout", seconds(limit), "-timeout_error")
	if err != nil {
		if phone != nil {
			phone.finish(0, time.Second)
		}
		return s, err
	}
	caller.wait()
	if t.events != nil {
		// The event is closed just after the BYE's 200: wait for the
		// last ones, so that the CPU they cost is counted.
		deadline := time.Now().Add(10 * time.Second)
		for {
			d := t.events.counts().sub(before)
			if d.endedAnswered+d.endedOther >= d.started || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	s.selfCPU = selfCPU() - cpu0
	s.wall, s.callerCPU = caller.wall, caller.cpu
	if phone != nil {
		phone.finish(5*time.Second, 12*time.Second)
		s.phoneCPU = phone.cpu
	}

	var problems []error
	if caller.err != nil {
		problems = append(problems, caller.err)
	}
	if s.caller, err = caller.stats(); err != nil {
		problems = append(problems, err)
	}
	if s.caller.successful != s.calls || s.caller.failed != 0 || caller.code != 0 {
		problems = append(problems, fmt.Errorf("caller: %d of %d calls succeeded, %d failed (exit %d)", s.caller.successful, s.calls, s.caller.failed, caller.code))
		s.callerLogs = caller.errorLog(6)
	}
	if phone != nil {
		if phone.err != nil {
			problems = append(problems, phone.err)
		}
		ps, err := phone.stats()
		if err != nil {
			problems = append(problems, err)
		}
		s.phone = &ps
		if ps.successful != s.calls || ps.failed != 0 {
			problems = append(problems, fmt.Errorf("phone: %d of %d calls succeeded, %d failed (exit %d)", ps.successful, s.calls, ps.failed, phone.code))
			s.phoneLogs = phone.errorLog(6)
		}
	}
	if t.events != nil {
		d := t.events.counts().sub(before)
		s.events = &d
		if d.started != int64(s.calls) || d.answered != int64(s.calls) || d.endedAnswered != int64(s.calls) || d.endedOther != 0 || d.failed != 0 {
			problems = append(problems, fmt.Errorf("events: %d started, %d answered, %d closed answered, %d closed otherwise %v, %d writes failed; want %d answered",
				d.started, d.answered, d.endedAnswered, d.endedOther, d.other, d.failed, s.calls))
		}
	}
	if len(problems) == 0 && s.achieved() < 0.95*float64(rate) {
		problems = append(problems, fmt.Errorf("SIPp placed %.0f calls/s of the %d asked (calls waited for the target)", s.achieved(), rate))
	}
	s.pass = len(problems) == 0
	if !s.pass {
		s.why = errors.Join(problems...).Error()
	}
	return s, ctx.Err()
}

// waitBound waits until a socket (SIPp's) is bound to UDP port of
// 127.0.0.1, as /proc/net/udp shows: probing by binding the port would
// race with SIPp's own bind.
func waitBound(ctx context.Context, port int, limit time.Duration) error {
	want := fmt.Sprintf("0100007F:%04X", port)
	deadline := time.Now().Add(limit)
	for {
		if b, err := os.ReadFile("/proc/net/udp"); err != nil {
			return err
		} else if bytes.Contains(b, []byte(" "+want+" ")) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on port %d after %v", port, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// seconds formats d as SIPp's whole seconds ("12s"), rounded up.
func seconds(d time.Duration) string {
	return strconv.Itoa(int(math.Ceil(d.Seconds()))) + "s"
}

// selfCPU is the CPU time (user and system) this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
