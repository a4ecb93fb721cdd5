package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// result is one run's figures.
type result struct {
	Calls       int     `json:"calls"`
	Established int     `json:"established"`
	SetupFailed int     `json:"setup_failed"`
	SetupSecs   float64 `json:"setup_seconds"` // all set-ups, from the first dial to the last call up
	Seconds     float64 `json:"seconds"`       // the measured window
	LoadAvg     string  `json:"load_average_before"`

	SentUp       int64   `json:"sent_up"` // measured probes the clients sent
	RecvUp       int64   `json:"received_at_sip"`
	EchoedDown   int64   `json:"echoed_down"`
	RecvDown     int64   `json:"received_in_clients"`
	LossUpPct    float64 `json:"loss_up_pct"`   // client → phoned → SIP
	LossDownPct  float64 `json:"loss_down_pct"` // SIP → phoned → client
	Misrouted    int64   `json:"misrouted"`
	SendErrors   int64   `json:"send_errors"`
	Foreign      int64   `json:"foreign_at_sip"`
	BaseSent     int64   `json:"baseline_sent"`
	BaseLostPct  float64 `json:"baseline_loss_pct"`
	SIPByes      int64   `json:"sip_byes"`
	SIPInvites   int64   `json:"sip_invites"`
	SIPRefused   int64   `json:"sip_refused"`
	OneWay       dist    `json:"one_way_us"`          // client → phoned → SIP echo, µs
	BaseOneWay   dist    `json:"baseline_one_way_us"` // direct loopback hop, µs
	RTT          dist    `json:"rtt_us"`              // client → phoned → echo → phoned → client
	BaseRTT      dist    `json:"baseline_rtt_us"`
	AddedP50US   int32   `json:"added_p50_us"` // one-way p50 minus the baseline's
	AddedP99US   int32   `json:"added_p99_us"` // one-way p99 minus the baseline's
	PhonedCPU    float64 `json:"phoned_cpu_seconds"`
	PhonedCores  float64 `json:"phoned_cores"` // CPU seconds per wall second
	CallsPerCore float64 `json:"calls_per_core"`
	RSSBefore    int64   `json:"rss_before"`
	RSSDuring    int64   `json:"rss_during"`
	RSSPerCall   int64   `json:"rss_per_call"`
	ToolCores    float64 `json:"tool_cores"` // this process (clients, echo) over the window
}

// dist is a delay distribution in µs.
type dist struct {
	N   int   `json:"n"`
	P50 int32 `json:"p50"`
	P99 int32 `json:"p99"`
	Max int32 `json:"max"`
}

func distOf(samples []int32) dist {
	if len(samples) == 0 {
		return dist{}
	}
	slices.Sort(samples)
	q := func(p float64) int32 { return samples[min(len(samples)-1, int(math.Ceil(p*float64(len(samples))))-1)] }
	return dist{N: len(samples), P50: q(0.5), P99: q(0.99), Max: samples[len(samples)-1]}
}

func (d dist) String() string {
	return fmt.Sprintf("%s/%s/%s", ms(d.P50), ms(d.P99), ms(d.Max))
}

func ms(us int32) string { return fmt.Sprintf("%.3f", float64(us)/1000) }

func pct(lost, of int64) float64 {
	if of <= 0 {
		return 0
	}
	return 100 * float64(lost) / float64(of)
}

func (r result) String() string {
	return fmt.Sprintf("calls %d (up %d, failed %d, set-up %.2fs) | %.1fs measured, load %s | "+
		"phoned CPU %.1f%% of a core → %.0f calls/core | RSS %.1f → %.1f MB, %.0f KB/call | "+
		"loss up %.3f%% (%d/%d) down %.3f%% (%d/%d), misrouted %d | "+
		"one-way ms p50/p99/max %s (baseline %s) → added p50 %s p99 %s | RTT %s (baseline %s) | tool %.0f%% of a core",
		r.Calls, r.Established, r.SetupFailed, r.SetupSecs, r.Seconds, r.LoadAvg,
		100*r.PhonedCores, r.CallsPerCore, float64(r.RSSBefore)/1e6, float64(r.RSSDuring)/1e6, float64(r.RSSPerCall)/1e3,
		r.LossUpPct, r.SentUp-r.RecvUp, r.SentUp, r.LossDownPct, r.EchoedDown-r.RecvDown, r.EchoedDown, r.Misrouted,
		r.OneWay, r.BaseOneWay, ms(r.AddedP50US), ms(r.AddedP99US), r.RTT, r.BaseRTT, 100*r.ToolCores)
}

func (cfg config) logf(format string, args ...any) {
	if cfg.verbose {
		fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, args...)...)
	}
}

// runOnce runs n calls through a fresh phoned and measures them.
func runOnce(ctx context.Context, cfg config, bin, work string, n int) (result, error) {
	res := result{Calls: n, LoadAvg: loadAverage()}
	peer, err := startSIPPeer(work, n)
	if err != nil {
		return res, fmt.Errorf("SIP echo peer: %w", err)
	}
	defer peer.shutdown()
	d, err := startDaemon(ctx, cfg, bin, work, n, peer.addr.String())
	if err != nil {
		return res, err
	}
	defer d.stop()
	cfg.logf("phoned %d at %s, SIP echo peer at %s", d.pid(), d.url, peer.addr)
	cookie, err := login(ctx, d.url, "alice", "demo-alice")
	if err != nil {
		return res, err
	}

	pages := make([]*page, (n+cfg.perWS-1)/cfg.perWS)
	defer func() {
		for _, pg := range pages {
			if pg != nil {
				pg.close()
			}
		}
	}()
	for i := range pages {
		if pages[i], err = openPage(ctx, d.url, cookie); err != nil {
			return res, err
		}
	}
	api, err := newClientAPI()
	if err != nil {
		return res, err
	}
	time.Sleep(500 * time.Millisecond) // let phoned settle after its start
	res.RSSBefore, _ = procRSS(d.pid())

	// Set-up, at -rate per second, each call in its own goroutine.
	clients := make([]*client, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	t0 := time.Now()
	every := time.Duration(float64(time.Second) / cfg.rate)
	for i := range n {
		if i > 0 {
			select {
			case <-time.After(time.Until(t0.Add(time.Duration(i) * every))):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			errs[i] = ctx.Err()
			continue
		}
		f := &flow{id: uint32(i + 1), ssrc: uint32(0x1000 + i)}
		number := fmt.Sprintf("+3222%06d", i)
		wg.Go(func() {
			clients[i], errs[i] = dialCall(ctx, api, pages[i/cfg.perWS], f, number, 30*time.Second)
		})
	}
	wg.Wait()
	res.SetupSecs = time.Since(t0).Seconds()
	defer func() {
		var cw sync.WaitGroup
		for _, c := range clients {
			if c != nil {
				cw.Go(func() { _ = c.pc.Close() })
			}
		}
		cw.Wait()
	}()
	var flows []*flow
	var firstErr error
	for i, c := range clients {
		if errs[i] != nil {
			res.SetupFailed++
			if firstErr == nil {
				firstErr = errs[i]
			}
			continue
		}
		flows = append(flows, c.f)
	}
	res.Established = len(flows)
	cfg.logf("%d calls up, %d failed (first: %v) in %.1fs", res.Established, res.SetupFailed, firstErr, res.SetupSecs)
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	if res.Established == 0 {
		return res, fmt.Errorf("no call was set up: %v", firstErr)
	}
	if firstErr != nil {
		fmt.Fprintf(os.Stderr, "webrtcload: %d of %d calls failed to set up; first: %v\n", res.SetupFailed, n, firstErr)
	}

	// The baseline: plain UDP flows through an echo of their own, on the
	// same schedule as the calls.
	baseEcho, err := newEchoSock()
	if err != nil {
		return res, err
	}
	defer baseEcho.close()
	var bases []*baselineFlow
	defer func() {
		for _, b := range bases {
			b.close()
		}
	}()
	all := slices.Clone(flows)
	for i := range cfg.baseline {
		b, err := newBaselineFlow(uint32(1_000_000+i), baseEcho)
		if err != nil {
			return res, err
		}
		bases = append(bases, b)
		all = append(all, b.f)
	}
	// Interleave the baseline flows with the calls, so they share phases.
	slices.SortStableFunc(all, func(a, b *flow) int { return int(a.id%97) - int(b.id%97) })

	var phase atomic.Int32
	sent := make(chan struct{})
	go func() { defer close(sent); sendAll(all, &phase) }()
	select {
	case <-time.After(cfg.warmup):
	case <-ctx.Done():
	}
	u0, s0, err0 := procCPU(d.pid())
	self0 := selfCPU()
	w0 := time.Now()
	phase.Store(phaseMeasured)
	window := time.Duration(cfg.seconds * float64(time.Second))
	// RSS during the calls: the highest of samples over the window.
	tick := time.NewTicker(window / 5)
	end := time.After(window)
loop:
	for {
		select {
		case <-tick.C:
			if rss, err := procRSS(d.pid()); err == nil && rss > res.RSSDuring {
				res.RSSDuring = rss
			}
		case <-end:
			break loop
		case <-ctx.Done():
			break loop
		}
	}
	tick.Stop()
	u1, s1, err1 := procCPU(d.pid())
	self1 := selfCPU()
	wall := time.Since(w0).Seconds()
	phase.Store(phaseStop)
	<-sent
	if rss, err := procRSS(d.pid()); err == nil && rss > res.RSSDuring {
		res.RSSDuring = rss
	}
	if err0 != nil || err1 != nil {
		return res, fmt.Errorf("phoned's CPU: %v %v", err0, err1)
	}
	res.Seconds = wall
	res.PhonedCPU = u1 - u0 + s1 - s0
	res.PhonedCores = res.PhonedCPU / wall
	if res.PhonedCores > 0 {
		res.CallsPerCore = float64(res.Established) / res.PhonedCores
	}
	res.ToolCores = (self1 - self0) / wall
	res.RSSPerCall = (res.RSSDuring - res.RSSBefore) / int64(res.Established)
	drain(flows, bases)

	// Hang up, and wait for the BYEs (which also end the echoes).
	for _, c := range clients {
		if c != nil {
			_ = c.hangup()
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for peer.Byes.Load() < int64(res.Established) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	res.SIPByes, res.SIPInvites, res.SIPRefused = peer.Byes.Load(), peer.Invites.Load(), peer.Refused.Load()
	for _, b := range bases {
		b.close()
	}
	bases = nil
	baseEcho.close()

	// Everything has stopped that writes the figures: gather them.
	var oneWay, rtt []int32
	for _, e := range peer.echoes() {
		e.close()
		res.RecvUp += e.recv.Load()
		res.EchoedDown += e.echoed.Load()
		res.Foreign += e.foreign.Load()
		oneWay = append(oneWay, e.delaysUS...)
	}
	for _, c := range clients {
		if c == nil {
			continue
		}
		c.closeAndWait() // its track reader ends
	}
	for _, f := range flows {
		res.SentUp += f.sent
		res.RecvDown += f.recv.Load()
		res.Misrouted += f.misrouted.Load()
		res.SendErrors += f.sendErrs
		rtt = append(rtt, f.rttsUS...)
	}
	var baseRTT []int32
	var baseRecv int64
	for _, b := range bases0(all) {
		res.BaseSent += b.sent
		baseRecv += b.recv.Load()
		baseRTT = append(baseRTT, b.rttsUS...)
	}
	res.BaseLostPct = pct(res.BaseSent-baseRecv, res.BaseSent)
	res.LossUpPct = pct(res.SentUp-res.RecvUp, res.SentUp)
	res.LossDownPct = pct(res.EchoedDown-res.RecvDown, res.EchoedDown)
	res.OneWay, res.RTT = distOf(oneWay), distOf(rtt)
	res.BaseOneWay, res.BaseRTT = distOf(baseEcho.delaysUS), distOf(baseRTT)
	res.AddedP50US = res.OneWay.P50 - res.BaseOneWay.P50
	res.AddedP99US = res.OneWay.P99 - res.BaseOneWay.P99
	return res, nil
}

// bases0 are the baseline flows among all.
func bases0(all []*flow) []*flow {
	var out []*flow
	for _, f := range all {
		if f.id >= 1_000_000 {
			out = append(out, f)
		}
	}
	return out
}

// drain waits until every measured probe came back, or until arrivals
// stopped for 300 ms (the rest is lost), 5 s at most.
func drain(flows []*flow, bases []*baselineFlow) {
	all := slices.Clone(flows)
	for _, b := range bases {
		all = append(all, b.f)
	}
	var want int64
	for _, f := range all {
		want += f.sent
	}
	start := time.Now()
	var last int64
	still := 0
	for time.Since(start) < 5*time.Second && still < 3 {
		time.Sleep(100 * time.Millisecond)
		var got int64
		for _, f := range all {
			got += f.recv.Load()
		}
		if got >= want {
			return
		}
		if got == last {
			still++
		} else {
			still = 0
		}
		last = got
	}
}
