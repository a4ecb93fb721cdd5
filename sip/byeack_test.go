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
	"phoned/switchboard"
)

// answerEngine answers every call at once and reports what Answer returned.
type answerEngine struct{ answered chan error }

func (e answerEngine) Inbound(ctx context.Context, in switchboard.Incoming, _ switchboard.InboundInfo) {
	go func() {
		sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
		e.answered <- in.Answer(context.Background(), []byte(sdp))
	}()
}

// A caller's BYE that overtakes its ACK (sipgo runs each request on its
// own goroutine; a busy PBX does this) still means the call was answered.
func TestByeBeforeAckIsAnAnsweredCall(t *testing.T) {
	peer := startPeerEnv(t)
	log := slog.New(slog.NewTextHandler(&lockedBuffer{}, nil))
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
	read := func(want string) string {
		buf := make([]byte, 4096)
		for {
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, err := conn.Read(buf)
			if err != nil {
				t.Fatalf("waiting for %q: %v", want, err)
			}
			if m := string(buf[:n]); strings.HasPrefix(m, want) {
				return m
			}
		}
	}
	body := "v=0\no=- 2 2 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 41000 RTP/AVP 0\na=rtpmap:0 PCMU/8000\n"
	body = strings.ReplaceAll(body, "\n", "\r\n")
	send(fmt.Sprintf("INVITE sip:201@%s SIP/2.0\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-inv1;rport\nFrom: <sip:+3222001122@%s>;tag=caller1\n"+
		"To: <sip:201@%s>\nCall-ID: byeack-1@test\nCSeq: 1 INVITE\nContact: <sip:caller@%s>\nMax-Forwards: 70\n"+
		"Content-Type: application/sdp\nContent-Length: %d\n\n", to, me, me, to, me, len(body)) + strings.ReplaceAll(body, "\r\n", "\n"))
	ok := read("SIP/2.0 200")
	tag := regexp.MustCompile(`(?m)^To:.*;tag=([^;\r\n]+)`).FindStringSubmatch(ok)
	if tag == nil {
		t.Fatalf("no To tag in %q", ok)
	}
	// The BYE, and no ACK before it.
	send(fmt.Sprintf("BYE sip:phoned@%s SIP/2.0\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-bye1;rport\nFrom: <sip:+3222001122@%s>;tag=caller1\n"+
		"To: <sip:201@%s>;tag=%s\nCall-ID: byeack-1@test\nCSeq: 2 BYE\nMax-Forwards: 70\nContent-Length: 0\n\n", to, me, me, to, tag[1]))
	read("SIP/2.0 200")
	select {
	case err := <-eng.answered:
		if err != nil {
			t.Fatalf("Answer returned %v: a BYE before the ACK made an answered call fail", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Answer did not return")
	}
}
