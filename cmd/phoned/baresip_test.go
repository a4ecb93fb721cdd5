package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"phoned/comm"
	"phoned/internal/peertest"
	"phoned/store"
)

// baresip is the agent's softphone: it registers extension 201 to
// phoned's registrar with digest auth and answers by itself; SIPp is the
// PBX calling 201.

func TestBaresipRegisteredToPhonedAnswersACall(t *testing.T) {
	peertest.Require(t, "baresip")
	r := newCallRig(t)
	bs := peertest.StartBaresip(t, peertest.BaresipOptions{
		ConfigDir: filepath.Join("testdata", "baresip"),
		Registrar: r.sipAddr,
		RTPPorts:  "32000-32199",
		Quit:      60 * time.Second,
	})
	r.waitBinding("baresip", 15*time.Second)
	// baresip's own view of it: phoned answered its REGISTER with 200.
	if info, err := bs.Command("reginfo"); err != nil || !strings.Contains(info, "sip:201@"+r.sipAddr) || !strings.Contains(info, "OK") {
		t.Fatalf("baresip reginfo = %q, %v; want 201 at %s registered OK", info, err, r.sipAddr)
	}

	if code := r.call("uac-call.xml"); code != 0 {
		t.Fatalf("the PBX's call to baresip failed (exit %d)", code)
	}
	ev := r.lastEvent()
	if ev.Direction != comm.DirectionIn || ev.Outcome != comm.OutcomeAnswered || ev.AnsweredAt.IsZero() || ev.DurationSeconds() < 5 ||
		ev.HangupBy != comm.HangupCaller || ev.SIPStatus != 200 || ev.FromNumber != "+3222001122" || ev.ToNumber != "201" || ev.UserLogin != "ann" {
		t.Fatalf("event %+v", ev)
	}
	if len(ev.Parties) != 1 || ev.Parties[0].PartnerID != r.partner {
		t.Fatalf("the caller was not identified: parties %+v", ev.Parties)
	}
	// RTP both ways through phoned: the caller's 7 s of PCMA (236 packets)
	// to baresip, and baresip's sine (50 packets/s for the 8 s call) back.
	var q map[string]struct {
		PacketsIn  uint64 `json:"packets_in"`
		PacketsOut uint64 `json:"packets_out"`
	}
	if err := json.Unmarshal(ev.Quality, &q); err != nil {
		t.Fatalf("quality %s: %v", ev.Quality, err)
	}
	t.Logf("event %d: answered after %v, %d s, RTP %s", ev.ID, ev.AnsweredAt.Sub(ev.Start), ev.DurationSeconds(), ev.Quality)
	if q["caller"].PacketsIn < 200 || q["agent"].PacketsOut < 200 || q["agent"].PacketsIn < 200 || q["caller"].PacketsOut < 200 {
		t.Fatalf("RTP counts %s: want at least 200 packets each way", ev.Quality)
	}
}

// waitBinding waits until extension 201 has a live binding whose
// User-Agent contains ua, read from the daemon's database.
func (r *callRig) waitBinding(ua string, limit time.Duration) {
	r.t.Helper()
	st, err := store.Open(context.Background(), r.db, store.Options{})
	if err != nil {
		r.t.Fatal(err)
	}
	defer st.Close()
	deadline := time.Now().Add(limit)
	for {
		bs, err := st.SIPBindings(context.Background(), "201", time.Now())
		if err != nil {
			r.t.Fatal(err)
		}
		for _, b := range bs {
			if strings.Contains(strings.ToLower(b.UserAgent), ua) {
				return
			}
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("201 has no binding from %s after %v: %+v", ua, limit, bs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
