package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// drive is the parent: it plays both phones of every call and reports.
func drive(ctx context.Context, cfg config) error {
	load, _ := os.ReadFile("/proc/loadavg")
	eps := make([]*endpoint, 2*cfg.calls)
	defer func() {
		for _, e := range eps {
			if e != nil {
				syscall.Close(e.fd)
			}
		}
	}()
	var setup setupMsg
	for i := range eps {
		e, err := openEndpoint(i)
		if err != nil {
			return fmt.Errorf("open generator socket %d: %w", i, err)
		}
		eps[i] = e
		if i%2 == 1 {
			setup.Phones = append(setup.Phones, [2]uint16{eps[i-1].port, e.port})
		}
	}

	self, err := os.Executable()
	if err != nil {
		return err
	}
	args := []string{"-relay", "-calls", fmt.Sprint(cfg.calls), "-ports", fmt.Sprint(cfg.portMin)}
	if cfg.cpuProfile != "" {
		args = append(args, "-relay-cpuprofile", cfg.cpuProfile)
	}
	child := exec.CommandContext(ctx, self, args...)
	child.Stderr = os.Stderr
	if cfg.relayProcs > 0 {
		child.Env = append(os.Environ(), fmt.Sprintf("GOMAXPROCS=%d", cfg.relayProcs))
	}
	toChild, err := child.StdinPipe()
	if err != nil {
		return err
	}
	fromChild, err := child.StdoutPipe()
	if err != nil {
		return err
	}
	if err := child.Start(); err != nil {
		return fmt.Errorf("start relay: %w", err)
	}
	defer child.Wait()
	defer toChild.Close()
	enc := json.NewEncoder(toChild)
	dec := json.NewDecoder(bufio.NewReader(fromChild))
	if err := enc.Encode(setup); err != nil {
		return err
	}
	var legs legsMsg
	if err := dec.Decode(&legs); err != nil {
		return fmt.Errorf("relay setup: %w", err)
	}
	if len(legs.Legs) != cfg.calls {
		return fmt.Errorf("relay made %d calls, want %d", len(legs.Legs), cfg.calls)
	}
	for i, pair := range legs.Legs {
		for j, port := range pair {
			if err := syscall.Connect(eps[2*i+j].fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: int(port)}); err != nil {
				return err
			}
		}
	}

	// Receivers: one epoll loop per core's worth of sockets.
	var stopRecv atomic.Bool
	var recvWG sync.WaitGroup
	groups := 2
	for g := range groups {
		var mine []*endpoint
		for i := g; i < len(eps); i += groups {
			mine = append(mine, eps[i])
		}
		ep, err := newPoller(mine)
		if err != nil {
			return err
		}
		recvWG.Add(1)
		go func() {
			defer recvWG.Done()
			defer syscall.Close(ep.fd)
			ep.loop(&stopRecv, cfg.payload)
		}()
	}
	defer func() { stopRecv.Store(true); recvWG.Wait() }()

	if err := enc.Encode("start"); err != nil {
		return err
	}
	pu0, ps0 := cpuTimes()
	sendCtx, cancel := context.WithTimeout(ctx, time.Duration(cfg.seconds*float64(time.Second)))
	defer cancel()
	sendAll(sendCtx, cfg, eps)
	drained := drain(eps)
	if err := enc.Encode("stop"); err != nil {
		return err
	}
	pu1, ps1 := cpuTimes()
	var rep relayReport
	if err := dec.Decode(&rep); err != nil {
		return fmt.Errorf("relay report: %w", err)
	}
	stopRecv.Store(true)
	recvWG.Wait()

	var sent, recv, gaps, misrouted, sendErrs uint64
	for _, e := range eps {
		sent += e.sent
		recv += e.recv.Load()
		gaps += e.gaps
		misrouted += e.misrouted
		sendErrs += e.sendErrs
	}
	nominal := float64(2*cfg.calls) * cfg.seconds * float64(time.Second) / float64(cfg.ptime)
	lost := int64(sent) - int64(recv)
	cpu := rep.UserSeconds + rep.SysSeconds
	cores := cpu / rep.Wall
	fmt.Printf("calls %d, %.1f s of RTP, ptime %v, payload %d B, load average before: %s",
		cfg.calls, cfg.seconds, cfg.ptime, cfg.payload, string(load))
	fmt.Printf("packets: sent %d (%.1f%% of nominal %.0f), received %d, lost %d (%.3f%%), send errors %d, sequence gaps %d, misrouted %d\n",
		sent, 100*float64(sent)/nominal, nominal, recv, lost, 100*float64(lost)/float64(max(sent, 1)), sendErrs, gaps, misrouted)
	fmt.Printf("drain after the last packet sent: %v\n", drained.Round(time.Millisecond))
	// Per call, from the cost of a relayed packet at the nominal rate (two
	// streams per call), so that a drain or a generator lagging behind
	// does not flatter the figure.
	perPacket := cpu / float64(max(rep.PacketsOut, 1))
	perCallSecond := perPacket * 2 * float64(time.Second) / float64(cfg.ptime)
	fmt.Printf("relay CPU: %.2f s (user %.2f, sys %.2f) over %.2f s = %.1f%% of one core; per packet relayed %.2f µs\n",
		cpu, rep.UserSeconds, rep.SysSeconds, rep.Wall, 100*cores, 1e6*perPacket)
	fmt.Printf("per call at %v ptime both ways: %.3f ms CPU per second, ≈ %.0f calls per core\n",
		cfg.ptime, 1000*perCallSecond, 1/perCallSecond)
	fmt.Printf("relay counters: in %d, out %d, dropped %d, foreign %d, write errors %d, relays ended early %d\n",
		rep.PacketsIn, rep.PacketsOut, rep.Dropped, rep.Foreign, rep.WriteErrors, rep.Ended)
	fmt.Printf("generator CPU: %.2f s (user %.2f, sys %.2f)\n", pu1-pu0+ps1-ps0, pu1-pu0, ps1-ps0)
	return nil
}

// drain waits until every packet sent has arrived, or until arrivals have
// stopped for 300 ms (the rest is lost), 10 s at most; a relay that fell
// behind on a busy machine works off its backlog meanwhile.
func drain(eps []*endpoint) time.Duration {
	start := time.Now()
	var sent uint64
	for _, e := range eps {
		sent += e.sent
	}
	var last uint64
	still := 0
	for time.Since(start) < 10*time.Second && still < 3 {
		time.Sleep(100 * time.Millisecond)
		var recv uint64
		for _, e := range eps {
			recv += e.recv.Load()
		}
		if recv == sent {
			break
		}
		if recv == last {
			still++
		} else {
			still = 0
		}
		last = recv
	}
	return time.Since(start)
}

// endpoint is one generator socket: a phone of one call. Its counters are
// written by one sender goroutine and one receiver loop, and read after
// both have stopped.
type endpoint struct {
	fd   int
	idx  int
	port uint16

	seq      uint16 // sender's
	sent     uint64
	sendErrs uint64

	recv      atomic.Uint64 // receiver's; read while draining
	gaps      uint64
	misrouted uint64
	lastSeq   uint16
	heard     bool
}

func openEndpoint(idx int) (*endpoint, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		syscall.Close(fd)
		return nil, err
	}
	return &endpoint{fd: fd, idx: idx, port: uint16(sa.(*syscall.SockaddrInet4).Port)}, nil
}

// sendAll sends one packet per ptime on every endpoint until ctx ends,
// spreading the endpoints over phases so that packets leave evenly. A phase
// that falls behind (a busy machine) catches up at once, so the offered
// load stays nominal as long as the generator can keep up at all.
func sendAll(ctx context.Context, cfg config, eps []*endpoint) {
	const phases = 10
	start := time.Now()
	var wg sync.WaitGroup
	for p := range phases {
		var mine []*endpoint
		for i := p; i < len(eps); i += phases {
			mine = append(mine, eps[i])
		}
		wg.Go(func() {
			pkt := make([]byte, 12+cfg.payload)
			offset := cfg.ptime * time.Duration(p) / phases
			timer := time.NewTimer(offset)
			defer timer.Stop()
			for rounds := 0; ; {
				select {
				case <-timer.C:
				case <-ctx.Done():
					return
				}
				due := int((time.Since(start)-offset)/cfg.ptime) + 1
				for ; rounds < due && ctx.Err() == nil; rounds++ {
					for _, e := range mine {
						e.send(pkt, cfg)
					}
				}
				timer.Reset(time.Until(start.Add(offset + time.Duration(rounds)*cfg.ptime)))
			}
		})
	}
	wg.Wait()
}

func (e *endpoint) send(pkt []byte, cfg config) {
	e.seq++
	pkt[0], pkt[1] = 0x80, 0 // PCMU
	binary.BigEndian.PutUint16(pkt[2:], e.seq)
	binary.BigEndian.PutUint32(pkt[4:], uint32(e.seq)*uint32(cfg.ptime/time.Millisecond)*8)
	binary.BigEndian.PutUint32(pkt[8:], uint32(e.idx)+1)
	binary.BigEndian.PutUint32(pkt[12:], uint32(e.idx)) // who sent it
	if _, err := syscall.Write(e.fd, pkt); err != nil {
		e.sendErrs++
		return
	}
	e.sent++
}

type poller struct {
	fd  int
	eps map[int32]*endpoint
}

func newPoller(eps []*endpoint) (*poller, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	p := &poller{fd: fd, eps: map[int32]*endpoint{}}
	for _, e := range eps {
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(e.fd)}
		if err := syscall.EpollCtl(fd, syscall.EPOLL_CTL_ADD, e.fd, &ev); err != nil {
			syscall.Close(fd)
			return nil, err
		}
		p.eps[int32(e.fd)] = e
	}
	return p, nil
}

// loop reads every ready socket dry until stop is set.
func (p *poller) loop(stop *atomic.Bool, payload int) {
	events := make([]syscall.EpollEvent, 256)
	buf := make([]byte, 2048)
	for !stop.Load() {
		n, err := syscall.EpollWait(p.fd, events, 100)
		if err != nil && !errors.Is(err, syscall.EINTR) {
			fmt.Fprintln(os.Stderr, "epoll:", err)
			return
		}
		for _, ev := range events[:max(n, 0)] {
			e := p.eps[ev.Fd]
			for {
				m, err := syscall.Read(e.fd, buf)
				if err != nil {
					break // EAGAIN: dry
				}
				e.received(buf[:m], payload)
			}
		}
	}
}

func (e *endpoint) received(pkt []byte, payload int) {
	if len(pkt) != 12+payload {
		e.misrouted++
		return
	}
	peer := e.idx ^ 1
	if int(binary.BigEndian.Uint32(pkt[12:])) != peer {
		e.misrouted++
		return
	}
	e.recv.Add(1)
	seq := binary.BigEndian.Uint16(pkt[2:])
	if e.heard && seq != e.lastSeq+1 {
		e.gaps++
	}
	e.heard, e.lastSeq = true, seq
}
