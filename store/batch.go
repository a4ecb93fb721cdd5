package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Group commit. Every call writes its event three times (start, answer,
// end); with one writer connection, a transaction per write made the
// writer the limit of call setup (cmd/sipload). Writes sent to txGrouped
// from many calls at once share one transaction instead: each runs inside
// a SAVEPOINT of its own, so a failing write is rolled back alone and
// reported to its caller alone, while the others commit together.

// maxGroup bounds how many writes share a transaction.
const maxGroup = 64

type groupedWrite struct {
	fn   func(*sql.Tx) error
	done chan error
}

// startGroupCommit starts the goroutine that runs grouped writes; Close
// stops it after the writes already queued.
func (s *Store) startGroupCommit() {
	s.writes = make(chan groupedWrite)
	s.writerDone = make(chan struct{})
	go func() {
		defer close(s.writerDone)
		for w := range s.writes {
			group := []groupedWrite{w}
		gather:
			for len(group) < maxGroup {
				select {
				case w, ok := <-s.writes:
					if !ok {
						break gather
					}
					group = append(group, w)
				default:
					break gather
				}
			}
			s.commitGroup(group)
		}
	}()
}

// txGrouped runs fn in a transaction shared with other grouped writes of
// the moment, and returns once that transaction committed (fn's own error,
// or the commit's). fn is rolled back alone if it fails. Once queued, the
// write runs even if ctx ends: the caller waits for its outcome, so it
// never reports a failure for a write that was stored.
func (s *Store) txGrouped(ctx context.Context, fn func(*sql.Tx) error) error {
	w := groupedWrite{fn: fn, done: make(chan error, 1)}
	select {
	case s.writes <- w:
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-w.done
}

func (s *Store) commitGroup(group []groupedWrite) {
	ctx := context.Background()
	errs := make([]error, len(group))
	fail := func(err error) {
		for _, w := range group {
			w.done <- err
		}
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		fail(fmt.Errorf("begin: %w", err))
		return
	}
	for i, w := range group {
		if _, err := s.txExec(ctx, tx, qSavepoint); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("savepoint: %w", err))
			return
		}
		if errs[i] = w.fn(tx); errs[i] != nil {
			if _, err := s.txExec(ctx, tx, qRollbackToSavepoint); err != nil {
				tx.Rollback()
				fail(fmt.Errorf("roll back a failed write: %w", err))
				return
			}
		}
		if _, err := s.txExec(ctx, tx, qReleaseSavepoint); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("release savepoint: %w", err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("commit: %w", err))
		return
	}
	for i, w := range group {
		w.done <- errs[i]
	}
}

const (
	qSavepoint           = "SAVEPOINT grouped_write"
	qRollbackToSavepoint = "ROLLBACK TO grouped_write"
	qReleaseSavepoint    = "RELEASE grouped_write"
)
