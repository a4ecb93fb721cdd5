// Command webrtcload measures browser calls under load: N concurrent calls
// from pion clients standing in for browsers, through the real phoned
// daemon (WebRTC → relay → SIP), to a SIP peer that echoes every RTP
// packet back. It reports the calls phoned carries per core of CPU, the
// packets lost each way, the delay the relay adds, and phoned's memory per
// call.
//
// phoned runs as a child process (built with "go build" unless -phoned
// names a binary), on 127.0.0.1 with a fresh temporary database and
// --demo; the clients log in as alice (demo-alice), open one WebSocket per
// -per-ws calls, and each dials a distinct number (+3222xxxxxx) with its
// own PeerConnection (PCMU and telephone-event, loopback ICE only). phoned
// sends the calls to the SIP echo peer of this process (--pbx, no
// registration): a sipgo user agent that answers every INVITE with a PCMU
// SDP on a UDP socket of its own, echoes every RTP packet to where it came
// from, and handles the BYE.
//
// Every client sends a 160-byte PCMU packet every 20 ms. The payload
// carries the call, a sequence number and the time it was sent, so the
// echo peer measures the one-way delay client → phoned → SIP, and the
// client counts what comes back (loss both ways) and its round trip. The
// same echo code, fed by plain UDP sockets sending the same packets on the
// same schedule (-baseline flows, one direct loopback hop), gives the
// baseline the relay's delay is compared with, in the same run. phoned's
// CPU (utime+stime of /proc/PID/stat) is read over the measured window,
// its RSS (/proc/PID/status) before the calls and during them.
//
// Everything is bounded: at most 5,000 calls and 120 s of audio per run,
// call set-ups at -rate per second, the whole run by -timeout; loopback
// only; the child is ended by its PID (and dies with this process).
//
//	go build -o /tmp/webrtcload ./cmd/webrtcload
//	/tmp/webrtcload -calls 100,250,500 -seconds 10
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Limits keep a run bounded, whatever the flags say.
const (
	maxCalls   = 5000
	maxSeconds = 120
	maxTimeout = 60 * time.Minute
)

type config struct {
	calls    []int         // one run per count (a sweep)
	seconds  float64       // measured audio per run
	warmup   time.Duration // audio before the measured window (not counted)
	rate     float64       // call set-ups started per second
	perWS    int           // calls per WebSocket (page)
	baseline int           // plain UDP flows through the echo alone
	phoned   string        // the phoned binary; empty: build it
	pinCPUs  string        // taskset -c list for phoned; empty: no pinning
	timeout  time.Duration // the whole run
	logLevel string        // phoned's
	json     bool
	keep     bool // keep the work directory
	verbose  bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "webrtcload:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("webrtcload", flag.ContinueOnError)
	calls := fs.String("calls", "200", "concurrent calls; a comma-separated list runs each in turn with a fresh phoned (e.g. 50,200,500)")
	fs.Float64Var(&cfg.seconds, "seconds", 10, "seconds of measured audio per run")
	fs.DurationVar(&cfg.warmup, "warmup", time.Second, "audio before the measured window (not counted)")
	fs.Float64Var(&cfg.rate, "rate", 50, "call set-ups started per second")
	fs.IntVar(&cfg.perWS, "per-ws", 50, "calls per WebSocket (one page each)")
	fs.IntVar(&cfg.baseline, "baseline", 20, "plain UDP flows through the echo alone, for the baseline delay")
	fs.StringVar(&cfg.phoned, "phoned", "", "the phoned binary (default: go build phoned/cmd/phoned into the work directory)")
	fs.StringVar(&cfg.pinCPUs, "phoned-cpus", "", "run phoned under taskset -c with this CPU list (e.g. 0; run this tool under taskset -c 1 to keep the two apart)")
	fs.DurationVar(&cfg.timeout, "timeout", 10*time.Minute, "the whole run stops after this")
	fs.StringVar(&cfg.logLevel, "log-level", "info", "phoned's log level (its log goes to phoned-N.log in the work directory)")
	fs.BoolVar(&cfg.json, "json", false, "print one JSON object per run instead of the text summary")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the work directory (phoned's logs and databases)")
	fs.BoolVar(&cfg.verbose, "v", false, "print progress to stderr")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, s := range strings.Split(*calls, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > maxCalls {
			return cfg, fmt.Errorf("-calls %q: want counts of 1..%d", *calls, maxCalls)
		}
		cfg.calls = append(cfg.calls, n)
	}
	switch {
	case cfg.seconds <= 0 || cfg.seconds > maxSeconds:
		return cfg, fmt.Errorf("-seconds %v: want (0, %d]", cfg.seconds, maxSeconds)
	case cfg.warmup < 0 || cfg.warmup > 10*time.Second:
		return cfg, errors.New("-warmup: want 0..10s")
	case cfg.rate <= 0 || cfg.rate > 1000:
		return cfg, fmt.Errorf("-rate %v: want (0, 1000]", cfg.rate)
	case cfg.perWS < 1 || cfg.perWS > 1000:
		return cfg, fmt.Errorf("-per-ws %d: want 1..1000", cfg.perWS)
	case cfg.baseline < 1 || cfg.baseline > 1000:
		return cfg, fmt.Errorf("-baseline %d: want 1..1000", cfg.baseline)
	case cfg.timeout <= 0 || cfg.timeout > maxTimeout:
		return cfg, fmt.Errorf("-timeout %v: want up to %v", cfg.timeout, maxTimeout)
	}
	return cfg, nil
}

func run(ctx context.Context, args []string) error {
	cfg, err := parseFlags(args)
	if err != nil {
		return err
	}
	_, err = runAll(ctx, cfg, os.Stdout)
	return err
}

// runAll runs every count of the sweep, each with a fresh phoned, and
// prints each result as it comes.
func runAll(ctx context.Context, cfg config, out io.Writer) ([]result, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	work, err := os.MkdirTemp("", "webrtcload-")
	if err != nil {
		return nil, err
	}
	if cfg.keep {
		fmt.Fprintf(os.Stderr, "work directory (kept): %s\n", work)
	} else {
		defer os.RemoveAll(work)
	}
	bin := cfg.phoned
	if bin == "" {
		if bin, err = buildPhoned(ctx, work); err != nil {
			return nil, err
		}
	}
	var results []result
	for _, n := range cfg.calls {
		res, err := runOnce(ctx, cfg, bin, work, n)
		if err != nil {
			return results, fmt.Errorf("%d calls: %w", n, err)
		}
		results = append(results, res)
		if cfg.json {
			b, _ := json.Marshal(res)
			fmt.Fprintln(out, string(b))
		} else {
			fmt.Fprintln(out, res.String())
		}
	}
	return results, nil
}
