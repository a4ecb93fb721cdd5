package media

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"
)

// RFC 3550 appendix A.1: a sequence number further ahead than maxDropout
// or further behind than maxMisorder means the source restarted.
const (
	maxDropout  = 3000
	maxMisorder = 100
)

// outStream is the RTP stream a leg sends to its peer. Whatever feeds it
// (the bridged leg, then another after a transfer, or injected DTMF), the
// peer sees one SSRC, sequence numbers that go on by one, and timestamps
// that keep pace with real time.
//
// Packets of one source keep their own spacing: sequence number and
// timestamp are shifted by constant offsets, so loss, reordering and
// silence gaps reach the peer as they were. When the source changes (new
// SSRC, another leg, or a sequence jump that RFC 3550 reads as a restart)
// the offsets are recomputed: the next sequence number follows the last one
// sent, and the timestamp moves on by the wall time elapsed since the last
// packet, in whole packets, at least one.
type outStream struct {
	mu sync.Mutex // guards the following; held while writing, to keep order

	ssrc    uint32
	frame   uint32 // samples per packet (ptime at 8 kHz)
	started bool

	src     *Leg   // the leg whose packets we are sending
	srcSSRC uint32 // and their SSRC
	maxIn   uint16 // highest sequence number seen from that source
	seqOff  uint16
	tsOff   uint32

	lastSeq uint16 // highest sequence number sent
	lastTS  uint32 // highest timestamp sent
	lastAt  int64  // stamp of when lastTS was sent
}

func newOutStream(ptime int) outStream {
	return outStream{ssrc: rand.Uint32(), frame: frameSamples(ptime)}
}

func frameSamples(ptime int) uint32 {
	if ptime <= 0 {
		ptime = defaultPtime
	}
	return uint32(ptime) * clockRate / 1000
}

// restamp rewrites the 12-byte header of pkt, arriving from src, for this
// stream: payload type pt, our SSRC, mapped sequence number and timestamp.
// A new source's first audio packet gets the marker bit, which tells the
// peer's jitter buffer to resynchronise.
func (s *outStream) restamp(pkt []byte, src *Leg, pt uint8, audio bool, now int64) {
	inSeq := binary.BigEndian.Uint16(pkt[2:])
	inTS := binary.BigEndian.Uint32(pkt[4:])
	inSSRC := binary.BigEndian.Uint32(pkt[8:])
	marker := pkt[1] & 0x80
	if !s.started || src != s.src || inSSRC != s.srcSSRC || s.restarted(inSeq) {
		s.rebase(src, inSSRC, inSeq, inTS, now)
		if audio {
			marker = 0x80
		}
	} else if int16(inSeq-s.maxIn) > 0 {
		s.maxIn = inSeq
	}
	seq, ts := inSeq+s.seqOff, inTS+s.tsOff
	pkt[1] = marker | pt
	binary.BigEndian.PutUint16(pkt[2:], seq)
	binary.BigEndian.PutUint32(pkt[4:], ts)
	binary.BigEndian.PutUint32(pkt[8:], s.ssrc)
	s.sent(seq, ts, now)
}

// restarted applies RFC 3550's test to a packet of the current source.
func (s *outStream) restarted(seq uint16) bool {
	ahead := seq - s.maxIn
	if ahead < 0x8000 {
		return ahead > maxDropout
	}
	return s.maxIn-seq > maxMisorder
}

func (s *outStream) rebase(src *Leg, ssrc uint32, seq uint16, ts uint32, now int64) {
	s.start(now)
	s.seqOff = s.lastSeq + 1 - seq
	s.tsOff = s.position(now) - ts
	s.src, s.srcSSRC, s.maxIn = src, ssrc, seq
}

// start gives a new stream random initial numbers (RFC 3550 §5.1).
func (s *outStream) start(now int64) {
	if s.started {
		return
	}
	s.started = true
	s.lastSeq = uint16(rand.Uint32())
	s.lastTS = rand.Uint32()
	s.lastAt = now
}

// position is the timestamp for a packet sent now: the last one plus the
// elapsed time rounded to whole packets, and at least one packet.
func (s *outStream) position(now int64) uint32 {
	elapsed := max(now-s.lastAt, 0)
	samples := elapsed * clockRate / 1e9
	frames := (samples + int64(s.frame)/2) / int64(s.frame)
	if frames < 1 {
		frames = 1
	}
	return s.lastTS + uint32(frames)*s.frame
}

func (s *outStream) sent(seq uint16, ts uint32, now int64) {
	if int16(seq-s.lastSeq) > 0 {
		s.lastSeq = seq
	}
	if int32(ts-s.lastTS) > 0 {
		s.lastTS, s.lastAt = ts, now
	}
}

// inject takes the next sequence number for a packet of our own (DTMF);
// relayed packets of the current source move on past it.
func (s *outStream) inject(now int64) uint16 {
	s.start(now)
	s.lastSeq++
	s.seqOff++
	return s.lastSeq
}
