package switchboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"

	"phoned/comm"
	"phoned/media"
)

// dirAgents is a directory of agents with their registered devices.
type dirAgents struct {
	agents   map[string]Agent
	contacts map[string][]Contact
}

func (d *dirAgents) AgentByExtension(_ context.Context, ext string) (Agent, error) {
	a, ok := d.agents[ext]
	if !ok {
		return Agent{}, fmt.Errorf("extension %s: %w", ext, ErrNoAgent)
	}
	return a, nil
}

func (d *dirAgents) Contacts(_ context.Context, ext string) ([]Contact, error) {
	return d.contacts[ext], nil
}

var (
	alice = Agent{UserID: 7, Login: "alice", Name: "Alice Agent", Extension: "101"}
	bob   = Agent{UserID: 8, Login: "bob", Name: "Bob", Extension: "102"}
)

const partnerNumber = "+3222123456"

// outRig is an engine placing click-to-dial calls: alice (101) has a desk
// phone and a softphone, bob (102) a desk phone, and the PBX reaches
// partnerNumber. The rig's device socket is the phone of alice that
// answers, its caller socket the party she calls.
type outRig struct {
	*rig
	dir *dirAgents
}

func newOutRig(t *testing.T, ring, dial time.Duration) *outRig {
	t.Helper()
	ports, err := media.NewPortAllocator(media.PortRange{Min: 32000, Max: 32999})
	if err != nil {
		t.Fatal(err)
	}
	r := &outRig{
		rig: &rig{t: t, dialer: &fakeDialer{outs: map[string]*fakeOutgoing{}, dialed: make(chan string, 8), outside: true},
			events: &fakeEvents{ended: make(chan comm.EventEnd, 4)}},
		dir: &dirAgents{
			agents:   map[string]Agent{"101": alice, "102": bob},
			contacts: map[string][]Contact{"101": {{URI: "sip:101@desk"}, {URI: "sip:101@soft"}}, "102": {{URI: "sip:102@desk"}}},
		},
	}
	for _, k := range []string{"sip:101@desk", "sip:101@soft", "sip:102@desk", "tel:" + partnerNumber} {
		r.dialer.outs[k] = newOutgoing()
	}
	plan, err := NewDialPlan("BE", []string{"+32"})
	if err != nil {
		t.Fatal(err)
	}
	r.e = New(Config{RingTimeout: ring, DialTimeout: dial, DialPlan: plan}, Deps{Log: quiet(), Agents: r.dir, Events: r.events, Dialer: r.dialer, Ports: ports})
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

// dial places alice's click-to-dial call to target.
func (r *outRig) dial(target string) Snapshot {
	r.t.Helper()
	snap, err := r.e.Outbound(context.Background(), OutboundRequest{Agent: alice, Target: target, PartnerID: 5, ActivityID: 9, FromName: "Carla Partner"})
	if err != nil {
		r.t.Fatal(err)
	}
	return snap
}

// request returns the n-th DialRequest the dialer got.
func (r *outRig) request(n int) DialRequest {
	r.t.Helper()
	r.dialer.mu.Lock()
	defer r.dialer.mu.Unlock()
	if n >= len(r.dialer.reqs) {
		r.t.Fatalf("%d dial requests, want more than %d", len(r.dialer.reqs), n)
	}
	return r.dialer.reqs[n]
}

func (r *outRig) dialCount() int {
	r.dialer.mu.Lock()
	defer r.dialer.mu.Unlock()
	return len(r.dialer.reqs)
}

// answerFrom answers an SDP offer from conn, preferring codecs in order.
func answerFrom(t *testing.T, conn *net.UDPConn, offer []byte, codecs ...media.Codec) []byte {
	t.Helper()
	d, err := media.ParseSDP(offer)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := media.NewSession().Answer(d, addrOf(conn), codecs, media.SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// agentAnswers has alice's desk phone answer from the rig's device socket
// (PCMU first) and waits until the target is dialled.
func (r *outRig) agentAnswers(targetKey string) (agentOffer, calleeReq DialRequest) {
	r.t.Helper()
	waitFor(r.t, r.dialer.dialed, "sip:101@desk")
	agentOffer = r.request(0)
	r.dialer.outs["sip:101@desk"].answer <- answerFrom(r.t, r.device, agentOffer.SDP, media.PCMU, media.PCMA, media.TelephoneEvent)
	waitFor(r.t, r.dialer.dialed, targetKey)
	return agentOffer, r.request(r.dialCount() - 1)
}

func sendPT(t *testing.T, conn *net.UDPConn, to netip.AddrPort, pt uint8, seq uint16) []byte {
	t.Helper()
	payload := make([]byte, 160)
	for i := range payload {
		payload[i] = byte(seq) ^ byte(i)
	}
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: 0x4321}, Payload: payload}
	b, _ := p.Marshal()
	if _, err := conn.WriteToUDPAddrPort(b, to); err != nil {
		t.Fatal(err)
	}
	return payload
}

func waitState(t *testing.T, e *Engine, id string, want State) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		s, ok := e.LiveCall(id)
		if ok && s.State == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("call %s: state %v (live %v), want %v", id, s.State, ok, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func waitCancelled(t *testing.T, o *fakeOutgoing, what string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		if _, _, cancels := o.state(); cancels == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s was not cancelled", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// The whole click-to-dial: the agent's phones ring showing the partner,
// the desk phone answers, the partner is called through the PBX with the
// desk phone's codec alone, answers, media flows both ways, DTMF reaches
// the partner, and the partner's BYE ends the call.
func TestOutboundAgentAnswersThenTheNumberIsBridged(t *testing.T) {
	r := newOutRig(t, 5*time.Second, 5*time.Second)
	snap := r.dial("02 212 34 56")
	if snap.Direction != comm.DirectionOut || snap.State != StateDialling || snap.Number != partnerNumber || snap.User != "alice" || snap.PartnerName != "Carla Partner" {
		t.Fatalf("snapshot %+v", snap)
	}
	r.events.mu.Lock()
	start := r.events.starts[0]
	r.events.mu.Unlock()
	if start.Direction != comm.DirectionOut || start.UserID != 7 || start.ToNumber != partnerNumber || start.FromNumber != "101" ||
		start.PartyE164 != partnerNumber || start.ActivityID != 9 || len(start.PartnerIDs) != 1 || start.PartnerIDs[0] != 5 || start.SIPCallID == "" {
		t.Fatalf("event start %+v", start)
	}

	agentReq, calleeReq := r.agentAnswers("tel:" + partnerNumber)
	if agentReq.FromUser != partnerNumber || agentReq.FromName != "Carla Partner" {
		t.Fatalf("the agent's phone was called from %q %q, want the partner", agentReq.FromName, agentReq.FromUser)
	}
	waitCancelled(t, r.dialer.outs["sip:101@soft"], "the other phone of the agent")
	if calleeReq.Number != partnerNumber || calleeReq.FromUser != "101" || calleeReq.FromName != "Alice Agent" || calleeReq.CallID != start.SIPCallID {
		t.Fatalf("request to the partner %+v", calleeReq)
	}
	offered, err := media.ParseSDP(calleeReq.SDP)
	if err != nil {
		t.Fatal(err)
	}
	var codecs []media.Codec
	for _, f := range offered.Formats {
		codecs = append(codecs, f.Codec)
	}
	if len(codecs) != 2 || codecs[0] != media.PCMU || codecs[1] != media.TelephoneEvent {
		t.Fatalf("the partner was offered %v, want PCMU (the agent's choice) and telephone-event only", codecs)
	}
	waitState(t, r.e, snap.ID, StateRinging)

	callee := r.dialer.outs["tel:"+partnerNumber]
	callee.answer <- answerFrom(t, r.caller, calleeReq.SDP, media.PCMA, media.PCMU, media.TelephoneEvent)
	waitState(t, r.e, snap.ID, StateAnswered)

	// Media both ways, payloads intact.
	agentSDP, _ := media.ParseSDP(agentReq.SDP)
	want := sendPT(t, r.caller, offered.Addr, 0, 1)
	if got := readRTP(t, r.device); string(got.Payload) != string(want) || got.PayloadType != 0 {
		t.Fatalf("the agent got PT %d, payload %x", got.PayloadType, got.Payload[:4])
	}
	want = sendPT(t, r.device, agentSDP.Addr, 0, 7)
	if got := readRTP(t, r.caller); string(got.Payload) != string(want) {
		t.Fatal("the partner did not get the agent's audio")
	}

	// DTMF goes to the partner as RFC 4733 events.
	if err := r.e.SendDTMF(context.Background(), snap.ID, "1#"); err != nil {
		t.Fatal(err)
	}
	var events []byte
	for len(events) < 2 {
		p := readRTP(t, r.caller)
		if p.PayloadType != 101 || len(p.Payload) < 4 {
			continue
		}
		if len(events) == 0 || events[len(events)-1] != p.Payload[0] {
			events = append(events, p.Payload[0])
		}
	}
	if events[0] != 1 || events[1] != 11 {
		t.Fatalf("DTMF events %v, want 1 then # (11)", events)
	}

	// The partner hangs up: the agent gets a BYE.
	close(callee.gone)
	end := waitEnd(t, r.rig)
	if end.Outcome != comm.OutcomeAnswered || end.HangupBy != comm.HangupCallee || end.SIPStatus != 200 {
		t.Fatalf("event end %+v", end)
	}
	var q map[string]legQuality
	if err := json.Unmarshal(end.Quality, &q); err != nil || q["callee"].PacketsIn < 1 || q["agent"].PacketsIn < 1 {
		t.Fatalf("quality %s (%v)", end.Quality, err)
	}
	waitGone(t, r.rig)
	if _, hungUp, _ := r.dialer.outs["sip:101@desk"].state(); !hungUp {
		t.Fatal("the agent's phone got no BYE")
	}
	if acked, _, _ := callee.state(); !acked {
		t.Fatal("the partner's answer was not acknowledged")
	}
}

// Calling another agent's extension rings that agent's devices.
func TestOutboundToAnExtension(t *testing.T) {
	r := newOutRig(t, 5*time.Second, 5*time.Second)
	snap := r.dial("102")
	_, req := r.agentAnswers("sip:102@desk")
	if req.Contact.URI != "sip:102@desk" || req.FromUser != "101" || snap.Number != "102" {
		t.Fatalf("request %+v, snapshot %+v", req, snap)
	}
	r.dialer.outs["sip:102@desk"].answer <- answerFrom(t, r.caller, req.SDP, media.PCMU, media.TelephoneEvent)
	waitState(t, r.e, snap.ID, StateAnswered)
	close(r.dialer.outs["sip:101@desk"].gone) // the agent hangs up
	if end := waitEnd(t, r.rig); end.Outcome != comm.OutcomeAnswered || end.HangupBy != comm.HangupAgent {
		t.Fatalf("event end %+v", end)
	}
	waitGone(t, r.rig)
	if _, hungUp, _ := r.dialer.outs["sip:102@desk"].state(); !hungUp {
		t.Fatal("the callee got no BYE")
	}
	r.events.mu.Lock()
	defer r.events.mu.Unlock()
	if s := r.events.starts[0]; s.ToNumber != "102" || s.PartyE164 != "" {
		t.Fatalf("event start %+v", s)
	}
}

func TestOutboundAgentDoesNotAnswerOrRefuses(t *testing.T) {
	t.Run("ring timeout: no_answer, phones cancelled, nothing dialled", func(t *testing.T) {
		r := newOutRig(t, 100*time.Millisecond, 5*time.Second)
		r.dial(partnerNumber)
		end := waitEnd(t, r.rig)
		if end.Outcome != comm.OutcomeNoAnswer || end.HangupBy != comm.HangupTimeout {
			t.Fatalf("event end %+v", end)
		}
		waitGone(t, r.rig)
		waitCancelled(t, r.dialer.outs["sip:101@desk"], "the desk phone")
		waitCancelled(t, r.dialer.outs["sip:101@soft"], "the softphone")
		if n := r.dialCount(); n != 2 {
			t.Fatalf("%d calls placed, want the agent's 2 phones only", n)
		}
	})
	for _, tc := range []struct {
		status  int
		outcome comm.Outcome
	}{
		{603, comm.OutcomeFailed},
		{480, comm.OutcomeNoAnswer},
	} {
		t.Run(fmt.Sprintf("both phones answer %d", tc.status), func(t *testing.T) {
			r := newOutRig(t, 5*time.Second, 5*time.Second)
			r.dial(partnerNumber)
			for _, k := range []string{"sip:101@desk", "sip:101@soft"} {
				r.dialer.outs[k].fail <- &StatusError{Status: tc.status}
			}
			end := waitEnd(t, r.rig)
			if end.Outcome != tc.outcome || end.SIPStatus != tc.status || end.HangupBy != comm.HangupAgent {
				t.Fatalf("event end %+v", end)
			}
			waitGone(t, r.rig)
			// A 603 is global (RFC 3261 6xx): the first one may end the
			// group before the other phone's INVITE left. Either way the
			// partner is never dialled.
			for i := 0; i < r.dialCount(); i++ {
				if req := r.request(i); req.Number != "" || req.Contact.URI == "tel:"+partnerNumber {
					t.Fatalf("the partner was dialled: %+v", req)
				}
			}
		})
	}
}

// The target's failure is the event's outcome; the agent gets a BYE.
func TestOutboundTargetFails(t *testing.T) {
	for _, tc := range []struct {
		status  int
		outcome comm.Outcome
	}{
		{486, comm.OutcomeBusy},
		{480, comm.OutcomeNoAnswer},
		{408, comm.OutcomeNoAnswer},
		{487, comm.OutcomeNoAnswer},
		{404, comm.OutcomeFailed},
		{503, comm.OutcomeFailed},
		{603, comm.OutcomeRejected},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			r := newOutRig(t, 5*time.Second, 5*time.Second)
			r.dial(partnerNumber)
			r.agentAnswers("tel:" + partnerNumber)
			r.dialer.outs["tel:"+partnerNumber].fail <- &StatusError{Status: tc.status}
			end := waitEnd(t, r.rig)
			if end.Outcome != tc.outcome || end.SIPStatus != tc.status || end.HangupBy != comm.HangupCallee {
				t.Fatalf("event end %+v", end)
			}
			waitGone(t, r.rig)
			if _, hungUp, _ := r.dialer.outs["sip:101@desk"].state(); !hungUp {
				t.Fatal("the agent's phone got no BYE")
			}
		})
	}
	t.Run("no answer within the dial timeout", func(t *testing.T) {
		r := newOutRig(t, 5*time.Second, 100*time.Millisecond)
		r.dial(partnerNumber)
		r.agentAnswers("tel:" + partnerNumber)
		end := waitEnd(t, r.rig)
		if end.Outcome != comm.OutcomeNoAnswer || end.HangupBy != comm.HangupTimeout {
			t.Fatalf("event end %+v", end)
		}
		waitGone(t, r.rig)
		waitCancelled(t, r.dialer.outs["tel:"+partnerNumber], "the partner's call")
	})
	t.Run("the agent hangs up while the partner rings", func(t *testing.T) {
		r := newOutRig(t, 5*time.Second, 5*time.Second)
		r.dial(partnerNumber)
		r.agentAnswers("tel:" + partnerNumber)
		close(r.dialer.outs["sip:101@desk"].gone)
		end := waitEnd(t, r.rig)
		if end.Outcome != comm.OutcomeNoAnswer || end.HangupBy != comm.HangupAgent {
			t.Fatalf("event end %+v", end)
		}
		waitGone(t, r.rig)
		waitCancelled(t, r.dialer.outs["tel:"+partnerNumber], "the partner's call")
	})
}

// Hangup from the API at each stage of the call.
func TestOutboundHangupFromTheAPI(t *testing.T) {
	t.Run("while the agent's phones ring", func(t *testing.T) {
		r := newOutRig(t, 5*time.Second, 5*time.Second)
		snap := r.dial(partnerNumber)
		waitFor(t, r.dialer.dialed, "sip:101@desk")
		if err := r.e.Hangup(context.Background(), snap.ID); err != nil {
			t.Fatal(err)
		}
		if end := waitEnd(t, r.rig); end.Outcome != comm.OutcomeNoAnswer || end.HangupBy != comm.HangupAgent {
			t.Fatalf("event end %+v", end)
		}
		if _, ok := r.e.LiveCall(snap.ID); ok {
			t.Fatal("the call is still live after Hangup returned")
		}
		waitCancelled(t, r.dialer.outs["sip:101@desk"], "the desk phone")
	})
	t.Run("while the partner rings", func(t *testing.T) {
		r := newOutRig(t, 5*time.Second, 5*time.Second)
		snap := r.dial(partnerNumber)
		r.agentAnswers("tel:" + partnerNumber)
		if err := r.e.Hangup(context.Background(), snap.ID); err != nil {
			t.Fatal(err)
		}
		if end := waitEnd(t, r.rig); end.Outcome != comm.OutcomeNoAnswer || end.HangupBy != comm.HangupAgent {
			t.Fatalf("event end %+v", end)
		}
		waitCancelled(t, r.dialer.outs["tel:"+partnerNumber], "the partner's call")
		if _, hungUp, _ := r.dialer.outs["sip:101@desk"].state(); !hungUp {
			t.Fatal("the agent's phone got no BYE")
		}
	})
	t.Run("once answered", func(t *testing.T) {
		r := newOutRig(t, 5*time.Second, 5*time.Second)
		snap := r.dial(partnerNumber)
		_, req := r.agentAnswers("tel:" + partnerNumber)
		if err := r.e.SendDTMF(context.Background(), snap.ID, "1"); !errors.Is(err, ErrNotAnswered) {
			t.Fatalf("DTMF before the answer: %v", err)
		}
		callee := r.dialer.outs["tel:"+partnerNumber]
		callee.answer <- answerFrom(t, r.caller, req.SDP, media.PCMU, media.TelephoneEvent)
		waitState(t, r.e, snap.ID, StateAnswered)
		if err := r.e.Hangup(context.Background(), snap.ID); err != nil {
			t.Fatal(err)
		}
		if end := waitEnd(t, r.rig); end.Outcome != comm.OutcomeAnswered || end.HangupBy != comm.HangupAgent || end.SIPStatus != 200 {
			t.Fatalf("event end %+v", end)
		}
		for k, o := range map[string]*fakeOutgoing{"the agent's phone": r.dialer.outs["sip:101@desk"], "the partner": callee} {
			if _, hungUp, _ := o.state(); !hungUp {
				t.Fatalf("%s got no BYE", k)
			}
		}
		if err := r.e.Hangup(context.Background(), snap.ID); !errors.Is(err, ErrNoCall) {
			t.Fatalf("second Hangup: %v", err)
		}
		if err := r.e.SendDTMF(context.Background(), snap.ID, "1"); !errors.Is(err, ErrNoCall) {
			t.Fatalf("DTMF to an ended call: %v", err)
		}
	})
}

// Refusals happen before anything rings and leave no event.
func TestOutboundRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		agent  Agent
		target string
		setup  func(*outRig)
		want   error
	}{
		{"no extension", Agent{UserID: 9, Login: "sam"}, partnerNumber, nil, ErrNoExtension},
		{"outside the dial plan", alice, "+33 1 23 45 67 89", nil, ErrNotAllowed},
		{"not a number", alice, "bob", nil, ErrBadNumber},
		{"CR LF in the number", alice, "+3222123456\r\nX-Evil: 1", nil, ErrBadNumber},
		{"empty", alice, " ", nil, ErrBadNumber},
		{"own extension", alice, "101", nil, ErrBadNumber},
		{"no PBX for a number", alice, partnerNumber, func(r *outRig) { r.dialer.outside = false }, ErrNoRoute},
		{"the agent's phone is not registered", alice, partnerNumber, func(r *outRig) { delete(r.dir.contacts, "101") }, ErrNoDevice},
		{"the extension called is not registered", alice, "102", func(r *outRig) { delete(r.dir.contacts, "102") }, ErrNoDevice},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newOutRig(t, time.Second, time.Second)
			if tc.setup != nil {
				tc.setup(r)
			}
			_, err := r.e.Outbound(context.Background(), OutboundRequest{Agent: tc.agent, Target: tc.target})
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if n := r.dialCount(); n != 0 || len(r.events.starts) != 0 || len(r.e.Calls()) != 0 {
				t.Fatalf("a refused call placed %d calls, started %d events", n, len(r.events.starts))
			}
		})
	}
	t.Run("a local extension needs no PBX", func(t *testing.T) {
		r := newOutRig(t, time.Second, time.Second)
		r.dialer.outside = false
		if _, err := r.e.Outbound(context.Background(), OutboundRequest{Agent: alice, Target: "102"}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestDTMFDigitsAreChecked(t *testing.T) {
	for _, ok := range []string{"0123456789*#ABCD", "1", "#"} {
		if err := CheckDTMF(ok); err != nil {
			t.Errorf("CheckDTMF(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "12E", "1 2", "1\r\n", "123456789012345678901234567890123", "a"} {
		if err := CheckDTMF(bad); !errors.Is(err, ErrBadDigits) {
			t.Errorf("CheckDTMF(%q) = %v, want ErrBadDigits", bad, err)
		}
	}
	e := New(Config{}, Deps{Log: quiet()})
	if err := e.SendDTMF(context.Background(), "nope", "1"); !errors.Is(err, ErrNoCall) {
		t.Fatalf("DTMF to no call: %v", err)
	}
}

// The API's hang-up of an inbound call: declined while it rings, BYE to
// both sides once answered.
func TestInboundHangupFromTheAPI(t *testing.T) {
	t.Run("while it rings: 603, rejected", func(t *testing.T) {
		r := newRig(t, []Contact{{URI: "sip:a"}}, 5*time.Second)
		in := newIncoming(r.callerOffer())
		r.e.Inbound(context.Background(), in, InboundInfo{Extension: "101", FromNumber: "201"})
		waitFor(t, in.events, "ring")
		id := r.e.Calls()[0].ID
		if err := r.e.Hangup(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		end := waitEnd(t, r)
		if end.Outcome != comm.OutcomeRejected || end.SIPStatus != 603 || end.HangupBy != comm.HangupAgent || in.rejected != 603 {
			t.Fatalf("rejected %d, event %+v", in.rejected, end)
		}
		waitCancelled(t, r.dialer.outs["sip:a"], "the device")
	})
	t.Run("answered: BYE both ways, DTMF to the caller", func(t *testing.T) {
		r := newRig(t, []Contact{{URI: "sip:a"}}, 5*time.Second)
		in := newIncoming(r.callerOffer())
		r.e.Inbound(context.Background(), in, InboundInfo{Extension: "101", FromNumber: "201"})
		waitFor(t, r.dialer.dialed, "sip:a")
		r.dialer.mu.Lock()
		offer := r.dialer.offers[0]
		r.dialer.mu.Unlock()
		r.dialer.outs["sip:a"].answer <- r.deviceAnswer(offer)
		waitFor(t, in.events, "answer")
		id := r.e.Calls()[0].ID
		if err := r.e.SendDTMF(context.Background(), id, "5"); err != nil {
			t.Fatal(err)
		}
		for {
			if p := readRTP(t, r.caller); p.PayloadType == 101 && p.Payload[0] == 5 {
				break
			}
		}
		if err := r.e.Hangup(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		waitFor(t, in.events, "hangup")
		if end := waitEnd(t, r); end.Outcome != comm.OutcomeAnswered || end.HangupBy != comm.HangupAgent {
			t.Fatalf("event %+v", end)
		}
		if _, hungUp, _ := r.dialer.outs["sip:a"].state(); !hungUp {
			t.Fatal("the device got no BYE")
		}
	})
}
