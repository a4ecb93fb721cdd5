package sip_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"phoned/sip"
)

// rawCall is a caller speaking SIP text over UDP from a trusted address to
// a server with the calls adapter and eng behind it: for the orderings and
// bodies a real phone would not send on demand.
type rawCall struct {
	t      *testing.T
	log    *lockedBuffer // the server's log
	conn   *net.UDPConn
	me     string
	to     *net.UDPAddr
	callID string
	tag    string // phoned's To tag, once invite has run
}

// callerSDP is the raw caller's offer.
const callerSDP = "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 41000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"

func startRawCall(t *testing.T, eng sip.Engine, callID string) *rawCall {
	t.Helper()
	peer := startPeerEnv(t)
	logBuf := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logBuf, nil))
	calls := sip.NewCalls(log, peer.st, peer.st)
	srv, err := sip.New(sip.Config{Listen: "127.0.0.1:0", Trust: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}},
		sip.Deps{Log: log, Directory: peer.st, Bindings: peer.st, Inbound: calls})
	if err != nil {
		t.Fatal(err)
	}
	calls.Attach(srv, eng)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	<-srv.Ready()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawCall{t: t, log: logBuf, conn: conn, me: conn.LocalAddr().String(), to: net.UDPAddrFromAddrPort(srv.Addr()), callID: callID}
}

// send sends a request: its start line and headers (Via, Call-ID,
// Max-Forwards and Content-Length are added), and body as is.
func (c *rawCall) send(start string, headers []string, body string) {
	c.t.Helper()
	var b strings.Builder
	b.WriteString(start + "\r\n")
	branch := fmt.Sprintf("z9hG4bK-%d", time.Now().UnixNano())
	b.WriteString("Via: SIP/2.0/UDP " + c.me + ";branch=" + branch + ";rport\r\n")
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	fmt.Fprintf(&b, "Call-ID: %s\r\nMax-Forwards: 70\r\nContent-Length: %d\r\n\r\n%s", c.callID, len(body), body)
	c.write(b.String())
}

func (c *rawCall) write(msg string) {
	c.t.Helper()
	if _, err := c.conn.WriteToUDP([]byte(msg), c.to); err != nil {
		c.t.Fatal(err)
	}
}

// read returns the next message for which ok holds, skipping others.
func (c *rawCall) read(what string, ok func(string) bool) string {
	c.t.Helper()
	buf := make([]byte, 4096)
	for {
		c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.conn.Read(buf)
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", what, err)
		}
		if m := string(buf[:n]); ok(m) {
			return m
		}
	}
}

// readPrefix returns the next message that starts with p.
func (c *rawCall) readPrefix(p string) string {
	c.t.Helper()
	return c.read(fmt.Sprintf("%q", p), func(m string) bool { return strings.HasPrefix(m, p) })
}

// readFinal returns the final response to the request with this CSeq.
func (c *rawCall) readFinal(cseq string) string {
	c.t.Helper()
	return c.read("the final answer to CSeq "+cseq, func(m string) bool {
		return strings.HasPrefix(m, "SIP/2.0 ") && !strings.HasPrefix(m, "SIP/2.0 1") && strings.Contains(m, "\r\nCSeq: "+cseq+"\r\n")
	})
}

func (c *rawCall) from() string { return "From: <sip:+3222001122@" + c.me + ">;tag=caller1" }

// invite calls extension 201, requires the 200 and keeps phoned's To tag.
func (c *rawCall) invite() {
	c.t.Helper()
	c.send(fmt.Sprintf("INVITE sip:201@%s SIP/2.0", c.to), []string{c.from(), fmt.Sprintf("To: <sip:201@%s>", c.to),
		"CSeq: 1 INVITE", "Contact: <sip:caller@" + c.me + ">", "Content-Type: application/sdp"}, callerSDP)
	ok := c.readFinal("1 INVITE")
	if !strings.HasPrefix(ok, "SIP/2.0 200") {
		c.t.Fatalf("INVITE answered %q", ok)
	}
	tag := regexp.MustCompile(`(?m)^To:.*;tag=([^;\r\n]+)`).FindStringSubmatch(ok)
	if tag == nil {
		c.t.Fatalf("no To tag in %q", ok)
	}
	c.tag = tag[1]
}

// inDialog sends a request within the call's dialog, with toTag as
// phoned's tag ("" for the one invite got).
func (c *rawCall) inDialog(method string, cseq int, toTag string, headers []string, body string) {
	c.t.Helper()
	if toTag == "" {
		toTag = c.tag
	}
	h := append([]string{c.from(), fmt.Sprintf("To: <sip:201@%s>;tag=%s", c.to, toTag), fmt.Sprintf("CSeq: %d %s", cseq, method)}, headers...)
	c.send(fmt.Sprintf("%s sip:phoned@%s SIP/2.0", method, c.to), h, body)
}
