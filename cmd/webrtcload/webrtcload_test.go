package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// A smoke test of the whole tool: it builds phoned, runs 3 browser calls
// for 2 s through it to the SIP echo peer, and checks that audio flowed
// both ways without loss and that every call was hung up at the SIP side.
func TestThreeCallsFlowWithoutLoss(t *testing.T) {
	// phoned, built by the toolchain that runs this test (its go command
	// need not be on PATH).
	goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goCmd); err != nil {
		if goCmd, err = exec.LookPath("go"); err != nil {
			t.Fatalf("no go command to build phoned with: %v", err)
		}
	}
	bin := filepath.Join(t.TempDir(), "phoned")
	if out, err := exec.Command(goCmd, "build", "-o", bin, "phoned/cmd/phoned").CombinedOutput(); err != nil {
		t.Fatalf("build phoned: %v\n%s", err, out)
	}
	cfg, err := parseFlags([]string{"-phoned", bin, "-calls", "3", "-seconds", "2", "-warmup", "500ms", "-baseline", "2", "-timeout", "3m"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	results, err := runAll(ctx, cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	r := results[0]
	t.Log(r)
	switch {
	case r.Established != 3 || r.SetupFailed != 0:
		t.Fatalf("%d calls up, %d failed; want 3 and 0", r.Established, r.SetupFailed)
	case r.SentUp < 3*2*50*9/10:
		t.Fatalf("only %d probes sent in 2 s by 3 calls", r.SentUp)
	case r.RecvUp != r.SentUp || r.RecvDown != r.EchoedDown || r.EchoedDown != r.RecvUp:
		t.Fatalf("loss: sent %d, at SIP %d, echoed %d, back in the clients %d", r.SentUp, r.RecvUp, r.EchoedDown, r.RecvDown)
	case r.Misrouted != 0 || r.SendErrors != 0 || r.Foreign != 0:
		t.Fatalf("misrouted %d, send errors %d, foreign at SIP %d", r.Misrouted, r.SendErrors, r.Foreign)
	case r.OneWay.N != int(r.RecvUp) || r.RTT.N != int(r.RecvDown) || r.BaseOneWay.N == 0:
		t.Fatalf("delay samples %d/%d/%d", r.OneWay.N, r.RTT.N, r.BaseOneWay.N)
	case r.SIPByes != 3:
		t.Fatalf("%d BYEs at the SIP peer, want 3", r.SIPByes)
	case r.PhonedCPU <= 0 || r.RSSDuring <= 0:
		t.Fatalf("phoned's CPU %v s, RSS %d", r.PhonedCPU, r.RSSDuring)
	}
}

func TestFlagsAreBounded(t *testing.T) {
	for _, args := range [][]string{
		{"-calls", "0"}, {"-calls", "5001"}, {"-calls", "10,x"}, {"-seconds", "0"}, {"-seconds", "121"},
		{"-rate", "0"}, {"-timeout", "2h"}, {"extra"},
	} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
	cfg, err := parseFlags([]string{"-calls", "50, 200,500"})
	if err != nil || len(cfg.calls) != 3 || cfg.calls[1] != 200 {
		t.Fatalf("sweep %v %v", cfg.calls, err)
	}
}

func TestDistPercentiles(t *testing.T) {
	var s []int32
	for i := int32(1); i <= 1000; i++ {
		s = append(s, 1001-i)
	}
	d := distOf(s)
	if d.N != 1000 || d.P50 != 500 || d.P99 != 990 || d.Max != 1000 {
		t.Fatalf("%+v", d)
	}
}
