package switchboard

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Actions posted from many goroutines run one at a time, each goroutine's
// in the order it posted them.
func TestActionsRunInOrderOnTheOwner(t *testing.T) {
	e := New(Config{}, Deps{Log: quiet()})
	var cleaned error
	c, err := e.NewCall(context.Background(), Snapshot{User: "alice"}, func(cause error) { cleaned = cause })
	if err != nil {
		t.Fatal(err)
	}
	const posters, each = 8, 200
	seen := make([][]int, posters) // written only by the owner goroutine
	running := 0
	var wg sync.WaitGroup
	for p := range posters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if !c.Do(func() {
					running++
					if running != 1 {
						t.Error("two actions ran at once")
					}
					seen[p] = append(seen[p], i)
					running--
				}) {
					t.Error("Do refused on a live call")
				}
			}
		}()
	}
	wg.Wait()
	hung := errors.New("hung up")
	c.Do(func() { c.End(hung) })
	<-c.Done()
	for p := range posters {
		if len(seen[p]) != each {
			t.Fatalf("poster %d: %d actions ran, want %d", p, len(seen[p]), each)
		}
		for i, v := range seen[p] {
			if v != i {
				t.Fatalf("poster %d: action %d ran in place %d", p, v, i)
			}
		}
	}
	if cleaned != hung {
		t.Fatalf("cleanup cause %v, want %v", cleaned, hung)
	}
	if c.Do(func() { t.Error("an action ran after the end") }) {
		t.Fatal("Do accepted an action after the end")
	}
	if _, ok := e.Call(c.ID()); ok || len(e.Calls()) != 0 {
		t.Fatal("an ended call is still listed")
	}
	if c.Snapshot().State != StateEnded {
		t.Fatalf("state %v after the end", c.Snapshot().State)
	}
}

func TestMaximumDurationEndsTheCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := New(Config{MaxDuration: time.Hour}, Deps{Log: quiet()})
		var cause error
		start := time.Now()
		c, err := e.NewCall(context.Background(), Snapshot{}, func(err error) { cause = err })
		if err != nil {
			t.Fatal(err)
		}
		<-c.Done()
		if !errors.Is(cause, ErrMaxDuration) {
			t.Fatalf("cause %v, want ErrMaxDuration", cause)
		}
		if d := time.Since(start); d != time.Hour {
			t.Fatalf("ended after %v, want 1h", d)
		}
	})
}

// A call outlives the request that started it.
func TestCallOutlivesItsParentContext(t *testing.T) {
	e := New(Config{}, Deps{Log: quiet()})
	parent, cancel := context.WithCancel(context.Background())
	c, err := e.NewCall(parent, Snapshot{}, func(error) {})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if !c.Do(func() {}) {
		t.Fatal("the call ended with the request's context")
	}
	c.End(errors.New("done"))
	<-c.Done()
}

func TestServeDrainsThenEndsWhatIsLeft(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := New(Config{}, Deps{Log: quiet()})
		ctx, stop := context.WithCancel(context.Background())
		served := make(chan error)
		go func() { served <- e.Serve(ctx, time.Minute) }()

		short, _ := e.NewCall(context.Background(), Snapshot{Number: "+32"}, func(error) {})
		long, _ := e.NewCall(context.Background(), Snapshot{Number: "+33"}, func(error) {})
		long.Do(func() {})
		if got := len(e.Calls()); got != 2 {
			t.Fatalf("%d live calls, want 2", got)
		}
		stop()
		synctest.Wait()
		if _, err := e.NewCall(context.Background(), Snapshot{}, func(error) {}); !errors.Is(err, ErrDraining) {
			t.Fatalf("a new call while draining: %v", err)
		}
		short.End(errors.New("hung up"))
		<-short.Done()
		start := time.Now()
		if err := <-served; err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != time.Minute {
			t.Fatalf("drain ended the last call after %v, want 1m", d)
		}
		<-long.Done()
	})
}
