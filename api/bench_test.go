package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"phoned/auth"
	"phoned/comm"
	"phoned/crm"
	"phoned/store"
)

// benchZones are the partners' zones in the planner benchmark: both
// hemispheres, half-hour offsets, DST and no DST.
var benchZones = []string{"Europe/Brussels", "Europe/London", "America/New_York", "America/Los_Angeles", "Asia/Tokyo",
	"Asia/Kolkata", "Australia/Sydney", "America/Sao_Paulo", "Africa/Johannesburg", "Europe/Helsinki", "America/Chicago", "UTC"}

// benchDB is a database with n partners and 2n existing calls of the
// benchmark's combination, built once per n for all sub-benchmarks.
type benchDB struct {
	once sync.Once
	path string
	err  error
}

var benchDBs sync.Map // n -> *benchDB

func benchDatabase(b *testing.B, n int) string {
	v, _ := benchDBs.LoadOrStore(n, &benchDB{})
	d := v.(*benchDB)
	d.once.Do(func() {
		dir, err := benchTempDir()
		if err != nil {
			d.err = err
			return
		}
		d.path = filepath.Join(dir, fmt.Sprintf("bench-%d.db", n))
		d.err = fillBenchDB(d.path, n)
	})
	if d.err != nil {
		b.Fatal(d.err)
	}
	return d.path
}

var benchDir struct {
	once sync.Once
	dir  string
	err  error
}

// benchTempDir is one directory for the databases of a benchmark run; it
// is left in the OS temp dir (each run makes its own).
func benchTempDir() (string, error) {
	benchDir.once.Do(func() {
		benchDir.dir, benchDir.err = osMkdirTemp("phoned-bench-")
	})
	return benchDir.dir, benchDir.err
}

// fillBenchDB writes n partners (mixed zones, a few hundred distinct
// window sets, one number each) and 2n planned or done calls spread over
// the 60 days before the benchmark's start and its 30 days.
func fillBenchDB(path string, n int) error {
	ctx := context.Background()
	st, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	nu := store.NewUser{User: auth.User{Login: "agent", Role: auth.RoleAgent, Active: true}, PasswordHash: "x"}
	if err := st.CreateUser(ctx, &nu); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const batch = 5000
	for start := 0; start < n; start += batch {
		ps := make([]*crm.Partner, 0, batch)
		for i := start; i < min(n, start+batch); i++ {
			p := &crm.Partner{
				Name:   fmt.Sprintf("Partner %06d", rng.IntN(1_000_000)),
				TZ:     benchZones[i%len(benchZones)],
				Phones: []crm.Phone{{Type: "phone", Number: fmt.Sprintf("+3222%07d", i), E164: fmt.Sprintf("+3222%07d", i)}},
				Tags:   []string{},
			}
			// 7 weekday patterns x 30 hour ranges = 210 window sets.
			pattern := i % 7
			from := 7*3600 + (i/7%30)*1200
			for d := time.Sunday; d <= time.Saturday; d++ {
				if (int(d)+pattern)%7 < 5 {
					p.Windows = append(p.Windows, crm.Window{Weekday: d, From: crm.Clock(from), To: crm.Clock(from + 4*3600)})
				}
			}
			ps = append(ps, p)
		}
		if err := st.CreatePartners(ctx, ps); err != nil {
			return err
		}
	}
	first := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	calls := make([]comm.PhoneCall, 0, batch)
	for i := 0; i < 2*n; i++ {
		state := comm.CallPlanned
		if i%3 == 0 {
			state = comm.CallDone
		}
		calls = append(calls, comm.PhoneCall{
			PartnerID: int64(rng.IntN(n) + 1), UserID: nu.ID, Due: first.Add(time.Duration(rng.IntN(90*24*3600)) * time.Second),
			Summary: "existing", UTM: comm.UTM{Campaign: "bench"}, State: state, Origin: comm.OriginManual,
		})
		if len(calls) == batch || i == 2*n-1 {
			if err := st.CreateCalls(ctx, calls); err != nil {
				return err
			}
			calls = calls[:0]
		}
	}
	return nil
}

// BenchmarkPlannerRunAPI is the planner through the HTTP API, end to end:
// decode, validate, load partners and history from SQLite, plan, store
// the run and its calls, encode the answer. Repeat mode, days_gap 7,
// 5-minute slots over 8 hours (97 a day). "cold" changes a partner before
// each run, so the partners are read from SQLite every time; "warm" reuses
// the store's snapshot, as runs do while no partner changes.
//
//	go test ./api -run '^$' -bench PlannerRunAPI -benchtime 5x
func BenchmarkPlannerRunAPI(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		for _, days := range []int{3, 30} {
			for _, cold := range []bool{true, false} {
				cache := "warm"
				if cold {
					cache = "cold"
				}
				name := fmt.Sprintf("partners=%d/days=%d/calls=%d/%s", n, days, 2*n, cache)
				b.Run(name, func(b *testing.B) { benchRun(b, n, days, cold) })
			}
		}
	}
}

func benchRun(b *testing.B, n, days int, cold bool) {
	path := benchDatabase(b, n)
	ctx := context.Background()
	st, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	tok := auth.NewSecret("phd_")
	if _, err := st.CreateToken(ctx, auth.SecretHash(tok), auth.RoleAdmin, 0, "bench"); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(New(Config{}, st, slog.New(slog.NewTextHandler(io.Discard, nil))).Handler())
	defer srv.Close()
	end := time.Date(2026, 11, 30, 17, 0, 0, 0, time.UTC).AddDate(0, 0, days-1)
	body, _ := json.Marshal(map[string]any{
		"summary": "bench", "user": "agent", "campaign": "bench", "start": "2026-11-30T09:00", "end": end.Format("2006-01-02T15:04"),
		"tz": "Europe/Brussels", "duration_minutes": 5, "repeat": map[string]any{"days_gap": 7},
	})
	changed, err := st.Partner(ctx, 1)
	if err != nil {
		b.Fatal(err)
	}
	// Warm the snapshot (and the page cache) once, outside the timing.
	if _, err := st.PlannerPartners(ctx, time.UTC); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var calls int
	for b.Loop() {
		if cold {
			b.StopTimer()
			changed.Company = fmt.Sprint(time.Now().UnixNano())
			if err := st.UpdatePartner(ctx, changed); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		req, _ := http.NewRequest("POST", srv.URL+"/api/planner/runs", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var out struct {
			RunID int64             `json:"run_id"`
			Slots int               `json:"slots"`
			Calls []json.RawMessage `json:"calls"`
		}
		err = json.NewDecoder(res.Body).Decode(&out)
		res.Body.Close()
		if err != nil || (res.StatusCode != 201 && res.StatusCode != 200) || out.Slots != 97*days {
			b.Fatalf("status %d, slots %d, err %v", res.StatusCode, out.Slots, err)
		}
		calls = len(out.Calls)
		// Undo the run, so that every iteration starts from the same calls.
		b.StopTimer()
		if _, err := st.DeletePlannerRun(ctx, out.RunID); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(calls), "calls/run")
}
