// Package store is phoned's only SQL: the embedded SQLite database
// (modernc.org/sqlite, no cgo), its numbered migrations, and one file per
// aggregate (users, sessions and tokens, partners, calls, planner runs).
//
// Writes go through a pool of one connection, so SQLite's single writer
// never waits on itself; reads use a separate pool and see WAL snapshots.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"phoned/planner"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is an open phoned database.
type Store struct {
	w   *sql.DB // the one writer
	r   *sql.DB // readers
	now func() time.Time

	partnerGen   atomic.Int64  // moves on at every partner write
	callsVersion atomic.Uint64 // moves on after every committed write to phone_calls (CallsVersion)

	hot  map[string]*sql.Stmt // the writer's prepared hot statements (prepareHot), read-only after Open
	hotR map[string]*sql.Stmt // the read pool's (prepareHot), read-only after Open

	writes     chan groupedWrite // to the group-commit goroutine (batch.go)
	writerDone chan struct{}     // closed when that goroutine has returned
	closeOnce  sync.Once

	plannerMu        sync.Mutex // guards the following: the planner's partner snapshot
	plannerCache     []planner.Partner
	plannerCacheGen  int64
	plannerCacheZone *time.Location
}

// Options tune Open. The zero value is usable.
type Options struct {
	// Now is the clock used for created_at and similar stamps (default time.Now).
	Now func() time.Time
}

// Open opens (creating if needed) the SQLite database at path, applies the
// pending migrations and returns the Store.
func Open(ctx context.Context, path string, opt Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("open database: empty path")
	}
	w, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxLifetime(0)
	r, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	readers := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(readers)
	// Keep every reader open: database/sql keeps 2 idle by default, and a
	// new SQLite connection reads the schema again and re-prepares the
	// hot statements (seen as a few % of the CPU of call set-up).
	r.SetMaxIdleConns(readers)
	s := &Store{w: w, r: r, now: opt.Now}
	if s.now == nil {
		s.now = time.Now
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("migrate database %s: %w", path, err)
	}
	if err := s.prepareHot(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	s.startGroupCommit()
	return s, nil
}

// dsn puts the pragmas in the connection string so every pooled connection
// gets them: busy_timeout first (so the others can wait), WAL, foreign
// keys, and immediate transactions for the writer so a read-then-write
// transaction never fails upgrading its lock.
func dsn(path string, writer bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if writer {
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	return "file:" + path + "?" + q.Encode()
}

// Close closes both pools.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		if s.writes != nil {
			close(s.writes) // the grouped writes already queued still run
			<-s.writerDone
		}
		for _, st := range s.hot {
			st.Close()
		}
		for _, st := range s.hotR {
			st.Close()
		}
		err = errors.Join(s.w.Close(), s.r.Close())
	})
	return err
}

// Ping checks that the database answers (for /healthz).
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

func (s *Store) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	type step struct {
		version int
		name    string
	}
	var steps []step
	for _, n := range names {
		base := strings.TrimPrefix(n, "migrations/")
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s has no number", base)
		}
		steps = append(steps, step{v, n})
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i].version < steps[j].version })

	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var current int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&current); err != nil {
		return err
	}
	if len(steps) > 0 && current > steps[len(steps)-1].version {
		return fmt.Errorf("database is at version %d, newer than this phoned (%d)", current, steps[len(steps)-1].version)
	}
	for _, st := range steps {
		if st.version <= current {
			continue
		}
		body, err := migrations.ReadFile(st.name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			return fmt.Errorf("apply %s: %w", st.name, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", st.version)); err != nil {
			return err
		}
	}
	rows, err := tx.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return err
	}
	bad := rows.Next()
	rows.Close()
	if bad {
		return errors.New("foreign key check failed after migration")
	}
	return tx.Commit()
}

// tx runs fn in a write transaction, committing when it returns nil.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// CallsVersion returns a number that grows after every committed write
// that can change an agent's queue: any write to the planned calls
// (create, state change, planner run saved or undone, a call marked done
// as its event ends, a follow-up planned at wrap-up) and any partner
// write (a deleted partner takes its calls along; an edited one changes
// the name and windows the queue shows). Reads leave it alone. Compare
// two values for equality only: a change may be counted more than once,
// and a partner write that failed may move it too.
func (s *Store) CallsVersion() uint64 { return s.callsVersion.Load() }

// callsChanged moves CallsVersion on; call it after the write committed.
func (s *Store) callsChanged() { s.callsVersion.Add(1) }

func (s *Store) stamp() int64 { return s.now().Unix() }

// isUnique reports whether err is a UNIQUE constraint failure.
func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

func weekday(n int) time.Weekday { return time.Weekday(n) }
