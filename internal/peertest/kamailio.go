package peertest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// kamailioSbin is where Debian installs kamailio: outside the PATH of
// users other than root.
const kamailioSbin = "/usr/sbin/kamailio"

// KamailioBinary returns the path of kamailio: on the PATH, else in
// /usr/sbin. When it is missing the test fails under CI=true and is
// skipped elsewhere, as with Require.
func KamailioBinary(t testing.TB) string {
	t.Helper()
	if path, err := exec.LookPath("kamailio"); err == nil {
		return path
	}
	if fi, err := os.Stat(kamailioSbin); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return kamailioSbin
	}
	return Require(t, "kamailio")
}

// Kamailio is one running Kamailio, started by StartKamailio.
type Kamailio struct {
	// Addr is where it listens, over UDP and TCP: "127.0.0.1:port".
	Addr string

	t    testing.TB
	cmd  *exec.Cmd
	dir  string
	done chan struct{} // closed when the process has been waited for
	stop sync.Once

	mu  sync.Mutex // guards out
	out bytes.Buffer
}

// StartKamailio runs Kamailio with the configuration file cfg (a path; it
// must read LISTEN_IP and LISTEN_PORT, as shared/rig/kamailio/kamailio.cfg
// does) on 127.0.0.1 at a free port, from a fresh directory that holds
// its pid file and runtime files, in the foreground (-DD) with its log on
// stderr (-E), kept for Log. defines are passed with -A, e.g.
// `CARRIER="sip:127.0.0.1:5080"`. It returns once Kamailio answers an
// OPTIONS (10 s at most). Kamailio is killed after limit at the latest;
// the test's cleanup stops it by its PID and waits for it.
func StartKamailio(t testing.TB, cfg string, limit time.Duration, defines ...string) *Kamailio {
	t.Helper()
	bin := KamailioBinary(t)
	abs, err := filepath.Abs(cfg)
	if err != nil {
		t.Fatal(err)
	}
	port := freeUDPAndTCPPort(t)
	k := &Kamailio{Addr: "127.0.0.1:" + strconv.Itoa(port), t: t, dir: t.TempDir(), done: make(chan struct{})}
	args := []string{"-f", abs, "-P", filepath.Join(k.dir, "kamailio.pid"), "-Y", k.dir, "-w", k.dir, "-DD", "-E",
		"-A", "LISTEN_IP=127.0.0.1", "-A", "LISTEN_PORT=" + strconv.Itoa(port)}
	for _, d := range defines {
		args = append(args, "-A", d)
	}
	k.cmd = exec.Command(bin, args...)
	k.cmd.Dir = k.dir
	k.cmd.Stdout, k.cmd.Stderr = kamailioLog{k}, kamailioLog{k}
	// Its own process group: the children it forks can be killed with it
	// if it does not stop by itself.
	k.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A child that outlives it must not keep Wait on the log pipe.
	k.cmd.WaitDelay = 5 * time.Second
	if err := k.cmd.Start(); err != nil {
		t.Fatalf("start kamailio: %v", err)
	}
	go func() {
		defer close(k.done)
		k.cmd.Wait()
	}()
	limitTimer := time.AfterFunc(limit, func() {
		k.t.Logf("kamailio ran past its time limit of %v: killed", limit)
		k.Stop()
	})
	t.Cleanup(func() {
		limitTimer.Stop()
		k.Stop()
	})
	if err := k.waitReady(10 * time.Second); err != nil {
		t.Fatalf("kamailio %s: %v\n%s", strings.Join(args, " "), err, lastLines(k.Log(), 30))
	}
	return k
}

// kamailioLog keeps Kamailio's output (its log).
type kamailioLog struct{ k *Kamailio }

func (w kamailioLog) Write(p []byte) (int, error) {
	w.k.mu.Lock()
	defer w.k.mu.Unlock()
	return w.k.out.Write(p)
}

// Log is everything Kamailio has logged so far.
func (k *Kamailio) Log() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.out.String()
}

// WaitLog waits until a line of Kamailio's log contains every one of
// parts, for within at most, and returns that line ("" when none came).
func (k *Kamailio) WaitLog(within time.Duration, parts ...string) string {
	deadline := time.Now().Add(within)
	for {
		for _, line := range strings.Split(k.Log(), "\n") {
			if containsAll(line, parts) {
				return line
			}
		}
		if time.Now().After(deadline) {
			return ""
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// Stop ends Kamailio: SIGTERM to its main process (it stops its children
// and removes its pid file), then SIGKILL to its process group if it has
// not ended within 5 s. It waits for the main process. Stop may be called
// more than once.
func (k *Kamailio) Stop() {
	k.stop.Do(func() {
		select {
		case <-k.done: // ended by itself: its PID may be another's now
			return
		default:
		}
		pid := k.cmd.Process.Pid
		_ = syscall.Kill(pid, syscall.SIGTERM)
		select {
		case <-k.done:
			return
		case <-time.After(5 * time.Second):
		}
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-k.done
	})
	<-k.done
}

// waitReady sends an OPTIONS to Kamailio every 200 ms until it answers
// 200, the process ends, or within passes.
func (k *Kamailio) waitReady(within time.Duration) error {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer conn.Close()
	to, err := net.ResolveUDPAddr("udp", k.Addr)
	if err != nil {
		return err
	}
	local := conn.LocalAddr().String()
	buf := make([]byte, 4096)
	deadline := time.Now().Add(within)
	for i := 1; time.Now().Before(deadline); i++ {
		select {
		case <-k.done:
			return errors.New("exited before answering OPTIONS")
		default:
		}
		msg := fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\n"+
			"Via: SIP/2.0/UDP %s;branch=z9hG4bK-peertest-%d;rport\r\n"+
			"From: <sip:peertest@127.0.0.1>;tag=peertest%d\r\n"+
			"To: <sip:%s>\r\n"+
			"Call-ID: peertest-%d@127.0.0.1\r\n"+
			"CSeq: %d OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
			k.Addr, local, i, i, k.Addr, i, i)
		if _, err := conn.WriteTo([]byte(msg), to); err != nil {
			return fmt.Errorf("send OPTIONS: %w", err)
		}
		conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, _, err := conn.ReadFrom(buf)
		if err == nil && bytes.HasPrefix(buf[:n], []byte("SIP/2.0 200")) {
			return nil
		}
		var ne net.Error
		if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
			// ICMP port unreachable before it listens: wait a little.
			time.Sleep(100 * time.Millisecond)
		}
	}
	return fmt.Errorf("no 200 to OPTIONS within %v", within)
}
