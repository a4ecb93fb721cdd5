package sip

import (
	"context"
	"errors"
	"net/netip"

	gosip "github.com/emiago/sipgo/sip"
)

// authKind is how a request is challenged: the registrar answers 401
// with WWW-Authenticate, phoned as the gate of calls answers 407 with
// Proxy-Authenticate, as a proxy would.
type authKind struct {
	code              int
	reason            string
	challengeHeader   string
	credentialsHeader string
}

var (
	registrarAuth = authKind{401, "Unauthorized", "WWW-Authenticate", "Authorization"}
	proxyAuth     = authKind{407, "Proxy Authentication Required", "Proxy-Authenticate", "Proxy-Authorization"}
)

// authenticate checks that req carries a valid digest answer for the
// account of user (the extension in the To of a REGISTER, in the From of
// an INVITE). When it returns false it has answered req itself:
//
//   - a source blocked for failing too often: 403, no challenge;
//   - no credentials for our realm, or a nonce that is not ours (or was
//     minted for another address): a fresh challenge;
//   - an expired nonce: a challenge with stale=true;
//   - anything else wrong (unreadable credentials, another username, an
//     unknown or inactive account, an account without a SIP password, a
//     wrong password): 403, counted as a failure of the source.
//
// An unknown extension is thus challenged like a known one and refused
// only once credentials come, so the answers do not tell which extensions
// exist.
func (s *Server) authenticate(ctx context.Context, req *gosip.Request, tx gosip.ServerTransaction, kind authKind, user string, src netip.Addr) (Account, bool) {
	if s.fails.blocked(src) {
		s.log.Debug("SIP request from a blocked source refused", "method", req.Method.String(), "source", src.String())
		s.respond(tx, req, 403, "Forbidden")
		return Account{}, false
	}
	var values []string
	for _, h := range req.GetHeaders(kind.credentialsHeader) {
		values = append(values, h.Value())
	}
	cred, found, err := findCredentials(values, s.cfg.Realm)
	if !found {
		s.challenge(tx, req, kind, src, false)
		return Account{}, false
	}
	if err == nil {
		err = checkCredentialsForm(cred)
	}
	if err != nil {
		s.authFailed(tx, req, src, user, err.Error())
		return Account{}, false
	}
	switch s.nonces.check(cred.Nonce, src) {
	case nonceInvalid:
		s.challenge(tx, req, kind, src, false)
		return Account{}, false
	case nonceStale:
		s.challenge(tx, req, kind, src, true)
		return Account{}, false
	}
	if cred.Username != user {
		s.authFailed(tx, req, src, user, "digest username "+quote(cred.Username)+" is not the user of the request")
		return Account{}, false
	}
	if CheckDialString(user) != nil {
		s.authFailed(tx, req, src, user, "not an extension")
		return Account{}, false
	}
	lctx, cancel := context.WithTimeout(ctx, requestTimeout)
	acct, err := s.dir.SIPAccount(lctx, user)
	cancel()
	switch {
	case errors.Is(err, ErrUnknownAccount):
		s.authFailed(tx, req, src, user, "unknown extension")
		return Account{}, false
	case err != nil:
		s.log.Error("reading a SIP account", "extension", user, "err", err)
		s.respond(tx, req, 500, "Server Internal Error")
		return Account{}, false
	case !acct.Active:
		s.authFailed(tx, req, src, user, "account inactive")
		return Account{}, false
	case acct.Password == "":
		s.authFailed(tx, req, src, user, "account has no SIP password")
		return Account{}, false
	case !responseMatches(cred.Response, digestResponse(cred, req.Method.String(), acct.Password)):
		s.authFailed(tx, req, src, user, "wrong password")
		return Account{}, false
	}
	return acct, true
}

func (s *Server) challenge(tx gosip.ServerTransaction, req *gosip.Request, kind authKind, src netip.Addr, stale bool) {
	s.respond(tx, req, kind.code, kind.reason, gosip.NewHeader(kind.challengeHeader, s.nonces.challenge(src, stale)))
}

// authFailed answers 403 and counts the failure against the source.
func (s *Server) authFailed(tx gosip.ServerTransaction, req *gosip.Request, src netip.Addr, user, why string) {
	blocked := s.fails.fail(src)
	s.log.Info("SIP digest auth failed", "method", req.Method.String(), "source", src.String(), "user", quote(user), "reason", why)
	if blocked {
		s.log.Warn("SIP source blocked after repeated auth failures", "source", src.String(), "for", s.cfg.AuthBlock.String())
	}
	s.respond(tx, req, 403, "Forbidden")
}
