package media

import (
	"testing"
	"time"
)

func TestInactivityTimeoutEndsRelay(t *testing.T) {
	clock := newFakeClock()
	ended := make(chan EndReason, 1)
	c := newCall(t, testPorts(t), LegConfig{Clock: clock}, LegConfig{Clock: clock},
		BridgeOptions{InactivityTimeout: 5 * time.Second, OnEnd: func(r EndReason) { ended <- r }})
	clock.Advance(4 * time.Second)
	c.toB(audio(1, 1, 1)) // at 4 s: the timeout now runs to 9 s
	c.pb.recv()
	clock.Advance(4 * time.Second)
	select {
	case r := <-ended:
		t.Fatalf("ended early: %v", r)
	default:
	}
	clock.Advance(time.Second)
	select {
	case r := <-ended:
		if r != EndInactivity || c.relay.Reason() != EndInactivity {
			t.Fatalf("reason %v", r)
		}
	default:
		t.Fatal("relay did not end after 5 s without packets")
	}
	<-c.relay.Done()
	c.toB(audio(1, 2, 161))
	c.pb.expectNothing()
}

func TestSetInactivityTimeoutZeroDisables(t *testing.T) {
	clock := newFakeClock()
	c := newCall(t, testPorts(t), LegConfig{Clock: clock}, LegConfig{Clock: clock},
		BridgeOptions{InactivityTimeout: time.Second})
	c.relay.SetInactivityTimeout(0) // on hold, RTP may stop
	clock.Advance(time.Minute)
	if c.relay.Reason() != EndUnknown {
		t.Fatalf("ended: %v", c.relay.Reason())
	}
}

func TestInactivityTimeoutReset(t *testing.T) {
	clock := newFakeClock()
	ended := make(chan EndReason, 2)
	c := newCall(t, testPorts(t), LegConfig{Clock: clock}, LegConfig{Clock: clock},
		BridgeOptions{InactivityTimeout: time.Second, OnEnd: func(r EndReason) { ended <- r }})
	clock.Advance(900 * time.Millisecond)
	c.relay.SetInactivityTimeout(10 * time.Second) // hold: allow longer silence
	clock.Advance(9 * time.Second)
	if len(ended) != 0 {
		t.Fatalf("ended under the old timeout: %v", <-ended)
	}
	clock.Advance(time.Second)
	if r := <-ended; r != EndInactivity {
		t.Fatalf("reason %v", r)
	}
	clock.Advance(time.Minute)
	if len(ended) != 0 {
		t.Fatal("ended twice")
	}
}
