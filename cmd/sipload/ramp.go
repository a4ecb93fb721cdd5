package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"time"
)

// rampResult is one target's steps and its best passing step.
type rampResult struct {
	target string
	steps  []step
	best   *step
}

// rampPhoned starts phoned, registers the SIPp phone to it, and ramps.
func rampPhoned(ctx context.Context, cfg config, work string, sc scenarios) (rampResult, error) {
	dir := filepath.Join(work, "phoned")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return rampResult{}, err
	}
	d, err := startDaemon(ctx, dir, cfg)
	if err != nil {
		return rampResult{}, err
	}
	defer d.shutdown()
	fmt.Printf("\nphoned (in this process) on %s, the SIPp phone registered as %s\n", d.addr, agentExtension)

	port, err := freePort()
	if err != nil {
		return rampResult{}, err
	}
	reg, err := startSIPp(ctx, "register", filepath.Join(dir, "register"), sc.register, 20*time.Second, cfg.verbose,
		"-i", "127.0.0.1", "-p", strconv.Itoa(port), "-s", agentExtension, "-au", agentExtension, "-ap", agentSIPPassword,
		"-m", "1", "-timeout", "10s", "-timeout_error", d.addr.String())
	if err != nil {
		return rampResult{}, err
	}
	reg.wait()
	if reg.code != 0 || reg.err != nil {
		return rampResult{}, fmt.Errorf("REGISTER %s failed (exit %d, %v):\n%s", agentExtension, reg.code, reg.err, reg.errorLog(10))
	}
	bs, err := d.st.SIPBindings(ctx, agentExtension, time.Now())
	if err != nil || len(bs) != 1 {
		return rampResult{}, fmt.Errorf("after REGISTER, bindings of %s: %v (%v)", agentExtension, bs, err)
	}

	if cfg.cpuProf != "" {
		f, err := os.Create(cfg.cpuProf)
		if err != nil {
			return rampResult{}, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return rampResult{}, err
		}
		defer pprof.StopCPUProfile()
	}
	t := target{name: "phoned", addr: d.addr, events: d.events, phone: port}
	return ramp(ctx, cfg, sc, t, dir)
}

// rampBare starts the bare agent and ramps.
func rampBare(ctx context.Context, cfg config, work string, sc scenarios) (rampResult, error) {
	dir := filepath.Join(work, "bare")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return rampResult{}, err
	}
	b, err := startBare(dir)
	if err != nil {
		return rampResult{}, err
	}
	defer b.shutdown()
	fmt.Printf("\nbare sipgo agent (in this process) on %s\n", b.addr)
	return ramp(ctx, cfg, sc, target{name: "bare", addr: b.addr}, dir)
}

// ramp raises the rate from cfg.startRate by cfg.factor until a step
// fails or cfg.maxRate has passed, then bisects between the last passing
// and the first failing rate cfg.refine times.
func ramp(ctx context.Context, cfg config, sc scenarios, t target, dir string) (rampResult, error) {
	res := rampResult{target: t.name}
	n := 0
	try := func(rate int) (bool, error) {
		n++
		if cfg.settle > 0 && n > 1 {
			select {
			case <-ctx.Done():
				return false, ctx.Err()
			case <-time.After(cfg.settle):
			}
		}
		s, err := runStep(ctx, cfg, sc, t, filepath.Join(dir, fmt.Sprintf("step%02d-%d", n, rate)), rate)
		if err != nil {
			return false, err
		}
		printStep(t.name, s)
		res.steps = append(res.steps, s)
		return s.pass, nil
	}

	good, bad := 0, 0
	for rate := cfg.startRate; n < maxSteps; {
		ok, err := try(rate)
		if err != nil {
			return res, err
		}
		if !ok {
			bad = rate
			break
		}
		good = rate
		if rate >= cfg.maxRate {
			break
		}
		rate = min(cfg.maxRate, int(math.Ceil(float64(rate)*cfg.factor)))
	}
	for i := 0; i < cfg.refine && bad > 0 && n < maxSteps; i++ {
		mid := (good + bad) / 2
		if bad-good < max(10, good/50) || mid <= 0 {
			break
		}
		ok, err := try(mid)
		if err != nil {
			return res, err
		}
		if ok {
			good = mid
		} else {
			bad = mid
		}
	}
	for i := range res.steps {
		if s := &res.steps[i]; s.pass && (res.best == nil || s.achieved() >= res.best.achieved()) {
			res.best = s
		}
	}
	return res, nil
}

func printHeader(cfg config) {
	fmt.Printf("sipload: SIPp caller -> target, %.0f s per step (at most %d calls), hold %v between ACK and BYE, no RTP\n",
		cfg.seconds, cfg.calls, cfg.hold)
	fmt.Printf("rates from %d calls/s, x%.2f per step, up to %d; %d bisection steps; machine: %d cores, load average %s\n",
		cfg.startRate, cfg.factor, cfg.maxRate, cfg.refine, runtime.NumCPU(), loadAverage())
}

func printStep(name string, s step) {
	verdict := "pass"
	if !s.pass {
		verdict = "FAIL"
	}
	perCall := time.Duration(0)
	if s.calls > 0 {
		perCall = s.selfCPU / time.Duration(s.calls)
	}
	fmt.Printf("%-6s rate %5d/s: %6d calls in %6.2fs, placed %7.1f/s, ok %d, failed %d, retrans %d, setup mean %v p(<10ms) %.0f%%, %s CPU %3.0f%% (%v/call), SIPp CPU caller %3.0f%%",
		name, s.rate, s.calls, s.wall.Seconds(), s.achieved(), s.caller.successful, s.caller.failed, s.caller.retrans,
		s.caller.responseTime, 100*share(s.caller.under(10*time.Millisecond), s.calls), name, 100*s.selfCPU.Seconds()/s.wall.Seconds(), perCall.Round(time.Microsecond),
		100*s.callerCPU.Seconds()/s.wall.Seconds())
	if s.phone != nil {
		fmt.Printf(" phone %3.0f%%", 100*s.phoneCPU.Seconds()/s.wall.Seconds())
	}
	fmt.Printf(" -> %s\n", verdict)
	if e := s.events; e != nil && e.started > 0 && e.answered > 0 && e.endedAnswered > 0 {
		fmt.Printf("         event writes: start %v, answer %v, end %v on average; writes under way %.0f%% of the time\n",
			(e.startTime / time.Duration(e.started)).Round(time.Microsecond), (e.answerTime / time.Duration(e.answered)).Round(time.Microsecond),
			(e.endTime / time.Duration(e.endedAnswered+e.endedOther)).Round(time.Microsecond), 100*e.busy.Seconds()/s.wall.Seconds())
	}
	if s.phone != nil && (s.phone.failed != 0 || s.phone.retrans != 0) {
		fmt.Printf("         phone: ok %d, failed %d, retrans %d\n", s.phone.successful, s.phone.failed, s.phone.retrans)
	}
	if !s.pass {
		fmt.Printf("         %s\n", s.why)
		for _, l := range []string{s.callerLogs, s.phoneLogs} {
			if l != "" {
				fmt.Printf("         %s\n", indent(l))
			}
		}
	}
}

func printSummary(results []rampResult) {
	fmt.Printf("\nsummary (highest rate with 0 failed calls, as placed by SIPp; load average now %s):\n", loadAverage())
	rates := map[string]float64{}
	for _, r := range results {
		if r.best == nil {
			fmt.Printf("  %-6s no step passed\n", r.target)
			continue
		}
		b := r.best
		rates[r.target] = b.achieved()
		fmt.Printf("  %-6s %7.1f calls/s (asked %d), %d calls, its CPU %.0f%% of one core = %v per call; SIPp caller %.0f%%",
			r.target, b.achieved(), b.rate, b.calls, 100*b.selfCPU.Seconds()/b.wall.Seconds(), (b.selfCPU / time.Duration(b.calls)).Round(time.Microsecond),
			100*b.callerCPU.Seconds()/b.wall.Seconds())
		if b.phone != nil {
			fmt.Printf(", phone %.0f%%", 100*b.phoneCPU.Seconds()/b.wall.Seconds())
		}
		fmt.Println()
	}
	if p, ok := rates["phoned"]; ok {
		if b, ok := rates["bare"]; ok && b > 0 {
			fmt.Printf("  phoned / bare = %.0f %%  (goal: >= 1,000 calls/s and >= 25 %%)\n", 100*p/b)
		}
	}
}

func share(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

func indent(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		out = append(out, s[i])
		if s[i] == '\n' {
			out = append(out, "         "...)
		}
	}
	return string(out)
}
