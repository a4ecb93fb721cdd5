package webphone

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"

	"phoned/comm"
	"phoned/switchboard"
)

func TestSignallingRefusesStrangers(t *testing.T) {
	r := newRig(t, Config{})
	for name, c := range map[string]struct {
		login, origin string
		status        int
	}{
		"no session":     {"", "", http.StatusUnauthorized},
		"unknown user":   {"mallory", "", http.StatusUnauthorized},
		"foreign origin": {"alice", "http://evil.example", http.StatusForbidden},
		"no origin":      {"alice", "-", http.StatusForbidden},
		"bad origin":     {"alice", "file:///x", http.StatusForbidden},
	} {
		t.Run(name, func(t *testing.T) {
			origin := []string{}
			switch c.origin {
			case "":
			case "-":
				origin = []string{""}
			default:
				origin = []string{c.origin}
			}
			ws, resp, err := r.dial(c.login, origin...)
			if err == nil {
				ws.Close()
				t.Fatal("the upgrade succeeded")
			}
			if resp == nil || resp.StatusCode != c.status {
				t.Fatalf("got %v, want %d", resp, c.status)
			}
		})
	}
}

func TestBadMessagesGetErrorsAndKeepTheConnection(t *testing.T) {
	r := newRig(t, Config{})
	pg := r.open("alice")
	for _, bad := range []string{
		`{"type":"dial"}`,
		`{"type":"dial","leg":"x y","sdp":"v=0"}`,
		`{"type":"nope"}`,
		`{"type":"hangup","call":"unknown"}`,
		`{"type":"answer","call":"c1","leg":"l1","sdp":"not sdp"}`,
		`{"type":"ice","leg":"l1","candidate":{"candidate":"garbage"},"extra":1}`,
		`[1,2]`,
		`{"type":"dial","leg":"l1","number":"+3222000000","sdp":"v=0\r\n"}`,
	} {
		pg.wmu.Lock()
		err := pg.ws.WriteMessage(1, []byte(bad))
		pg.wmu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		m := pg.expect("error", 5*time.Second)
		if m["code"] == "" || m["error"] == "" {
			t.Fatalf("%s: error without code or words: %v", bad, m)
		}
	}
	// Still usable.
	pg.send(map[string]any{"type": "focus", "visible": true})
	pg.send(map[string]any{"type": "hangup", "call": "zzz"})
	pg.expect("error", 5*time.Second)
}

// A call dialled from the page: phoned answers the page's offer, calls the
// number, and relays audio both ways; the page hangs up.
func TestDialFromThePageRelaysAudioBothWays(t *testing.T) {
	r := newRig(t, Config{})
	pg := r.open("alice")
	sdp, track := pg.offer("leg1")
	pg.send(map[string]any{"type": "dial", "req": "r1", "leg": "leg1", "sdp": sdp, "number": "+32 2 555 01 02"})
	ans := pg.expect("sdp", 5*time.Second)
	if ans["req"] != "r1" || ans["leg"] != "leg1" || ans["call"] == "" {
		t.Fatalf("sdp message %v", ans)
	}
	pg.setAnswer(ans["sdp"].(string))
	call := ans["call"].(string)
	pg.waitConnected(10 * time.Second)
	c := pg.expectCall("answered", 10*time.Second)
	if c["browser"] != true || c["attached"] != true || c["number"] != "+3225550102" {
		t.Fatalf("answered snapshot %v", c)
	}
	sendAudio(t, track, 50, 1, 0)
	echo := r.sip.last()
	waitFor(t, 5*time.Second, "audio at the SIP side", func() bool { return echo.packets.Load() >= 45 })
	waitFor(t, 5*time.Second, "audio back in the page", func() bool { return pg.received.Load() >= 45 })
	if pts := echo.payloadTypes(); pts[0] < 45 {
		t.Fatalf("SIP side payload types %v, want PCMU (0)", pts)
	}

	pg.send(map[string]any{"type": "hangup", "call": call})
	ended := pg.expectCall("ended", 5*time.Second)
	if ended["outcome"] != string(comm.OutcomeAnswered) {
		t.Fatalf("ended snapshot %v", ended)
	}
	waitFor(t, 5*time.Second, "the SIP side hung up", echo.hungUp.Load)
	e, ok := r.events.end(int64(ended["event_id"].(float64)))
	if !ok || e.HangupBy != comm.HangupBy("agent") || e.Outcome != comm.OutcomeAnswered {
		t.Fatalf("event end %+v %v", e, ok)
	}
}

// A page reload mid-call: the call stays up, the new page reattaches with
// a new PeerConnection and audio flows again.
func TestReloadKeepsTheCallAndReattaches(t *testing.T) {
	r := newRig(t, Config{Grace: 10 * time.Second})
	pg := r.open("alice")
	call, track := pg.dialAnswered("legA", "+3225550103")
	sendAudio(t, track, 10, 1, 0)
	echo := r.sip.last()
	waitFor(t, 5*time.Second, "first audio", func() bool { return echo.packets.Load() >= 8 })

	pg.close() // the reload
	time.Sleep(300 * time.Millisecond)
	if _, live := r.engine.LiveCall(call); !live {
		t.Fatal("the call ended with the page")
	}
	pg3b := r.open("alice")
	calls := pg3b.hello["calls"].([]any)
	if len(calls) != 1 || calls[0].(map[string]any)["browser"] != true || calls[0].(map[string]any)["attached"] != false {
		t.Fatalf("hello calls %v", calls)
	}
	sdp2, track2 := pg3b.offer("legB")
	pg3b.send(map[string]any{"type": "reattach", "call": call, "leg": "legB", "sdp": sdp2})
	ans2 := pg3b.expect("sdp", 5*time.Second)
	pg3b.setAnswer(ans2["sdp"].(string))
	pg3b.waitConnected(10 * time.Second)
	before := echo.packets.Load()
	sendAudio(t, track2, 20, 500, 0)
	waitFor(t, 5*time.Second, "audio after the reattach", func() bool { return echo.packets.Load() >= before+15 })
	waitFor(t, 5*time.Second, "audio back in the new page", func() bool { return pg3b.received.Load() >= 15 })
	if _, live := r.engine.LiveCall(call); !live {
		t.Fatal("the call ended")
	}
}

// A page that goes away and never comes back: the call is hung up after
// the grace.
func TestGraceOverHangsUp(t *testing.T) {
	r := newRig(t, Config{Grace: time.Second})
	pg := r.open("alice")
	call, _ := pg.dialAnswered("legA", "+3225550104")
	pg.close()
	echo := r.sip.last()
	waitFor(t, 10*time.Second, "the hang-up after the grace", func() bool { _, live := r.engine.LiveCall(call); return !live })
	if !echo.hungUp.Load() {
		t.Fatal("the SIP side was not hung up")
	}
}

// DTMF both ways keeps its meaning across the two numberings: the
// browser's telephone-event (126, as Chrome numbers it) reaches SIP as the
// engine's (101), and a SIP party's digit reaches the page as 126 and as
// a dtmf message.
func TestTelephoneEventsAreRenumbered(t *testing.T) {
	r := newRig(t, Config{})
	pg := r.open("alice")
	_, track := pg.dialAnswered("leg1", "+3225550105")
	sendAudio(t, track, 5, 1, 0)
	echo := r.sip.last()
	waitFor(t, 5*time.Second, "audio at the SIP side", func() bool { return echo.packets.Load() >= 3 })

	// From the SIP side: digit 5, start and three ends (RFC 4733).
	for i, end := range []bool{false, true, true, true} {
		ev := []byte{5, 10, 0, 160}
		if end {
			ev[1] |= 0x80
		}
		pkt := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101, SequenceNumber: uint16(100 + i), Timestamp: 8000, SSRC: 0x99, Marker: i == 0}, Payload: ev})
		b, err := pkt.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if err := echo.inject(b); err != nil {
			t.Fatal(err)
		}
	}
	d := pg.expect("dtmf", 5*time.Second)
	if d["digit"] != "5" {
		t.Fatalf("dtmf message %v", d)
	}
	waitFor(t, 5*time.Second, "the event in the page", func() bool {
		v, ok := pg.recvPT.Load(uint8(126))
		return ok && v.(*atomic.Int64).Load() > 0
	})
	if _, ok := pg.recvPT.Load(uint8(101)); ok {
		t.Fatal("the page got the engine's payload type 101")
	}
}

// A transfer from alice's browser call to bob, whose only device is his
// page: the party called refuses REFER, so phoned rings bob's page, he
// answers in the browser, the party is bridged to him; alice's page sees
// the call end as transferred, bob's page has it, and audio flows.
func TestTransferToAnotherAgentsPage(t *testing.T) {
	r := newRig(t, Config{})
	alice := r.open("alice")
	bob := r.open("bob")
	call, _ := alice.dialAnswered("legA", "+3225550106")

	if err := r.engine.Transfer(context.Background(), call, switchboard.TransferRequest{Extension: "102"}); err != nil {
		t.Fatal(err)
	}
	in := bob.expect("incoming", 5*time.Second)
	if c := in["call"].(map[string]any); c["id"] != call || in["ring"] != true {
		t.Fatalf("bob's incoming %v", in)
	}
	trackB := bob.answerCall(call, "legB")

	ended := alice.expectCall("ended", 10*time.Second)
	if ended["outcome"] != string(comm.OutcomeTransferred) {
		t.Fatalf("alice's end of the call %v", ended)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c := bob.expect("call", time.Until(deadline))["call"].(map[string]any)
		if c["user"] == "bob" && c["state"] == "answered" {
			break
		}
	}
	echo := r.sip.last()
	before := echo.packets.Load()
	sendAudio(t, trackB, 20, 1000, 0)
	waitFor(t, 5*time.Second, "bob's audio at the party", func() bool { return echo.packets.Load() >= before+15 })
	waitFor(t, 5*time.Second, "the party's audio in bob's page", func() bool { return bob.received.Load() >= 15 })
}

// An attended transfer between two pages: alice consults bob (his page
// answers) while the party waits on hold, then connects them; bob's page
// keeps the call with audio, alice's sees it end as transferred.
func TestConsultThenConnectBetweenPages(t *testing.T) {
	r := newRig(t, Config{})
	alice := r.open("alice")
	bob := r.open("bob")
	call, _ := alice.dialAnswered("legA", "+3225550107")
	echo := r.sip.last()
	echo.reanswerHold = true

	ctx := context.Background()
	if err := r.engine.Consult(ctx, call, switchboard.TransferRequest{Extension: "102"}); err != nil {
		t.Fatal(err)
	}
	bob.expect("incoming", 5*time.Second)
	trackB := bob.answerCall(call, "legB")
	deadline := time.Now().Add(5 * time.Second)
	for {
		s, _ := r.engine.LiveCall(call)
		if s.Consult != nil && s.Consult.State == switchboard.StateAnswered {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the consult was not answered: %+v", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := r.engine.CompleteConsult(ctx, call); err != nil {
		t.Fatal(err)
	}
	if ended := alice.expectCall("ended", 10*time.Second); ended["outcome"] != string(comm.OutcomeTransferred) {
		t.Fatalf("alice's end %v", ended)
	}
	before := echo.packets.Load()
	sendAudio(t, trackB, 20, 2000, 0)
	waitFor(t, 5*time.Second, "bob's audio at the party", func() bool { return echo.packets.Load() >= before+15 })
	waitFor(t, 5*time.Second, "the party's audio in bob's page", func() bool { return bob.received.Load() >= 15 })
}

// A call to a number the engine did not name a partner for shows the
// partner found by the number on the pages (and the supervisors').
func TestCallSnapshotsNameThePartner(t *testing.T) {
	r := newRig(t, Config{})
	alice := r.open("alice")
	sam := r.open("sam")
	sdp, _ := alice.offer("legA")
	alice.send(map[string]any{"type": "dial", "leg": "legA", "sdp": sdp, "number": "+3225550199"})
	alice.setAnswer(alice.expect("sdp", 5*time.Second)["sdp"].(string))
	deadline := time.Now().Add(10 * time.Second)
	for _, pg := range []*page{alice, sam} {
		for {
			c := pg.expect("call", time.Until(deadline))["call"].(map[string]any)
			if c["partner_name"] == "Grace Hopper" && c["partner_id"] == float64(42) {
				break
			}
		}
	}
}

// A page cannot pile up calls: past Config.MaxCallsPerAgent browser legs
// a dial is refused in words.
func TestTooManyBrowserCallsAreRefused(t *testing.T) {
	r := newRig(t, Config{MaxCallsPerAgent: 3})
	pg := r.open("alice")
	for i := 0; i < 3; i++ {
		leg := fmt.Sprintf("leg%d", i)
		sdp, _ := pg.offer(leg)
		pg.send(map[string]any{"type": "dial", "req": fmt.Sprintf("r%d", i), "leg": leg, "sdp": sdp, "number": fmt.Sprintf("+32255501%02d", i)})
		pg.expect("sdp", 5*time.Second)
	}
	sdp, _ := pg.offer("legz")
	pg.send(map[string]any{"type": "dial", "req": "rz", "leg": "legz", "sdp": sdp, "number": "+3225550120"})
	m := pg.expect("error", 5*time.Second)
	if m["req"] != "rz" || m["code"] != "busy" {
		t.Fatalf("fifth dial: %v", m)
	}
}
