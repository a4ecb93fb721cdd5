package webphone

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"phoned/auth"
	"phoned/comm"
	"phoned/crm"
	"phoned/media"
	"phoned/switchboard"
)

// Config tunes the browser phone. Zero fields take the defaults noted.
type Config struct {
	// Grace is how long a call whose page went away (reload, lost
	// connection) waits for a page of the same agent to reattach before it
	// is hung up (default 30 s).
	Grace time.Duration
	// PortMin and PortMax bound the UDP ports of WebRTC media (0: any).
	PortMin, PortMax uint16
	// IP is the address WebRTC media use (unspecified or invalid: every
	// interface). A loopback address gathers loopback candidates too.
	IP netip.Addr
	// NAT1To1IP is the public address to announce instead of IP, when
	// phoned sits behind a 1:1 NAT.
	NAT1To1IP string
	// QueuePoll is how often the queue's version is checked to tell pages
	// their queue changed (default 1 s).
	QueuePoll time.Duration
	// MaxCallsPerAgent bounds an agent's browser calls at once (calls,
	// consults, one on hold): a page that loops on dial must not fill
	// phoned with PeerConnections and calls (default 4).
	MaxCallsPerAgent int
}

func (c *Config) defaults() {
	if c.Grace <= 0 {
		c.Grace = 30 * time.Second
	}
	if c.QueuePoll <= 0 {
		c.QueuePoll = time.Second
	}
	if c.MaxCallsPerAgent <= 0 {
		c.MaxCallsPerAgent = 4
	}
}

// Engine is the call engine as the browser phone drives it.
type Engine interface {
	Outbound(ctx context.Context, req switchboard.OutboundRequest) (switchboard.Snapshot, error)
	Hangup(ctx context.Context, id string) error
	LiveCall(id string) (switchboard.Snapshot, bool)
	Calls() []switchboard.Snapshot
}

// Sessions finds the logged-in user of a request (its session cookie).
type Sessions interface {
	Session(r *http.Request) (auth.Principal, error)
}

// DialTarget is whom a page asks to call.
type DialTarget struct {
	CallID    *int64 // a planned call
	PartnerID *int64 // a partner (its first number)
	Number    string // a number or an extension, as typed
}

// Deps are what the browser phone works with.
type Deps struct {
	Log      *slog.Logger
	Sessions Sessions
	// Outbound checks a user's dial request and makes the engine's request
	// from it (the API's rules: an extension, own planned calls, the
	// number's form). A refusal's words for the user come from a
	// PublicMessage() string method when the error has one.
	Outbound func(ctx context.Context, p auth.Principal, t DialTarget) (switchboard.OutboundRequest, error)
	// FindPartner returns the partner with this number (nil: none).
	FindPartner func(ctx context.Context, number string) (*crm.Partner, error)
	// QueueVersion, if set, changes whenever planned calls change; pages
	// are told to reload their queue.
	QueueVersion func() uint64
}

// Phone is the browser phone: the WebSocket signalling of the widget's
// pages, their WebRTC legs, and their presence as devices of the agents'
// extensions.
type Phone struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	api  *webrtc.API

	engMu sync.Mutex
	eng   Engine // SetEngine

	mu       sync.Mutex // guards the following
	conns    map[*conn]struct{}
	legs     map[string]*webLeg // by call id, once known
	legByKey map[legKey]*webLeg // by the page's leg id, for ICE
	dialing  map[string]*webLeg // dial legs the engine has not taken yet
	partners map[string]*partnerCard
	owners   map[string]int64 // call id -> the agent it belonged to at its last snapshot
	looked   map[string]bool  // calls whose partner was looked up (findCaller)
	closed   bool

	wg sync.WaitGroup // connections' goroutines and leg timers' work
}

// legKey names a leg as its page does: the user and the page's leg id.
type legKey struct {
	user int64
	leg  string
}

// New returns a browser phone.
func New(cfg Config, deps Deps) (*Phone, error) {
	cfg.defaults()
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.Sessions == nil || deps.Outbound == nil {
		return nil, errors.New("webphone: Sessions and Outbound are required")
	}
	api, err := newAPI(cfg)
	if err != nil {
		return nil, err
	}
	return &Phone{
		cfg: cfg, deps: deps, log: deps.Log, api: api,
		conns: map[*conn]struct{}{}, legs: map[string]*webLeg{}, legByKey: map[legKey]*webLeg{}, dialing: map[string]*webLeg{}, partners: map[string]*partnerCard{}, owners: map[string]int64{}, looked: map[string]bool{},
	}, nil
}

// SetEngine gives the phone the call engine (which needs the phone as a
// Dialer first).
func (p *Phone) SetEngine(e Engine) {
	p.engMu.Lock()
	p.eng = e
	p.engMu.Unlock()
}

func (p *Phone) engine() Engine {
	p.engMu.Lock()
	defer p.engMu.Unlock()
	return p.eng
}

// Serve tells pages when their queue changes, until ctx ends; then it
// closes every page's connection and browser leg and waits for their
// goroutines.
func (p *Phone) Serve(ctx context.Context) error {
	var last uint64
	if p.deps.QueueVersion != nil {
		last = p.deps.QueueVersion()
	}
	tick := time.NewTicker(p.cfg.QueuePoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			p.shutdown()
			return nil
		case <-tick.C:
			if p.deps.QueueVersion == nil {
				continue
			}
			if v := p.deps.QueueVersion(); v != last {
				last = v
				p.broadcast(func(*conn) bool { return true }, idMsg{Type: "queue"})
			}
		}
	}
}

func (p *Phone) shutdown() {
	p.mu.Lock()
	p.closed = true
	conns := make([]*conn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	legs := make([]*webLeg, 0, len(p.legByKey))
	for _, l := range p.legByKey {
		legs = append(legs, l)
	}
	p.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
	for _, l := range legs {
		l.end()
	}
	p.wg.Wait()
}

// Watch is the engine's watcher (switchboard.Deps.Watch): each snapshot
// goes to the pages of the call's agent and of every supervisor.
func (p *Phone) Watch(s switchboard.Snapshot) {
	p.mu.Lock()
	prev, known := p.owners[s.ID]
	if s.State == switchboard.StateEnded {
		delete(p.owners, s.ID)
		delete(p.partners, s.ID)
		delete(p.looked, s.ID)
	} else {
		p.owners[s.ID] = s.UserID
	}
	p.mu.Unlock()
	if known && prev != s.UserID && s.State != switchboard.StateEnded {
		// Transferred to another agent: for the first one the call is over.
		gone := s
		gone.State, gone.UserID = switchboard.StateEnded, prev
		if gone.Outcome == "" {
			gone.Outcome = comm.OutcomeTransferred
		}
		p.broadcast(func(c *conn) bool { return c.user.ID == prev }, callMsg{Type: "call", Call: callJSON{Snapshot: gone}})
	}
	msg := callMsg{Type: "call", Call: p.callJSON(s)}
	p.broadcast(func(c *conn) bool { return c.user.ID == s.UserID || c.supervisor() }, msg)
	if s.PartnerID == 0 && s.Number != "" && s.State != switchboard.StateEnded {
		p.findCaller(s)
	}
}

// findCaller looks up, once per call and off the call's goroutine, the
// partner of a call that the engine did not name (an incoming call), so
// that pages (the supervisors' live calls too) show who it is.
func (p *Phone) findCaller(s switchboard.Snapshot) {
	p.mu.Lock()
	if p.looked[s.ID] || p.closed || p.deps.FindPartner == nil {
		p.mu.Unlock()
		return
	}
	p.looked[s.ID] = true
	p.wg.Add(1)
	p.mu.Unlock()
	go func() {
		defer p.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		card := p.partnerCard(ctx, s.ID, switchboard.Snapshot{ID: s.ID, Number: s.Number})
		if card == nil {
			return
		}
		eng := p.engine()
		if eng == nil {
			return
		}
		now, ok := eng.LiveCall(s.ID)
		if !ok || now.State == switchboard.StateEnded {
			p.mu.Lock()
			delete(p.partners, s.ID) // ended meanwhile: nothing keeps it
			p.mu.Unlock()
			return
		}
		msg := callMsg{Type: "call", Call: p.callJSON(now)}
		p.broadcast(func(c *conn) bool { return c.user.ID == now.UserID || c.supervisor() }, msg)
	}()
}

// OnDTMF is the engine's digit hook (switchboard.Deps.OnDTMF): the digit
// goes to the pages of the call's agent.
func (p *Phone) OnDTMF(call string, digit rune) {
	eng := p.engine()
	if eng == nil {
		return
	}
	s, ok := eng.LiveCall(call)
	if !ok {
		return
	}
	p.broadcast(func(c *conn) bool { return c.user.ID == s.UserID }, idMsg{Type: "dtmf", Call: call, Digit: string(digit)})
}

// callJSON adds the browser leg's state (and the caller's partner, for an
// incoming call) to a snapshot.
func (p *Phone) callJSON(s switchboard.Snapshot) callJSON {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := callJSON{Snapshot: s}
	if l := p.legs[s.ID]; l != nil {
		out.Browser = true
		out.Attached = l.attached()
	}
	if card := p.partners[s.ID]; card != nil && s.PartnerID == 0 {
		out.PartnerID, out.PartnerName = card.ID, card.Name
	}
	return out
}

// broadcast sends msg to the connections to picks.
func (p *Phone) broadcast(to func(*conn) bool, msg any) {
	b, err := marshal(msg)
	if err != nil {
		p.log.Error("webphone: encoding a message", "err", err)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		if to(c) {
			c.sendRaw(b)
		}
	}
}

// connsOfExtension returns the open pages of the agents with extension ext.
func (p *Phone) connsOfExtension(ext string) []*conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*conn
	for c := range p.conns {
		if c.user.Extension == ext {
			out = append(out, c)
		}
	}
	return out
}

// contactScheme marks the browser devices among an extension's contacts.
const (
	contactTransport = "webrtc"
	extPrefix        = "webrtc:ext:"
	legPrefix        = "webrtc:leg:"
)

// agents adds an agent's open pages to the devices of its extension.
type agents struct {
	switchboard.Agents
	p *Phone
}

// Agents returns base with the agents' open widget pages added as one
// more device of their extension: an incoming call rings them with the
// registered phones.
func (p *Phone) Agents(base switchboard.Agents) switchboard.Agents { return agents{base, p} }

func (a agents) Contacts(ctx context.Context, ext string) ([]switchboard.Contact, error) {
	out, err := a.Agents.Contacts(ctx, ext)
	if err != nil {
		return nil, err
	}
	if len(a.p.connsOfExtension(ext)) > 0 {
		out = append(out, switchboard.Contact{URI: extPrefix + ext, Transport: contactTransport})
	}
	return out, nil
}

// dialer sends calls for browser devices to the phone, others to base.
type dialer struct {
	base switchboard.Dialer
	p    *Phone
}

// Dialer returns base, with the browser devices (Agents' contacts, and
// the page that dialled) reached through the phone. It keeps base's
// OutsideDialer.
func (p *Phone) Dialer(base switchboard.Dialer) switchboard.Dialer { return dialer{base, p} }

func (d dialer) Dial(ctx context.Context, req switchboard.DialRequest) (switchboard.Outgoing, error) {
	if req.Contact.Transport != contactTransport {
		return d.base.Dial(ctx, req)
	}
	return d.p.dial(ctx, req)
}

func (d dialer) DialsOutside() bool {
	od, ok := d.base.(switchboard.OutsideDialer)
	return ok && od.DialsOutside()
}

// dial reaches a browser device for the engine: the page that placed the
// call (it answered already), or the pages of an extension (they ring).
func (p *Phone) dial(ctx context.Context, req switchboard.DialRequest) (switchboard.Outgoing, error) {
	switch {
	case strings.HasPrefix(req.Contact.URI, legPrefix):
		key := strings.TrimPrefix(req.Contact.URI, legPrefix)
		p.mu.Lock()
		l := p.pending(key)
		if l != nil {
			p.legs[req.Call] = l
		}
		p.mu.Unlock()
		if l == nil {
			return nil, &switchboard.StatusError{Status: 480, Reason: "The page went away"}
		}
		l.mu.Lock()
		l.callID = req.Call
		l.mu.Unlock()
		if err := l.acceptEngineOffer(req.SDP); err != nil {
			l.end()
			return nil, &switchboard.StatusError{Status: 488, Reason: err.Error()}
		}
		return l, nil
	case strings.HasPrefix(req.Contact.URI, extPrefix):
		return p.ring(ctx, strings.TrimPrefix(req.Contact.URI, extPrefix), req)
	}
	return nil, fmt.Errorf("webphone: unknown browser contact %q", req.Contact.URI)
}

// pending takes the dial leg under key. p.mu held.
func (p *Phone) pending(key string) *webLeg {
	l := p.dialing[key]
	delete(p.dialing, key)
	return l
}

// indexPeer files a leg under its page's leg id, for the page's ICE.
func (p *Phone) indexPeer(l *webLeg, user int64, legID string) {
	p.mu.Lock()
	p.legByKey[legKey{user, legID}] = l
	p.mu.Unlock()
}

// forget drops every reference to a leg that ended.
func (p *Phone) forget(l *webLeg) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, v := range p.legByKey {
		if v == l {
			delete(p.legByKey, k)
		}
	}
	for k, v := range p.dialing {
		if v == l {
			delete(p.dialing, k)
		}
	}
	for k, v := range p.legs {
		if v == l {
			delete(p.legs, k)
		}
	}
}

// closePC closes a PeerConnection in the background (it may wait on the
// network); shutdown waits for it.
func (p *Phone) closePC(pc *webrtc.PeerConnection) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		if err := pc.Close(); err != nil {
			p.log.Debug("webphone: closing a PeerConnection", "err", err)
		}
	}()
}

// ring offers an incoming call to the open pages of extension ext: each
// shows it, one plays the ring tone. The leg answers when a page does.
func (p *Phone) ring(ctx context.Context, ext string, req switchboard.DialRequest) (switchboard.Outgoing, error) {
	pages := p.connsOfExtension(ext)
	if len(pages) == 0 {
		return nil, &switchboard.StatusError{Status: 480, Reason: "No page open"}
	}
	offer, err := media.ParseSDP(req.SDP)
	if err != nil {
		return nil, &switchboard.StatusError{Status: 488, Reason: "Not Acceptable Here"}
	}
	if c := offer.Audio().Codec; c != media.PCMU && c != media.PCMA {
		return nil, &switchboard.StatusError{Status: 488, Reason: "Not Acceptable Here"}
	}
	l := newWebLeg(p, pages[0].user.ID)
	l.ext, l.callID, l.engineOffer, l.offerSDP, l.ringing = ext, req.Call, offer, req.SDP, pages
	var snap switchboard.Snapshot
	if eng := p.engine(); eng != nil {
		snap, _ = eng.LiveCall(req.Call)
	}
	card := p.partnerCard(ctx, req.Call, snap)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, &switchboard.StatusError{Status: 480, Reason: "Stopping"}
	}
	p.legs[req.Call] = l
	p.mu.Unlock()
	call := p.callJSON(snap)
	ringer := pickRinger(pages)
	for _, c := range pages {
		c.send(incomingMsg{Type: "incoming", Call: call, Partner: card, Ring: c == ringer})
	}
	return l, nil
}

// partnerCard finds the caller's partner for an incoming call, once per call.
func (p *Phone) partnerCard(ctx context.Context, call string, s switchboard.Snapshot) *partnerCard {
	p.mu.Lock()
	card := p.partners[call]
	p.mu.Unlock()
	if card != nil || p.deps.FindPartner == nil || s.Number == "" {
		return card
	}
	pa, err := p.deps.FindPartner(ctx, s.Number)
	if err != nil {
		p.log.Warn("webphone: looking up the caller", "call", call, "err", err)
	}
	if pa != nil {
		card = &partnerCard{ID: pa.ID, Name: pa.Name, Company: pa.Company}
		for _, ph := range pa.Phones {
			card.Phones = append(card.Phones, partnerPhone{Type: ph.Type, Number: ph.Number})
		}
	}
	if card != nil {
		p.mu.Lock()
		p.partners[call] = card
		p.mu.Unlock()
	}
	return card
}

// pickRinger chooses the one page that plays the ring tone: the visible
// page seen last, else the page opened last.
func pickRinger(pages []*conn) *conn {
	var best *conn
	for _, c := range pages {
		if best == nil || c.rank().After(best.rank()) {
			best = c
		}
	}
	return best
}
