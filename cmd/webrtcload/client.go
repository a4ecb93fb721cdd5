package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

func itoa(n int) string { return strconv.Itoa(n) }

// flow is one stream of probes and its echo: a call's browser side (a pion
// client) or a baseline flow (a plain UDP socket). The sender owns seq and
// sent; the receiver owns rtts (read after it stopped).
type flow struct {
	id   uint32
	ssrc uint32
	send func(*rtp.Packet) error

	seq      uint32
	sent     int64 // measured probes sent
	sendErrs int64

	recv      atomic.Int64 // measured probes back
	misrouted atomic.Int64
	rttsUS    []int32
}

// received takes a payload that came back.
func (f *flow) received(payload []byte, now int64) {
	p, ok := readProbe(payload)
	if !ok {
		return
	}
	if p.flow != f.id {
		f.misrouted.Add(1)
		return
	}
	if p.measured {
		f.recv.Add(1)
		f.rttsUS = append(f.rttsUS, usSince(p.sent, now))
	}
}

// page is one WebSocket to phoned as alice, carrying the signalling of
// several calls.
type page struct {
	ws  *websocket.Conn
	wmu sync.Mutex // one writer at a time

	mu     sync.Mutex
	byReq  map[string]*client
	byLeg  map[string]*client
	byCall map[string]*client
	done   chan struct{}
}

func openPage(ctx context.Context, base, cookie string) (*page, error) {
	u := "ws" + strings.TrimPrefix(base, "http") + "ws"
	h := http.Header{}
	h.Set("Cookie", "phoned_session="+cookie)
	h.Set("Origin", strings.TrimSuffix(base, "/"))
	ws, resp, err := websocket.DefaultDialer.DialContext(ctx, u, h)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("WebSocket: %w (%s)", err, resp.Status)
		}
		return nil, fmt.Errorf("WebSocket: %w", err)
	}
	pg := &page{ws: ws, byReq: map[string]*client{}, byLeg: map[string]*client{}, byCall: map[string]*client{}, done: make(chan struct{})}
	go pg.readLoop()
	return pg, nil
}

func (pg *page) write(m any) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	pg.wmu.Lock()
	defer pg.wmu.Unlock()
	_ = pg.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return pg.ws.WriteMessage(websocket.TextMessage, b)
}

func (pg *page) close() {
	_ = pg.ws.Close()
	<-pg.done
}

type inMsg struct {
	Type      string          `json:"type"`
	Req       string          `json:"req"`
	Leg       string          `json:"leg"`
	Call      json.RawMessage `json:"call"` // an id (sdp, error) or a snapshot (call)
	SDP       string          `json:"sdp"`
	Candidate json.RawMessage `json:"candidate"`
	Code      string          `json:"code"`
	Error     string          `json:"error"`
}

// readLoop reads phoned's messages and hands each to its call. The answer
// is applied here, before any candidate that follows it.
func (pg *page) readLoop() {
	defer close(pg.done)
	for {
		_, b, err := pg.ws.ReadMessage()
		if err != nil {
			return
		}
		var m inMsg
		if json.Unmarshal(b, &m) != nil {
			continue
		}
		switch m.Type {
		case "sdp":
			pg.mu.Lock()
			c := pg.byReq[m.Req]
			var id string
			_ = json.Unmarshal(m.Call, &id)
			if c != nil {
				pg.byCall[id] = c
			}
			pg.mu.Unlock()
			if c != nil {
				c.gotAnswer(id, m.SDP)
			}
		case "ice":
			pg.mu.Lock()
			c := pg.byLeg[m.Leg]
			pg.mu.Unlock()
			if c != nil && len(m.Candidate) > 0 && string(m.Candidate) != "null" {
				var ci webrtc.ICECandidateInit
				if json.Unmarshal(m.Candidate, &ci) == nil && ci.Candidate != "" {
					_ = c.pc.AddICECandidate(ci)
				}
			}
		case "call":
			var snap struct {
				ID    string `json:"id"`
				State string `json:"state"`
			}
			if json.Unmarshal(m.Call, &snap) != nil {
				continue
			}
			pg.mu.Lock()
			c := pg.byCall[snap.ID]
			pg.mu.Unlock()
			if c != nil {
				c.state(snap.State)
			}
		case "error":
			pg.mu.Lock()
			c := pg.byReq[m.Req]
			pg.mu.Unlock()
			if c != nil {
				c.fail(fmt.Errorf("phoned: %s: %s", m.Code, m.Error))
			}
		}
	}
}

// client is one browser call: a PeerConnection whose signalling goes
// over a page.
type client struct {
	f     *flow
	pg    *page
	leg   string
	pc    *webrtc.PeerConnection
	track *webrtc.TrackLocalStaticRTP

	mu       sync.Mutex
	dialSent bool
	queued   []any // candidates found before the dial was sent
	callID   string
	err      error
	answered bool

	reading    atomic.Bool   // the track reader started
	readDone   chan struct{} // closed when it ended
	answerc    chan struct{} // closed when phoned's answer is applied
	connected  chan struct{} // closed when the PeerConnection is connected
	upc        chan struct{} // closed when the call is answered
	endedc     chan struct{} // closed when the call ended
	failc      chan struct{} // closed on the first failure
	failOnce   sync.Once
	answerOnce sync.Once
	connOnce   sync.Once
	upOnce     sync.Once
	endOnce    sync.Once
}

// newClientAPI is the pion API of every client: PCMU and telephone-event,
// host candidates on loopback only, and pion's default interceptors
// (RTCP reports, NACK, TWCC), as phoned's API has them and as a browser
// sends RTCP.
func newClientAPI() (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	for _, c := range []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, PayloadType: 0},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "audio/telephone-event", ClockRate: 8000, SDPFmtpLine: "0-16"}, PayloadType: 101},
	} {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, err
		}
	}
	var s webrtc.SettingEngine
	s.SetIncludeLoopbackCandidate(true)
	s.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	s.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(s)), nil
}

// dialCall makes a client on pg and dials number; it returns once the
// call is answered and its media connected, or fails.
func dialCall(ctx context.Context, api *webrtc.API, pg *page, f *flow, number string, within time.Duration) (*client, error) {
	c := &client{f: f, pg: pg, leg: "leg" + itoa(int(f.id)),
		readDone: make(chan struct{}), answerc: make(chan struct{}), connected: make(chan struct{}), upc: make(chan struct{}), endedc: make(chan struct{}), failc: make(chan struct{})}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	c.pc = pc
	c.track, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, "mic", "page"+itoa(int(f.id)))
	if err != nil {
		pc.Close()
		return nil, err
	}
	if _, err := pc.AddTrack(c.track); err != nil {
		pc.Close()
		return nil, err
	}
	f.send = c.track.WriteRTP
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		var v any
		if cand != nil {
			v = cand.ToJSON()
		}
		m := map[string]any{"type": "ice", "leg": c.leg, "candidate": v}
		c.mu.Lock()
		if !c.dialSent {
			c.queued = append(c.queued, m)
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		_ = pg.write(m)
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			c.connOnce.Do(func() { close(c.connected) })
		case webrtc.PeerConnectionStateFailed:
			c.fail(errors.New("the PeerConnection failed"))
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if !c.reading.CompareAndSwap(false, true) {
			return // one audio track per call
		}
		defer close(c.readDone)
		buf := make([]byte, 1500)
		var pkt rtp.Packet
		for {
			n, _, err := tr.Read(buf)
			if err != nil {
				return
			}
			now := time.Now().UnixNano()
			if pkt.Unmarshal(buf[:n]) != nil {
				continue
			}
			f.received(pkt.Payload, now)
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err == nil {
		err = pc.SetLocalDescription(offer)
	}
	if err != nil {
		pc.Close()
		return nil, err
	}
	req := "r" + itoa(int(f.id))
	pg.mu.Lock()
	pg.byReq[req] = c
	pg.byLeg[c.leg] = c
	pg.mu.Unlock()
	if err := pg.write(map[string]any{"type": "dial", "req": req, "leg": c.leg, "sdp": offer.SDP, "number": number}); err != nil {
		pc.Close()
		return nil, err
	}
	c.mu.Lock()
	c.dialSent = true
	queued := c.queued
	c.queued = nil
	c.mu.Unlock()
	for _, m := range queued {
		_ = pg.write(m)
	}
	timer := time.NewTimer(within)
	defer timer.Stop()
	for _, ch := range []chan struct{}{c.answerc, c.connected, c.upc} {
		select {
		case <-ch:
		case <-c.failc:
			return c, c.err
		case <-timer.C:
			return c, fmt.Errorf("call %s not up within %v", c.leg, within)
		case <-ctx.Done():
			return c, ctx.Err()
		}
	}
	return c, nil
}

func (c *client) gotAnswer(call, sdp string) {
	c.mu.Lock()
	c.callID = call
	c.mu.Unlock()
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		c.fail(fmt.Errorf("phoned's answer: %w", err))
		return
	}
	c.answerOnce.Do(func() { close(c.answerc) })
}

func (c *client) state(s string) {
	switch s {
	case "answered":
		c.upOnce.Do(func() { close(c.upc) })
	case "ended":
		c.endOnce.Do(func() { close(c.endedc) })
		c.fail(errors.New("the call ended"))
	}
}

func (c *client) fail(err error) {
	c.failOnce.Do(func() {
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
		close(c.failc)
	})
}

// closeAndWait closes the PeerConnection and waits (2 s at most) for
// its track reader to end, so that the figures it wrote can be read.
func (c *client) closeAndWait() {
	_ = c.pc.Close()
	if c.reading.Load() {
		select {
		case <-c.readDone:
		case <-time.After(2 * time.Second):
		}
	}
}

// hangup asks phoned to end the call.
func (c *client) hangup() error {
	c.mu.Lock()
	id := c.callID
	c.mu.Unlock()
	if id == "" {
		return nil
	}
	return c.pg.write(map[string]any{"type": "hangup", "call": id})
}

// baselineFlow sends to an echoSock over one direct loopback hop.
type baselineFlow struct {
	f    *flow
	conn *net.UDPConn
	done chan struct{}
}

func newBaselineFlow(id uint32, to *echoSock) (*baselineFlow, error) {
	conn, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(to.port())})
	if err != nil {
		return nil, err
	}
	_ = conn.SetReadBuffer(1 << 20)
	b := &baselineFlow{f: &flow{id: id, ssrc: id}, conn: conn, done: make(chan struct{})}
	buf := make([]byte, 1500)
	b.f.send = func(p *rtp.Packet) error {
		n, err := p.MarshalTo(buf)
		if err != nil {
			return err
		}
		_, err = conn.Write(buf[:n])
		return err
	}
	go func() {
		defer close(b.done)
		rb := make([]byte, 1500)
		for {
			n, err := conn.Read(rb)
			if err != nil {
				return
			}
			b.f.received(rtpPayload(rb[:n]), time.Now().UnixNano())
		}
	}()
	return b, nil
}

func (b *baselineFlow) close() {
	_ = b.conn.Close()
	<-b.done
}

// Send phases: 0 warm-up (probes not counted), 1 measured, 2 stop.
const (
	phaseWarmup int32 = iota
	phaseMeasured
	phaseStop
)

// sendAll sends one probe every 20 ms on every flow until phase is
// phaseStop, spreading the flows over ten phases so that packets leave
// evenly. A phase that falls behind (a busy machine) catches up at once,
// as cmd/rtpload's generator does.
func sendAll(flows []*flow, phase *atomic.Int32) {
	const (
		groups = 10
		ptime  = 20 * time.Millisecond
	)
	start := time.Now()
	var wg sync.WaitGroup
	for g := range groups {
		var mine []*flow
		for i := g; i < len(flows); i += groups {
			mine = append(mine, flows[i])
		}
		if len(mine) == 0 {
			continue
		}
		wg.Go(func() {
			payload := make([]byte, payloadLen)
			for i := range payload {
				payload[i] = 0xff // PCMU silence
			}
			binary.BigEndian.PutUint32(payload, probeMagic)
			pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0}, Payload: payload}
			offset := ptime * time.Duration(g) / groups
			timer := time.NewTimer(offset)
			defer timer.Stop()
			for rounds := 0; ; {
				<-timer.C
				due := int((time.Since(start)-offset)/ptime) + 1
				for ; rounds < due; rounds++ {
					ph := phase.Load()
					if ph == phaseStop {
						return
					}
					for _, f := range mine {
						f.seq++
						binary.BigEndian.PutUint32(payload[offFlow:], f.id)
						binary.BigEndian.PutUint32(payload[offSeq:], f.seq)
						payload[offMeasure] = 0
						if ph == phaseMeasured {
							payload[offMeasure] = 1
						}
						pkt.SequenceNumber = uint16(f.seq)
						pkt.Timestamp = f.seq * 160
						pkt.SSRC = f.ssrc
						binary.BigEndian.PutUint64(payload[offSent:], uint64(time.Now().UnixNano()))
						if err := f.send(pkt); err != nil {
							f.sendErrs++
							continue
						}
						if ph == phaseMeasured {
							f.sent++
						}
					}
				}
				timer.Reset(time.Until(start.Add(offset + time.Duration(rounds)*ptime)))
			}
		})
	}
	wg.Wait()
}
