package sip

import (
	"context"
	"net/netip"
	"strconv"

	gosip "github.com/emiago/sipgo/sip"
)

// Caller says why an INVITE was let through the gate.
type Caller struct {
	// Trusted is set when the source address is in Config.Trust (the PBX
	// or trunk): no digest auth was asked.
	Trusted bool
	// Account is the account whose password the device proved (the From
	// user), set when the source is not trusted.
	Account *Account
	// Source is where the INVITE came from, as the transport saw it.
	Source    netip.AddrPort
	Transport Transport
}

// Inbound takes the INVITEs (outside a dialog) that passed the gate:
// the call engine. HandleInvite owns the transaction until it returns
// and must answer it; ctx ends when the server stops.
type Inbound interface {
	HandleInvite(ctx context.Context, req *gosip.Request, tx gosip.ServerTransaction, from Caller)
}

// trusted reports whether a is in Config.Trust.
func (s *Server) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.cfg.Trust {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// handleInvite is the trust gate: an INVITE from a trusted source passes;
// any other must prove, with digest auth against a 407 challenge, the
// password of the account named by its From user. Nothing else reaches
// Inbound.
func (s *Server) handleInvite(ctx context.Context, req *gosip.Request, tx gosip.ServerTransaction) {
	src, _ := sourceOf(req) // checked by checkRequest
	caller := Caller{Source: src, Transport: transportOf(req)}
	if s.trusted(src.Addr()) {
		caller.Trusted = true
	} else {
		acct, ok := s.authenticate(ctx, req, tx, proxyAuth, req.From().Address.User, src.Addr())
		if !ok {
			return
		}
		caller.Account = &acct
	}
	if s.inbound == nil {
		s.respond(tx, req, 480, "Temporarily Unavailable")
		return
	}
	s.log.Debug("INVITE passed the gate", "source", src.String(), "trusted", caller.Trusted, "extension", extensionOf(caller.Account))
	s.inbound.HandleInvite(ctx, req, tx, caller)
}

func extensionOf(a *Account) string {
	if a == nil {
		return ""
	}
	return a.Extension
}

// quote makes outside input safe to log.
func quote(s string) string { return strconv.Quote(s) }
