package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"phoned/auth"
	"phoned/comm"
)

// Writes that share a transaction fail alone: each good one is stored,
// each bad one leaves nothing and gets its own error.
func TestGroupedWritesFailAlone(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	nu := NewUser{User: auth.User{Login: "a", Role: auth.RoleAgent, Active: true}, PasswordHash: "x"}
	if err := s.CreateUser(ctx, &nu); err != nil {
		t.Fatal(err)
	}
	const n = 200
	errs := make([]error, n)
	ids := make([]int64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			uid := nu.ID
			if i%3 == 0 {
				uid = 9999 // no such user: this write fails
			}
			ids[i], errs[i] = s.StartEvent(ctx, comm.EventStart{Direction: comm.DirectionIn, UserID: uid, FromNumber: "+3222123456"})
		}()
	}
	wg.Wait()
	good := 0
	for i := range n {
		switch {
		case i%3 == 0:
			if !errors.Is(errs[i], ErrNotFound) {
				t.Fatalf("write %d: %v, want ErrNotFound", i, errs[i])
			}
		case errs[i] != nil:
			t.Fatalf("write %d failed with the others: %v", i, errs[i])
		default:
			good++
			if ev, err := s.Event(ctx, ids[i]); err != nil || ev.UserID != nu.ID {
				t.Fatalf("event %d: %+v %v", ids[i], ev, err)
			}
		}
	}
	if c, _ := s.TableCounts(ctx); c["comm_events"] != good {
		t.Fatalf("%d events stored, want %d", c["comm_events"], good)
	}
	// And the lifecycle goes on through the group: answer and end.
	for i := 1; i < n; i += 3 {
		if err := s.AnswerEvent(ctx, ids[i], time.Time{}); err != nil {
			t.Fatal(err)
		}
		if err := s.EndEvent(ctx, ids[i], comm.EventEnd{Outcome: comm.OutcomeAnswered, SIPStatus: 200}); err != nil {
			t.Fatal(err)
		}
		if err := s.EndEvent(ctx, ids[i], comm.EventEnd{Outcome: comm.OutcomeAnswered, SIPStatus: 200}); !errors.Is(err, ErrConflict) {
			t.Fatalf("ending twice: %v", err)
		}
	}
}
