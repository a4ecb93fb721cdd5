package sip

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// serving is a Server running Serve on 127.0.0.1, port 0.
type serving struct {
	*env
	addr netip.AddrPort
	stop func() error // cancels Serve and returns its error
}

func serve(t *testing.T, cfg Config) *serving {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	e := newEnv(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.s.Serve(ctx) }()
	select {
	case <-e.s.Ready():
	case err := <-done:
		cancel()
		t.Fatalf("Serve: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not bind in 5 s")
	}
	var stopped bool
	var serveErr error
	stop := func() error {
		if !stopped {
			stopped = true
			cancel()
			select {
			case serveErr = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Serve did not return within 10 s of its context ending")
			}
		}
		return serveErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &serving{env: e, addr: e.s.Addr(), stop: stop}
}

// udpPeer is a raw SIP client on a UDP socket of its own.
type udpPeer struct {
	t    *testing.T
	conn *net.UDPConn
	to   *net.UDPAddr
}

func newUDPPeer(t *testing.T, local string, server netip.AddrPort) *udpPeer {
	t.Helper()
	la, err := net.ResolveUDPAddr("udp", local)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenUDP("udp", la)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &udpPeer{t: t, conn: c, to: net.UDPAddrFromAddrPort(server)}
}

func (p *udpPeer) port() int { return p.conn.LocalAddr().(*net.UDPAddr).Port }

func (p *udpPeer) send(raw string) {
	p.t.Helper()
	if _, err := p.conn.WriteToUDP([]byte(crlf(raw)), p.to); err != nil {
		p.t.Fatal(err)
	}
}

// recv returns the next final response (or nil after wait).
func (p *udpPeer) recv(wait time.Duration) *gosip.Response {
	p.t.Helper()
	buf := make([]byte, 65535)
	deadline := time.Now().Add(wait)
	for {
		p.conn.SetReadDeadline(deadline)
		n, _, err := p.conn.ReadFromUDP(buf)
		if err != nil {
			return nil
		}
		m, err := gosip.ParseMessage(buf[:n])
		if err != nil {
			p.t.Fatalf("unparsable answer %q: %v", buf[:n], err)
		}
		if res, ok := m.(*gosip.Response); ok && !res.IsProvisional() {
			return res
		}
	}
}

// options is an OPTIONS whose top Via is via (host:port and params).
func options(callID, via string) string {
	return "OPTIONS sip:127.0.0.1 SIP/2.0\n" +
		"Via: SIP/2.0/UDP " + via + ";branch=z9hG4bK-" + callID + "\n" +
		"From: <sip:probe@example.com>;tag=p1\nTo: <sip:127.0.0.1>\n" +
		"Call-ID: " + callID + "\nCSeq: 1 OPTIONS\nMax-Forwards: 70\nContent-Length: 0\n\n"
}

func TestServeAnswersOptions(t *testing.T) {
	srv := serve(t, Config{UserAgent: "phoned/test"})
	if !srv.addr.Addr().IsLoopback() || srv.addr.Port() == 0 {
		t.Fatalf("Addr %v", srv.addr)
	}
	check := func(t *testing.T, res *gosip.Response) {
		t.Helper()
		if status(res) != 200 {
			t.Fatalf("OPTIONS: %d, want 200", status(res))
		}
		for name, want := range map[string]string{"Allow": allowed, "Accept": "application/sdp", "User-Agent": "phoned/test"} {
			if h := res.GetHeader(name); h == nil || h.Value() != want {
				t.Errorf("%s: %v, want %q", name, h, want)
			}
		}
	}
	t.Run("UDP", func(t *testing.T) {
		p := newUDPPeer(t, "127.0.0.1:0", srv.addr)
		p.send(options("o1", "127.0.0.1:"+strconv.Itoa(p.port())))
		check(t, p.recv(5*time.Second))
	})
	t.Run("TCP", func(t *testing.T) {
		c, err := net.Dial("tcp", srv.addr.String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		raw := strings.Replace(options("o2", c.LocalAddr().String()), "SIP/2.0/UDP", "SIP/2.0/TCP", 1)
		if _, err := c.Write([]byte(crlf(raw))); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		head, err := readTCPMessage(bufio.NewReader(c))
		if err != nil {
			t.Fatal(err)
		}
		m, err := gosip.ParseMessage(head)
		if err != nil {
			t.Fatal(err)
		}
		check(t, m.(*gosip.Response))
	})
}

// readTCPMessage reads one body-less message from a stream.
func readTCPMessage(r *bufio.Reader) ([]byte, error) {
	var b bytes.Buffer
	for !bytes.HasSuffix(b.Bytes(), []byte("\r\n\r\n")) {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return nil, err
		}
		b.Write(line)
	}
	return b.Bytes(), nil
}

// UDP responses go back to where the request came from, whatever its Via
// says (RFC 3581 with rport, RFC 3261 §18.2.2 without: the source address
// and the Via port), and the Via tells the client what was seen.
func TestUDPResponsesGoToTheSource(t *testing.T) {
	srv := serve(t, Config{})
	t.Run("rport", func(t *testing.T) {
		p := newUDPPeer(t, "127.0.0.1:0", srv.addr)
		p.send(options("r1", "192.0.2.1:5999;rport"))
		res := p.recv(5 * time.Second)
		if status(res) != 200 {
			t.Fatalf("OPTIONS behind NAT: %d, want 200 at the source", status(res))
		}
		via := res.Via()
		if rec, _ := via.Params.Get("received"); rec != "127.0.0.1" {
			t.Errorf("received=%q", rec)
		}
		if rp, _ := via.Params.Get("rport"); rp != strconv.Itoa(p.port()) {
			t.Errorf("rport=%q, want %d", rp, p.port())
		}
	})
	t.Run("no rport", func(t *testing.T) {
		p := newUDPPeer(t, "127.0.0.1:0", srv.addr)
		p.send(options("r2", "192.0.2.1:"+strconv.Itoa(p.port())))
		res := p.recv(5 * time.Second)
		if status(res) != 200 {
			t.Fatalf("OPTIONS with a foreign Via host: %d, want 200 at the source", status(res))
		}
		if rec, _ := res.Via().Params.Get("received"); rec != "127.0.0.1" {
			t.Errorf("received=%q, want 127.0.0.1", rec)
		}
	})
}

func TestRegisterOverTCPRecordsTheConnection(t *testing.T) {
	srv := serve(t, Config{})
	c, err := net.Dial("tcp", srv.addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	exchange := func(raw string) *gosip.Response {
		t.Helper()
		raw = strings.Replace(raw, "SIP/2.0/UDP 192.0.2.10:5093", "SIP/2.0/TCP "+c.LocalAddr().String(), 1)
		if _, err := c.Write([]byte(crlf(raw))); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		head, err := readTCPMessage(r)
		if err != nil {
			t.Fatal(err)
		}
		m, err := gosip.ParseMessage(head)
		if err != nil {
			t.Fatal(err)
		}
		return m.(*gosip.Response)
	}
	contact := "Contact: <sip:201@" + c.LocalAddr().String() + ";transport=tcp>"
	first := exchange(msg(gosip.REGISTER, "201", "201", "t1", 1, contact))
	if status(first) != 401 {
		t.Fatalf("first REGISTER: %d", status(first))
	}
	res := exchange(msg(gosip.REGISTER, "201", "201", "t1", 2, contact, answer(t, first, gosip.REGISTER, "201", "secret201", false)))
	if status(res) != 200 {
		t.Fatalf("REGISTER: %d", status(res))
	}
	bs, _ := srv.binds.SIPBindings(t.Context(), "201", srv.clock.Now())
	if len(bs) != 1 || bs[0].Transport != TransportTCP || bs[0].Received != c.LocalAddr().String() {
		t.Fatalf("binding %+v, want tcp from %s", bs, c.LocalAddr())
	}
}

func TestServeReturnsBindErrorsAtOnce(t *testing.T) {
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			var taken string
			if network == "udp" {
				pc, err := net.ListenPacket("udp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer pc.Close()
				taken = pc.LocalAddr().String()
			} else {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				taken = ln.Addr().String()
			}
			s, err := New(Config{Listen: taken}, Deps{Directory: newDirectory(), Bindings: newBindings()})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err = s.Serve(ctx)
			if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), taken) {
				t.Fatalf("Serve on a taken %s port: %v (ctx %v)", network, err, ctx.Err())
			}
			select {
			case <-s.Ready():
				t.Fatal("Ready closed although the bind failed")
			default:
			}
			if err := s.Serve(ctx); !errors.Is(err, ErrServed) {
				t.Fatalf("second Serve: %v", err)
			}
		})
	}
}

// Serve waits for the running handlers, whose context ends with it.
func TestServeStopsWithItsHandlers(t *testing.T) {
	srv := serve(t, Config{Trust: []netip.Prefix{mustPrefix(t, "127.0.0.0/8")}})
	srv.in.mu.Lock()
	srv.in.block = true
	srv.in.mu.Unlock()
	p := newUDPPeer(t, "127.0.0.1:0", srv.addr)
	p.send(msg(gosip.INVITE, "101", "+3222001122", "h1", 1))
	deadline := time.Now().Add(5 * time.Second)
	for len(srv.in.calls()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the trusted INVITE did not reach the engine")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := srv.stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if err := srv.s.Serve(context.Background()); !errors.Is(err, ErrServed) {
		t.Fatalf("Serve again: %v", err)
	}
}

func TestServePurgesOnItsTicker(t *testing.T) {
	srv := serve(t, Config{PurgeInterval: time.Second})
	srv.binds.SaveSIPBinding(t.Context(), Binding{Extension: "201", Contact: "sip:old@h", ExpiresAt: srv.clock.Now()})
	deadline := time.Now().Add(5 * time.Second)
	for srv.binds.count() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("no purge within 5 s with a 1 s interval")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
