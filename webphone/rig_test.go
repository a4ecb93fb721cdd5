package webphone

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"phoned/auth"
	"phoned/comm"
	"phoned/crm"
	"phoned/media"
	"phoned/switchboard"
)

// The rig: a real switchboard engine and a real Phone behind an HTTP test
// server, pion clients standing in for browsers, and at the SIP boundary
// a fake signalling peer whose media is a real UDP echo (it sends back
// every RTP packet it gets, and records their payload types).

var loopback = netip.MustParseAddr("127.0.0.1")

type rig struct {
	t      *testing.T
	phone  *Phone
	engine *switchboard.Engine
	srv    *httptest.Server
	sip    *echoDialer
	events *memEvents
	users  map[string]auth.User
	cancel context.CancelFunc
	served chan struct{}
}

func newRig(t *testing.T, cfg Config) *rig {
	t.Helper()
	r := &rig{t: t, sip: &echoDialer{t: t}, events: &memEvents{}, served: make(chan struct{}),
		users: map[string]auth.User{
			"alice": {ID: 1, Login: "alice", Name: "Alice Agent", Role: auth.RoleAgent, Extension: "101"},
			"bob":   {ID: 2, Login: "bob", Name: "Bob Agent", Role: auth.RoleAgent, Extension: "102"},
			"sam":   {ID: 3, Login: "sam", Name: "Sam Super", Role: auth.RoleSupervisor, Extension: "103"},
		}}
	cfg.IP = loopback
	if cfg.Grace == 0 {
		cfg.Grace = 2 * time.Second
	}
	cfg.QueuePoll = 20 * time.Millisecond
	var version atomic.Uint64
	p, err := New(cfg, Deps{
		Sessions: sessions(r.users),
		Outbound: func(_ context.Context, pr auth.Principal, tg DialTarget) (switchboard.OutboundRequest, error) {
			u := pr.User
			return switchboard.OutboundRequest{Agent: switchboard.Agent{UserID: u.ID, Login: u.Login, Name: u.Name, Extension: u.Extension}, Target: tg.Number}, nil
		},
		QueueVersion: version.Load,
		FindPartner: func(_ context.Context, number string) (*crm.Partner, error) {
			if number == "+3225550199" {
				return &crm.Partner{ID: 42, Name: "Grace Hopper", Company: "Navy", Phones: []crm.Phone{{Type: "work", Number: number}}}, nil
			}
			return nil, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ports, err := media.NewPortAllocator(media.PortRange{Min: 36000, Max: 36999})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := switchboard.NewDialPlan("BE", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.engine = switchboard.New(switchboard.Config{MediaIP: loopback, DialPlan: plan, RingTimeout: 5 * time.Second},
		switchboard.Deps{Agents: p.Agents(agentsOf(r.users)), Events: r.events, Dialer: p.Dialer(r.sip), Ports: ports, Watch: p.Watch, OnDTMF: p.OnDTMF})
	p.SetEngine(r.engine)
	r.phone = p
	mux := http.NewServeMux()
	mux.Handle("GET /ws", p)
	r.srv = httptest.NewServer(mux)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	engineDone := make(chan struct{})
	go func() { defer close(engineDone); _ = r.engine.Serve(ctx, 0) }()
	go func() { defer close(r.served); _ = p.Serve(ctx); <-engineDone }()
	t.Cleanup(r.stop)
	return r
}

func (r *rig) stop() {
	r.cancel()
	<-r.served
	r.srv.Close()
	r.sip.close()
}

// sessions maps the cookie "session=<login>" to the user.
type sessions map[string]auth.User

func (s sessions) Session(req *http.Request) (auth.Principal, error) {
	c, err := req.Cookie("session")
	if err != nil {
		return auth.Principal{}, errors.New("no session")
	}
	u, ok := s[c.Value]
	if !ok {
		return auth.Principal{}, errors.New("unknown session")
	}
	return auth.Principal{Role: u.Role, User: &u}, nil
}

// agentsOf knows the users' extensions; none has a SIP phone registered.
type agentsOf map[string]auth.User

func (a agentsOf) AgentByExtension(_ context.Context, ext string) (switchboard.Agent, error) {
	for _, u := range a {
		if u.Extension == ext {
			return switchboard.Agent{UserID: u.ID, Login: u.Login, Name: u.Name, Extension: u.Extension}, nil
		}
	}
	return switchboard.Agent{}, switchboard.ErrNoAgent
}

func (a agentsOf) Contacts(context.Context, string) ([]switchboard.Contact, error) { return nil, nil }

// memEvents keeps the communication events in memory.
type memEvents struct {
	mu     sync.Mutex
	starts []comm.EventStart
	ends   map[int64]comm.EventEnd
}

func (m *memEvents) StartEvent(_ context.Context, s comm.EventStart) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.starts = append(m.starts, s)
	return int64(len(m.starts)), nil
}
func (m *memEvents) AnswerEvent(context.Context, int64, time.Time) error { return nil }
func (m *memEvents) EndEvent(_ context.Context, id int64, e comm.EventEnd) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ends == nil {
		m.ends = map[int64]comm.EventEnd{}
	}
	m.ends[id] = e
	return nil
}
func (m *memEvents) SetEventTarget(context.Context, int64, string) error { return nil }

func (m *memEvents) end(id int64) (comm.EventEnd, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.ends[id]
	return e, ok
}

// echoDialer answers every call to a number with a UDP echo.
type echoDialer struct {
	t     *testing.T
	mu    sync.Mutex
	calls []*echoCall
}

func (d *echoDialer) DialsOutside() bool { return true }

func (d *echoDialer) Dial(_ context.Context, req switchboard.DialRequest) (switchboard.Outgoing, error) {
	offer, err := media.ParseSDP(req.SDP)
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	addr := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	answer, _, err := media.NewSession().Answer(offer, netip.AddrPortFrom(loopback, addr.Port()), []media.Codec{media.PCMU, media.PCMA, media.TelephoneEvent}, media.SendRecv)
	if err != nil {
		conn.Close()
		return nil, err
	}
	c := &echoCall{conn: conn, answer: answer, gone: make(chan struct{}), number: req.Number, done: make(chan struct{})}
	go c.echo()
	d.mu.Lock()
	d.calls = append(d.calls, c)
	d.mu.Unlock()
	return c, nil
}

func (d *echoDialer) last() *echoCall {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.calls) == 0 {
		return nil
	}
	return d.calls[len(d.calls)-1]
}

func (d *echoDialer) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.calls {
		c.stop()
	}
}

// echoCall is the party called: its media echo, and its signalling as
// a fake Outgoing.
type echoCall struct {
	conn     *net.UDPConn
	answer   []byte
	number   string
	gone     chan struct{}
	goneOnce sync.Once
	done     chan struct{}
	hungUp   atomic.Bool
	packets  atomic.Int64
	// reanswerHold answers re-INVITEs (hold and resume) with the reverse
	// direction; without it they are refused (488).
	reanswerHold bool
	mu           sync.Mutex
	pts          map[uint8]int // payload types received
	from         netip.AddrPort
}

func (c *echoCall) echo() {
	defer close(c.done)
	buf := make([]byte, 1500)
	for {
		n, from, err := c.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		if n < 12 {
			continue
		}
		c.packets.Add(1)
		c.mu.Lock()
		if c.pts == nil {
			c.pts = map[uint8]int{}
		}
		c.pts[buf[1]&0x7f]++
		c.from = from
		c.mu.Unlock()
		_, _ = c.conn.WriteToUDPAddrPort(buf[:n], from)
	}
}

// inject sends one packet to phoned from the party called (to where its
// packets come from).
func (c *echoCall) inject(pkt []byte) error {
	c.mu.Lock()
	to := c.from
	c.mu.Unlock()
	if !to.IsValid() {
		return errors.New("no packet from phoned yet")
	}
	_, err := c.conn.WriteToUDPAddrPort(pkt, to)
	return err
}

func (c *echoCall) stop() {
	_ = c.conn.Close()
	<-c.done
}

func (c *echoCall) payloadTypes() map[uint8]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[uint8]int{}
	for k, v := range c.pts {
		out[k] = v
	}
	return out
}

func (c *echoCall) Wait(_ context.Context, onRinging func(int)) ([]byte, error) {
	onRinging(180)
	return c.answer, nil
}
func (c *echoCall) Ack(context.Context) error { return nil }
func (c *echoCall) Hangup(context.Context) error {
	c.hungUp.Store(true)
	c.goneOnce.Do(func() { close(c.gone) })
	return nil
}
func (c *echoCall) Reinvite(_ context.Context, sdp []byte) ([]byte, error) {
	if !c.reanswerHold {
		return nil, &switchboard.StatusError{Status: 488}
	}
	d, err := media.ParseSDP(sdp)
	if err != nil {
		return nil, err
	}
	addr := c.conn.LocalAddr().(*net.UDPAddr).AddrPort()
	b, _, err := media.NewSession().Answer(d, netip.AddrPortFrom(loopback, addr.Port()), []media.Codec{media.PCMU, media.PCMA, media.TelephoneEvent}, d.Direction.Reverse())
	return b, err
}
func (c *echoCall) Refer(context.Context, switchboard.ReferTarget) error {
	return &switchboard.StatusError{Status: 501}
}
func (c *echoCall) SendInfoDTMF(context.Context, rune, time.Duration) error { return nil }
func (c *echoCall) Gone() <-chan struct{}                                   { return c.gone }

// page is a pion client standing in for a browser page: a WebSocket with
// the session cookie and phoned's origin, and a PeerConnection per call.
type page struct {
	t    *testing.T
	ws   *websocket.Conn
	msgs chan map[string]any
	mu   sync.Mutex
	pc   *webrtc.PeerConnection
	leg  string

	wmu      sync.Mutex // one writer at a time on ws
	hello    map[string]any
	backlog  []map[string]any // messages read while waiting for something else
	received atomic.Int64     // RTP packets from phoned
	recvPT   sync.Map         // payload type -> count
	onPacket func(*rtp.Packet)
}

func (r *rig) open(login string, origin ...string) *page {
	r.t.Helper()
	ws, resp, err := r.dial(login, origin...)
	if err != nil {
		r.t.Fatalf("WebSocket for %s: %v (%v)", login, err, resp)
	}
	pg := &page{t: r.t, ws: ws, msgs: make(chan map[string]any, 256)}
	go func() {
		defer close(pg.msgs)
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				return
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				pg.t.Errorf("phoned sent a message that is not JSON: %v: %s", err, b)
				continue
			}
			pg.msgs <- m
		}
	}()
	r.t.Cleanup(pg.close)
	pg.hello = pg.expect("hello", 5*time.Second)
	return pg
}

func (r *rig) dial(login string, origin ...string) (*websocket.Conn, *http.Response, error) {
	u := "ws" + strings.TrimPrefix(r.srv.URL, "http") + "/ws"
	h := http.Header{}
	if login != "" {
		h.Set("Cookie", "session="+login)
	}
	if len(origin) > 0 {
		h.Set("Origin", origin[0])
	} else {
		h.Set("Origin", r.srv.URL)
	}
	return websocket.DefaultDialer.Dial(u, h)
}

func (pg *page) write(m any) error {
	pg.wmu.Lock()
	defer pg.wmu.Unlock()
	return pg.ws.WriteJSON(m)
}

func (pg *page) close() {
	_ = pg.ws.Close()
	pg.mu.Lock()
	pc := pg.pc
	pg.mu.Unlock()
	if pc != nil {
		_ = pc.Close()
	}
}

func (pg *page) send(m map[string]any) {
	pg.t.Helper()
	if err := pg.write(m); err != nil {
		pg.t.Fatalf("send %v: %v", m["type"], err)
	}
}

// expect returns the next message of type typ, applying ICE candidates
// met on the way; other messages are skipped.
func (pg *page) expect(typ string, within time.Duration) map[string]any {
	pg.t.Helper()
	for i, m := range pg.backlog {
		if m["type"] == typ {
			pg.backlog = append(pg.backlog[:i:i], pg.backlog[i+1:]...)
			return m
		}
	}
	deadline := time.After(within)
	for {
		select {
		case m, ok := <-pg.msgs:
			if !ok {
				pg.t.Fatalf("connection closed while waiting for %q", typ)
			}
			if testing.Verbose() && m["type"] != "ice" {
				pg.t.Logf("page got %v", m)
			}
			if m["type"] == "ice" {
				pg.addICE(m)
			}
			if m["type"] == typ {
				return m
			}
			if m["type"] != "ice" {
				pg.backlog = append(pg.backlog, m) // for a later expect
			}
		case <-deadline:
			pg.t.Fatalf("no %q message within %v", typ, within)
		}
	}
}

// expectCall waits for a call snapshot in state.
func (pg *page) expectCall(state string, within time.Duration) map[string]any {
	pg.t.Helper()
	deadline := time.Now().Add(within)
	for {
		m := pg.expect("call", time.Until(deadline))
		c := m["call"].(map[string]any)
		if c["state"] == state {
			return c
		}
	}
}

func (pg *page) addICE(m map[string]any) {
	pg.mu.Lock()
	pc, leg := pg.pc, pg.leg
	pg.mu.Unlock()
	if pc == nil || m["leg"] != leg || m["candidate"] == nil {
		return
	}
	b, _ := json.Marshal(m["candidate"])
	var c webrtc.ICECandidateInit
	if json.Unmarshal(b, &c) == nil && c.Candidate != "" {
		_ = pc.AddICECandidate(c)
	}
}

// offer makes a new PeerConnection (PCMU, PCMA and telephone-event on
// the browser's payload type 126, as Chrome numbers it) and returns its
// offer; candidates trickle to phoned under leg.
func (pg *page) offer(leg string) (string, *webrtc.TrackLocalStaticRTP) {
	pg.t.Helper()
	m := &webrtc.MediaEngine{}
	for _, c := range []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, PayloadType: 0},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMA, ClockRate: 8000}, PayloadType: 8},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: mimeTelephoneEvent, ClockRate: 8000}, PayloadType: 126},
	} {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			pg.t.Fatal(err)
		}
	}
	var s webrtc.SettingEngine
	s.SetIncludeLoopbackCandidate(true)
	s.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	s.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(s))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		pg.t.Fatal(err)
	}
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, "mic", "page")
	if err != nil {
		pg.t.Fatal(err)
	}
	if _, err := pc.AddTrack(track); err != nil {
		pg.t.Fatal(err)
	}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		var cand any
		if c != nil {
			cand = c.ToJSON()
		}
		_ = pg.write(map[string]any{"type": "ice", "leg": leg, "candidate": cand})
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			pg.received.Add(1)
			v, _ := pg.recvPT.LoadOrStore(p.PayloadType, new(atomic.Int64))
			v.(*atomic.Int64).Add(1)
			if pg.onPacket != nil {
				pg.onPacket(p)
			}
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		pg.t.Fatal(err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		pg.t.Fatal(err)
	}
	pg.mu.Lock()
	old := pg.pc
	pg.pc, pg.leg = pc, leg
	pg.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	return offer.SDP, track
}

// setAnswer applies phoned's answer.
func (pg *page) setAnswer(sdp string) {
	pg.t.Helper()
	pg.mu.Lock()
	pc := pg.pc
	pg.mu.Unlock()
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		pg.t.Fatal(err)
	}
}

// dialAnswered dials number from a new PeerConnection (leg) and waits
// until its media connected and the call is answered; it returns the
// call's id and the page's microphone track.
func (pg *page) dialAnswered(leg, number string) (string, *webrtc.TrackLocalStaticRTP) {
	pg.t.Helper()
	sdp, track := pg.offer(leg)
	pg.send(map[string]any{"type": "dial", "leg": leg, "sdp": sdp, "number": number})
	ans := pg.expect("sdp", 5*time.Second)
	pg.setAnswer(ans["sdp"].(string))
	pg.waitConnected(10 * time.Second)
	pg.expectCall("answered", 10*time.Second)
	return ans["call"].(string), track
}

// answerCall answers a call ringing in the page from a new PeerConnection
// (leg) and waits until its media connected; it returns the microphone
// track.
func (pg *page) answerCall(call, leg string) *webrtc.TrackLocalStaticRTP {
	pg.t.Helper()
	sdp, track := pg.offer(leg)
	pg.send(map[string]any{"type": "answer", "call": call, "leg": leg, "sdp": sdp})
	pg.setAnswer(pg.expect("sdp", 5*time.Second)["sdp"].(string))
	pg.waitConnected(10 * time.Second)
	return track
}

// waitConnected waits for the PeerConnection to connect.
func (pg *page) waitConnected(within time.Duration) {
	pg.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		pg.mu.Lock()
		pc := pg.pc
		pg.mu.Unlock()
		if pc.ConnectionState() == webrtc.PeerConnectionStateConnected {
			return
		}
		// ICE from phoned arrives as messages: apply them while waiting.
		select {
		case m := <-pg.msgs:
			if m["type"] == "ice" {
				pg.addICE(m)
			} else {
				pg.backlog = append(pg.backlog, m)
			}
		case <-time.After(20 * time.Millisecond):
		}
	}
	pg.t.Fatalf("the PeerConnection did not connect within %v", within)
}

// sendAudio sends n PCMU packets of 20 ms with payload type pt.
func sendAudio(t *testing.T, track *webrtc.TrackLocalStaticRTP, n int, seq0 uint16, pt uint8) {
	t.Helper()
	payload := make([]byte, 160)
	for i := 0; i < n; i++ {
		p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq0 + uint16(i), Timestamp: uint32(i) * 160, SSRC: 0x1234}, Payload: payload}
		if err := track.WriteRTP(p); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitFor(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
