package sip

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
	"golang.org/x/sync/errgroup"
)

// Deps are what the server needs from the rest of phoned.
type Deps struct {
	Log       *slog.Logger // default: discard
	Directory Directory    // required: accounts for digest auth
	Bindings  Bindings     // required: the registrar's storage
	Inbound   Inbound      // nil: INVITEs that pass the gate get 480
}

// Server is phoned's SIP server: listeners, OPTIONS, the registrar and the
// INVITE trust gate. Create it with New, run it with Serve (once).
type Server struct {
	cfg      Config
	log      *slog.Logger
	dir      Directory
	bindings Bindings
	inbound  Inbound
	nonces   *nonces
	fails    *failLimiter

	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	client *sipgo.Client

	served atomic.Bool
	ready  chan struct{} // closed once the listeners are bound

	mu       sync.Mutex // guards the following
	addr     netip.AddrPort
	tlsAddr  netip.AddrPort  // zero without TLS
	ctx      context.Context // Serve's, for the handlers; nil before
	closing  bool            // Serve is returning: no new handler starts
	inflight sync.WaitGroup  // handlers running (Add under mu, while !closing)
}

// requestTimeout bounds the storage work of one request: a SIP client
// retransmits and gives up after 32 s, so an answer later than a few
// seconds is worthless anyway.
const requestTimeout = 5 * time.Second

// New checks cfg and deps and returns a Server ready to Serve. Nothing is
// bound yet.
func New(cfg Config, deps Deps) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if deps.Directory == nil {
		return nil, fmt.Errorf("%w: Deps.Directory is nil", ErrInvalidConfig)
	}
	if deps.Bindings == nil {
		return nil, fmt.Errorf("%w: Deps.Bindings is nil", ErrInvalidConfig)
	}
	log := deps.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "sip")
	s := &Server{
		cfg:      cfg,
		log:      log,
		dir:      deps.Directory,
		bindings: deps.Bindings,
		inbound:  deps.Inbound,
		nonces:   &nonces{key: cfg.NonceKey, realm: cfg.Realm, ttl: cfg.NonceTTL, now: cfg.Now},
		fails:    newFailLimiter(cfg),
		ready:    make(chan struct{}),
	}

	// sipgo logs every unparsable packet (with its bytes) at error level:
	// outside input must not flood phoned's log, so its records go to
	// debug.
	stackLog := slog.New(debugOnly{log.Handler()}).With("component", "sipgo")
	s.ua, err = sipgo.NewUA(
		sipgo.WithUserAgent(cfg.UserAgent),
		sipgo.WithUserAgentTransportLayerOptions(gosip.WithTransportLayerLogger(stackLog)),
		sipgo.WithUserAgentTransactionLayerOptions(
			gosip.WithTransactionLayerLogger(stackLog),
			gosip.WithTransactionLayerUnhandledResponseHandler(func(res *gosip.Response) {
				stackLog.Debug("SIP response matches no transaction", "status", res.StatusCode, "source", res.Source())
			}),
		),
	)
	if err != nil {
		return nil, fmt.Errorf("create SIP user agent: %w", err)
	}
	s.srv, err = sipgo.NewServer(s.ua, sipgo.WithServerLogger(stackLog))
	if err != nil {
		s.ua.Close()
		return nil, fmt.Errorf("create SIP server: %w", err)
	}
	// Every request goes through one router, so the checks every request
	// needs are in one place.
	s.srv.OnNoRoute(s.serveRequest)
	s.client, err = sipgo.NewClient(s.ua, sipgo.WithClientLogger(stackLog))
	if err != nil {
		s.ua.Close()
		return nil, fmt.Errorf("create SIP client: %w", err)
	}
	return s, nil
}

// Serve binds the UDP and TCP listeners, and the TLS one with
// Config.TLS (a bind error is returned at once), serves until ctx ends
// or a listener fails, then waits for the running handlers (their
// context ends too), closes the user agent and returns. It also owns the ticker that deletes expired bindings. Serve
// runs once; the user agent is unusable after it returns.
func (s *Server) Serve(ctx context.Context) error {
	if !s.served.CompareAndSwap(false, true) {
		return ErrServed
	}
	defer s.ua.Close()
	udp, tcp, err := listenPair(s.cfg.Listen)
	if err != nil {
		return err
	}
	var tlsl net.Listener
	if s.cfg.TLS != nil {
		tlsl, err = tls.Listen("tcp", s.cfg.TLSListen, s.cfg.TLS.Clone())
		if err != nil {
			udp.Close()
			tcp.Close()
			return fmt.Errorf("listen SIP on TLS %s: %w", s.cfg.TLSListen, err)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	s.mu.Lock()
	s.addr = addrPortOf(udp.LocalAddr())
	if tlsl != nil {
		ap := tlsl.Addr().(*net.TCPAddr).AddrPort()
		s.tlsAddr = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	s.ctx = gctx
	s.mu.Unlock()
	close(s.ready)
	s.log.Info("SIP listening", "udp", udp.LocalAddr().String(), "tcp", tcp.Addr().String(), "realm", s.cfg.Realm, "trust", s.cfg.Trust)
	if tlsl != nil {
		s.log.Info("SIP listening over TLS", "tls", tlsl.Addr().String())
		g.Go(func() error {
			err := s.srv.ServeTLS(tlsl)
			if gctx.Err() == nil {
				return fmt.Errorf("serve SIP over TLS %s: stopped: %w", tlsl.Addr(), orClosed(err))
			}
			return nil
		})
	}

	g.Go(func() error {
		err := s.srv.ServeUDP(udp)
		if gctx.Err() == nil {
			return fmt.Errorf("serve SIP over UDP %s: stopped: %w", udp.LocalAddr(), orClosed(err))
		}
		return nil
	})
	g.Go(func() error {
		err := s.srv.ServeTCP(tcp)
		if gctx.Err() == nil {
			return fmt.Errorf("serve SIP over TCP %s: stopped: %w", tcp.Addr(), orClosed(err))
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		udp.Close() // ends ServeUDP
		tcp.Close() // ends ServeTCP
		if tlsl != nil {
			tlsl.Close() // ends ServeTLS
		}
		return nil
	})
	g.Go(func() error { s.purgeLoop(gctx); return nil })
	err = g.Wait()

	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.inflight.Wait()
	s.log.Info("SIP stopped")
	return err
}

func orClosed(err error) error {
	if err == nil {
		return net.ErrClosed
	}
	return err
}

// listenPair binds UDP and TCP on the same address. With port 0 the TCP
// listener takes the port UDP got, trying again when another process
// holds it for TCP.
func listenPair(addr string) (net.PacketConn, net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen SIP on %q: %w", addr, err)
	}
	for attempt := 1; ; attempt++ {
		udp, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("listen SIP on UDP %s: %w", addr, err)
		}
		taddr := net.JoinHostPort(host, strconv.Itoa(udp.LocalAddr().(*net.UDPAddr).Port))
		tcp, err := net.Listen("tcp", taddr)
		if err == nil {
			return udp, tcp, nil
		}
		udp.Close()
		if port != "0" || attempt == 10 {
			return nil, nil, fmt.Errorf("listen SIP on TCP %s: %w", taddr, err)
		}
	}
}

func addrPortOf(a net.Addr) netip.AddrPort {
	if u, ok := a.(*net.UDPAddr); ok {
		ap := u.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}

// Ready is closed once Serve has bound its listeners.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addr is the address both listeners are bound to (UDP and TCP share it),
// valid once Ready is closed.
func (s *Server) Addr() netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// TLSAddr is the address of the TLS listener, valid once Ready is
// closed; the zero AddrPort when Config.TLS is nil.
func (s *Server) TLSAddr() netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tlsAddr
}

// UA is the sipgo user agent (transport and transaction layers) under
// the server, for the call engine.
func (s *Server) UA() *sipgo.UserAgent { return s.ua }

// Client sends requests (INVITE, BYE, REFER...) over the server's
// transports. Requests it builds carry no User-Agent: add
// [Server.UserAgent].
func (s *Server) Client() *sipgo.Client { return s.client }

// UserAgent is the User-Agent header value the server sends.
func (s *Server) UserAgent() string { return s.cfg.UserAgent }

// serveRequest is sipgo's handler for every request: it keeps Serve from
// returning while it runs, then routes.
func (s *Server) serveRequest(req *gosip.Request, tx gosip.ServerTransaction) {
	s.mu.Lock()
	if s.closing || s.ctx == nil {
		s.mu.Unlock()
		if !req.IsAck() {
			s.respond(tx, req, 503, "Service Unavailable")
		}
		return
	}
	ctx := s.ctx
	s.inflight.Add(1)
	s.mu.Unlock()
	defer s.inflight.Done()
	s.route(ctx, req, tx)
}

// route checks what every request needs and hands it to its handler.
func (s *Server) route(ctx context.Context, req *gosip.Request, tx gosip.ServerTransaction) {
	if code, reason, headers := checkRequest(req); code != 0 {
		s.log.Debug("malformed SIP request refused", "method", req.Method.String(), "source", req.MessageData.Source(), "status", code, "reason", reason)
		if !req.IsAck() {
			s.respond(tx, req, code, reason, headers...)
		}
		return
	}
	switch {
	case req.Method == gosip.OPTIONS && !inDialog(req):
		s.handleOptions(req, tx)
	case req.Method == gosip.REGISTER:
		s.handleRegister(ctx, req, tx)
	case req.Method == gosip.INVITE && !inDialog(req):
		s.handleInvite(ctx, req, tx)
	case dialogMethods[req.Method]:
		s.handleDialogRequest(ctx, req, tx)
	case knownMethods[req.Method]:
		s.respond(tx, req, 405, "Method Not Allowed", gosip.NewHeader("Allow", allowed))
	default:
		s.respond(tx, req, 501, "Not Implemented", gosip.NewHeader("Allow", allowed))
	}
}

// dialogMethods are the requests that belong to the call engine's dialogs
// (and OPTIONS or INVITE with a To tag).
var dialogMethods = map[gosip.RequestMethod]bool{
	gosip.INVITE: true, gosip.OPTIONS: true, gosip.ACK: true, gosip.CANCEL: true, gosip.BYE: true,
	gosip.INFO: true, gosip.REFER: true, gosip.NOTIFY: true, gosip.UPDATE: true, gosip.PRACK: true,
}

// knownMethods are other methods SIP defines, which phoned does not take.
var knownMethods = map[gosip.RequestMethod]bool{
	gosip.MESSAGE: true, gosip.SUBSCRIBE: true, gosip.PUBLISH: true,
}

// inDialog reports whether the request claims a dialog (a To tag).
func inDialog(req *gosip.Request) bool {
	to := req.To()
	return to != nil && to.Params.Has("tag")
}

// checkRequest refuses what sipgo parses but a UAS must not act on
// (RFC 3261 §8.2, RFC 4475): it returns 0 for a request fit to handle,
// else the status to answer with and the extra headers.
func checkRequest(req *gosip.Request) (int, string, []gosip.Header) {
	if req.SipVersion != "SIP/2.0" {
		return 505, "Version Not Supported", nil
	}
	switch req.Recipient.Scheme {
	case "sip", "sips", "tel":
	default:
		return 416, "Unsupported URI Scheme", nil
	}
	if req.Recipient.Headers.Length() > 0 {
		return 400, "Headers In Request-URI", nil
	}
	if req.From() == nil || req.To() == nil || req.CallID() == nil || req.CSeq() == nil || req.Via() == nil {
		return 400, "Missing Required Header", nil
	}
	for _, name := range singleHeaders {
		if len(req.GetHeaders(name)) > 1 {
			return 400, "Duplicate " + name, nil
		}
	}
	// Methods are case-sensitive, but sipgo upper-cases the request line's.
	if !strings.EqualFold(string(req.CSeq().MethodName), string(req.Method)) {
		return 400, "CSeq Method Does Not Match", nil
	}
	if _, ok := sourceOf(req); !ok {
		return 400, "Unknown Source", nil
	}
	// phoned supports no extension a client may require (RFC 3261 §8.2.2.3).
	if req.Method != gosip.ACK && req.Method != gosip.CANCEL {
		var unsupported []string
		for _, h := range req.GetHeaders("Require") {
			for _, opt := range strings.Split(h.Value(), ",") {
				if opt = strings.TrimSpace(opt); opt != "" {
					unsupported = append(unsupported, opt)
				}
			}
		}
		if len(unsupported) > 0 {
			return 420, "Bad Extension", []gosip.Header{gosip.NewHeader("Unsupported", strings.Join(unsupported, ", "))}
		}
	}
	return 0, "", nil
}

// singleHeaders may appear once in a request (RFC 3261 §7.3.1).
var singleHeaders = []string{"From", "To", "Call-ID", "CSeq", "Max-Forwards", "Content-Length", "Content-Type", "Expires"}

// purgeLoop deletes expired bindings (and forgets old auth failures)
// every PurgeInterval until ctx ends.
func (s *Server) purgeLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.PurgeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.purge(ctx)
		}
	}
}

func (s *Server) purge(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	n, err := s.bindings.PurgeSIPBindings(ctx, s.cfg.Now())
	switch {
	case err != nil && ctx.Err() == nil:
		s.log.Warn("deleting expired SIP bindings", "err", err)
	case n > 0:
		s.log.Debug("expired SIP bindings deleted", "count", n)
	}
	s.fails.sweep()
}
