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

// A peer's SIP INFO in an answered call: DTMF gets 200 (and is logged),
// another content type 415, an INFO outside any dialog 481.
func TestInfoInDialog(t *testing.T) {
	peer := startPeerEnv(t)
	logBuf := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logBuf, nil))
	calls := sip.NewCalls(log, peer.st, peer.st)
	srv, err := sip.New(sip.Config{Listen: "127.0.0.1:0", Trust: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}},
		sip.Deps{Log: log, Directory: peer.st, Bindings: peer.st, Inbound: calls})
	if err != nil {
		t.Fatal(err)
	}
	eng := answerEngine{answered: make(chan error, 1)}
	calls.Attach(srv, eng)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	defer func() { cancel(); <-done }()
	<-srv.Ready()

	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	me := conn.LocalAddr().String()
	to := net.UDPAddrFromAddrPort(srv.Addr())
	send := func(msg string) {
		if _, err := conn.WriteToUDP([]byte(strings.ReplaceAll(msg, "\n", "\r\n")), to); err != nil {
			t.Fatal(err)
		}
	}
	read := func(cseq string) string {
		buf := make([]byte, 4096)
		for {
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, err := conn.Read(buf)
			if err != nil {
				t.Fatalf("waiting for the final answer to CSeq %q: %v", cseq, err)
			}
			m := string(buf[:n])
			if strings.HasPrefix(m, "SIP/2.0 1") || !strings.Contains(m, "CSeq: "+cseq+"\r\n") {
				continue
			}
			return m
		}
	}
	body := "v=0\no=- 2 2 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 41000 RTP/AVP 0\na=rtpmap:0 PCMU/8000\n"
	send(fmt.Sprintf("INVITE sip:201@%s SIP/2.0\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-inv1;rport\nFrom: <sip:+3222001122@%s>;tag=caller1\n"+
		"To: <sip:201@%s>\nCall-ID: info-1@test\nCSeq: 1 INVITE\nContact: <sip:caller@%s>\nMax-Forwards: 70\n"+
		"Content-Type: application/sdp\nContent-Length: %d\n\n", to, me, me, to, me, len(body)) + body)
	ok := read("1 INVITE")
	if !strings.HasPrefix(ok, "SIP/2.0 200") {
		t.Fatalf("INVITE answered %q", ok)
	}
	tag := regexp.MustCompile(`(?m)^To:.*;tag=([^;\r\n]+)`).FindStringSubmatch(ok)
	if tag == nil {
		t.Fatalf("no To tag in %q", ok)
	}
	send(fmt.Sprintf("ACK sip:phoned@%s SIP/2.0\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-ack1;rport\nFrom: <sip:+3222001122@%s>;tag=caller1\n"+
		"To: <sip:201@%s>;tag=%s\nCall-ID: info-1@test\nCSeq: 1 ACK\nMax-Forwards: 70\nContent-Length: 0\n\n", to, me, me, to, tag[1]))
	select {
	case err := <-eng.answered:
		if err != nil {
			t.Fatalf("Answer: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Answer did not return")
	}

	info := func(cseq int, toTag, ctype, body string) string {
		send(fmt.Sprintf("INFO sip:phoned@%s SIP/2.0\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-info%d;rport\nFrom: <sip:+3222001122@%s>;tag=caller1\n"+
			"To: <sip:201@%s>;tag=%s\nCall-ID: info-1@test\nCSeq: %d INFO\nMax-Forwards: 70\nContent-Type: %s\nContent-Length: %d\n\n%s",
			to, me, cseq, me, to, toTag, cseq, ctype, len(body), body))
		return read(fmt.Sprintf("%d INFO", cseq))
	}
	if res := info(2, tag[1], "application/dtmf-relay", "Signal=5\r\nDuration=160\r\n"); !strings.HasPrefix(res, "SIP/2.0 200") {
		t.Fatalf("DTMF INFO answered %q", res)
	}
	if res := info(3, tag[1], "application/dtmf", "#"); !strings.HasPrefix(res, "SIP/2.0 200") {
		t.Fatalf("application/dtmf INFO answered %q", res)
	}
	if res := info(4, tag[1], "text/plain", "hello"); !strings.HasPrefix(res, "SIP/2.0 415") {
		t.Fatalf("text/plain INFO answered %q", res)
	}
	if res := info(5, "not-our-tag", "application/dtmf-relay", "Signal=5\r\n"); !strings.HasPrefix(res, "SIP/2.0 481") {
		t.Fatalf("INFO outside the dialog answered %q", res)
	}
	logBuf.mu.Lock()
	logged := logBuf.b.String()
	logBuf.mu.Unlock()
	for _, d := range []string{"digit=5", "digit=#"} {
		if !strings.Contains(logged, "DTMF received by SIP INFO") || !strings.Contains(logged, d) {
			t.Errorf("log lacks the DTMF %s:\n%s", d, logged)
		}
	}
}
