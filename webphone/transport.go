package webphone

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// errTransportClosed is what ReadRTP and WriteRTP return once the
// transport is closed.
var errTransportClosed = errors.New("browser media transport closed")

// rtcTransport carries the RTP of a browser leg for the call's relay (it
// is the leg's media.Transport): it reads the browser's track and writes
// to phoned's track, both on the PeerConnection the page holds now. A
// reattach (page reload) swaps in a new path; the relay above sees one
// stream all along, its SSRC, sequence and timestamps unbroken.
//
// Payload types are translated both ways: the relay speaks the payload
// types of the engine's plain SDP (PCMU 0, telephone-event 101…), the
// browser those of its own offer (telephone-event 126…).
type rtcTransport struct {
	mu      sync.Mutex    // guards the following
	path    *rtcPath      // the current path; nil while detached
	changed chan struct{} // closed (and replaced) when path changes
	closed  bool

	out   atomic.Pointer[rtcPath] // the path WriteRTP uses, lock-free per packet
	relay atomic.Pointer[ptPlan]  // the relay's payload types, set once the engine's SDP is known
}

// ptPlan is the payload types of one side: the audio codec's and
// telephone-event's (-1: none).
type ptPlan struct{ audio, event int16 }

// mapPT maps payload type pt of plan from onto plan to; -1 drops it.
func mapPT(pt byte, from, to *ptPlan) int16 {
	switch int16(pt) {
	case from.audio:
		return to.audio
	case from.event:
		return to.event
	}
	return -1
}

// rtcPath is one PeerConnection's pair of tracks. It is immutable: a track
// arriving makes a new path.
type rtcPath struct {
	remote  *webrtc.TrackRemote // nil until the browser's first packet
	local   *localTrack
	browser ptPlan // the payload types of the browser's offer
}

func newRTCTransport() *rtcTransport {
	return &rtcTransport{changed: make(chan struct{})}
}

// setPath makes p the current path (nil detaches). It reports false once
// the transport is closed.
func (t *rtcTransport) setPath(p *rtcPath) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	old := t.path
	t.path = p
	t.out.Store(p)
	close(t.changed)
	t.changed = make(chan struct{})
	if old != nil && old.remote != nil && (p == nil || p.remote != old.remote) {
		_ = old.remote.SetReadDeadline(time.Unix(1, 0)) // its reader moves on
	}
	return true
}

// setRemote adds the browser's track to the path of local, if that path
// is still current.
func (t *rtcTransport) setRemote(local *localTrack, remote *webrtc.TrackRemote) {
	t.mu.Lock()
	p := t.path
	t.mu.Unlock()
	if p == nil || p.local != local {
		return
	}
	np := *p
	np.remote = remote
	t.setPath(&np)
}

// ReadRTP returns the next packet from the browser, waiting across
// reattaches, until the transport is closed.
func (t *rtcTransport) ReadRTP(buf []byte) (int, error) {
	for {
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			return 0, errTransportClosed
		}
		p, changed := t.path, t.changed
		t.mu.Unlock()
		if p == nil || p.remote == nil {
			<-changed
			continue
		}
		n, _, err := p.remote.Read(buf)
		if err != nil {
			// The PeerConnection ended or was replaced: wait for the next
			// path (or the close).
			<-changed
			continue
		}
		if n < 12 || buf[0]>>6 != 2 {
			continue
		}
		relay := t.relay.Load()
		if relay == nil {
			continue
		}
		pt := mapPT(buf[1]&0x7f, &p.browser, relay)
		if pt < 0 {
			continue // a format the relay does not know (comfort noise…)
		}
		buf[1] = buf[1]&0x80 | byte(pt)
		return n, nil
	}
}

// WriteRTP sends a packet from the relay to the browser; before the
// browser's DTLS is up, or while detached, it is dropped.
func (t *rtcTransport) WriteRTP(pkt []byte) error {
	p, relay := t.out.Load(), t.relay.Load()
	if p == nil || relay == nil || len(pkt) < 12 {
		return nil
	}
	pt := mapPT(pkt[1]&0x7f, relay, &p.browser)
	if pt < 0 {
		return nil
	}
	pkt[1] = pkt[1]&0x80 | byte(pt)
	return p.local.write(pkt)
}

// Close ends the transport: ReadRTP returns, writes are dropped. The
// PeerConnection belongs to the browser leg, which closes it.
func (t *rtcTransport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	p := t.path
	t.out.Store(nil)
	close(t.changed)
	t.mu.Unlock()
	if p != nil && p.remote != nil {
		_ = p.remote.SetReadDeadline(time.Unix(1, 0))
	}
	return nil
}

// localTrack is phoned's audio track on one PeerConnection. pion's
// TrackLocalStaticRTP rewrites every packet's payload type to the audio
// codec's, which would turn DTMF events into noise; this track sends the
// packets as they come (their payload types already in the browser's
// numbering) with the SSRC its SDP announced.
type localTrack struct {
	mime  string // the audio codec's MIME type (audio/PCMU or audio/PCMA)
	bound atomic.Pointer[trackBinding]
}

type trackBinding struct {
	ssrc [4]byte
	w    webrtc.TrackLocalWriter
}

// Bind implements webrtc.TrackLocal: it takes the negotiated audio codec.
func (l *localTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	for _, c := range ctx.CodecParameters() {
		if strings.EqualFold(c.MimeType, l.mime) {
			ssrc := uint32(ctx.SSRC())
			l.bound.Store(&trackBinding{w: ctx.WriteStream(), ssrc: [4]byte{byte(ssrc >> 24), byte(ssrc >> 16), byte(ssrc >> 8), byte(ssrc)}})
			return c, nil
		}
	}
	return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
}

// Unbind implements webrtc.TrackLocal.
func (l *localTrack) Unbind(webrtc.TrackLocalContext) error {
	l.bound.Store(nil)
	return nil
}

func (l *localTrack) ID() string                { return "audio" }
func (l *localTrack) RID() string               { return "" }
func (l *localTrack) StreamID() string          { return "phoned" }
func (l *localTrack) Kind() webrtc.RTPCodecType { return webrtc.RTPCodecTypeAudio }

// write sends one packet. A failed write (the PeerConnection closing, a
// reattach under way) drops the packet: it must not end the relay, which
// outlives any one PeerConnection.
func (l *localTrack) write(pkt []byte) error {
	b := l.bound.Load()
	if b == nil {
		return nil
	}
	copy(pkt[8:12], b.ssrc[:])
	_, _ = b.w.Write(pkt)
	return nil
}
