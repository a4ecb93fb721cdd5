package switchboard

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"phoned/comm"
	"phoned/media"
)

// fakeIncoming is the caller's INVITE as the SIP layer would hand it over.
type fakeIncoming struct {
	offer []byte
	gone  chan struct{}

	mu       sync.Mutex
	rang     int
	answer   []byte
	rejected int
	hungUp   bool
	events   chan string
	reoffers [][]byte                     // the re-INVITEs' offers
	reanswer func([]byte) ([]byte, error) // answers a re-INVITE (nil: 501)
	reoffer  func(context.Context, []byte) ([]byte, error)
	refers   []ReferTarget
	refer    func(ReferTarget) error // the transfer's outcome (nil: REFER refused with 501)
	infos    []string                // the DTMF digits sent by SIP INFO, "5/160ms"
	infoErr  error                   // SendInfoDTMF's answer (nil: 200)
	digit    func(rune)              // the engine's taker of the caller's SIP INFO digits
}

// OnDigit takes the engine's handler of the caller's SIP INFO digits.
func (f *fakeIncoming) OnDigit(h func(rune)) {
	f.mu.Lock()
	f.digit = h
	f.mu.Unlock()
}

// SendInfoDTMF records the digit.
func (f *fakeIncoming) SendInfoDTMF(_ context.Context, digit rune, d time.Duration) error {
	f.mu.Lock()
	f.infos = append(f.infos, string(digit)+"/"+d.String())
	err := f.infoErr
	f.mu.Unlock()
	return err
}

// OnReoffer takes the engine's handler of the caller's re-INVITEs.
func (f *fakeIncoming) OnReoffer(h func(context.Context, []byte) ([]byte, error)) {
	f.mu.Lock()
	f.reoffer = h
	f.mu.Unlock()
}

func newIncoming(offer []byte) *fakeIncoming {
	return &fakeIncoming{offer: offer, gone: make(chan struct{}), events: make(chan string, 16)}
}

func (f *fakeIncoming) Offer() []byte { return f.offer }
func (f *fakeIncoming) Ring() error {
	f.mu.Lock()
	f.rang++
	f.mu.Unlock()
	f.events <- "ring"
	return nil
}
func (f *fakeIncoming) Answer(_ context.Context, sdp []byte) error {
	f.mu.Lock()
	f.answer = sdp
	f.mu.Unlock()
	f.events <- "answer"
	return nil
}
func (f *fakeIncoming) Reject(status int, _ string) error {
	f.mu.Lock()
	f.rejected = status
	f.mu.Unlock()
	f.events <- "reject"
	return nil
}
func (f *fakeIncoming) Hangup(context.Context) error {
	f.mu.Lock()
	f.hungUp = true
	f.mu.Unlock()
	f.events <- "hangup"
	return nil
}
func (f *fakeIncoming) Gone() <-chan struct{} { return f.gone }
func (f *fakeIncoming) Refer(_ context.Context, to ReferTarget) error {
	f.mu.Lock()
	f.refers = append(f.refers, to)
	refer := f.refer
	f.mu.Unlock()
	if refer == nil {
		return &StatusError{Status: 501, Reason: "Not Implemented"}
	}
	return refer(to)
}
func (f *fakeIncoming) Reinvite(_ context.Context, sdp []byte) ([]byte, error) {
	f.mu.Lock()
	f.reoffers = append(f.reoffers, sdp)
	answer := f.reanswer
	f.mu.Unlock()
	if answer == nil {
		return nil, &StatusError{Status: 501, Reason: "Not Implemented"}
	}
	return answer(sdp)
}

// fakeOutgoing is one device being rung.
type fakeOutgoing struct {
	answer  chan []byte // a value answers; close without value: never answers
	fail    chan error
	gone    chan struct{}
	mu      sync.Mutex
	acked   bool
	hungUp  bool
	cancels int

	reoffers [][]byte                     // the re-INVITEs' offers
	reanswer func([]byte) ([]byte, error) // answers a re-INVITE (nil: 501)
	refers   []ReferTarget
	refer    func(ReferTarget) error // the transfer's outcome (nil: REFER refused with 501)
	dialog   *Replaces               // the dialog, when a REFER with Replaces may name it
	reoffer  func(context.Context, []byte) ([]byte, error)
}

// OnReoffer takes the engine's handler of the device's re-INVITEs.
func (o *fakeOutgoing) OnReoffer(h func(context.Context, []byte) ([]byte, error)) {
	o.mu.Lock()
	o.reoffer = h
	o.mu.Unlock()
}

func newOutgoing() *fakeOutgoing {
	return &fakeOutgoing{answer: make(chan []byte, 1), fail: make(chan error, 1), gone: make(chan struct{})}
}

func (o *fakeOutgoing) Wait(ctx context.Context, onRinging func(int)) ([]byte, error) {
	onRinging(180)
	select {
	case a := <-o.answer:
		return a, nil
	case err := <-o.fail:
		return nil, err
	case <-ctx.Done():
		o.mu.Lock()
		o.cancels++
		o.mu.Unlock()
		return nil, ctx.Err()
	}
}
func (o *fakeOutgoing) Ack(context.Context) error {
	o.mu.Lock()
	o.acked = true
	o.mu.Unlock()
	return nil
}
func (o *fakeOutgoing) Hangup(context.Context) error {
	o.mu.Lock()
	o.hungUp = true
	o.mu.Unlock()
	return nil
}
func (o *fakeOutgoing) Gone() <-chan struct{} { return o.gone }
func (o *fakeOutgoing) SendInfoDTMF(context.Context, rune, time.Duration) error {
	return &StatusError{Status: 501, Reason: "Not Implemented"}
}
func (o *fakeOutgoing) Refer(_ context.Context, to ReferTarget) error {
	o.mu.Lock()
	o.refers = append(o.refers, to)
	refer := o.refer
	o.mu.Unlock()
	if refer == nil {
		return &StatusError{Status: 501, Reason: "Not Implemented"}
	}
	return refer(to)
}
func (o *fakeOutgoing) Reinvite(_ context.Context, sdp []byte) ([]byte, error) {
	o.mu.Lock()
	o.reoffers = append(o.reoffers, sdp)
	answer := o.reanswer
	o.mu.Unlock()
	if answer == nil {
		return nil, &StatusError{Status: 501, Reason: "Not Implemented"}
	}
	return answer(sdp)
}
func (o *fakeOutgoing) state() (acked, hungUp bool, cancels int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.acked, o.hungUp, o.cancels
}

type fakeDialer struct {
	mu      sync.Mutex
	outs    map[string]*fakeOutgoing // by contact URI, or "tel:" and the number
	offers  [][]byte
	reqs    []DialRequest
	dialed  chan string
	outside bool // DialsOutside: a PBX is configured
}

func (d *fakeDialer) Dial(_ context.Context, req DialRequest) (Outgoing, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	key := req.Contact.URI
	if key == "" {
		key = "tel:" + req.Number
	}
	d.offers = append(d.offers, req.SDP)
	d.reqs = append(d.reqs, req)
	d.dialed <- key
	out, ok := d.outs[key]
	if !ok {
		return nil, errors.New("fake dialer: nothing at " + key)
	}
	return out, nil
}

func (d *fakeDialer) DialsOutside() bool { return d.outside }

type fakeAgents struct{ contacts []Contact }

func (a fakeAgents) AgentByExtension(_ context.Context, ext string) (Agent, error) {
	if ext != "101" {
		return Agent{}, ErrNoAgent
	}
	return Agent{UserID: 7, Login: "alice", Extension: "101"}, nil
}
func (a fakeAgents) Contacts(context.Context, string) ([]Contact, error) { return a.contacts, nil }

type fakeEvents struct {
	mu       sync.Mutex
	starts   []comm.EventStart
	answered int
	ends     []comm.EventEnd
	ended    chan comm.EventEnd
	targets  []string
}

func (f *fakeEvents) SetEventTarget(_ context.Context, _ int64, target string) error {
	f.mu.Lock()
	f.targets = append(f.targets, target)
	f.mu.Unlock()
	return nil
}

func (f *fakeEvents) StartEvent(_ context.Context, s comm.EventStart) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts = append(f.starts, s)
	return int64(len(f.starts)), nil
}
func (f *fakeEvents) AnswerEvent(context.Context, int64, time.Time) error {
	f.mu.Lock()
	f.answered++
	f.mu.Unlock()
	return nil
}
func (f *fakeEvents) EndEvent(_ context.Context, _ int64, e comm.EventEnd) error {
	f.mu.Lock()
	f.ends = append(f.ends, e)
	f.mu.Unlock()
	f.ended <- e
	return nil
}

// rig is an engine with fake SIP legs and real RTP sockets.
type rig struct {
	t      *testing.T
	e      *Engine
	dialer *fakeDialer
	events *fakeEvents
	caller *net.UDPConn // the caller's RTP socket
	device *net.UDPConn // the answering device's RTP socket
}

func newRig(t *testing.T, contacts []Contact, ring time.Duration) *rig {
	t.Helper()
	ports, err := media.NewPortAllocator(media.PortRange{Min: 30000, Max: 30999})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, dialer: &fakeDialer{outs: map[string]*fakeOutgoing{}, dialed: make(chan string, 8)}, events: &fakeEvents{ended: make(chan comm.EventEnd, 4)}}
	for _, c := range contacts {
		r.dialer.outs[c.URI] = newOutgoing()
	}
	r.e = New(Config{RingTimeout: ring}, Deps{Log: quiet(), Agents: fakeAgents{contacts}, Events: r.events, Dialer: r.dialer, Ports: ports})
	r.caller = udp(t)
	r.device = udp(t)
	t.Cleanup(func() {
		for _, s := range r.e.Calls() {
			if c, ok := r.e.Call(s.ID); ok {
				c.End(errors.New("test over"))
				<-c.Done()
			}
		}
	})
	return r
}

func udp(t *testing.T) *net.UDPConn {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func addrOf(c *net.UDPConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }

// callerOffer is what a phone offering PCMA, PCMU and telephone-event sends.
func (r *rig) callerOffer() []byte {
	b, err := media.NewSession().Offer(addrOf(r.caller), []media.Codec{media.PCMA, media.PCMU, media.TelephoneEvent}, media.SendRecv)
	if err != nil {
		r.t.Fatal(err)
	}
	return b
}

// deviceAnswer answers phoned's offer to the device from the device's socket.
func (r *rig) deviceAnswer(offer []byte) []byte {
	d, err := media.ParseSDP(offer)
	if err != nil {
		r.t.Fatal(err)
	}
	b, _, err := media.NewSession().Answer(d, addrOf(r.device), []media.Codec{media.PCMU, media.PCMA, media.TelephoneEvent}, media.SendRecv)
	if err != nil {
		r.t.Fatal(err)
	}
	return b
}

func waitFor[T comparable](t *testing.T, ch <-chan T, want T) {
	t.Helper()
	for {
		select {
		case got := <-ch:
			if got == want {
				return
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("timed out waiting for %v", want)
		}
	}
}

func waitEnd(t *testing.T, r *rig) comm.EventEnd {
	t.Helper()
	select {
	case e := <-r.events.ended:
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("the event was not closed")
		return comm.EventEnd{}
	}
}

// sendRTP sends one PCMA packet from conn to addr and returns the payload.
func sendRTP(t *testing.T, conn *net.UDPConn, to netip.AddrPort, seq uint16) []byte {
	payload := make([]byte, 160)
	for i := range payload {
		payload[i] = byte(seq) + byte(i)
	}
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 8, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: 0x1234}, Payload: payload}
	b, _ := p.Marshal()
	if _, err := conn.WriteToUDPAddrPort(b, to); err != nil {
		t.Fatal(err)
	}
	return payload
}

func readRTP(t *testing.T, conn *net.UDPConn) rtp.Packet {
	t.Helper()
	buf := make([]byte, 1500)
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no RTP arrived: %v", err)
	}
	var p rtp.Packet
	if err := p.Unmarshal(buf[:n]); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestInboundAnsweredBridgesMediaAndRecordsTheEvent(t *testing.T) {
	r := newRig(t, []Contact{{URI: "sip:101@127.0.0.1:5093"}}, 5*time.Second)
	in := newIncoming(r.callerOffer())
	r.e.Inbound(context.Background(), in, InboundInfo{Extension: "101", FromNumber: "+32 2 212 34 56", FromName: "Ada", CallID: "c1@pbx"})
	waitFor(t, r.dialer.dialed, "sip:101@127.0.0.1:5093")
	waitFor(t, in.events, "ring")
	r.dialer.mu.Lock()
	offer := r.dialer.offers[0]
	r.dialer.mu.Unlock()
	dev := r.dialer.outs["sip:101@127.0.0.1:5093"]
	dev.answer <- r.deviceAnswer(offer)
	waitFor(t, in.events, "answer")

	// Media both ways, with the payload intact.
	in.mu.Lock()
	toCaller, err := media.ParseSDP(in.answer)
	in.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if toCaller.Audio().Codec != media.PCMA {
		t.Fatalf("caller's codec %v, want PCMA (its first)", toCaller.Audio().Codec)
	}
	offered, _ := media.ParseSDP(offer)
	want := sendRTP(t, r.caller, toCaller.Addr, 1)
	got := readRTP(t, r.device)
	if string(got.Payload) != string(want) || got.PayloadType != offered.Audio().PT {
		t.Fatalf("device got PT %d payload %x", got.PayloadType, got.Payload[:4])
	}
	want = sendRTP(t, r.device, offered.Addr, 9)
	if got := readRTP(t, r.caller); string(got.Payload) != string(want) {
		t.Fatal("the caller did not get the device's audio")
	}
	if live := r.e.Calls(); len(live) != 1 || live[0].State != StateAnswered || live[0].User != "alice" {
		t.Fatalf("live calls %+v", live)
	}
	if acked, _, _ := dev.state(); !acked {
		t.Fatal("the device's answer was not acknowledged")
	}

	// The agent hangs up: the caller gets a BYE, the event is answered.
	close(dev.gone)
	waitFor(t, in.events, "hangup")
	end := waitEnd(t, r)
	if end.Outcome != comm.OutcomeAnswered || end.HangupBy != comm.HangupBy(HangupAgent) || len(end.Quality) == 0 {
		t.Fatalf("event end %+v", end)
	}
	r.events.mu.Lock()
	start := r.events.starts[0]
	r.events.mu.Unlock()
	if start.Direction != comm.DirectionIn || start.PartyE164 != "+3222123456" || start.SIPCallID != "c1@pbx" || start.UserID != 7 {
		t.Fatalf("event start %+v", start)
	}
}

func TestInboundRefusals(t *testing.T) {
	t.Run("unknown extension is 404", func(t *testing.T) {
		r := newRig(t, nil, time.Second)
		in := newIncoming(r.callerOffer())
		r.e.Inbound(context.Background(), in, InboundInfo{Extension: "999", FromNumber: "+3222123456"})
		if in.rejected != 404 {
			t.Fatalf("rejected %d", in.rejected)
		}
	})
	t.Run("no registered device is 480 and missed", func(t *testing.T) {
		r := newRig(t, nil, time.Second)
		in := newIncoming(r.callerOffer())
		r.e.Inbound(context.Background(), in, InboundInfo{Extension: "101", FromNumber: "+3222123456"})
		if end := waitEnd(t, r); end.Outcome != comm.OutcomeMissed || end.SIPStatus != 480 || in.rejected != 480 {
			t.Fatalf("rejected %d, event %+v", in.rejected, end)
		}
	})
	t.Run("an offer without G.711 is 488", func(t *testing.T) {
		r := newRig(t, []Contact{{URI: "sip:a"}}, time.Second)
		in := newIncoming([]byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 9\r\na=rtpmap:9 G722/8000\r\n"))
		r.e.Inbound(context.Background(), in, InboundInfo{Extension: "101"})
		if in.rejected != 488 {
			t.Fatalf("rejected %d", in.rejected)
		}
	})
}

func TestInboundBusyUnansweredAndCancelled(t *testing.T) {
	t.Run("busy device: 486 passed back, event busy", func(t *testing.T) {
		r := newRig(t, []Contact{{URI: "sip:a"}}, 5*time.Second)
		in := newIncoming(r.callerOffer())
		r.e.Inbound(context.Background(), in, InboundInfo{Extension: "101", FromNumber: "201"})
		waitFor(t, r.dialer.dialed, "sip:a")
		r.dialer.outs["sip:a"].fail <- &StatusError{Status: 486, Reason: "Busy Here"}
		end := waitEnd(t, r)
		if end.Outcome != comm.OutcomeBusy || in.rejected != 486 {
			t.Fatalf("rejected %d, event %+v", in.rejected, end)
		}
	})
	t.Run("no answer within the ring timeout: 480, missed, device cancelled", func(t *testing.T) {
		r := newRig(t, []Contact{{URI: "sip:a"}}, 100*time.Millisecond)
		in := newIncoming(r.callerOffer())
		r.e.Inbound(context.Background(), in, InboundInfo{Extension: "101", FromNumber: "201"})
		end := waitEnd(t, r)
		if end.Outcome != comm.OutcomeMissed || end.HangupBy != comm.HangupBy(HangupTimeout) || in.rejected != 480 {
			t.Fatalf("rejected %d, event %+v", in.rejected, end)
		}
		waitGone(t, r)
		waitCancelled(t, r.dialer.outs["sip:a"], "the device")
	})
	t.Run("caller cancels while it rings: missed, device cancelled", func(t *testing.T) {
		r := newRig(t, []Contact{{URI: "sip:a"}}, 5*time.Second)
		in := newIncoming(r.callerOffer())
		r.e.Inbound(context.Background(), in, InboundInfo{Extension: "101", FromNumber: "201"})
		waitFor(t, in.events, "ring")
		close(in.gone)
		end := waitEnd(t, r)
		if end.Outcome != comm.OutcomeMissed || end.HangupBy != comm.HangupBy(HangupCaller) {
			t.Fatalf("event %+v", end)
		}
		waitGone(t, r)
		waitCancelled(t, r.dialer.outs["sip:a"], "the device")
	})
}

// Two devices ring; the first to answer wins and the other is cancelled.
func TestInboundForkFirstAnswerWins(t *testing.T) {
	r := newRig(t, []Contact{{URI: "sip:desk"}, {URI: "sip:soft"}}, 5*time.Second)
	in := newIncoming(r.callerOffer())
	r.e.Inbound(context.Background(), in, InboundInfo{Extension: "101", FromNumber: "201"})
	waitFor(t, in.events, "ring")
	for len(r.dialer.dialed) < 1 {
		time.Sleep(time.Millisecond)
	}
	r.dialer.mu.Lock()
	offer := r.dialer.offers[0]
	r.dialer.mu.Unlock()
	r.dialer.outs["sip:soft"].answer <- r.deviceAnswer(offer)
	waitFor(t, in.events, "answer")
	deadline := time.Now().Add(3 * time.Second)
	for {
		if _, _, cancels := r.dialer.outs["sip:desk"].state(); cancels == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the other device was not cancelled")
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(in.gone) // the caller hangs up
	end := waitEnd(t, r)
	if end.Outcome != comm.OutcomeAnswered || end.HangupBy != comm.HangupBy(HangupCaller) {
		t.Fatalf("event %+v", end)
	}
	waitGone(t, r)
	if _, hungUp, _ := r.dialer.outs["sip:soft"].state(); !hungUp {
		t.Fatal("the answering device got no BYE")
	}
}

// waitGone waits until the engine has no live call (cleanup done).
func waitGone(t *testing.T, r *rig) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for len(r.e.Calls()) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the call did not end")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
