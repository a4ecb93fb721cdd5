package main

import (
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
)

// bareSDP is the bare agent's answer: PCMA and telephone-event on a port
// nobody listens to (the benchmark sends no RTP).
const bareSDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
	"m=audio 4000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n"

// bareAgent is the yardstick: a sipgo user agent that only answers, with
// the same dialog cache phoned uses (sipgo.DialogServerCache), no engine,
// no store, no media: INVITE → 200 with SDP (waiting for the ACK), BYE →
// 200.
type bareAgent struct {
	addr netip.AddrPort
	ua   *sipgo.UserAgent
	conn net.PacketConn
	log  *os.File
	wg   sync.WaitGroup // the serving goroutine
}

func startBare(dir string) (*bareAgent, error) {
	logFile, err := os.Create(filepath.Join(dir, "bare.log"))
	if err != nil {
		return nil, err
	}
	// sipgo logs unmatched and malformed messages; the benchmark's should
	// have none, and the file shows it.
	log := slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelInfo}))
	b := &bareAgent{log: logFile}
	b.ua, err = sipgo.NewUA(sipgo.WithUserAgent("sipload-bare"),
		sipgo.WithUserAgentTransportLayerOptions(gosip.WithTransportLayerLogger(log)),
		sipgo.WithUserAgentTransactionLayerOptions(gosip.WithTransactionLayerLogger(log)))
	if err != nil {
		logFile.Close()
		return nil, err
	}
	srv, err := sipgo.NewServer(b.ua, sipgo.WithServerLogger(log))
	if err != nil {
		b.close()
		return nil, err
	}
	client, err := sipgo.NewClient(b.ua, sipgo.WithClientLogger(log))
	if err != nil {
		b.close()
		return nil, err
	}
	b.conn, err = net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.close()
		return nil, err
	}
	b.addr = b.conn.LocalAddr().(*net.UDPAddr).AddrPort()
	contact := gosip.ContactHeader{Address: gosip.Uri{User: "bare", Host: b.addr.Addr().String(), Port: int(b.addr.Port())}}
	dialogs := sipgo.NewDialogServerCache(client, contact)
	srv.OnInvite(func(req *gosip.Request, tx gosip.ServerTransaction) {
		ds, err := dialogs.ReadInvite(req, tx)
		if err != nil {
			_ = tx.Respond(gosip.NewResponseFromRequest(req, 400, "Bad Request", nil))
			return
		}
		// Returns once the ACK came (or after 64*T1 without one).
		if err := ds.RespondSDP([]byte(bareSDP)); err != nil {
			log.Warn("answer", "err", err)
			ds.Close()
		}
	})
	srv.OnAck(func(req *gosip.Request, tx gosip.ServerTransaction) { _ = dialogs.ReadAck(req, tx) })
	srv.OnBye(func(req *gosip.Request, tx gosip.ServerTransaction) {
		if err := dialogs.ReadBye(req, tx); err != nil {
			_ = tx.Respond(gosip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		}
	})
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		_ = srv.ServeUDP(b.conn) // ends when conn is closed
	}()
	return b, nil
}

// shutdown closes the listener, waits for the server, and closes the user
// agent.
func (b *bareAgent) shutdown() {
	b.conn.Close()
	b.wg.Wait()
	b.close()
}

func (b *bareAgent) close() {
	if b.ua != nil {
		b.ua.Close()
	}
	b.log.Close()
}
