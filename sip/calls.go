package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"phoned/switchboard"
)

// Engine is what Calls hands calls to: the switchboard.
type Engine interface {
	Inbound(ctx context.Context, in switchboard.Incoming, info switchboard.InboundInfo)
}

// Calls joins SIP and the call engine. It takes the INVITEs that passed the
// trust gate (Inbound) and the requests within their dialogs
// (DialogHandler), places the engine's calls (switchboard.Dialer) and
// tells the engine who has an extension and where its devices are
// registered (switchboard.Agents).
//
// Wire it in three steps, as the parts need each other: NewCalls (and
// SetPBX for outside numbers), then sip.New with Deps.Inbound set to it
// and switchboard.New with it as Dialer and Agents, then Attach.
type Calls struct {
	log      *slog.Logger
	dir      Directory
	bindings Bindings

	answering sync.Map // dialog ID -> *incoming, while HandleInvite runs
	reoffers  sync.Map // dialog ID -> *reofferHook, while an answered dialog lasts
	notifies  sync.Map // dialog ID -> chan int (sipfrag statuses), while a REFER awaits its outcome
	devices   sync.Map // dialog ID -> *outgoing, a call phoned placed to a device, while it lasts

	mu      sync.Mutex // guards the following
	srv     *Server
	eng     Engine
	dsrv    *sipgo.DialogServerCache
	dcli    *sipgo.DialogClientCache
	dialog  bool                // the caches exist (made once the listeners are bound)
	contact gosip.ContactHeader // phoned's Contact in its dialogs
	pbx     *pbxRoute           // where outside numbers go (nil: nowhere)
}

// NewCalls returns the adapter; Attach completes it.
func NewCalls(log *slog.Logger, dir Directory, bindings Bindings) *Calls {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Calls{log: log.With("component", "calls"), dir: dir, bindings: bindings}
}

// Attach gives Calls the server whose client places calls and the engine
// that takes them.
func (c *Calls) Attach(srv *Server, eng Engine) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.srv, c.eng = srv, eng
}

// caches returns the dialog caches, made on first use: their Contact
// header needs the bound address.
func (c *Calls) caches() (*sipgo.DialogServerCache, *sipgo.DialogClientCache, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.srv == nil {
		return nil, nil, errors.New("calls: not attached to a SIP server")
	}
	if !c.dialog {
		select {
		case <-c.srv.Ready():
		default:
			return nil, nil, errors.New("calls: the SIP listeners are not bound yet")
		}
		addr := c.srv.Addr()
		contact := gosip.ContactHeader{Address: gosip.Uri{User: "phoned", Host: addr.Addr().String(), Port: int(addr.Port())}}
		c.contact = contact
		c.dsrv = sipgo.NewDialogServerCache(c.srv.Client(), contact)
		c.dcli = sipgo.NewDialogClientCache(c.srv.Client(), contact)
		c.dialog = true
	}
	return c.dsrv, c.dcli, nil
}

// HandleInvite takes an INVITE that passed the trust gate: a call for an
// extension. It returns once the caller has a final answer (the call
// itself goes on in the engine) or the server stops.
func (c *Calls) HandleInvite(ctx context.Context, req *gosip.Request, tx gosip.ServerTransaction, from Caller) {
	dsrv, _, err := c.caches()
	if err != nil {
		c.log.Error("incoming call", "err", err)
		_ = tx.Respond(gosip.NewResponseFromRequest(req, 503, "Service Unavailable", nil))
		return
	}
	ext := c.calledExtension(req)
	if CheckDialString(ext) != nil {
		_ = tx.Respond(gosip.NewResponseFromRequest(req, 404, "Not Found", nil))
		return
	}
	ds, err := dsrv.ReadInvite(req, tx)
	if err != nil {
		c.log.Info("incoming call refused", "err", err)
		_ = tx.Respond(gosip.NewResponseFromRequest(req, 400, "Bad Request", nil))
		return
	}
	leg := &incoming{calls: c, ds: ds, final: make(chan struct{})}
	c.takeReoffer(ds.ID, ds.Context(), &leg.reoffer)
	c.answering.Store(ds.ID, leg)
	defer c.answering.Delete(ds.ID)
	info := switchboard.InboundInfo{Extension: ext, CallID: req.CallID().Value()}
	if f := req.From(); f != nil {
		info.FromNumber = f.Address.User
		if CheckDisplayName(f.DisplayName) == nil {
			info.FromName = f.DisplayName
		}
	}
	c.log.Info("incoming call", "extension", ext, "from", info.FromNumber, "source", from.Source, "trusted", from.Trusted)
	c.eng.Inbound(ctx, leg, info)
	select {
	case <-leg.final:
	case <-ds.Context().Done():
	case <-ctx.Done():
	}
}

// HandleInDialog takes the requests within phoned's dialogs: ACK and BYE
// of the calls it answered or placed, and re-INVITEs of their answered
// peers (the engine answers them: the peer holds or resumes phoned), and
// the NOTIFYs of the transfers phoned asked for (REFER), and DTMF sent
// as SIP INFO (other INFO bodies get 415).
// Anything else in a known dialog is not supported yet (501); outside
// one, 481.
func (c *Calls) HandleInDialog(ctx context.Context, req *gosip.Request, tx gosip.ServerTransaction) {
	dsrv, dcli, err := c.caches()
	if err != nil {
		if !req.IsAck() {
			_ = tx.Respond(gosip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		}
		return
	}
	switch req.Method {
	case gosip.ACK:
		_ = dsrv.ReadAck(req, tx) // an ACK to no dialog of ours is dropped
		return
	case gosip.BYE:
		// sipgo hands each request to a goroutine of its own, so a BYE can
		// overtake the ACK of the 200 it follows. A BYE proves the caller
		// got the answer: the call was answered, then hung up.
		if ds, err := dsrv.MatchDialogRequest(req); err == nil {
			if v, ok := c.answering.Load(ds.ID); ok {
				v.(*incoming).byeBeforeAck.Store(true)
			}
		}
		if err := dsrv.ReadBye(req, tx); err == nil {
			return
		}
		if err := dcli.ReadBye(req, tx); err == nil {
			return
		}
	case gosip.INVITE:
		if c.handleReinvite(ctx, req, tx, dsrv, dcli) {
			return
		}
	case gosip.NOTIFY:
		if ds, err := dsrv.MatchDialogRequest(req); err == nil && c.handleNotify(req, tx, ds.ID) {
			return
		}
		if dcs, err := dcli.MatchRequestDialog(req); err == nil && c.handleNotify(req, tx, dcs.ID) {
			return
		}
	case gosip.INFO:
		if ds, err := dsrv.MatchDialogRequest(req); err == nil {
			c.handleInfo(req, tx, ds.ID)
			return
		}
		if dcs, err := dcli.MatchRequestDialog(req); err == nil {
			c.handleInfo(req, tx, dcs.ID)
			return
		}
	case gosip.REFER:
		if dcs, err := dcli.MatchRequestDialog(req); err == nil && c.handleRefer(ctx, req, tx, dcs) {
			return
		}
		_, errS := dsrv.MatchDialogRequest(req)
		_, errC := dcli.MatchRequestDialog(req)
		if errS == nil || errC == nil {
			_ = tx.Respond(gosip.NewResponseFromRequest(req, 501, "Not Implemented", nil))
			return
		}
	default:
		_, errS := dsrv.MatchDialogRequest(req)
		_, errC := dcli.MatchRequestDialog(req)
		if errS == nil || errC == nil {
			_ = tx.Respond(gosip.NewResponseFromRequest(req, 501, "Not Implemented", nil))
			return
		}
	}
	_ = tx.Respond(gosip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
}

// incoming is a caller's INVITE as the engine sees it.
type incoming struct {
	calls        *Calls
	reoffer      reofferHook
	ds           *sipgo.DialogServerSession
	byeBeforeAck atomic.Bool // the caller's BYE came while the answer awaited its ACK
	finalOnce    sync.Once
	final        chan struct{} // closed once a final response went out
}

func (l *incoming) Offer() []byte { return l.ds.InviteRequest.Body() }

func (l *incoming) Ring() error { return l.ds.Respond(180, "Ringing", nil) }

func (l *incoming) Answer(ctx context.Context, sdp []byte) error {
	defer l.finalOnce.Do(func() { close(l.final) })
	done := make(chan error, 1)
	go func() { done <- l.ds.RespondSDP(sdp) }() // returns when the ACK came
	select {
	case err := <-done:
		if err != nil && l.byeBeforeAck.Load() {
			return nil // answered; Gone is closed already
		}
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *incoming) Reject(status int, reason string) error {
	defer l.finalOnce.Do(func() { close(l.final) })
	return l.ds.Respond(status, reason, nil)
}

func (l *incoming) Hangup(ctx context.Context) error { return l.ds.Bye(ctx) }

// Gone ends when the caller cancels or hangs up (and when phoned ends the
// dialog itself).
func (l *incoming) Gone() <-chan struct{} { return l.ds.Context().Done() }

// Dial places a call: to a registered device (req.Contact) of an
// extension, or to an outside number (req.Number, E.164) through the PBX
// (SetPBX), answering its digest challenge (401/407) with the PBX
// account. With no PBX, a number that is an extension with a registered
// device is called there, and any other number fails with an error
// wrapping switchboard.ErrNoRoute.
func (c *Calls) Dial(ctx context.Context, req switchboard.DialRequest) (switchboard.Outgoing, error) {
	_, dcli, err := c.caches()
	if err != nil {
		return nil, err
	}
	if err := CheckDialString(req.FromUser); err != nil {
		return nil, fmt.Errorf("dial: caller %q: %w", req.FromUser, err)
	}
	if req.CallID != "" && !validCallID(req.CallID) {
		return nil, fmt.Errorf("dial: Call-ID %q is not a SIP word", req.CallID)
	}
	var to gosip.Uri
	var auth sipgo.AnswerOptions
	dest, transport := "", strings.ToUpper(req.Contact.Transport)
	switch {
	case req.Contact.URI == "" && req.Number != "":
		if err := CheckDialString(req.Number); err != nil {
			return nil, fmt.Errorf("dial: number %q: %w", req.Number, err)
		}
		pbx, ok := c.pbxRoute()
		if !ok {
			// No PBX: an extension can still be reached on its own phone.
			contacts, err := c.Contacts(ctx, req.Number)
			if err != nil || len(contacts) == 0 {
				return nil, fmt.Errorf("dial %s: %w", req.Number, switchboard.ErrNoRoute)
			}
			req.Contact = contacts[0]
			return c.Dial(ctx, req)
		}
		to = gosip.Uri{Scheme: "sip", User: req.Number, Host: pbx.uri.Host, Port: pbx.uri.Port}
		transport = pbx.transport
		auth.Username, auth.Password = pbx.Username, pbx.Password
	case req.Contact.URI != "":
		if err := gosip.ParseUri(strings.Trim(req.Contact.URI, "<>"), &to); err != nil {
			return nil, fmt.Errorf("dial %q: %w", req.Contact.URI, err)
		}
		if req.Contact.Received != "" {
			// NAT: send where the device registered from, not to its Contact.
			if ap, err := netip.ParseAddrPort(req.Contact.Received); err == nil {
				dest = ap.String()
			}
		}
	default:
		return nil, errors.New("dial: neither a device nor a number")
	}
	inv := gosip.NewRequest(gosip.INVITE, to)
	inv.SetBody(req.SDP)
	inv.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	c.mu.Lock()
	addr := c.srv.Addr()
	ua := c.srv.UserAgent()
	c.mu.Unlock()
	from := &gosip.FromHeader{Address: gosip.Uri{User: req.FromUser, Host: addr.Addr().String(), Port: int(addr.Port())}, Params: gosip.NewParams()}
	if CheckDisplayName(req.FromName) == nil {
		from.DisplayName = req.FromName
	}
	from.Params.Add("tag", gosip.GenerateTagN(16))
	inv.AppendHeader(from)
	inv.AppendHeader(&gosip.ToHeader{Address: to, Params: gosip.NewParams()})
	if req.CallID != "" {
		callID := gosip.CallIDHeader(req.CallID)
		inv.AppendHeader(&callID)
	}
	inv.AppendHeader(gosip.NewHeader("User-Agent", ua))
	if transport == "TCP" {
		inv.SetTransport("TCP")
	}
	if dest != "" {
		inv.SetDestination(dest)
	}
	dcs, err := dcli.WriteInvite(ctx, inv)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", to.String(), err)
	}
	return &outgoing{calls: c, dcs: dcs, auth: auth, dest: dest, call: req.Call, device: req.Number == ""}, nil
}

// validCallID reports whether s may be sent as a Call-ID: 1 to 128 bytes
// of letters, digits and the few marks phoned's ids use.
func validCallID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-.!%*_+~@:", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// outgoing is a call phoned placed.
type outgoing struct {
	calls   *Calls
	reoffer reofferHook
	dcs     *sipgo.DialogClientSession
	auth    sipgo.AnswerOptions // the PBX account, for its digest challenge
	dest    string              // where the INVITE went when not to its Request-URI (NAT), else empty
	call    string              // the engine's call (DialRequest.Call)
	device  bool                // a registered device, not a number through the PBX
}

func (o *outgoing) Wait(ctx context.Context, onRinging func(int)) ([]byte, error) {
	opts := o.auth
	opts.OnResponse = func(res *gosip.Response) error {
		if res.StatusCode == 180 || res.StatusCode == 183 {
			onRinging(res.StatusCode)
		}
		return nil
	}
	err := o.dcs.WaitAnswer(ctx, opts)
	var de *sipgo.ErrDialogResponse
	switch {
	case err == nil:
		o.calls.takeReoffer(o.dcs.ID, o.dcs.Context(), &o.reoffer)
		if o.device && o.call != "" {
			// Its REFER (the phone's transfer key) names this call.
			id := o.dcs.ID
			o.calls.devices.Store(id, o)
			context.AfterFunc(o.dcs.Context(), func() { o.calls.devices.Delete(id) })
		}
		return o.dcs.InviteResponse.Body(), nil
	case errors.As(err, &de):
		return nil, &switchboard.StatusError{Status: de.Res.StatusCode, Reason: de.Res.Reason}
	case ctx.Err() != nil:
		return nil, ctx.Err()
	}
	return nil, fmt.Errorf("waiting for the answer: %w", err)
}

func (o *outgoing) Ack(ctx context.Context) error { return o.dcs.Ack(ctx) }

func (o *outgoing) Hangup(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := o.dcs.Bye(ctx)
	o.dcs.Close()
	return err
}

func (o *outgoing) Gone() <-chan struct{} { return o.dcs.Context().Done() }

// AgentByExtension implements switchboard.Agents.
func (c *Calls) AgentByExtension(ctx context.Context, ext string) (switchboard.Agent, error) {
	a, err := c.dir.SIPAccount(ctx, ext)
	if errors.Is(err, ErrUnknownAccount) {
		return switchboard.Agent{}, fmt.Errorf("extension %s: %w", ext, switchboard.ErrNoAgent)
	}
	if err != nil {
		return switchboard.Agent{}, err
	}
	if !a.Active {
		return switchboard.Agent{}, fmt.Errorf("extension %s: user %s is inactive: %w", ext, a.Login, switchboard.ErrNoAgent)
	}
	return switchboard.Agent{UserID: a.UserID, Login: a.Login, Name: a.Name, Extension: a.Extension}, nil
}

// Contacts implements switchboard.Agents: the extension's live bindings.
func (c *Calls) Contacts(ctx context.Context, ext string) ([]switchboard.Contact, error) {
	bs, err := c.bindings.SIPBindings(ctx, ext, time.Now())
	if err != nil {
		return nil, err
	}
	out := make([]switchboard.Contact, 0, len(bs))
	for _, b := range bs {
		out = append(out, switchboard.Contact{URI: b.Contact, Received: b.Received, Transport: string(b.Transport)})
	}
	return out, nil
}
