package planner

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

// TestRunMatchesReference compares Run with referenceRun on many random
// runs: the strongest check of the grouped, heap-driven algorithm.
func TestRunMatchesReference(t *testing.T) {
	runs := 10000
	if testing.Short() {
		runs = 500
	}
	rng := rand.New(rand.NewPCG(1, 2))
	planned := 0
	for i := range runs {
		data := make([]byte, 2000)
		for j := range data {
			data[j] = byte(rng.UintN(256))
		}
		_, in, err := genRun(data)
		if err != nil {
			continue
		}
		got := Run(in)
		planned += len(got.Calls)
		t.Run("", func(t *testing.T) {
			defer func() {
				if t.Failed() {
					t.Logf("run %d, input %x", i, data)
				}
			}()
			checkRun(t, in, got)
		})
	}
	if planned < runs { // the generator must make runs with calls, not only empty ones
		t.Errorf("only %d calls planned over %d runs", planned, runs)
	}
}

// FuzzRun decodes bytes into a run (times, partners, criteria, history,
// repetition) and checks Run's invariants and its agreement with the
// reference implementation.
func FuzzRun(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x01\x00\x02\x09\x00\xff\xff\xff\x05\x0c"))
	rng := rand.New(rand.NewPCG(3, 4))
	for range 8 {
		data := make([]byte, 300)
		for j := range data {
			data[j] = byte(rng.UintN(256))
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, in, err := genRun(data)
		if err != nil {
			return
		}
		checkRun(t, in, Run(in))
	})
}

// FuzzGrid feeds Grid arbitrary times: it must not panic, must fail only
// with a *FieldError on a SPEC field, and must return ascending slots on
// the grid, in range, that agree with referenceInstant.
func FuzzGrid(f *testing.F) {
	f.Add("2017-09-01T09:00", "2017-09-03T10:00", uint8(0), 60)
	f.Add("2026-03-29T01:00", "2026-03-29T04:00:00", uint8(1), 30)
	f.Add("2026-10-25T00:00", "2026-10-25T03:30", uint8(1), 15)
	f.Add("2026-04-05T01:00:30", "2026-04-06T02:59:59", uint8(4), 7)
	f.Add("2026-03-29T00:00", "2026-03-29T00:00", uint8(5), 1)
	f.Add("2026-13-01T00:00", "x", uint8(2), 0)
	f.Fuzz(func(t *testing.T, start, end string, zoneIndex uint8, duration int) {
		zone := genZones[int(zoneIndex)%len(genZones)]
		slots, err := Grid(Times{Start: start, End: end, Zone: zone, DurationMinutes: duration})
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Message == "" ||
				(fe.Field != "start" && fe.Field != "end" && fe.Field != "duration_minutes") {
				t.Fatalf("Grid error %#v", err)
			}
			return
		}
		checkGrid(t, start, end, zone, duration, slots)
	})
}

// checkGrid checks slots against a brute-force grid (when small enough)
// and the grid's shape.
func checkGrid(t *testing.T, start, end string, zone *time.Location, duration int, slots []time.Time) {
	t.Helper()
	s, _ := time.Parse("2006-01-02T15:04:05", normalSeconds(start))
	e, _ := time.Parse("2006-01-02T15:04:05", normalSeconds(end))
	sDay, eDay := midnight(s), midnight(e)
	t0, t1 := s.Sub(sDay), e.Sub(eDay)
	for i, slot := range slots {
		if slot.Location() != zone {
			t.Fatalf("slot %v not in the run's zone", slot)
		}
		if i > 0 && !slots[i-1].Before(slot) {
			t.Fatalf("slots not ascending: %v then %v", slots[i-1], slot)
		}
		wall := time.Date(slot.Year(), slot.Month(), slot.Day(), slot.Hour(), slot.Minute(), slot.Second(), 0, time.UTC)
		tod := wall.Sub(midnight(wall))
		if wall.Before(sDay) || wall.After(e) || tod < t0 || tod > t1 ||
			(tod-t0)%(time.Duration(duration)*time.Minute) != 0 {
			t.Fatalf("slot %v is off the grid %s .. %s every %d minutes", slot, start, end, duration)
		}
	}
	days := int(eDay.Sub(sDay)/(24*time.Hour)) + 1
	if days*(int((t1-t0)/(time.Duration(duration)*time.Minute))+1) > 3000 {
		return // too big for the brute force
	}
	var want []time.Time
	for d := sDay; !d.After(e); d = d.AddDate(0, 0, 1) {
		for tod := t0; tod <= t1; tod += time.Duration(duration) * time.Minute {
			if u, ok := referenceInstant(d.Add(tod), zone); ok {
				want = append(want, u)
			}
		}
	}
	if len(want) != len(slots) {
		t.Fatalf("%d slots, brute force %d", len(slots), len(want))
	}
	for i := range want {
		if !want[i].Equal(slots[i]) {
			t.Fatalf("slot %d = %v, brute force %v", i, slots[i], want[i])
		}
	}
}

func midnight(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func normalSeconds(s string) string {
	if len(s) == 16 {
		return s + ":00"
	}
	return s
}

// referenceInstant finds the earliest instant whose wall clock in zone is
// wall (given as a UTC time) by trying every offset the zone uses within
// 30 hours around it, sampled every quarter hour.
func referenceInstant(wall time.Time, zone *time.Location) (time.Time, bool) {
	var best time.Time
	found := false
	for k := -120; k <= 120; k++ {
		_, offset := wall.Add(time.Duration(k) * 15 * time.Minute).In(zone).Zone()
		u := wall.Add(-time.Duration(offset) * time.Second)
		if _, o := u.In(zone).Zone(); o == offset && (!found || u.Before(best)) {
			best, found = u, true
		}
	}
	return best, found
}
