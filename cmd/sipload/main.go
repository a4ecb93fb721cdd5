// Command sipload measures inbound call setup: how many calls per second
// phoned takes from a PBX, rings to a registered phone, bridges and ends,
// with the communication event written, at zero failed calls, and the same
// load against a bare sipgo user agent that only answers, in the same run.
//
// SIPp plays the PBX (uac-short-call.xml: INVITE, 200, ACK, a -hold pause,
// BYE; no RTP) and the phone (uas-answer-now.xml, registered to phoned with
// digest auth: answers at once, no RTP). phoned runs in this process, wired
// as cmd/phoned/serve.go wires it (store on a temporary database, sip.New,
// sip.NewCalls, switchboard.New, media.NewPortAllocator; no HTTP API), so
// that its CPU can be read with getrusage and profiled with -cpuprofile.
// The bare agent (bare.go) is a sipgo server with a dialog cache that
// answers every INVITE with 200 and SDP and every BYE with 200.
//
// For each target the caller's rate rises step by step (-start-rate,
// -factor) until a step fails or -max-rate is passed, then the boundary is
// refined by bisection (-refine). A step passes when every call of it
// succeeded on every side (and, for phoned, every event was closed as
// answered) and SIPp reached at least 95 % of the asked rate. Everything
// runs on 127.0.0.1 and stops by itself: every step is bounded in calls
// and seconds, every SIPp by -timeout, the whole run by -max-time.
//
//	go build -o /tmp/sipload ./cmd/sipload
//	/tmp/sipload                      # both targets, 200 calls/s up to 6,000
//	/tmp/sipload -target phoned -cpuprofile /tmp/phoned.prof
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"phoned/media"

	"phoned/internal/gctune"
)

// Limits keep a run bounded, whatever the flags say.
const (
	maxRateLimit  = 20000
	maxSeconds    = 60
	maxCallsLimit = 200000
	maxSteps      = 24
	maxRunTime    = 60 * time.Minute
)

type config struct {
	targets   []string      // "phoned", "bare"
	startRate int           // first step's calls per second
	maxRate   int           // no step asks for more
	factor    float64       // rate growth between steps
	refine    int           // bisection steps after the first failure
	seconds   float64       // length of a step's load
	calls     int           // at most this many calls per step
	hold      time.Duration // pause between ACK and BYE
	settle    time.Duration // pause between steps
	maxTime   time.Duration // the whole run
	rtpPorts  media.PortRange
	logLevel  string
	cpuProf   string // phoned's CPU profile, over its whole ramp
	keep      bool   // keep the work directory (SIPp logs, the database)
	verbose   bool
}

func main() {
	gctune.Apply() // phoned runs in this process: as phoned serve does
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "sipload:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	cfg, err := parseFlags(args)
	if err != nil {
		return err
	}
	if _, err := lookSIPp(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.maxTime)
	defer cancel()
	work, err := os.MkdirTemp("", "sipload-")
	if err != nil {
		return err
	}
	if cfg.keep {
		fmt.Printf("work directory (kept): %s\n", work)
	} else {
		defer os.RemoveAll(work)
	}
	sc, err := writeScenarios(work)
	if err != nil {
		return err
	}
	printHeader(cfg)
	var results []rampResult
	for _, target := range cfg.targets {
		var res rampResult
		switch target {
		case "phoned":
			res, err = rampPhoned(ctx, cfg, work, sc)
		case "bare":
			res, err = rampBare(ctx, cfg, work, sc)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", target, err)
		}
		results = append(results, res)
	}
	printSummary(results)
	return nil
}

func parseFlags(args []string) (config, error) {
	cfg := config{rtpPorts: media.PortRange{Min: 34000, Max: 39999}}
	fs := flag.NewFlagSet("sipload", flag.ContinueOnError)
	target := fs.String("target", "phoned,bare", "what to load: phoned, bare, or both (comma-separated, in that order)")
	fs.IntVar(&cfg.startRate, "start-rate", 200, "calls per second of the first step")
	fs.IntVar(&cfg.maxRate, "max-rate", 6000, "highest rate asked of SIPp")
	fs.Float64Var(&cfg.factor, "factor", 1.25, "rate growth from one step to the next (>1)")
	fs.IntVar(&cfg.refine, "refine", 2, "bisection steps between the last passing and the first failing rate")
	fs.Float64Var(&cfg.seconds, "seconds", 5, "seconds of load per step")
	fs.IntVar(&cfg.calls, "calls", 20000, "at most this many calls per step")
	fs.DurationVar(&cfg.hold, "hold", 50*time.Millisecond, "how long each call lasts between ACK and BYE (0-1s)")
	fs.DurationVar(&cfg.settle, "settle", time.Second, "pause between steps")
	fs.DurationVar(&cfg.maxTime, "max-time", 20*time.Minute, "the whole run stops after this")
	ports := fs.String("rtp-ports", "34000-39999", "phoned's RTP port range")
	fs.StringVar(&cfg.logLevel, "log-level", "info", "phoned's log level (the log goes to phoned.log in the work directory)")
	fs.StringVar(&cfg.cpuProf, "cpuprofile", "", "write a CPU profile of this process over phoned's ramp to this file")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the work directory (SIPp logs and stats, phoned's database and log)")
	fs.BoolVar(&cfg.verbose, "v", false, "print each SIPp command line")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, t := range strings.Split(*target, ",") {
		switch t = strings.TrimSpace(t); t {
		case "phoned", "bare":
			cfg.targets = append(cfg.targets, t)
		default:
			return cfg, fmt.Errorf("-target: %q is not phoned or bare", t)
		}
	}
	var lo, hi uint16
	if _, err := fmt.Sscanf(*ports, "%d-%d", &lo, &hi); err != nil {
		return cfg, fmt.Errorf("-rtp-ports %q: want MIN-MAX", *ports)
	}
	cfg.rtpPorts = media.PortRange{Min: lo, Max: hi}
	switch {
	case cfg.startRate < 1 || cfg.startRate > maxRateLimit:
		return cfg, fmt.Errorf("-start-rate %d: want 1..%d", cfg.startRate, maxRateLimit)
	case cfg.maxRate < cfg.startRate || cfg.maxRate > maxRateLimit:
		return cfg, fmt.Errorf("-max-rate %d: want -start-rate..%d", cfg.maxRate, maxRateLimit)
	case cfg.factor <= 1 || cfg.factor > 4:
		return cfg, fmt.Errorf("-factor %v: want (1, 4]", cfg.factor)
	case cfg.refine < 0 || cfg.refine > 6:
		return cfg, fmt.Errorf("-refine %d: want 0..6", cfg.refine)
	case cfg.seconds < 1 || cfg.seconds > maxSeconds:
		return cfg, fmt.Errorf("-seconds %v: want 1..%d", cfg.seconds, maxSeconds)
	case cfg.calls < 1 || cfg.calls > maxCallsLimit:
		return cfg, fmt.Errorf("-calls %d: want 1..%d", cfg.calls, maxCallsLimit)
	case cfg.hold < 0 || cfg.hold > time.Second:
		return cfg, fmt.Errorf("-hold %v: want 0..1s", cfg.hold)
	case cfg.settle < 0 || cfg.settle > 30*time.Second:
		return cfg, fmt.Errorf("-settle %v: want 0..30s", cfg.settle)
	case cfg.maxTime <= 0 || cfg.maxTime > maxRunTime:
		return cfg, fmt.Errorf("-max-time %v: want up to %v", cfg.maxTime, maxRunTime)
	}
	if err := cfg.rtpPorts.Validate(); err != nil {
		return cfg, fmt.Errorf("-rtp-ports: %w", err)
	}
	if cfg.cpuProf != "" && !slices.Contains(cfg.targets, "phoned") {
		return cfg, errors.New("-cpuprofile profiles phoned: add phoned to -target")
	}
	return cfg, nil
}
