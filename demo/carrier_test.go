package demo

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"go.uber.org/goleak"

	"phoned/media"
	"phoned/switchboard"
)

type noDevices struct{}

func (noDevices) Dial(context.Context, switchboard.DialRequest) (switchboard.Outgoing, error) {
	return nil, &switchboard.StatusError{Status: 404, Reason: "Not Found"}
}

// The demo carrier answers an outside number after ringing and echoes its
// RTP; devices go to the real dialer; Close ends what is left.
func TestCarrierAnswersAndEchoes(t *testing.T) {
	ip := netip.MustParseAddr("127.0.0.1")
	c := NewCarrier(noDevices{}, ip, slog.New(slog.DiscardHandler))
	c.ring = 50 * time.Millisecond
	defer c.Close()

	if _, err := c.Dial(context.Background(), switchboard.DialRequest{Contact: switchboard.Contact{URI: "sip:101@x"}}); err == nil {
		t.Fatal("a device call did not go to the real dialer")
	}
	rtpConn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rtpConn.Close()
	local := rtpConn.LocalAddr().(*net.UDPAddr).AddrPort()
	sess := media.NewSession()
	offer, err := sess.Offer(local, []media.Codec{media.PCMA, media.TelephoneEvent}, media.SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Dial(context.Background(), switchboard.DialRequest{Number: "+3222000000", SDP: offer})
	if err != nil {
		t.Fatal(err)
	}
	rang := false
	answer, err := out.Wait(context.Background(), func(int) { rang = true })
	if err != nil || !rang {
		t.Fatalf("wait: %v, rang %v", err, rang)
	}
	d, err := media.ParseSDP(answer)
	if err != nil {
		t.Fatal(err)
	}
	n, err := sess.Accept(d)
	if err != nil || n.Audio.Codec != media.PCMA {
		t.Fatalf("answer %+v: %v", n, err)
	}
	pkt := []byte{0x80, 8, 0, 1, 0, 0, 0, 160, 0, 0, 0, 1, 0xd5, 0xd5}
	if _, err := rtpConn.WriteToUDPAddrPort(pkt, n.Remote); err != nil {
		t.Fatal(err)
	}
	_ = rtpConn.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 100)
	got, _, err := rtpConn.ReadFromUDPAddrPort(buf)
	if err != nil || string(buf[:got]) != string(pkt) {
		t.Fatalf("echo: %v %x", err, buf[:got])
	}
	if err := out.Hangup(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-out.Gone():
	case <-time.After(time.Second):
		t.Fatal("Gone not closed after the hang-up")
	}

	// A call left up ends with Close.
	out2, err := c.Dial(context.Background(), switchboard.DialRequest{Number: "+3222000001", SDP: offer})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	select {
	case <-out2.Gone():
	default:
		t.Fatal("Close left a demo call up")
	}
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
