// Command rtpload measures the media relay under load: it runs N bridged
// calls on the loopback interface with G.711 RTP at 50 packets/s each way
// and reports packets lost and the CPU the relay used per call.
//
// The relay runs in a child process (this program, re-executed with -relay)
// so that its CPU time, read with getrusage in the child, is its own and not
// the load generator's. Each call is two relay legs (package media) joined
// by media.Bridge, each leg facing a generator socket that plays a phone.
// Everything is bounded: at most 5,000 calls and 60 seconds, loopback only.
//
//	rtpload -calls 1000 -seconds 5
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Limits keep a run bounded, whatever the flags say.
const (
	maxCalls   = 5000
	maxSeconds = 60
)

type config struct {
	calls      int
	seconds    float64
	ptime      time.Duration
	payload    int
	relay      bool // run as the relay child
	portMin    int
	cpuProfile string
	relayProcs int
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "rtpload:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	var cfg config
	fs := flag.NewFlagSet("rtpload", flag.ContinueOnError)
	fs.IntVar(&cfg.calls, "calls", 100, "concurrent calls (two relay legs each)")
	fs.Float64Var(&cfg.seconds, "seconds", 5, "how long RTP flows")
	fs.DurationVar(&cfg.ptime, "ptime", 20*time.Millisecond, "packet interval per stream")
	fs.IntVar(&cfg.payload, "payload", 160, "payload bytes per packet (160 = 20 ms of G.711)")
	fs.IntVar(&cfg.portMin, "ports", 20000, "first RTP port of the relay's range")
	fs.StringVar(&cfg.cpuProfile, "relay-cpuprofile", "", "write the relay's CPU profile to this file")
	fs.IntVar(&cfg.relayProcs, "relay-procs", 0, "GOMAXPROCS of the relay process (0: Go's default, the number of cores)")
	fs.BoolVar(&cfg.relay, "relay", false, "internal: run as the relay child, driven over stdin/stdout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case cfg.calls < 1 || cfg.calls > maxCalls:
		return fmt.Errorf("-calls %d: want 1..%d", cfg.calls, maxCalls)
	case cfg.seconds <= 0 || cfg.seconds > maxSeconds:
		return fmt.Errorf("-seconds %v: want (0, %d]", cfg.seconds, maxSeconds)
	case cfg.payload < 1 || cfg.payload > 1200:
		return errors.New("-payload: want 1..1200")
	case cfg.ptime < time.Millisecond:
		return errors.New("-ptime: want at least 1ms")
	case cfg.portMin < 1024 || cfg.portMin%2 != 0 || cfg.portMin+4*cfg.calls+2 > 65535:
		return fmt.Errorf("-ports %d: want an even port with room for %d", cfg.portMin, 4*cfg.calls)
	}
	if cfg.relay {
		return serveRelay(ctx, cfg, os.Stdin, os.Stdout)
	}
	return drive(ctx, cfg)
}
