package sip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// One registration on the wire: the loop that keeps it, the REGISTER
// exchange with its digest round, and what it needs of the SIP server.

// pbxLine is one account's registration, owned by its registerLoop.
type pbxLine struct {
	r       *PBXRegistrar
	st      *PBXState // its state in the registrar's list
	acct    PBXAccount
	callID  string // the same for every REGISTER of the line (RFC 3261 §10.2)
	fromTag string
	cseq    uint32
	expires time.Duration // asked for; raised by a 423
	contact *gosip.Uri    // found at the first attempt
}

// registerLoop registers, refreshes before the grant runs out, retries
// with backoff after failures, and withdraws the binding once ctx ends.
func (l *pbxLine) registerLoop(ctx context.Context) {
	r := l.r
	failures := 0
	held := false // the PBX may hold a binding of ours
	for {
		out := l.exchange(ctx, l.expires)
		if ctx.Err() != nil {
			held = true // interrupted: the REGISTER may have arrived
			break
		}
		now := r.cfg.Now()
		var wait time.Duration
		if out.err == nil {
			failures, held = 0, true
			wait = refreshAfter(out.granted, r.jitter())
			r.update(l.st, func(s *PBXState) {
				s.State, s.LastError, s.LastStatus = PBXRegistered, "", out.status
				s.ExpiresAt, s.NextAttempt = now.Add(out.granted), now.Add(wait)
			})
		} else {
			failures++
			wait = backoff(failures, r.cfg.RetryMin, r.cfg.RetryMax, r.jitter())
			r.update(l.st, func(s *PBXState) {
				s.State, s.LastError, s.LastStatus = PBXFailed, out.err.Error(), out.status
				s.NextAttempt = now.Add(wait)
			})
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		if ctx.Err() != nil {
			break
		}
	}

	var unregErr error
	var status int
	if held {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.UnregisterTimeout)
		out := l.exchange(uctx, 0)
		cancel()
		unregErr, status = out.err, out.status
	}
	r.update(l.st, func(s *PBXState) {
		s.State, s.ExpiresAt, s.NextAttempt = PBXUnregistered, time.Time{}, time.Time{}
		s.LastError, s.LastStatus = "", status
		if unregErr != nil {
			s.LastError = "un-REGISTER: " + unregErr.Error()
		}
	})
}

// refreshAfter is when to refresh a binding granted for granted: at 75 to
// 85% of it (spread by j in [0, 1)), never sooner than half a second.
func refreshAfter(granted time.Duration, j float64) time.Duration {
	return max(time.Duration(float64(granted)*(0.75+0.1*j)), 500*time.Millisecond)
}

// backoff is the wait after the n-th failure in a row: lo doubled n-1
// times, at most hi, then drawn between its half and its whole by j in
// [0, 1).
func backoff(n int, lo, hi time.Duration, j float64) time.Duration {
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d/2 + time.Duration(float64(d/2)*j)
}

// pbxOutcome is what one REGISTER exchange came to.
type pbxOutcome struct {
	status  int           // the final status (0: none)
	granted time.Duration // on success: the lifetime of our binding
	err     error         // nil on success
}

// exchange sends a REGISTER asking for expires (0: un-REGISTER), answers
// the digest challenge, follows one 423, and reads the grant. It is
// bounded by Timeout and by the server's life.
func (l *pbxLine) exchange(ctx context.Context, expires time.Duration) pbxOutcome {
	r := l.r
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	ctx, release, ok := r.srv.hold(ctx)
	if !ok {
		return pbxOutcome{err: errors.New("the SIP server is not serving")}
	}
	defer release()
	contact, err := l.contactURI(ctx)
	if err != nil {
		return pbxOutcome{err: fmt.Errorf("find the Contact address: %w", err)}
	}

	// The answers to the registrar's (401) and a proxy's (407) challenge,
	// and how many of each were answered.
	var auth [2]gosip.Header
	var answered [2]int
	raised := false
	for {
		req := l.newRequest(contact, expires, auth[:])
		res, err := r.srv.Client().Do(ctx, req)
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			return pbxOutcome{err: fmt.Errorf("REGISTER %s: no answer from the PBX in time", r.cfg.URI)}
		case err != nil:
			return pbxOutcome{err: fmt.Errorf("REGISTER %s: %w", r.cfg.URI, err)}
		}
		code := res.StatusCode
		switch {
		case code >= 200 && code < 300:
			if expires == 0 {
				return pbxOutcome{status: code}
			}
			granted := grantedExpiry(res, contact, expires)
			if granted <= 0 {
				return pbxOutcome{status: code, err: fmt.Errorf("the PBX answered %d but kept no binding", code)}
			}
			return pbxOutcome{status: code, granted: granted}

		case code == 401 || code == 407:
			k := 0
			if code == 407 {
				k = 1
			}
			chal, err := pickChallenge(res)
			if err != nil {
				return pbxOutcome{status: code, err: fmt.Errorf("%d from the PBX: %w", code, err)}
			}
			// A challenge already answered refuses the credentials, unless
			// it says only that the nonce went stale.
			if answered[k] > 0 && (!chal.Stale || answered[k] > 2) {
				return pbxOutcome{status: code, err: fmt.Errorf("%d from the PBX: it refused the credentials of %q (wrong password?)", code, l.acct.Username)}
			}
			answered[k]++
			if auth[k], err = l.authorization(req, code, chal); err != nil {
				return pbxOutcome{status: code, err: err}
			}

		case code == 423 && !raised && expires > 0:
			least, has, err := parseExpires(responseHeader(res, "Min-Expires"))
			if err != nil || !has || least <= expires || least > maxExpires {
				return pbxOutcome{status: code, err: errors.New("423 from the PBX without a usable Min-Expires")}
			}
			expires, l.expires, raised = least, least, true

		default:
			return pbxOutcome{status: code, err: fmt.Errorf("%d %s from the PBX", code, cleanUserAgent(res.Reason))}
		}
	}
}

// newRequest builds the next REGISTER of the line: the same Call-ID and
// From tag, the next CSeq.
func (l *pbxLine) newRequest(contact gosip.Uri, expires time.Duration, auth []gosip.Header) *gosip.Request {
	r := l.r
	l.cseq++
	req := gosip.NewRequest(gosip.REGISTER, r.registrar)
	via := &gosip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: r.transport, Params: gosip.NewParams()}
	via.Params.Add("branch", gosip.GenerateBranch())
	via.Params.Add("rport", "") // answers come back to the port sent from
	aor := gosip.Uri{Scheme: "sip", User: l.acct.Username, Host: r.domain}
	from := &gosip.FromHeader{Address: aor, Params: gosip.NewParams()}
	from.Params.Add("tag", l.fromTag)
	callID := gosip.CallIDHeader(l.callID)
	maxFwd := gosip.MaxForwardsHeader(70)
	exp := gosip.ExpiresHeader(uint32(expires / time.Second))
	req.AppendHeader(via)
	req.AppendHeader(&maxFwd)
	req.AppendHeader(from)
	req.AppendHeader(&gosip.ToHeader{Address: aor})
	req.AppendHeader(&callID)
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: l.cseq, MethodName: gosip.REGISTER})
	req.AppendHeader(&gosip.ContactHeader{Address: contact})
	req.AppendHeader(&exp)
	req.AppendHeader(gosip.NewHeader("User-Agent", r.srv.UserAgent()))
	for _, h := range auth {
		if h != nil {
			req.AppendHeader(h)
		}
	}
	req.SetBody(nil)
	req.SetTransport(r.transport)
	// Over UDP, send from the listener itself: the PBX (and any NAT on
	// the way) sees the address its calls must go to.
	if r.transport == "UDP" {
		if laddr, ok := r.srv.udpListener(); ok {
			req.Laddr = laddr
		}
	}
	return req
}

// udpListener is the local address of the server's UDP listener, when
// sipgo's transport has it: a request with this Laddr is sent from the
// listener. (With an Laddr it does not have, sipgo would try to bind the
// port again.)
func (s *Server) udpListener() (gosip.Addr, bool) {
	addr := s.Addr()
	if !addr.IsValid() {
		return gosip.Addr{}, false
	}
	laddr := gosip.Addr{IP: net.IP(addr.Addr().AsSlice()), Port: int(addr.Port())}
	c, err := s.ua.TransportLayer().GetConnection("udp", laddr.String())
	if err != nil {
		return gosip.Addr{}, false
	}
	defer c.TryClose() // GetConnection took a reference
	uc, ok := c.(*gosip.UDPConnection)
	return laddr, ok && uc.Listener
}

// waitUDPListener waits (1 s at most) until sipgo serves the UDP
// listener: Ready is closed just before, and the first REGISTERs should
// leave from it too.
func (s *Server) waitUDPListener(ctx context.Context) {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	limit := time.NewTimer(time.Second)
	defer limit.Stop()
	for {
		if _, ok := s.udpListener(); ok {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-limit.C:
			return
		case <-t.C:
		}
	}
}

// pickChallenge returns the first digest challenge of res that can be
// answered (MD5 or SHA-256, qop auth or none).
func pickChallenge(res *gosip.Response) (*digest.Challenge, error) {
	name := "WWW-Authenticate"
	if res.StatusCode == 407 {
		name = "Proxy-Authenticate"
	}
	for _, h := range res.GetHeaders(name) {
		chal, err := digest.ParseChallenge(h.Value())
		if err != nil {
			continue
		}
		chal.Algorithm = strings.ToUpper(chal.Algorithm)
		switch chal.Algorithm {
		case "", "MD5", "SHA-256":
		default:
			continue
		}
		if len(chal.QOP) > 0 && !chal.SupportsQOP("auth") {
			continue
		}
		return chal, nil
	}
	return nil, fmt.Errorf("no digest challenge phoned can answer in %s", name)
}

// authorization answers chal for req (the request challenged).
func (l *pbxLine) authorization(req *gosip.Request, code int, chal *digest.Challenge) (gosip.Header, error) {
	cred, err := digest.Digest(chal, digest.Options{
		Method:   req.Method.String(),
		URI:      req.Recipient.String(),
		Username: l.acct.Username,
		Password: l.acct.Password,
	})
	if err != nil {
		return nil, fmt.Errorf("answer the PBX's digest challenge: %w", err)
	}
	name := "Authorization"
	if code == 407 {
		name = "Proxy-Authorization"
	}
	return gosip.NewHeader(name, cred.String()), nil
}

// grantedExpiry reads how long the PBX keeps our binding from its 200:
// our Contact's expires parameter, else the Expires header, else what
// was asked.
func grantedExpiry(res *gosip.Response, contact gosip.Uri, asked time.Duration) time.Duration {
	for _, h := range res.GetHeaders("Contact") {
		c, ok := h.(*gosip.ContactHeader)
		if !ok || !sameContact(c.Address, contact) {
			continue
		}
		if v, ok := c.Params.Get("expires"); ok {
			if d, has, err := parseExpires(v); err == nil && has {
				return d
			}
		}
	}
	if d, has, err := parseExpires(responseHeader(res, "Expires")); err == nil && has {
		return d
	}
	return asked
}

// sameContact compares what routes to phoned: user, host and port.
func sameContact(a, b gosip.Uri) bool {
	port := func(u gosip.Uri) int {
		if u.Port == 0 {
			return 5060
		}
		return u.Port
	}
	return a.User == b.User && strings.EqualFold(strings.Trim(a.Host, "[]"), strings.Trim(b.Host, "[]")) && port(a) == port(b)
}

func responseHeader(res *gosip.Response, name string) string {
	if h := res.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

// contactURI is sip:<extension>@<phoned's address>, found once.
func (l *pbxLine) contactURI(ctx context.Context) (gosip.Uri, error) {
	if l.contact != nil {
		return *l.contact, nil
	}
	r := l.r
	addr := r.srv.Addr()
	host := r.cfg.ContactHost
	if host == "" {
		host = addr.Addr().String()
		if addr.Addr().IsUnspecified() {
			ip, err := localAddrToward(ctx, r.registrar)
			if err != nil {
				return gosip.Uri{}, err
			}
			host = ip.String()
		}
	}
	u := gosip.Uri{Scheme: "sip", User: l.acct.Extension, Host: host, Port: int(addr.Port())}
	if r.transport == "TCP" {
		u.UriParams = gosip.NewParams()
		u.UriParams.Add("transport", "tcp")
	}
	l.contact = &u
	return u, nil
}

// localAddrToward is the local address the system routes to the PBX from.
// Connecting a UDP socket sends nothing.
func localAddrToward(ctx context.Context, registrar gosip.Uri) (netip.Addr, error) {
	port := registrar.Port
	if port == 0 {
		port = 5060
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", net.JoinHostPort(strings.Trim(registrar.Host, "[]"), strconv.Itoa(port)))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("route to the PBX: %w", err)
	}
	defer c.Close()
	return addrPortOf(c.LocalAddr()).Addr(), nil
}

// hold lets a request of phoned's own (a REGISTER) use the server's user
// agent: it keeps Serve from closing the agent until release is called,
// and the context it returns ends with ctx or when the server stops. ok
// is false when the server is not serving.
func (s *Server) hold(ctx context.Context) (_ context.Context, release func(), ok bool) {
	s.mu.Lock()
	if s.closing || s.ctx == nil || s.ctx.Err() != nil {
		s.mu.Unlock()
		return ctx, func() {}, false
	}
	srvCtx := s.ctx
	s.inflight.Add(1)
	s.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(srvCtx, cancel)
	return ctx, func() {
		stop()
		cancel()
		s.inflight.Done()
	}, true
}
