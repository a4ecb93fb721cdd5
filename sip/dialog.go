package sip

import (
	"context"

	gosip "github.com/emiago/sipgo/sip"
)

// DialogHandler is implemented by an Inbound that also takes requests
// claiming to belong to a dialog (a To tag: re-INVITE, ACK, BYE, INFO,
// REFER, NOTIFY, UPDATE, PRACK) and CANCELs that match no transaction.
// These pass no trust gate and no auth: the handler must match them to a
// dialog it owns (Call-ID and both tags, which a stranger cannot guess)
// and answer 481 otherwise.
type DialogHandler interface {
	HandleInDialog(ctx context.Context, req *gosip.Request, tx gosip.ServerTransaction)
}

// handleDialogRequest passes in-dialog requests to the call engine; with
// none, there is no dialog to match: 481 (an ACK gets no answer).
func (s *Server) handleDialogRequest(ctx context.Context, req *gosip.Request, tx gosip.ServerTransaction) {
	if h, ok := s.inbound.(DialogHandler); ok {
		h.HandleInDialog(ctx, req, tx)
		return
	}
	if req.IsAck() {
		return
	}
	s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
}
