package main

import (
	"net/netip"
	"path/filepath"

	gosip "github.com/emiago/sipgo/sip"

	"phoned/internal/loadua"
)

// bareSDP is the bare agent's answer: PCMA and telephone-event on a port
// nobody listens to (the benchmark sends no RTP).
const bareSDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
	"m=audio 4000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n"

// bareAgent is the yardstick: a sipgo user agent that only answers, with
// the same dialog cache phoned uses (sipgo.DialogServerCache), no engine,
// no store, no media: INVITE → 200 with SDP (waiting for the ACK), BYE →
// 200.
type bareAgent struct {
	*loadua.Agent
	addr netip.AddrPort
}

func startBare(dir string) (*bareAgent, error) {
	// sipgo logs unmatched and malformed messages; the benchmark's should
	// have none, and the file shows it.
	a, err := loadua.Start("bare", filepath.Join(dir, "bare.log"), func(*gosip.Request) ([]byte, int, string) {
		return []byte(bareSDP), 0, ""
	}, nil)
	if err != nil {
		return nil, err
	}
	return &bareAgent{Agent: a, addr: a.Addr}, nil
}

// shutdown stops the agent.
func (b *bareAgent) shutdown() { b.Shutdown() }
