// Package peertest runs the real SIP peers that phoned's tests use (SIPp,
// Kamailio, baresip) and the browser of the widget's tests (Chromium): it
// finds them, fails in CI or skips on a laptop when one is missing, finds
// free ports, and runs them bounded in time, ended by PID.
package peertest

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// packages names the Debian package of each peer.
var packages = map[string]string{"sipp": "sip-tester", "kamailio": "kamailio", "baresip": "baresip-core", "chromium": "chromium"}

// binaries names the binary of a peer that is not found by its name in
// PATH: Debian's /usr/bin/chromium is a shell wrapper that adds flags of
// its own (and complains on some machines); tests run the browser itself.
var binaries = map[string]string{"chromium": "/usr/lib/chromium/chromium"}

// Require returns the path of a peer's binary. When it is missing the test
// fails under CI=true and is skipped elsewhere, with the command that
// installs it.
func Require(t testing.TB, name string) string {
	t.Helper()
	if bin, ok := binaries[name]; ok {
		if path, err := exec.LookPath(bin); err == nil {
			return path
		}
	} else if path, err := exec.LookPath(name); err == nil {
		return path
	}
	msg := name + " is not installed: apt-get install " + packages[name]
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// FreePort returns a UDP port of ip that was free a moment ago.
func FreePort(t testing.TB, ip string) int {
	t.Helper()
	c, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// SIPp is one running SIPp.
type SIPp struct {
	t    testing.TB
	cmd  *exec.Cmd
	dir  string
	args []string
	done chan struct{}
	code int
	err  error

	mu  sync.Mutex // guards out
	out bytes.Buffer
}

// StartSIPp starts SIPp with the scenario file (a path) and args, in a
// fresh directory (SIPp writes its logs there), killed after limit at the
// latest. The test's cleanup waits for it.
func StartSIPp(t testing.TB, scenario string, limit time.Duration, args ...string) *SIPp {
	t.Helper()
	bin := Require(t, "sipp")
	sf, err := filepath.Abs(scenario)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	s := &SIPp{t: t, dir: t.TempDir(), done: make(chan struct{})}
	s.args = append([]string{"-sf", sf, "-nostdin", "-trace_err", "-trace_screen"}, args...)
	s.cmd = exec.CommandContext(ctx, bin, s.args...)
	s.cmd.Dir = s.dir
	s.cmd.Stdout, s.cmd.Stderr = &lockedWriter{s}, &lockedWriter{s}
	if err := s.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start sipp: %v", err)
	}
	go func() {
		defer close(s.done)
		defer cancel()
		err := s.cmd.Wait()
		var exit *exec.ExitError
		switch {
		case errors.As(err, &exit):
			s.code = exit.ExitCode()
		case err != nil:
			s.err = err
		}
		if ctx.Err() != nil {
			s.err = errors.New("sipp ran past its time limit and was killed")
		}
	}()
	t.Cleanup(func() { <-s.done })
	return s
}

// Wait waits for SIPp to end and returns its exit status (0: every call
// of the scenario succeeded). On a failure it logs SIPp's error log.
func (s *SIPp) Wait() int {
	s.t.Helper()
	<-s.done
	if s.err != nil {
		s.t.Fatalf("sipp %s: %v", strings.Join(s.args, " "), s.err)
	}
	if s.code != 0 {
		logs, _ := filepath.Glob(filepath.Join(s.dir, "*_errors.log"))
		for _, l := range logs {
			b, _ := os.ReadFile(l)
			s.t.Logf("%s:\n%s", filepath.Base(l), b)
		}
		s.mu.Lock()
		s.t.Logf("sipp %s exited %d:\n%s", strings.Join(s.args, " "), s.code, lastLines(s.out.String(), 15))
		s.mu.Unlock()
	}
	return s.code
}

// Run runs SIPp to its end and returns its exit status.
func RunSIPp(t testing.TB, scenario string, limit time.Duration, args ...string) int {
	t.Helper()
	return StartSIPp(t, scenario, limit, args...).Wait()
}

type lockedWriter struct{ s *SIPp }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.s.out.Write(p)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
