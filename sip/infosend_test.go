package sip_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"phoned/sip"
	"phoned/switchboard"
)

// legEngine answers every call and hands over its leg.
type legEngine struct{ legs chan switchboard.Incoming }

func (e legEngine) Inbound(ctx context.Context, in switchboard.Incoming, _ switchboard.InboundInfo) {
	go func() {
		sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
		if in.Answer(context.Background(), []byte(sdp)) == nil {
			e.legs <- in
		}
	}()
}

// phoned's DTMF by SIP INFO goes to the caller within the dialog (its
// Call-ID, tags and a new CSeq), as application/dtmf-relay, and returns
// once answered.
func TestSendInfoDTMFInDialog(t *testing.T) {
	peer := startPeerEnv(t)
	log := slog.New(slog.NewTextHandler(&lockedBuffer{}, nil))
	calls := sip.NewCalls(log, peer.st, peer.st)
	srv, err := sip.New(sip.Config{Listen: "127.0.0.1:0", Trust: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}},
		sip.Deps{Log: log, Directory: peer.st, Bindings: peer.st, Inbound: calls})
	if err != nil {
		t.Fatal(err)
	}
	eng := legEngine{legs: make(chan switchboard.Incoming, 1)}
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
	send(fmt.Sprintf("INVITE sip:201@%s SIP/2.0\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-inv1;rport\nFrom: <sip:+3222001122@%s>;tag=caller1\n"+
		"To: <sip:201@%s>\nCall-ID: infosend-1@test\nCSeq: 1 INVITE\nContact: <sip:caller@%s>\nMax-Forwards: 70\n"+
		"Content-Type: application/sdp\nContent-Length: %d\n\n", to, me, me, to, me, len(body)) + body)
	ok := read("SIP/2.0 200")
	tag := regexp.MustCompile(`(?m)^To:.*;tag=([^;\r\n]+)`).FindStringSubmatch(ok)
	if tag == nil {
		t.Fatalf("no To tag in %q", ok)
	}
	send(fmt.Sprintf("ACK sip:phoned@%s SIP/2.0\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-ack1;rport\nFrom: <sip:+3222001122@%s>;tag=caller1\n"+
		"To: <sip:201@%s>;tag=%s\nCall-ID: infosend-1@test\nCSeq: 1 ACK\nMax-Forwards: 70\nContent-Length: 0\n\n", to, me, me, to, tag[1]))
	var leg switchboard.Incoming
	select {
	case leg = <-eng.legs:
	case <-time.After(10 * time.Second):
		t.Fatal("the call was not answered")
	}

	sent := make(chan error, 1)
	go func() { sent <- leg.SendInfoDTMF(context.Background(), '7', 160*time.Millisecond) }()
	raw := read("INFO ")
	msg, err := gosip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	req := msg.(*gosip.Request)
	if req.CallID().Value() != "infosend-1@test" {
		t.Errorf("Call-ID %q", req.CallID().Value())
	}
	if ft, _ := req.From().Params.Get("tag"); ft != tag[1] {
		t.Errorf("From tag %q, want phoned's %q", ft, tag[1])
	}
	if tt, _ := req.To().Params.Get("tag"); tt != "caller1" {
		t.Errorf("To tag %q, want caller1", tt)
	}
	if req.Recipient.User != "caller" {
		t.Errorf("request URI %s, want the caller's Contact", req.Recipient.String())
	}
	if cs := req.CSeq(); cs.MethodName != gosip.INFO {
		t.Errorf("CSeq %v", cs)
	}
	if ct := req.ContentType(); ct == nil || ct.Value() != "application/dtmf-relay" {
		t.Errorf("Content-Type %v", ct)
	}
	if string(req.Body()) != "Signal=7\r\nDuration=160\r\n" {
		t.Errorf("body %q", req.Body())
	}
	select {
	case err := <-sent:
		t.Fatalf("SendInfoDTMF returned %v before the answer", err)
	case <-time.After(50 * time.Millisecond):
	}
	res := gosip.NewResponseFromRequest(req, 200, "OK", nil)
	if _, err := conn.WriteToUDP([]byte(res.String()), to); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-sent:
		if err != nil {
			t.Fatalf("SendInfoDTMF: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("SendInfoDTMF did not return after the 200")
	}

	// A refusal is a *switchboard.StatusError.
	go func() { sent <- leg.SendInfoDTMF(context.Background(), '8', 0) }()
	msg, err = gosip.ParseMessage([]byte(read("INFO ")))
	if err != nil {
		t.Fatal(err)
	}
	res = gosip.NewResponseFromRequest(msg.(*gosip.Request), 415, "Unsupported Media Type", nil)
	if _, err := conn.WriteToUDP([]byte(res.String()), to); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-sent:
		var se *switchboard.StatusError
		if !errors.As(err, &se) || se.Status != 415 {
			t.Fatalf("refused INFO: %v, want a StatusError 415", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("SendInfoDTMF did not return after the 415")
	}
}
