package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"

	"phoned/comm"
	"phoned/internal/peertest"
)

// The widget in a real Chromium (headless, a fake microphone playing a
// 1 kHz tone) against the daemon and SIPp peers on loopback: every
// subtest acts through the page as an agent would (clicks) and checks the
// page, what phoned stored, and SIPp's verdict. One daemon and one
// browser serve the subtests, in order.
//
// PHONED_SCREENSHOT=1 also writes docs/widget.png (the widget on a call);
// PHONED_TIMING_CALLS=n times n calls each way instead of 10 (the Timing
// subtest logs its figures and asserts nothing on them).

func TestBrowserWidget(t *testing.T) {
	r := newBrowserRig(t)
	bobPort := r.addAgent("bob", "202") // a colleague to transfer to, with a phone registered

	status, planned := r.post("api/calls", map[string]any{"partner_id": r.partner, "due": time.Now().UTC().Format(time.RFC3339), "summary": "Renewal"})
	if status != http.StatusCreated {
		t.Fatalf("plan a call = %d %v", status, planned)
	}
	plannedID := int64(planned["id"].(float64))
	row := fmt.Sprintf(`#queue-table tbody tr[data-call-id="%d"][data-partner-id="%d"]`, plannedID, r.partner)

	if !t.Run("LoginShowsTheQueue", func(t *testing.T) {
		r.login(t)
		r.waitVisible(t, row, 10*time.Second)
		text := evalJS[string](t, r, `document.querySelector(`+jsString(row)+`).textContent`)
		if !strings.Contains(text, "Carla Caller") || !strings.Contains(text, "Renewal") {
			t.Fatalf("the queue's row reads %q", text)
		}
		if name := evalJS[string](t, r, `document.querySelector("#agent-name").textContent`); name != "Ann Agent" {
			t.Fatalf("the header names %q", name)
		}
	}) {
		t.FailNow() // the rest needs the page logged in
	}

	t.Run("CallFromTheQueue", func(t *testing.T) {
		defer r.endCalls(t)
		carrier, echo := r.mediaCarrier(t)
		r.click(t, "#tab-queue")
		r.click(t, row+" button")
		c := r.waitConnected(t)
		if c.Direction != "out" || !c.Browser {
			t.Fatalf("window.phoned.call = %+v", c)
		}
		s := r.waitAudio(t, 0)
		t.Logf("page stats: %+v", s)
		if os.Getenv("PHONED_SCREENSHOT") == "1" {
			r.screenshot(t)
		}
		time.Sleep(time.Until(time.Now().Add(1200 * time.Millisecond))) // a call of at least a second
		r.click(t, "#call-hangup")
		r.waitIdle(t)
		waitSIPp(t, "the carrier", carrier)
		if n, _ := echo.counts(); n == 0 {
			t.Fatal("the carrier's media got no RTP")
		}
		ev := r.event(t, c.EventID)
		if ev.Direction != comm.DirectionOut || ev.Outcome != comm.OutcomeAnswered || ev.HangupBy != comm.HangupAgent || ev.DurationSeconds() < 1 ||
			ev.ActivityID != plannedID || ev.ToNumber != "+3222001122" || ev.UserLogin != "ann" {
			t.Fatalf("event %+v", ev)
		}
		qualityBothWays(t, ev, 20)
		var pc map[string]any
		getJSON(t, r.client, fmt.Sprintf("%sapi/calls/%d", r.d.url, plannedID), &pc)
		if pc["state"] != "done" {
			t.Fatalf("the planned call is %v after the call", pc["state"])
		}
		r.waitVisible(t, "form#wrapup", 5*time.Second)
		r.skipWrapups(t)
		r.waitJS(t, "the done call leaves the queue", `!document.querySelector(`+jsString(row)+`)`, 5*time.Second)
	})

	t.Run("IncomingAnswered", func(t *testing.T) {
		defer r.endCalls(t)
		caller := r.caller(t, "uac-call.xml")
		r.waitVisible(t, "#incoming-answer", 10*time.Second)
		if card := evalJS[string](t, r, `document.querySelector("#incoming-card").textContent`); !strings.Contains(card, "Carla Caller") {
			t.Fatalf("the incoming card reads %q", card)
		}
		r.click(t, "#incoming-answer")
		c := r.waitConnected(t)
		if c.Direction != "in" {
			t.Fatalf("window.phoned.call = %+v", c)
		}
		t.Logf("page stats: %+v", r.waitAudio(t, 0))
		// The caller hangs up after 8 s.
		r.waitIdle(t)
		r.waitVisible(t, "form#wrapup", 5*time.Second)
		waitSIPp(t, "the caller", caller)
		ev := r.event(t, c.EventID)
		if ev.Direction != comm.DirectionIn || ev.Outcome != comm.OutcomeAnswered || ev.HangupBy != comm.HangupCaller || ev.DurationSeconds() < 5 || ev.UserLogin != "ann" {
			t.Fatalf("event %+v", ev)
		}
		qualityBothWays(t, ev, 20)
		r.skipWrapups(t)
	})

	t.Run("IncomingRejected", func(t *testing.T) {
		defer r.endCalls(t)
		caller := r.caller(t, "uac-busy.xml") // expects 486
		r.waitVisible(t, "#incoming-reject", 10*time.Second)
		live := r.liveCalls(t)
		if len(live) != 1 || live[0].State != "ringing" || live[0].EventID == 0 {
			t.Fatalf("live calls while it rings: %+v", live)
		}
		r.click(t, "#incoming-reject")
		waitSIPp(t, "the caller", caller)
		r.waitJS(t, "the incoming panel goes", `document.querySelector("#incoming").hidden`, 5*time.Second)
		ev := r.event(t, live[0].EventID)
		if ev.Outcome != comm.OutcomeRejected || ev.HangupBy != comm.HangupAgent {
			t.Fatalf("event %+v", ev)
		}
	})

	t.Run("TransferToAColleague", func(t *testing.T) {
		defer r.endCalls(t)
		referLog := filepath.Join(t.TempDir(), "refer.log")
		partner := r.carrier(t, "uas-refer.xml", "-rtp_echo", "-trace_logs", "-log_file", referLog)
		r.dialNumber(t, "+32 2 200 11 22")
		c := r.waitConnected(t)
		r.do(t, "type the transfer target", 5*time.Second, chromedp.SendKeys(chromedp.CSS("#call-transfer-to"), "202"))
		r.click(t, "#call-transfer")
		r.waitJS(t, "the transfer is under way", `document.querySelector("#call-transfer-result").textContent.includes("under way")`, 10*time.Second)
		waitSIPp(t, "the partner", partner)
		wantLogged(t, referLog, "REFER to <sip:202@")
		r.waitIdle(t)
		ev := r.event(t, c.EventID)
		if ev.Outcome != comm.OutcomeTransferred || ev.Target != "202" {
			t.Fatalf("event %+v", ev)
		}
		r.skipWrapups(t)
	})

	// Attended transfer from the call screen: Consult rings bob's phone
	// while the partner waits on hold, Connect sends the partner a REFER
	// naming bob's dialog with Replaces (the partner's scenario fails
	// without it), and phoned leaves both.
	t.Run("ConsultThenConnect", func(t *testing.T) {
		defer r.endCalls(t)
		referLog := filepath.Join(t.TempDir(), "refer.log")
		partner := r.carrier(t, "uas-refer-replaces.xml", "-rtp_echo", "-trace_logs", "-log_file", referLog)
		bob := r.phone(bobPort, "uas-answer-echo.xml", "-rtp_echo")
		r.dialNumber(t, "+32 2 200 11 22")
		c := r.waitConnected(t)
		r.do(t, "type the consult target", 5*time.Second, chromedp.SendKeys(chromedp.CSS("#call-transfer-to"), "202"))
		r.click(t, "#call-consult")
		r.waitJS(t, "bob answers the consult", `document.querySelector("#call-consult-state").textContent.includes("on the line")`, 15*time.Second)
		r.click(t, "#call-consult-connect")
		waitSIPp(t, "the partner", partner)
		waitSIPp(t, "bob's phone", bob)
		r.waitIdle(t)
		wantLogged(t, referLog, "?Replaces=")
		ev := r.event(t, c.EventID)
		if ev.Outcome != comm.OutcomeTransferred || ev.Target != "202" {
			t.Fatalf("event %+v", ev)
		}
		r.skipWrapups(t)
	})

	t.Run("KeypadSendsDTMF", func(t *testing.T) {
		defer r.endCalls(t)
		carrier, echo := r.mediaCarrier(t)
		r.dialNumber(t, "+32 2 200 11 22")
		c := r.waitConnected(t)
		r.waitAudio(t, 0)
		// Record the answers to the page's POST /api/live-calls/{id}/dtmf.
		evalJS[bool](t, r, `(() => {
			window.__dtmfStatus = [];
			const f = window.fetch;
			window.fetch = async (...args) => {
				const res = await f(...args);
				if (String(args[0]).endsWith("/dtmf")) window.__dtmfStatus.push(res.status);
				return res;
			};
			return true;
		})()`)
		r.click(t, "#call-keypad")
		r.waitVisible(t, "#call-dtmf", 5*time.Second)
		r.click(t, "#call-dtmf button:nth-child(5)") // 1 2 3 4 5 …
		r.waitJS(t, "the page shows the digit sent", `document.querySelector("#call-dtmf-sent").textContent === "Sent: 5"`, 5*time.Second)
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, evs := echo.counts()
			if slices.ContainsFunc(evs, func(e rtpEvent) bool { return e.Event == 5 && e.End }) &&
				!slices.ContainsFunc(evs, func(e rtpEvent) bool { return e.Event != 5 }) {
				t.Logf("telephone-events at the carrier: %d packets, payload type %d", len(evs), evs[0].PT)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the carrier got no RFC 4733 event 5 (with its end): %+v", evs)
			}
			time.Sleep(50 * time.Millisecond)
		}
		// The carrier echoes the events back: phoned tells the page the
		// other party pressed 5.
		r.waitJS(t, "the page shows the digit received", `document.querySelector("#call-dtmf-rx").textContent === "They pressed: 5"`, 5*time.Second)
		if errText := evalJS[string](t, r, `document.querySelector("#call-error").textContent`); errText != "" {
			t.Fatalf("the page shows an error: %q", errText)
		}
		// phoned's API took the digit: the page's POST …/dtmf answered 2xx
		// (once the digit's last packets went out).
		r.waitJS(t, "the page's POST …/dtmf answers", `window.__dtmfStatus.length > 0`, 5*time.Second)
		if st := evalJS[[]int](t, r, `window.__dtmfStatus`); len(st) != 1 || st[0]/100 != 2 {
			t.Fatalf("the page's POST /api/live-calls/{id}/dtmf answered %v, want one 2xx", st)
		}

		r.click(t, "#call-hangup")
		r.waitIdle(t)
		waitSIPp(t, "the carrier", carrier)
		if ev := r.event(t, c.EventID); ev.Outcome != comm.OutcomeAnswered {
			t.Fatalf("event %+v", ev)
		}
		r.skipWrapups(t)
	})

	t.Run("ReloadMidCall", func(t *testing.T) {
		defer r.endCalls(t)
		carrier, echo := r.mediaCarrier(t)
		r.dialNumber(t, "+32 2 200 11 22")
		c := r.waitConnected(t)
		r.waitAudio(t, 0)
		r.do(t, "reload the page", 15*time.Second, chromedp.Reload())
		r.waitJS(t, "the WebSocket opens again", `document.querySelector("#conn").dataset.state === "open"`, 10*time.Second)
		live := r.liveCalls(t)
		if len(live) != 1 || live[0].ID != c.ID || live[0].State != "answered" {
			t.Fatalf("live calls after the reload: %+v", live)
		}
		// The page reattaches by itself: a new RTCPeerConnection, audio again.
		before := r.waitAudio(t, 0)
		after := r.waitAudio(t, before.Received)
		t.Logf("page stats after the reload: %+v then %+v", before, after)
		if again := r.waitConnected(t); again.ID != c.ID {
			t.Fatalf("the page shows call %s, want %s", again.ID, c.ID)
		}
		n1, _ := echo.counts()
		r.click(t, "#call-hangup")
		r.waitIdle(t)
		waitSIPp(t, "the carrier", carrier)
		if n2, _ := echo.counts(); n2 <= n1 {
			t.Fatalf("the carrier got no RTP after the reload (%d then %d packets)", n1, n2)
		}
		ev := r.event(t, c.EventID)
		if ev.Outcome != comm.OutcomeAnswered || ev.HangupBy != comm.HangupAgent {
			t.Fatalf("event %+v", ev)
		}
		r.skipWrapups(t)
	})

	// Another page of ann takes the call back when the page holding it
	// goes: the second tab's hello named the call attached to the first
	// tab, so it reattaches on the snapshot that reports the call detached
	// (which a page does within 10 s of its hello: the race of a reload,
	// whose new page may say hello before phoned saw the old one close).
	t.Run("AnotherTabTakesTheCallBack", func(t *testing.T) {
		defer r.endCalls(t)
		carrier, echo := r.mediaCarrier(t)
		r.dialNumber(t, "+32 2 200 11 22")
		c := r.waitConnected(t)
		r.waitAudio(t, 0)
		tab, closeTab := chromedp.NewContext(r.ctx) // a second tab of the same browser and session
		defer closeTab()
		b := &browserRig{dialRig: r.dialRig, ctx: tab}
		// The first action opens the tab: with its own context (bounded by
		// the browser's), as a timeout on it would close the tab.
		if err := chromedp.Do(tab, chromedp.Navigate(r.d.url)); err != nil {
			t.Fatalf("open a second tab: %v", err)
		}
		b.waitJS(t, "the second tab's WebSocket opens", `document.querySelector("#conn").dataset.state === "open"`, 10*time.Second)
		if calls := evalJS[[]pageCall](t, b, `[...document.querySelectorAll("#callscreen:not([hidden])")].map(() => window.phoned.call)`); len(calls) != 0 {
			t.Fatalf("the second tab shows the call while the first holds it: %+v", calls)
		}
		r.do(t, "leave the widget in the first tab", 10*time.Second, chromedp.Navigate("about:blank"))
		before := b.waitAudio(t, 0)
		after := b.waitAudio(t, before.Received)
		t.Logf("second tab's stats: %+v then %+v", before, after)
		if again := b.waitConnected(t); again.ID != c.ID {
			t.Fatalf("the second tab shows call %s, want %s", again.ID, c.ID)
		}
		n1, _ := echo.counts()
		b.click(t, "#call-hangup")
		b.waitIdle(t)
		waitSIPp(t, "the carrier", carrier)
		if n2, _ := echo.counts(); n2 <= n1 {
			t.Fatalf("the carrier got no RTP from the second tab (%d then %d packets)", n1, n2)
		}
		if ev := r.event(t, c.EventID); ev.Outcome != comm.OutcomeAnswered || ev.HangupBy != comm.HangupAgent {
			t.Fatalf("event %+v", ev)
		}
		closeTab()
		r.do(t, "back to the widget in the first tab", 15*time.Second, chromedp.Navigate(r.d.url))
		r.waitJS(t, "the WebSocket opens again", `document.querySelector("#conn").dataset.state === "open"`, 10*time.Second)
		r.skipWrapups(t)
	})

	t.Run("Timing", func(t *testing.T) {
		defer r.endCalls(t)
		calls := 10 // PHONED_TIMING_CALLS=100 for the figures of docs/PERFORMANCE.md
		if n, err := strconv.Atoi(os.Getenv("PHONED_TIMING_CALLS")); err == nil && n > 0 {
			calls = n
		}
		var dial, ring []time.Duration
		for i := range calls {
			msgs := filepath.Join(t.TempDir(), fmt.Sprintf("dial-%d.msg", i))
			carrier := r.carrier(t, "uas-busy.xml", "-trace_msg", "-message_file", msgs)
			r.dialNumber(t, "+32 2 200 11 22")
			waitSIPp(t, "the busy carrier", carrier)
			r.waitIdle(t)
			click := time.UnixMilli(evalJS[int64](t, r, `window.phoned.marks.dialClick`))
			invites, err := sippMessageTimes(msgs, "INVITE ")
			if err != nil {
				t.Fatal(err)
			}
			dial = append(dial, invites[0].Sub(click))
		}
		r.skipWrapups(t)
		for i := range calls {
			msgs := filepath.Join(t.TempDir(), fmt.Sprintf("ring-%d.msg", i))
			caller := r.caller(t, "uac-busy.xml", "-trace_msg", "-message_file", msgs)
			r.waitVisible(t, "#incoming-reject", 10*time.Second)
			shown := time.UnixMilli(evalJS[int64](t, r, `window.phoned.marks.incomingShown`))
			r.click(t, "#incoming-reject")
			waitSIPp(t, "the caller", caller)
			r.waitJS(t, "the incoming panel goes", `document.querySelector("#incoming").hidden`, 5*time.Second)
			invites, err := sippMessageTimes(msgs, "INVITE ")
			if err != nil {
				t.Fatal(err)
			}
			ring = append(ring, shown.Sub(invites[0]))
		}
		for _, m := range []struct {
			what string
			d    []time.Duration
		}{{"Call click → INVITE at the PBX", dial}, {"INVITE from the PBX → Answer shown", ring}} {
			slices.Sort(m.d)
			t.Logf("%s over %d calls: p50 %v, p99 %v, max %v (min %v)", m.what, len(m.d),
				percentile(m.d, 50), percentile(m.d, 99), m.d[len(m.d)-1], m.d[0])
		}
	})
}

// screenshot writes docs/widget.png: the page as it is, 1280x800.
func (r *browserRig) screenshot(t *testing.T) {
	t.Helper()
	time.Sleep(2500 * time.Millisecond) // the timer shows a second or two, the partner card is filled
	ctx, cancel := context.WithTimeout(r.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("viewport: %v", err)
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join("..", "..", "docs", "widget.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Log("wrote docs/widget.png")
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// The WebSocket is refused before the upgrade to a client without a
// session (401) and to a page of another origin (403).
func TestBrowserWebSocketRefused(t *testing.T) {
	peertest.Require(t, "sipp") // newCallRig's
	r := newCallRig(t)
	client := newClient(t)
	wsURL := "ws" + strings.TrimPrefix(r.d.url, "http") + "ws"
	own := http.Header{"Origin": {strings.TrimSuffix(r.d.url, "/")}}
	dial := func(jar http.CookieJar, h http.Header) (*websocket.Conn, *http.Response, error) {
		d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, Jar: jar}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return d.DialContext(ctx, wsURL, h)
	}
	if c, resp, err := dial(nil, own); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		if c != nil {
			c.Close()
		}
		t.Fatalf("no session: %v %v, want 401", resp, err)
	}
	login(t, client, r.d.url, "ann", "ann-password")
	for _, origin := range []string{"http://evil.example", "null", ""} {
		h := http.Header{}
		if origin != "" {
			h.Set("Origin", origin)
		}
		if c, resp, err := dial(client.Jar, h); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			if c != nil {
				c.Close()
			}
			t.Fatalf("origin %q: %v %v, want 403", origin, resp, err)
		}
	}
	// The same session from phoned's own origin is let in: hello first.
	c, _, err := dial(client.Jar, own)
	if err != nil {
		t.Fatalf("own origin: %v", err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var hello struct {
		Type string `json:"type"`
		User struct {
			Login string `json:"login"`
		} `json:"user"`
	}
	if err := c.ReadJSON(&hello); err != nil || hello.Type != "hello" || hello.User.Login != "ann" {
		t.Fatalf("first message %+v, %v", hello, err)
	}
}
