package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"phoned/comm"
	"phoned/internal/peertest"
	"phoned/store"
)

// The browser rig: one daemon (agent ann, extension 201, with a SIPp
// carrier as its PBX), one headless Chromium whose fake microphone plays
// a 1 kHz tone, one tab with the widget logged in as ann. The browser
// tests share it across their subtests; each step is bounded in time.

// browserLimit bounds the whole browser (every step runs under it).
const browserLimit = 3 * time.Minute

type browserRig struct {
	*dialRig
	ctx context.Context // the tab
}

func newBrowserRig(t *testing.T) *browserRig {
	chromium := peertest.Require(t, "chromium")
	r := &browserRig{dialRig: newDialRig(t, "--media-ip", "127.0.0.1", "--webrtc-ports", "42000-42999")}
	wav := filepath.Join(t.TempDir(), "tone-1k.wav")
	if err := writeTone(wav, 48000, 1000, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", "new"),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-audio-capture", wav),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		// no UserDataDir: chromedp makes a fresh profile and removes it
	}
	// The allocator's deadline bounds every step; cancelling it ends the
	// Chromium that chromedp started (and only that one).
	bctx, bcancel := context.WithTimeout(context.Background(), browserLimit)
	actx, acancel := chromedp.NewExecAllocator(bctx, opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		acancel()
		bcancel()
	})
	r.ctx = ctx
	// The first action starts the browser: with the tab's own context, as
	// a timeout on it would end the browser with the step.
	if err := chromedp.Do(ctx, chromedp.Navigate(r.d.url)); err != nil {
		t.Fatalf("start chromium and open %s: %v", r.d.url, err)
	}
	return r
}

// do runs steps within d.
func (r *browserRig) do(t *testing.T, what string, d time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(r.ctx, d)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, r.pageState())
	}
}

// click clicks the first visible element of a CSS selector. A list the
// page redraws (the queue after a refresh) may replace the node between
// the query and the click, before any mouse event: that is tried again.
func (r *browserRig) click(t *testing.T, sel string) {
	t.Helper()
	for try := 0; ; try++ {
		ctx, cancel := context.WithTimeout(r.ctx, 10*time.Second)
		err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel)))
		cancel()
		if err == nil {
			return
		}
		if try < 3 && strings.Contains(err.Error(), "node with given id") {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		t.Fatalf("click %s: %v\n%s", sel, err, r.pageState())
	}
}

// waitVisible waits until an element of a CSS selector is visible.
func (r *browserRig) waitVisible(t *testing.T, sel string, d time.Duration) {
	t.Helper()
	r.do(t, "wait for "+sel, d, chromedp.WaitVisible(chromedp.CSS(sel)))
}

// waitJS polls a JavaScript predicate until it is true.
func (r *browserRig) waitJS(t *testing.T, what, expr string, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(r.ctx, d+time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(d))); err != nil {
		t.Fatalf("%s (%s): %v\n%s", what, expr, err, r.pageState())
	}
}

// evalJS evaluates an expression (a promise is awaited) within 10 s.
func evalJS[T any](t *testing.T, r *browserRig, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(r.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// pageState describes the page for a failure message.
func (r *browserRig) pageState() string {
	ctx, cancel := context.WithTimeout(r.ctx, 3*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({
		conn: document.querySelector("#conn") && document.querySelector("#conn").dataset.state,
		error: document.querySelector("#call-error") && document.querySelector("#call-error").textContent,
		state: document.querySelector("#call-state") && document.querySelector("#call-state").textContent,
		incoming: document.querySelector("#incoming") && !document.querySelector("#incoming").hidden,
		callscreen: document.querySelector("#callscreen") && !document.querySelector("#callscreen").hidden,
		wrapup: document.querySelector("#wrapup") && !document.querySelector("#wrapup").hidden,
		pc: window.phoned && window.phoned.pc ? window.phoned.pc.connectionState : null,
		call: window.phoned ? window.phoned.call : null})`))
	if err != nil {
		return "page state: " + err.Error()
	}
	return "page state: " + s
}

// rtpStats is what the page's RTCPeerConnection counted.
type rtpStats struct {
	State    string `json:"state"`
	Received int    `json:"received"` // inbound-rtp packetsReceived
	Sent     int    `json:"sent"`     // outbound-rtp packetsSent
}

const statsJS = `(async () => {
	const pc = window.phoned && window.phoned.pc;
	if (!pc) return {state: "none", received: 0, sent: 0};
	const r = {state: pc.connectionState, received: 0, sent: 0};
	(await pc.getStats()).forEach((s) => {
		if (s.type === "inbound-rtp" && s.kind === "audio") r.received += s.packetsReceived || 0;
		if (s.type === "outbound-rtp" && s.kind === "audio") r.sent += s.packetsSent || 0;
	});
	return r;
})()`

func (r *browserRig) stats(t *testing.T) rtpStats {
	t.Helper()
	return evalJS[rtpStats](t, r, statsJS)
}

// waitAudio waits until the page's connection is up and has received more
// than `above` packets and sent some.
func (r *browserRig) waitAudio(t *testing.T, above int) rtpStats {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := r.stats(t)
		if s.State == "connected" && s.Received > above && s.Sent > 0 {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("no audio both ways in the page: %+v\n%s", s, r.pageState())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// login logs ann in through the page and waits for the signalling.
func (r *browserRig) login(t *testing.T) {
	t.Helper()
	r.waitVisible(t, "form#login", 10*time.Second)
	r.do(t, "fill the login form", 10*time.Second,
		chromedp.SendKeys(chromedp.CSS("form#login input[name=login]"), "ann"),
		chromedp.SendKeys(chromedp.CSS("form#login input[name=password]"), "ann-password"))
	r.click(t, "form#login button")
	r.waitVisible(t, "#app", 10*time.Second)
	r.waitJS(t, "the WebSocket opens", `document.querySelector("#conn").dataset.state === "open"`, 10*time.Second)
}

// skipWrapups skips the wrap-ups the page shows.
func (r *browserRig) skipWrapups(t *testing.T) {
	t.Helper()
	for range 20 {
		if !evalJS[bool](t, r, `!document.querySelector("#wrapup").hidden`) {
			return
		}
		r.click(t, "#wrapup-skip")
	}
}

// dialNumber dials a number from the Keypad tab.
func (r *browserRig) dialNumber(t *testing.T, number string) {
	t.Helper()
	r.click(t, "#tab-keypad")
	r.do(t, "type the number", 5*time.Second, chromedp.SetValue(chromedp.CSS("#dial-number"), number))
	r.click(t, "#dial-call")
}

// waitConnected waits for the call screen to show Connected and returns
// the call's snapshot as the page has it.
func (r *browserRig) waitConnected(t *testing.T) pageCall {
	t.Helper()
	r.waitJS(t, "the call screen shows Connected",
		`!document.querySelector("#callscreen").hidden && document.querySelector("#call-state").dataset.state === "answered" && document.querySelector("#call-state").textContent === "Connected"`,
		15*time.Second)
	c := evalJS[pageCall](t, r, `window.phoned.call`)
	if c.ID == "" || c.EventID == 0 {
		t.Fatalf("window.phoned.call = %+v", c)
	}
	return c
}

// waitIdle waits until the call screen is gone.
func (r *browserRig) waitIdle(t *testing.T) {
	t.Helper()
	r.waitJS(t, "the call screen goes", `document.querySelector("#callscreen").hidden && !window.phoned.pc`, 15*time.Second)
}

// pageCall is the snapshot of window.phoned.call.
type pageCall struct {
	ID        string `json:"id"`
	State     string `json:"state"`
	Direction string `json:"direction"`
	EventID   int64  `json:"event_id"`
	Browser   bool   `json:"browser"`
	Attached  bool   `json:"attached"`
}

// event waits until the event is completed and returns it.
func (r *browserRig) event(t *testing.T, id int64) *comm.Event {
	t.Helper()
	st, err := store.Open(context.Background(), r.db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ev, err := st.Event(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if ev.State == comm.EventCompleted {
			return ev
		}
		if time.Now().After(deadline) {
			t.Fatalf("event %d is not completed: %+v", id, ev)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// liveCalls reads ann's live calls from the API.
func (r *browserRig) liveCalls(t *testing.T) []pageCall {
	t.Helper()
	var calls []pageCall
	getJSON(t, r.client, r.d.url+"api/live-calls", &calls)
	return calls
}

// endCalls hangs up ann's live calls after a failure, so that the SIPp
// peers end now rather than at their timeout (and the next subtest starts
// clean). Defer it in each subtest that places a call.
func (r *browserRig) endCalls(t *testing.T) {
	if !t.Failed() {
		return
	}
	var calls []pageCall
	getJSON(t, r.client, r.d.url+"api/live-calls", &calls)
	for _, c := range calls {
		do(t, r.client, http.MethodPost, r.d.url+"api/live-calls/"+c.ID+"/hangup", nil)
	}
}

// qualityBothWays checks that phoned counted RTP in and out on every leg.
func qualityBothWays(t *testing.T, ev *comm.Event, min uint64) {
	t.Helper()
	var q map[string]struct {
		PacketsIn  uint64 `json:"packets_in"`
		PacketsOut uint64 `json:"packets_out"`
	}
	if err := json.Unmarshal(ev.Quality, &q); err != nil {
		t.Fatalf("quality %s: %v", ev.Quality, err)
	}
	if len(q) < 2 {
		t.Fatalf("quality %s: want the agent's leg and the other party's", ev.Quality)
	}
	for leg, c := range q {
		if c.PacketsIn < min || c.PacketsOut < min {
			t.Fatalf("quality %s: leg %s counted fewer than %d packets one way", ev.Quality, leg, min)
		}
	}
	t.Logf("phoned's RTP counts: %s", ev.Quality)
}

// carrier starts a SIPp callee on the PBX port (phoned's --pbx).
func (r *browserRig) carrier(t *testing.T, sc string, args ...string) *peertest.SIPp {
	t.Helper()
	all := append([]string{"-i", "127.0.0.1", "-p", strconv.Itoa(r.carrierPort), "-mi", "127.0.0.1",
		"-mp", strconv.Itoa(sippMediaPort(t)), "-m", "1", "-timeout", "40s", "-timeout_error"}, args...)
	return peertest.StartSIPp(t, scenario(sc), 50*time.Second, all...)
}

// caller starts the PBX's SIPp caller against extension 201.
func (r *browserRig) caller(t *testing.T, sc string, args ...string) *peertest.SIPp {
	t.Helper()
	all := append([]string{"-i", "127.0.0.1", "-p", strconv.Itoa(peertest.FreePort(t, "127.0.0.1")), "-mi", "127.0.0.1",
		"-mp", strconv.Itoa(sippMediaPort(t)), "-s", "201", "-m", "1", "-timeout", "40s", "-timeout_error"}, args...)
	all = append(all, r.sipAddr)
	return peertest.StartSIPp(t, scenario(sc), 50*time.Second, all...)
}

// sippMediaPort returns a -mp for SIPp: SIPp binds that port and the three
// above it (RTP and RTCP of audio and video), so the four must be free. They
// are taken below the kernel's ephemeral range (32768 up, where Chromium's
// and SIPp's other sockets land) and above nothing the rig uses.
func sippMediaPort(t *testing.T) int {
	t.Helper()
	sippPorts.Lock()
	defer sippPorts.Unlock()
	for range 500 {
		sippPorts.next += 4
		if sippPorts.next < 20000 || sippPorts.next > 29990 {
			sippPorts.next = 20000 + 4*int(time.Now().UnixNano()%2000)
		}
		p := sippPorts.next
		var held []net.PacketConn
		for i := range 4 {
			c, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p+i)))
			if err != nil {
				break
			}
			held = append(held, c)
		}
		for _, c := range held {
			c.Close()
		}
		if len(held) == 4 {
			return p
		}
	}
	t.Fatal("no four free UDP ports in 20000-29999 for SIPp's media")
	return 0
}

var sippPorts struct {
	sync.Mutex
	next int
}

// waitSIPp waits for a SIPp and fails unless it exited 0.
func waitSIPp(t *testing.T, who string, s *peertest.SIPp) {
	t.Helper()
	if code := s.Wait(); code != 0 {
		t.Fatalf("%s: SIPp exited %d", who, code)
	}
}

// rtpEcho is the media end of the SIPp carrier of uas-answer-media.xml:
// it sends every RTP packet back where it came from and records the
// RFC 4733 events (any payload type but PCMU and PCMA, 4 bytes).
type rtpEcho struct {
	conn *net.UDPConn
	done chan struct{}

	mu      sync.Mutex // guards the following
	packets int
	events  []rtpEvent
}

type rtpEvent struct {
	PT    uint8
	Event uint8
	End   bool
}

func newRTPEcho(t *testing.T) *rtpEcho {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	e := &rtpEcho{conn: c, done: make(chan struct{})}
	go e.run()
	t.Cleanup(func() {
		c.Close()
		<-e.done
	})
	return e
}

func (e *rtpEcho) port() int { return e.conn.LocalAddr().(*net.UDPAddr).Port }

func (e *rtpEcho) run() {
	defer close(e.done)
	buf := make([]byte, 2048)
	for {
		n, from, err := e.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if n < 12 || buf[0]>>6 != 2 {
			continue
		}
		pt := buf[1] & 0x7f
		off := 12 + 4*int(buf[0]&0x0f)
		e.mu.Lock()
		e.packets++
		if pt != 0 && pt != 8 && n-off == 4 {
			e.events = append(e.events, rtpEvent{PT: pt, Event: buf[off], End: buf[off+1]&0x80 != 0})
		}
		e.mu.Unlock()
		_, _ = e.conn.WriteToUDP(buf[:n], from)
	}
}

func (e *rtpEcho) counts() (int, []rtpEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.packets, append([]rtpEvent(nil), e.events...)
}

// mediaCarrier starts the carrier of uas-answer-media.xml with its RTP
// echo.
func (r *browserRig) mediaCarrier(t *testing.T) (*peertest.SIPp, *rtpEcho) {
	t.Helper()
	echo := newRTPEcho(t)
	return r.carrier(t, "uas-answer-media.xml", "-key", "rtp_ip", "127.0.0.1", "-key", "rtp_port", strconv.Itoa(echo.port())), echo
}

// sippMessageTimes reads a SIPp -trace_msg file and returns the times of
// the messages whose first line starts with start ("INVITE "), received
// or sent. SIPp writes each message after a line of dashes and its local
// time with microseconds.
func sippMessageTimes(path, start string) ([]time.Time, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []time.Time
	var stamp time.Time
	var next int // lines since the stamp
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "-----------------------------------------------"); ok {
			rest = strings.TrimSpace(strings.TrimLeft(rest, "-"))
			tm, err := time.ParseInLocation("2006-01-02 15:04:05.000000", rest, time.Local)
			if err != nil {
				return nil, fmt.Errorf("%s: a stamp %q: %w", path, rest, err)
			}
			stamp, next = tm, 0
			continue
		}
		next++
		// The stamp, "UDP message sent/received…", an empty line, then the
		// message's first line.
		if next == 3 && !stamp.IsZero() && strings.HasPrefix(line, start) {
			out = append(out, stamp)
		}
	}
	if len(out) == 0 {
		return nil, errors.New(path + ": no " + start + "message")
	}
	return out, sc.Err()
}

// writeTone writes a WAV of a sine (16-bit mono PCM, half scale).
func writeTone(path string, rate, hz int, d time.Duration) error {
	n := int(int64(rate) * int64(d) / int64(time.Second))
	data := make([]byte, 44+2*n)
	copy(data[0:], "RIFF")
	binary.LittleEndian.PutUint32(data[4:], uint32(36+2*n))
	copy(data[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(data[16:], 16)
	binary.LittleEndian.PutUint16(data[20:], 1) // PCM
	binary.LittleEndian.PutUint16(data[22:], 1) // mono
	binary.LittleEndian.PutUint32(data[24:], uint32(rate))
	binary.LittleEndian.PutUint32(data[28:], uint32(rate*2))
	binary.LittleEndian.PutUint16(data[32:], 2)
	binary.LittleEndian.PutUint16(data[34:], 16)
	copy(data[36:], "data")
	binary.LittleEndian.PutUint32(data[40:], uint32(2*n))
	for i := range n {
		v := 0.5 * math.Sin(2*math.Pi*float64(hz)*float64(i)/float64(rate))
		binary.LittleEndian.PutUint16(data[44+2*i:], uint16(int16(v*math.MaxInt16)))
	}
	return os.WriteFile(path, data, 0o644)
}

// percentile returns the p-th percentile (nearest rank) of sorted values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
