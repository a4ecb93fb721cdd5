package peertest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BaresipOptions say where a baresip softphone registers and which ports
// it takes.
type BaresipOptions struct {
	// ConfigDir holds baresip's config and accounts (a committed folder;
	// it is copied, never changed). The accounts file has one account
	// line "<sip:user@host:port;...>;...".
	ConfigDir string
	// Registrar is the "host:port" the account registers to; it replaces
	// the account's host:port.
	Registrar string
	// RTPPorts is the "min-max" UDP range of baresip's RTP (default: the
	// config's rtp_ports).
	RTPPorts string
	// Quit ends baresip after this long in any case (its -t; default 60 s).
	Quit time.Duration
}

// Baresip is one running baresip.
type Baresip struct {
	t       testing.TB
	cmd     *exec.Cmd
	dir     string // the working directory
	SIPAddr string // "127.0.0.1:port" of its SIP listener
	Ctrl    string // "127.0.0.1:port" of its ctrl_tcp module

	done chan struct{}
	err  error

	mu  sync.Mutex // guards out
	out bytes.Buffer
}

// StartBaresip copies opt.ConfigDir into a temporary folder, points its
// SIP listener, ctrl_tcp and RTP at free ports of 127.0.0.1 and its
// account at opt.Registrar, and starts `baresip -f <copy> -t <quit>` with
// no standard input, from a temporary working directory. It returns once
// ctrl_tcp answers. The test's cleanup kills baresip (by its process id)
// and waits for it; when the test failed, its output is logged.
func StartBaresip(t testing.TB, opt BaresipOptions) *Baresip {
	t.Helper()
	bin := Require(t, "baresip")
	if opt.Quit <= 0 {
		opt.Quit = 60 * time.Second
	}
	b := &Baresip{t: t, dir: t.TempDir(), done: make(chan struct{})}
	b.SIPAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(freeUDPAndTCPPort(t)))
	b.Ctrl = net.JoinHostPort("127.0.0.1", strconv.Itoa(freeTCPPort(t)))
	conf := t.TempDir()
	set := map[string]string{"sip_listen": b.SIPAddr, "ctrl_tcp_listen": b.Ctrl}
	if opt.RTPPorts != "" {
		set["rtp_ports"] = opt.RTPPorts
	}
	if err := rewriteConfig(filepath.Join(opt.ConfigDir, "config"), filepath.Join(conf, "config"), set); err != nil {
		t.Fatal(err)
	}
	if err := rewriteAccounts(filepath.Join(opt.ConfigDir, "accounts"), filepath.Join(conf, "accounts"), opt.Registrar); err != nil {
		t.Fatal(err)
	}

	// -t ends baresip by itself; the context is a backstop a little later.
	ctx, cancel := context.WithTimeout(context.Background(), opt.Quit+10*time.Second)
	b.cmd = exec.CommandContext(ctx, bin, "-f", conf, "-t", strconv.Itoa(int(opt.Quit.Seconds())))
	b.cmd.Dir = b.dir
	b.cmd.Stdin = nil // /dev/null: baresip must not read a terminal
	b.cmd.Stdout, b.cmd.Stderr = &baresipWriter{b}, &baresipWriter{b}
	if err := b.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start baresip: %v", err)
	}
	go func() {
		defer close(b.done)
		defer cancel()
		b.err = b.cmd.Wait()
	}()
	t.Cleanup(func() {
		b.Stop()
		if t.Failed() {
			t.Logf("baresip output:\n%s", lastLines(b.Output(), 40))
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", b.Ctrl, time.Second)
		if err == nil {
			c.Close()
			return b
		}
		select {
		case <-b.done:
			t.Fatalf("baresip ended at start (%v):\n%s", b.err, lastLines(b.Output(), 40))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("baresip's ctrl_tcp %s does not answer after 10 s:\n%s", b.Ctrl, lastLines(b.Output(), 40))
		}
	}
}

// Stop kills baresip by its process id, gently first (SIGTERM lets it
// unregister), and waits for it.
func (b *Baresip) Stop() {
	select {
	case <-b.done:
		return
	default:
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
		return
	case <-time.After(3 * time.Second):
	}
	_ = b.cmd.Process.Kill()
	<-b.done
}

// Output is what baresip printed so far.
func (b *Baresip) Output() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.out.String()
}

// Command sends one ctrl_tcp command ("reginfo", "listcalls", "dial
// sip:...") and returns its response's data.
func (b *Baresip) Command(cmd string) (string, error) {
	c, err := net.DialTimeout("tcp", b.Ctrl, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	name, params, _ := strings.Cut(cmd, " ")
	msg, _ := json.Marshal(map[string]string{"command": name, "params": params, "token": "1"})
	if _, err := fmt.Fprintf(c, "%d:%s,", len(msg), msg); err != nil {
		return "", err
	}
	r := bufio.NewReader(c)
	for {
		// A netstring: "<len>:<json>,". Events may come before the response.
		n, err := r.ReadString(':')
		if err != nil {
			return "", fmt.Errorf("ctrl_tcp %q: %w", cmd, err)
		}
		size, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(n, ":")))
		if err != nil || size < 0 || size > 1<<20 {
			return "", fmt.Errorf("ctrl_tcp %q: bad netstring length %q", cmd, n)
		}
		body := make([]byte, size+1)
		if _, err := io.ReadFull(r, body); err != nil {
			return "", fmt.Errorf("ctrl_tcp %q: %w", cmd, err)
		}
		var m struct {
			Response bool   `json:"response"`
			OK       bool   `json:"ok"`
			Data     string `json:"data"`
		}
		if err := json.Unmarshal(body[:size], &m); err != nil {
			return "", fmt.Errorf("ctrl_tcp %q: %w", cmd, err)
		}
		if m.Response {
			if !m.OK {
				return m.Data, fmt.Errorf("ctrl_tcp %q: not ok: %s", cmd, m.Data)
			}
			return m.Data, nil
		}
	}
}

var accountHost = regexp.MustCompile(`^(\s*<sip:[^@>]+@)[^;>]+`)

// rewriteAccounts copies the accounts file with each account's host:port
// replaced by registrar.
func rewriteAccounts(from, to, registrar string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	lines := strings.Split(string(b), "\n")
	n := 0
	for i, l := range lines {
		if accountHost.MatchString(l) {
			lines[i] = accountHost.ReplaceAllString(l, "${1}"+registrar)
			n++
		}
	}
	if n == 0 {
		return fmt.Errorf("%s: no account line <sip:user@host:port...>", from)
	}
	return os.WriteFile(to, []byte(strings.Join(lines, "\n")), 0o644)
}

// rewriteConfig copies baresip's config with the values of the keys in
// set replaced; every key of set must be there.
func rewriteConfig(from, to string, set map[string]string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	lines := strings.Split(string(b), "\n")
	seen := map[string]bool{}
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if v, ok := set[f[0]]; ok {
			lines[i] = f[0] + "\t\t" + v
			seen[f[0]] = true
		}
	}
	for k := range set {
		if !seen[k] {
			return fmt.Errorf("%s: no %s line to rewrite", from, k)
		}
	}
	return os.WriteFile(to, []byte(strings.Join(lines, "\n")), 0o644)
}

// freeTCPPort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freeTCPPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// freeUDPAndTCPPort returns a port of 127.0.0.1 that was free for both UDP
// and TCP a moment ago: Kamailio and baresip listen on both.
func freeUDPAndTCPPort(t testing.TB) int {
	t.Helper()
	for range 20 {
		p := FreePort(t, "127.0.0.1")
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err == nil {
			l.Close()
			return p
		}
	}
	t.Fatal("no port of 127.0.0.1 free for both UDP and TCP")
	return 0
}

type baresipWriter struct{ b *Baresip }

func (w *baresipWriter) Write(p []byte) (int, error) {
	w.b.mu.Lock()
	defer w.b.mu.Unlock()
	return w.b.out.Write(p)
}
