package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// buildPhoned builds the daemon into dir ("go build phoned/cmd/phoned":
// the current directory must be inside the module).
func buildPhoned(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "phoned")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "phoned/cmd/phoned")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build phoned/cmd/phoned: %w\n%s", err, stderr.String())
	}
	return bin, nil
}

// daemon is the phoned child process.
type daemon struct {
	cmd  *exec.Cmd
	url  string // http://127.0.0.1:PORT/
	log  *os.File
	done chan struct{} // closed when the process has exited
}

// startDaemon starts phoned with a fresh database in dir, on loopback,
// sending calls to outside numbers to the SIP peer at pbx.
func startDaemon(ctx context.Context, cfg config, bin, dir string, n int, pbx string) (*daemon, error) {
	logFile, err := os.Create(filepath.Join(dir, fmt.Sprintf("phoned-%d.log", n)))
	if err != nil {
		return nil, err
	}
	args := []string{"serve",
		"--db", filepath.Join(dir, fmt.Sprintf("phoned-%d.db", n)),
		"--http", "127.0.0.1:0", "--sip", "127.0.0.1:0",
		"--demo", "--log-level", cfg.logLevel,
		"--pbx", "sip:" + pbx, "--pbx-register=false", "--dial-allow", "+32",
		// Below the kernel's ephemeral range (32768-60999), where this
		// process's own sockets are, so they never take phoned's ports.
		"--rtp-ports", "20000-29999", "--webrtc-ports", "10000-19999", "--webrtc-max-calls", "100000",
	}
	cmd := exec.Command(bin, args...)
	if cfg.pinCPUs != "" {
		// taskset execs phoned in its own process: the PID stays phoned's.
		cmd = exec.Command("taskset", append([]string{"-c", cfg.pinCPUs, bin}, args...)...)
	}
	cmd.Env = os.Environ()
	cmd.Stderr = logFile
	// The child dies with this process, whatever becomes of it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start phoned: %w", err)
	}
	d := &daemon{cmd: cmd, log: logFile, done: make(chan struct{})}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logFile, "stdout:", line)
			// "phoned is running: web and API at http://127.0.0.1:PORT/ (SIP address ...)"
			if _, rest, ok := strings.Cut(line, "web and API at "); ok {
				u, _, _ := strings.Cut(rest, " ")
				select {
				case urlc <- u:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() { _ = cmd.Wait(); close(d.done) }()
	select {
	case d.url = <-urlc:
		return d, nil
	case <-d.done:
		logFile.Close()
		return nil, fmt.Errorf("phoned exited at start (%v); see %s", cmd.ProcessState, logFile.Name())
	case <-time.After(30 * time.Second):
	case <-ctx.Done():
	}
	d.stop()
	return nil, errors.New("phoned did not start within 30 s")
}

// stop ends the child by its PID: SIGTERM (a graceful shutdown), SIGKILL
// after 10 s.
func (d *daemon) stop() {
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.done
	}
	d.log.Close()
}

func (d *daemon) pid() int { return d.cmd.Process.Pid }

// login logs in and returns the session cookie's value.
func login(ctx context.Context, base, user, password string) (string, error) {
	body := fmt.Sprintf(`{"login":%q,"password":%q}`, user, password)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"api/login", strings.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("login as %s: %s: %s", user, resp.Status, b)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "phoned_session" && c.Value != "" {
			return c.Value, nil
		}
	}
	return "", fmt.Errorf("login as %s: no phoned_session cookie", user)
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times (100 on
// every Linux architecture Go runs on).
const clockTicks = 100

// procCPU is a process's user and system CPU seconds so far.
func procCPU(pid int) (user, sys float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count from after its closing one. utime and stime are fields 14, 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, errors.New("bad /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, 0, errors.New("short /proc stat")
	}
	u, err1 := strconv.ParseFloat(f[11], 64)
	s, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, 0, errors.New("bad /proc stat times")
	}
	return u / clockTicks, s / clockTicks, nil
}

// procRSS is a process's resident set size in bytes.
func procRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024, err
			}
		}
	}
	return 0, errors.New("no VmRSS")
}

// selfCPU is this process's user+system CPU seconds so far.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

// loadAverage is the machine's 1, 5 and 15 minute load averages.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
