package sip

import (
	gosip "github.com/emiago/sipgo/sip"
)

// handleOptions answers an OPTIONS outside a dialog: PBXs and phones use
// it as a keep-alive and to learn what phoned takes. It needs no auth and
// reveals nothing an INVITE would not.
func (s *Server) handleOptions(req *gosip.Request, tx gosip.ServerTransaction) {
	s.respond(tx, req, 200, "OK",
		gosip.NewHeader("Allow", allowed),
		gosip.NewHeader("Accept", "application/sdp"),
	)
}
