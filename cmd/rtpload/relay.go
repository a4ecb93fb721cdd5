package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime/pprof"
	"syscall"
	"time"

	"phoned/media"
)

// The parent and the relay child talk in JSON lines over the child's
// stdin/stdout: setup -> legs, then "start" and "stop" around the
// measured period -> report.
type setupMsg struct {
	Phones [][2]uint16 `json:"phones"` // per call, the generator's two ports
}

type legsMsg struct {
	Legs [][2]uint16 `json:"legs"` // per call, the relay's two RTP ports
}

type relayReport struct {
	UserSeconds, SysSeconds float64
	Wall                    float64
	PacketsIn, PacketsOut   uint64
	Dropped, Foreign        uint64
	WriteErrors             uint64
	Ended                   int // relays that ended early (should be 0)
}

// serveRelay is the child: it bridges the calls the parent describes and
// reports its own CPU for the measured period.
func serveRelay(ctx context.Context, cfg config, in io.Reader, out io.Writer) error {
	dec := json.NewDecoder(bufio.NewReader(in))
	enc := json.NewEncoder(out)
	var setup setupMsg
	if err := dec.Decode(&setup); err != nil {
		return fmt.Errorf("read setup: %w", err)
	}
	ports, err := media.NewPortAllocator(media.PortRange{Min: uint16(cfg.portMin), Max: uint16(cfg.portMin + 4*len(setup.Phones) + 200)})
	if err != nil {
		return err
	}
	lo := netip.MustParseAddr("127.0.0.1")
	var legs []*media.Leg
	var relays []*media.Relay
	defer func() {
		for _, r := range relays {
			r.Close()
		}
		for _, l := range legs {
			l.Close()
		}
	}()
	newLeg := func(phonePort uint16) (*media.Leg, error) {
		conn, err := ports.Listen(lo)
		if err != nil {
			return nil, err
		}
		l, err := media.NewLeg(conn, media.LegConfig{Media: media.Negotiated{
			Remote:    netip.AddrPortFrom(lo, phonePort),
			Direction: media.SendRecv,
			Audio:     media.Format{PT: 0, Codec: media.PCMU},
			Event:     media.Format{PT: 101, Codec: media.TelephoneEvent},
			Ptime:     20,
		}})
		if err != nil {
			conn.Close()
			return nil, err
		}
		legs = append(legs, l)
		return l, nil
	}
	var reply legsMsg
	for _, pair := range setup.Phones {
		a, err := newLeg(pair[0])
		if err != nil {
			return err
		}
		b, err := newLeg(pair[1])
		if err != nil {
			return err
		}
		// A timeout as a call would have, so its timers are part of the cost.
		r, err := media.Bridge(a, b, media.BridgeOptions{InactivityTimeout: 30 * time.Second})
		if err != nil {
			return err
		}
		relays = append(relays, r)
		reply.Legs = append(reply.Legs, [2]uint16{a.LocalAddr().Port(), b.LocalAddr().Port()})
	}
	if err := enc.Encode(reply); err != nil {
		return err
	}
	var cmd string
	if err := dec.Decode(&cmd); err != nil || cmd != "start" {
		return fmt.Errorf("want start: %q %v", cmd, err)
	}
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	u0, s0 := cpuTimes()
	t0 := time.Now()
	if err := dec.Decode(&cmd); err != nil || cmd != "stop" {
		return fmt.Errorf("want stop: %q %v", cmd, err)
	}
	u1, s1 := cpuTimes()
	if cfg.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	rep := relayReport{UserSeconds: u1 - u0, SysSeconds: s1 - s0, Wall: time.Since(t0).Seconds()}
	for _, l := range legs {
		st := l.Stats()
		rep.PacketsIn += st.PacketsIn
		rep.PacketsOut += st.PacketsOut
		rep.Dropped += st.Dropped
		rep.Foreign += st.Foreign
		rep.WriteErrors += st.WriteErrors
	}
	for _, r := range relays {
		if r.Reason() != media.EndUnknown {
			rep.Ended++
		}
	}
	return enc.Encode(rep)
}

// cpuTimes is this process's user and system CPU seconds so far.
func cpuTimes() (user, sys float64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return tvSeconds(ru.Utime), tvSeconds(ru.Stime)
}

func tvSeconds(tv syscall.Timeval) float64 { return float64(tv.Sec) + float64(tv.Usec)/1e6 }
