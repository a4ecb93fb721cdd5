package sip

import (
	"net/netip"
	"strings"

	gosip "github.com/emiago/sipgo/sip"
)

// allowed is the Allow header of every answer that carries one: the
// methods phoned's user agent takes.
const allowed = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, REFER, NOTIFY"

// newResponse builds a response to req with phoned's User-Agent and the
// Via "received" parameter when the top Via names another host than the
// packet's source (RFC 3261 §18.2.1; sipgo adds received only with
// rport). sipgo sends the response to the source address (and to the
// source port when the Via has rport, RFC 3581).
func (s *Server) newResponse(req *gosip.Request, code int, reason string) *gosip.Response {
	res := gosip.NewResponseFromRequest(req, code, reason, nil)
	res.SipVersion = "SIP/2.0" // sipgo copies the request's, which a 505 refuses
	res.AppendHeader(gosip.NewHeader("User-Agent", s.cfg.UserAgent))
	if via := res.Via(); via != nil {
		if src, ok := sourceOf(req); ok && !via.Params.Has("received") {
			if host, err := netip.ParseAddr(strings.Trim(via.Host, "[]")); err != nil || host.Unmap() != src.Addr() {
				via.Params.Add("received", src.Addr().String())
			}
		}
	}
	return res
}

// respond sends a response built by newResponse with the extra headers.
// A failure to send is logged: the client will retransmit or give up.
func (s *Server) respond(tx gosip.ServerTransaction, req *gosip.Request, code int, reason string, headers ...gosip.Header) {
	res := s.newResponse(req, code, reason)
	for _, h := range headers {
		res.AppendHeader(h)
	}
	s.send(tx, req, res)
}

func (s *Server) send(tx gosip.ServerTransaction, req *gosip.Request, res *gosip.Response) {
	if err := tx.Respond(res); err != nil {
		s.log.Debug("sending a SIP response failed", "status", res.StatusCode, "method", req.Method.String(), "source", req.MessageData.Source(), "err", err)
	}
}

// sourceOf is the address the request came from, as the transport saw it
// (never the Via, which the sender writes).
func sourceOf(req *gosip.Request) (netip.AddrPort, bool) {
	ap, err := netip.ParseAddrPort(req.MessageData.Source())
	if err != nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}

// transportOf is the transport the request came over.
func transportOf(req *gosip.Request) Transport {
	return Transport(strings.ToLower(req.MessageData.Transport()))
}
