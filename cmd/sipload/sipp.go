package main

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

//go:embed testdata/*.xml
var scenarioFiles embed.FS

// scenarios are the paths of the SIPp scenarios, written out for SIPp.
type scenarios struct {
	register, caller, phone string
}

func writeScenarios(dir string) (scenarios, error) {
	sc := scenarios{
		register: filepath.Join(dir, "uac-register.xml"),
		caller:   filepath.Join(dir, "uac-short-call.xml"),
		phone:    filepath.Join(dir, "uas-answer-now.xml"),
	}
	for _, p := range []string{sc.register, sc.caller, sc.phone} {
		b, err := scenarioFiles.ReadFile("testdata/" + filepath.Base(p))
		if err != nil {
			return sc, err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return sc, err
		}
	}
	return sc, nil
}

func lookSIPp() (string, error) {
	p, err := exec.LookPath("sipp")
	if err != nil {
		return "", errors.New("sipp is not installed: apt-get install sip-tester")
	}
	return p, nil
}

// freePort returns a UDP port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

// sippRun is one SIPp process: started in its own directory (SIPp writes
// its logs and the -stf statistics file there), killed at limit at the
// latest.
type sippRun struct {
	name  string
	dir   string
	args  []string
	cmd   *exec.Cmd
	out   bytes.Buffer
	done  chan struct{}
	start time.Time

	// Set once done is closed.
	code int
	wall time.Duration
	cpu  time.Duration // user + system
	err  error
}

// startSIPp starts SIPp with the scenario and args, with statistics written
// every second to stats.csv in dir (the last line holds the totals).
func startSIPp(ctx context.Context, name, dir, scenario string, limit time.Duration, verbose bool, args ...string) (*sippRun, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	s := &sippRun{name: name, dir: dir, done: make(chan struct{})}
	s.args = append([]string{"-sf", scenario, "-nostdin", "-trace_err", "-trace_stat", "-stf", "stats.csv", "-fd", "1"}, args...)
	ctx, cancel := context.WithTimeout(ctx, limit)
	s.cmd = exec.CommandContext(ctx, "sipp", s.args...)
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.out
	if verbose {
		fmt.Printf("  $ sipp %s\n", strings.Join(s.args, " "))
	}
	s.start = time.Now()
	if err := s.cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("start sipp (%s): %w", name, err)
	}
	go func() {
		defer close(s.done)
		defer cancel()
		err := s.cmd.Wait()
		s.wall = time.Since(s.start)
		if ps := s.cmd.ProcessState; ps != nil {
			s.cpu = ps.UserTime() + ps.SystemTime()
			s.code = ps.ExitCode()
		}
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			s.err = err
		}
		if ctx.Err() != nil {
			s.err = fmt.Errorf("sipp (%s) ran past its limit of %v and was killed", name, limit)
		}
	}()
	return s, nil
}

// wait waits for SIPp to end by itself.
func (s *sippRun) wait() { <-s.done }

// finish waits up to grace for SIPp to end; then asks it to stop softly
// (SIGUSR1: no new calls, finish the running ones), and after soft more
// kills it.
func (s *sippRun) finish(grace, soft time.Duration) {
	select {
	case <-s.done:
		return
	case <-time.After(grace):
	}
	_ = s.cmd.Process.Signal(syscall.SIGUSR1)
	select {
	case <-s.done:
		return
	case <-time.After(soft):
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}

// errorLog returns the first lines of SIPp's error log, for a failed step.
func (s *sippRun) errorLog(n int) string {
	logs, _ := filepath.Glob(filepath.Join(s.dir, "*_errors.log"))
	var b strings.Builder
	for _, l := range logs {
		data, _ := os.ReadFile(l)
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		b.WriteString(strings.Join(lines[:min(n, len(lines))], "\n"))
	}
	if b.Len() == 0 {
		out := strings.Split(strings.TrimSpace(s.out.String()), "\n")
		b.WriteString(strings.Join(out[max(0, len(out)-n):], "\n"))
	}
	return b.String()
}

// sippStats are the totals of SIPp's statistics file (its last line).
type sippStats struct {
	created, successful, failed, retrans int
	callRate                             float64       // calls created per second of the run
	responseTime                         time.Duration // mean of the rtd timer: INVITE → 200 (caller), 200 → ACK (phone)
	underMs                              map[int]int   // response time repartition: calls in the bucket below each bound (ms)
}

// under is how many calls had a response time below d (a bucket bound).
func (st sippStats) under(d time.Duration) int {
	n := 0
	for ms, c := range st.underMs {
		if time.Duration(ms)*time.Millisecond <= d {
			n += c
		}
	}
	return n
}

// stats reads SIPp's statistics file; SIPp writes its last line as it
// exits.
func (s *sippRun) stats() (sippStats, error) {
	data, err := os.ReadFile(filepath.Join(s.dir, "stats.csv"))
	if err != nil {
		return sippStats{}, fmt.Errorf("sipp (%s) statistics: %w", s.name, err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) < 2 {
		return sippStats{}, fmt.Errorf("sipp (%s) statistics: no totals in %s", s.name, data)
	}
	head, last := strings.Split(lines[0], ";"), strings.Split(lines[len(lines)-1], ";")
	col := map[string]string{}
	for i, h := range head {
		if i < len(last) {
			col[h] = last[i]
		}
	}
	num := func(name string) int { n, _ := strconv.Atoi(col[name]); return n }
	st := sippStats{
		created: num("TotalCallCreated"), successful: num("SuccessfulCall(C)"), failed: num("FailedCall(C)"),
		retrans: num("Retransmissions(C)"), underMs: map[int]int{},
	}
	st.callRate, _ = strconv.ParseFloat(col["CallRate(C)"], 64)
	st.responseTime = sippDuration(col["ResponseTime1(C)"])
	for h, v := range col {
		if b, ok := strings.CutPrefix(h, "ResponseTimeRepartition1_<"); ok {
			ms, _ := strconv.Atoi(b)
			st.underMs[ms], _ = strconv.Atoi(v)
		}
	}
	return st, nil
}

// sippDuration reads SIPp's "HH:MM:SS:uuuuuu".
func sippDuration(s string) time.Duration {
	p := strings.Split(s, ":")
	if len(p) != 4 {
		return 0
	}
	h, _ := strconv.Atoi(p[0])
	m, _ := strconv.Atoi(p[1])
	sec, _ := strconv.Atoi(p[2])
	us, _ := strconv.Atoi(p[3])
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second + time.Duration(us)*time.Microsecond
}
