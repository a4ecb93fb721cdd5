// Package loadua is the SIP side of phoned's load tools (cmd/sipload,
// cmd/webrtcload): a sipgo user agent on a loopback UDP socket that
// answers every INVITE as its owner decides, with the dialog cache phoned
// uses, and counts what it did. It logs sipgo's complaints (unmatched or
// malformed messages) to a file, which a clean benchmark leaves empty.
package loadua

import (
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
)

// Answer decides the answer to one INVITE: an SDP body for a 200, or a
// final status (status > 0) with its reason.
type Answer func(req *gosip.Request) (sdp []byte, status int, reason string)

// Agent is a running user agent.
type Agent struct {
	Addr netip.AddrPort // where it listens (127.0.0.1, UDP)

	// Counts: INVITEs received, answered with a 200 that got its ACK,
	// refused, and BYEs taken.
	Invites, Answered, Refused, Byes atomic.Int64

	ua   *sipgo.UserAgent
	conn net.PacketConn
	log  *os.File
	wg   sync.WaitGroup // the serving goroutine
}

// Start runs an agent named name (its User-Agent and Contact user),
// logging to logPath. onBye, if set, is told the Call-ID of each call
// ended by a BYE. Stop it with Shutdown.
func Start(name, logPath string, answer Answer, onBye func(callID string)) (*Agent, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelInfo}))
	a := &Agent{log: logFile}
	a.ua, err = sipgo.NewUA(sipgo.WithUserAgent(name),
		sipgo.WithUserAgentTransportLayerOptions(gosip.WithTransportLayerLogger(log)),
		sipgo.WithUserAgentTransactionLayerOptions(gosip.WithTransactionLayerLogger(log)))
	if err != nil {
		logFile.Close()
		return nil, err
	}
	srv, err := sipgo.NewServer(a.ua, sipgo.WithServerLogger(log))
	if err != nil {
		a.close()
		return nil, err
	}
	client, err := sipgo.NewClient(a.ua, sipgo.WithClientLogger(log))
	if err != nil {
		a.close()
		return nil, err
	}
	a.conn, err = net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		a.close()
		return nil, err
	}
	a.Addr = a.conn.LocalAddr().(*net.UDPAddr).AddrPort()
	contact := gosip.ContactHeader{Address: gosip.Uri{User: name, Host: a.Addr.Addr().String(), Port: int(a.Addr.Port())}}
	dialogs := sipgo.NewDialogServerCache(client, contact)
	srv.OnInvite(func(req *gosip.Request, tx gosip.ServerTransaction) {
		a.Invites.Add(1)
		sdp, status, reason := answer(req)
		if status > 0 {
			a.Refused.Add(1)
			_ = tx.Respond(gosip.NewResponseFromRequest(req, status, reason, nil))
			return
		}
		ds, err := dialogs.ReadInvite(req, tx)
		if err != nil {
			a.Refused.Add(1)
			_ = tx.Respond(gosip.NewResponseFromRequest(req, 400, "Bad Request", nil))
			return
		}
		// Returns once the ACK came (or after 64*T1 without one).
		if err := ds.RespondSDP(sdp); err != nil {
			log.Warn("answer", "err", err)
			ds.Close()
			return
		}
		a.Answered.Add(1)
	})
	srv.OnAck(func(req *gosip.Request, tx gosip.ServerTransaction) { _ = dialogs.ReadAck(req, tx) })
	srv.OnBye(func(req *gosip.Request, tx gosip.ServerTransaction) {
		if err := dialogs.ReadBye(req, tx); err != nil {
			_ = tx.Respond(gosip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
			return
		}
		a.Byes.Add(1)
		if onBye != nil {
			onBye(req.CallID().Value())
		}
	})
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		_ = srv.ServeUDP(a.conn) // ends when conn is closed
	}()
	return a, nil
}

// Shutdown closes the listener, waits for the server, and closes the
// user agent and the log.
func (a *Agent) Shutdown() {
	a.conn.Close()
	a.wg.Wait()
	a.close()
}

func (a *Agent) close() {
	if a.ua != nil {
		a.ua.Close()
	}
	a.log.Close()
}
