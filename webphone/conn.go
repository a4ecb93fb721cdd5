package webphone

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"phoned/auth"
	"phoned/media"
	"phoned/switchboard"
)

// WebSocket timing: a ping every pingEvery; a page silent (no pong, no
// message) for readWait is gone; a write blocked for writeWait means the
// page is stuck.
const (
	pingEvery = 20 * time.Second
	readWait  = 60 * time.Second
	writeWait = 10 * time.Second
	sendQueue = 256 // messages waiting for a slow page before it is dropped
)

// conn is one page's WebSocket. Its reader runs in the HTTP handler's
// goroutine; its writer is the only goroutine that writes to the socket.
type conn struct {
	p      *Phone
	ws     *websocket.Conn
	who    auth.Principal
	user   auth.User
	opened time.Time
	out    chan []byte
	done   chan struct{}
	once   sync.Once

	mu      sync.Mutex // guards the following
	visible bool
	seen    time.Time // when the page last said it is visible
}

func (c *conn) supervisor() bool { return c.who.Role.AtLeast(auth.RoleSupervisor) }

// rank orders pages for ringing: visible ones by when they were last
// seen, then hidden ones by when they opened.
func (c *conn) rank() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.visible {
		return c.seen.Add(100 * 365 * 24 * time.Hour)
	}
	return c.opened
}

// send queues a message for the page; a page that cannot keep up is
// dropped (it reconnects and gets a fresh hello).
func (c *conn) send(msg any) {
	b, err := marshal(msg)
	if err != nil {
		c.p.log.Error("webphone: encoding a message", "err", err)
		return
	}
	c.sendRaw(b)
}

func (c *conn) sendRaw(b []byte) {
	select {
	case <-c.done:
	case c.out <- b:
	default:
		c.p.log.Warn("webphone: a page does not keep up; closing its connection", "user", c.user.Login)
		c.close()
	}
}

// close ends the connection; the reader and the writer return.
func (c *conn) close() {
	c.once.Do(func() {
		close(c.done)
		_ = c.ws.Close()
	})
}

var upgrader = websocket.Upgrader{
	ReadBufferSize:  4096,
	WriteBufferSize: 4096,
	// The origin is checked before the upgrade, with an error in words.
	CheckOrigin: func(*http.Request) bool { return true },
}

// ServeHTTP serves GET /ws: the signalling of a logged-in user's page.
func (p *Phone) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	who, err := p.deps.Sessions.Session(r)
	if err != nil || who.User == nil {
		httpError(w, http.StatusUnauthorized, "log in first: the phone's connection needs a session")
		return
	}
	if !sameOrigin(r) {
		httpError(w, http.StatusForbidden, "the page's origin is not this server's")
		return
	}
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		httpError(w, http.StatusServiceUnavailable, "phoned is stopping")
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered
	}
	c := &conn{p: p, ws: ws, who: who, user: *who.User, opened: time.Now(), out: make(chan []byte, sendQueue), done: make(chan struct{})}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		_ = ws.Close()
		return
	}
	p.conns[c] = struct{}{}
	p.wg.Add(1)
	p.mu.Unlock()
	defer p.wg.Done()
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop()
	}()
	c.hello()
	c.readLoop(r.Context())
	c.close()
	<-writerDone
	p.dropConn(c)
}

// sameOrigin: the Origin header must name the host the page was served
// from (browsers always send it on a WebSocket upgrade).
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return false
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

func httpError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func (c *conn) writeLoop() {
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	for {
		select {
		case <-c.done:
			return
		case b := <-c.out:
			_ = c.ws.SetWriteDeadline(time.Now().Add(writeWait))
			if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
				c.close()
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				c.close()
				return
			}
		}
	}
}

func (c *conn) readLoop(ctx context.Context) {
	c.ws.SetReadLimit(maxMessage)
	_ = c.ws.SetReadDeadline(time.Now().Add(readWait))
	c.ws.SetPongHandler(func(string) error { return c.ws.SetReadDeadline(time.Now().Add(readWait)) })
	for {
		kind, b, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		_ = c.ws.SetReadDeadline(time.Now().Add(readWait))
		if kind != websocket.TextMessage {
			c.send(errorMsg{Type: "error", Code: "bad_request", Error: "messages are JSON text"})
			continue
		}
		m, err := parseMessage(b)
		if err != nil {
			c.send(errorMsg{Type: "error", Req: m.Req, Call: m.Call, Code: "bad_request", Error: err.Error()})
			continue
		}
		c.handle(context.WithoutCancel(ctx), m)
	}
}

// hello greets a page with who it is and the live calls of its agent; a
// call ringing for the agent rings this page too.
func (c *conn) hello() {
	h := helloMsg{Type: "hello", User: userJSON{ID: c.user.ID, Login: c.user.Login, Name: c.user.Name, Role: string(c.user.Role), Extension: c.user.Extension, TZ: c.user.TZ}, Calls: []callJSON{}}
	eng := c.p.engine()
	var ringing []callJSON
	if eng != nil {
		for _, s := range eng.Calls() {
			if s.UserID != c.user.ID {
				continue
			}
			cj := c.p.callJSON(s)
			h.Calls = append(h.Calls, cj)
			if l := c.p.legOf(s.ID); l != nil && l.addRinging(c) {
				ringing = append(ringing, cj)
			}
		}
	}
	c.send(h)
	for _, cj := range ringing {
		c.send(incomingMsg{Type: "incoming", Call: cj, Partner: c.p.partnerCard(context.Background(), cj.ID, cj.Snapshot)})
	}
}

func (c *conn) handle(ctx context.Context, m inMsg) {
	switch m.Type {
	case "dial":
		c.dial(ctx, m)
	case "answer":
		c.answer(m)
	case "reattach":
		c.reattach(m)
	case "reject":
		l := c.p.legOf(m.Call)
		if l == nil || l.ext != c.user.Extension || !l.refuse(603) {
			c.fail(m, "not_found", "no call of yours is ringing with that id")
		}
	case "hangup":
		c.hangup(ctx, m)
	case "ice":
		c.p.mu.Lock()
		l := c.p.legByKey[legKey{c.user.ID, m.Leg}]
		c.p.mu.Unlock()
		if l == nil {
			return // a late candidate of a leg that ended
		}
		l.mu.Lock()
		pr := l.peer
		l.mu.Unlock()
		if pr == nil || pr.id != m.Leg {
			return
		}
		if err := pr.addICE(m.Candidate); err != nil {
			c.fail(m, "bad_request", err.Error())
		}
	case "focus":
		c.mu.Lock()
		c.visible = *m.Visible
		if c.visible {
			c.seen = time.Now()
		}
		c.mu.Unlock()
	}
}

func (c *conn) fail(m inMsg, code, words string) {
	c.send(errorMsg{Type: "error", Req: m.Req, Call: m.Call, Code: code, Error: words})
}

// dial places a call from the page: phoned answers the browser's offer,
// then the engine calls the target with the browser as the agent's side.
func (c *conn) dial(ctx context.Context, m inMsg) {
	eng := c.p.engine()
	if eng == nil {
		c.fail(m, "failed", "calls are not available: phoned runs without its call engine")
		return
	}
	if n := c.p.legsOf(c.user.ID); n >= c.p.cfg.MaxCallsPerAgent {
		c.fail(m, "busy", "you have too many calls in the browser already: hang one up first")
		return
	}
	req, err := c.p.deps.Outbound(ctx, c.who, DialTarget{CallID: m.CallID, PartnerID: m.PartnerID, Number: m.Number})
	if err != nil {
		code, words := refusal(err)
		c.fail(m, code, words)
		return
	}
	l := newWebLeg(c.p, c.user.ID)
	pr, answer, err := l.connect(c, m.Leg, m.SDP, []media.Codec{media.PCMU, media.PCMA})
	if err != nil {
		c.fail(m, "bad_request", err.Error())
		return
	}
	key := pendingKey(c.user.ID, m.Leg)
	c.p.mu.Lock()
	c.p.dialing[key] = l
	c.p.mu.Unlock()
	req.Devices = []switchboard.Contact{{URI: legPrefix + key, Transport: contactTransport}}
	snap, err := eng.Outbound(ctx, req)
	if err != nil {
		l.end()
		code, words := refusal(err)
		c.fail(m, code, words)
		return
	}
	l.mu.Lock()
	l.state, l.callID = legLive, snap.ID
	l.mu.Unlock()
	c.p.mu.Lock()
	c.p.legs[snap.ID] = l
	c.p.mu.Unlock()
	c.send(sdpMsg{Type: "sdp", Req: m.Req, Call: snap.ID, Leg: m.Leg, SDP: answer})
	pr.sent()
	if s, ok := eng.LiveCall(snap.ID); ok {
		snap = s
	}
	c.send(callMsg{Type: "call", Call: c.p.callJSON(snap)})
}

func pendingKey(user int64, leg string) string {
	return strings.Join([]string{itoa(user), leg}, "/")
}

// answer takes a ringing call in this page.
func (c *conn) answer(m inMsg) {
	l := c.p.legOf(m.Call)
	if l == nil || l.ext != c.user.Extension {
		c.fail(m, "not_found", "no call of yours is ringing with that id")
		return
	}
	pr, answer, err := l.answer(c, m.Leg, m.SDP)
	if err != nil {
		c.fail(m, "failed", err.Error())
		return
	}
	c.send(sdpMsg{Type: "sdp", Call: m.Call, Leg: m.Leg, SDP: answer})
	pr.sent()
}

// reattach moves a live call of this agent to a new PeerConnection of
// this page (after a reload or a lost connection).
func (c *conn) reattach(m inMsg) {
	l := c.p.legOf(m.Call)
	if l == nil || l.user != c.user.ID {
		c.fail(m, "not_found", "no live call of yours in the browser has that id")
		return
	}
	l.mu.Lock()
	live, codec := l.state == legLive, l.codec
	l.mu.Unlock()
	if !live {
		c.fail(m, "not_found", "that call is not live")
		return
	}
	pr, answer, err := l.connect(c, m.Leg, m.SDP, []media.Codec{codec})
	if err != nil {
		c.fail(m, "failed", err.Error())
		return
	}
	c.send(sdpMsg{Type: "sdp", Call: m.Call, Leg: m.Leg, SDP: answer})
	pr.sent()
	c.p.log.Info("webphone: a page reattached to its call", "call", m.Call, "user", c.user.Login)
	if eng := c.p.engine(); eng != nil {
		if s, ok := eng.LiveCall(m.Call); ok {
			c.p.Watch(s)
		}
	}
}

// hangup ends a call: the agent's own, or any for a supervisor.
func (c *conn) hangup(ctx context.Context, m inMsg) {
	eng := c.p.engine()
	if eng == nil {
		c.fail(m, "not_found", "no such call")
		return
	}
	s, ok := eng.LiveCall(m.Call)
	if !ok || (s.UserID != c.user.ID && !c.supervisor()) {
		c.fail(m, "not_found", "no live call of yours has that id")
		return
	}
	if l := c.p.legOf(m.Call); l != nil && l.refuse(603) {
		return // still ringing: a hang-up refuses it
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := eng.Hangup(ctx, m.Call); err != nil && !errors.Is(err, switchboard.ErrNoCall) {
		c.fail(m, "failed", "hanging up: "+err.Error())
	}
}

// legsOf counts an agent's browser legs, live or being dialled.
func (p *Phone) legsOf(user int64) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	seen := map[*webLeg]bool{}
	for _, l := range p.legs {
		if l.user == user {
			seen[l] = true
		}
	}
	for _, l := range p.dialing {
		if l.user == user {
			seen[l] = true
		}
	}
	return len(seen)
}

// legOf returns the browser leg of a call.
func (p *Phone) legOf(call string) *webLeg {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.legs[call]
}

// dropConn forgets a page that went away: its live calls wait for a
// reattach; a call ringing only there stops ringing (480).
func (p *Phone) dropConn(c *conn) {
	p.mu.Lock()
	delete(p.conns, c)
	var left bool
	for o := range p.conns {
		if o.user.ID == c.user.ID {
			left = true
		}
	}
	legs := make([]*webLeg, 0)
	for _, l := range p.legs {
		legs = append(legs, l)
	}
	p.mu.Unlock()
	for _, l := range legs {
		l.mu.Lock()
		pr, state := l.peer, l.state
		l.mu.Unlock()
		switch {
		case state == legLive && pr != nil && pr.owner == c:
			l.lost(pr, "the page's connection closed")
		case state == legRinging && !left && l.user == c.user.ID:
			l.refuse(480)
		}
	}
}

// addRinging adds a page to those told of a ringing call; false if it no
// longer rings.
func (l *webLeg) addRinging(c *conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state != legRinging || l.ext != c.user.Extension {
		return false
	}
	l.ringing = append(l.ringing, c)
	return true
}

// refusal turns a refused dial into a code and words for the agent.
func refusal(err error) (code, words string) {
	words = err.Error()
	var pm interface{ PublicMessage() string }
	if errors.As(err, &pm) {
		words = pm.PublicMessage()
	}
	switch {
	case errors.Is(err, switchboard.ErrNotAllowed):
		code = "not_allowed"
	case errors.Is(err, switchboard.ErrBadNumber):
		code = "bad_number"
	case errors.Is(err, switchboard.ErrNoRoute):
		code = "no_route"
	case errors.Is(err, switchboard.ErrNoDevice):
		code = "no_device"
	case errors.Is(err, switchboard.ErrNoExtension):
		code = "forbidden"
	case errors.Is(err, switchboard.ErrDraining):
		code, words = "failed", "phoned is stopping: it takes no new calls"
	default:
		code = "failed"
		var st interface{ HTTPStatus() int }
		if errors.As(err, &st) {
			switch st.HTTPStatus() {
			case http.StatusBadRequest:
				code = "bad_request"
			case http.StatusForbidden:
				code = "forbidden"
			}
		}
	}
	return code, words
}

// marshal encodes a message without HTML escaping (SDP has no markup, and
// the page parses JSON, not HTML).
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// decodeStrict decodes exactly one JSON object with known fields only.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("more than one JSON value")
	}
	return nil
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
