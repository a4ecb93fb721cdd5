package planner

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"phoned/crm"
)

// benchZones are 15 zones, most near the run's (Europe/Brussels).
var benchZones = []string{
	"Europe/Brussels", "Europe/Paris", "Europe/London", "Europe/Berlin", "Europe/Madrid",
	"Europe/Lisbon", "Europe/Athens", "Europe/Helsinki", "Africa/Casablanca", "Africa/Lagos",
	"America/New_York", "America/Chicago", "America/Sao_Paulo", "Asia/Dubai", "Asia/Kolkata",
}

// benchInput is a run over days days of 5-minute slots from 09:00 to 17:00
// in Europe/Brussels (97 a day), partners partners in 15 zones sharing 300
// window lists, and 2 counting calls per partner spread over three months
// around the run (for half of the partners without repetition, so that
// some are left to call). With shareWindows, partners with equal window
// lists share one slice, as the store loads them; without, each has its own.
func benchInput(b *testing.B, partners, days int, repeat, shareWindows bool) Input {
	rng := rand.New(rand.NewPCG(uint64(partners), uint64(days)))
	slots, err := Grid(Times{
		Start:           "2026-03-02T09:00",
		End:             time.Date(2026, 3, 2+days-1, 17, 0, 0, 0, time.UTC).Format("2006-01-02T15:04"),
		Zone:            brussels,
		DurationMinutes: 5,
	})
	if err != nil {
		b.Fatal(err)
	}
	zones := make([]*time.Location, len(benchZones))
	for i, name := range benchZones {
		zones[i] = mustZone(name)
	}
	windowSets := make([][]crm.Window, 300)
	for i := range windowSets {
		for day := time.Monday; day <= time.Saturday; day++ {
			if rng.IntN(4) == 0 {
				continue
			}
			for range 1 + rng.IntN(2) {
				from := crm.Clock(7*3600 + rng.IntN(20)*1800)
				w := crm.Window{Weekday: day, From: from, To: from + crm.Clock((1+rng.IntN(6))*1800)}
				if rng.IntN(10) == 0 {
					w.ValidTo = crm.Date{Year: 2026, Month: time.March, Day: 1 + rng.IntN(28)}
				}
				windowSets[i] = append(windowSets[i], w)
			}
		}
	}

	first, last := slots[0], slots[len(slots)-1]
	in := Input{Slots: slots, History: make(map[int64]History, partners)}
	if repeat {
		gap := 7
		in.DaysGap = &gap
	}
	for i := range partners {
		id := int64(i + 1)
		in.Partners = append(in.Partners, Partner{
			ID:      id,
			Name:    fmt.Sprintf("%c%c%c partner %d", 'A'+rng.IntN(26), 'a'+rng.IntN(26), 'a'+rng.IntN(26), id),
			Zone:    zones[rng.IntN(len(zones))],
			Windows: windowSets[rng.IntN(len(windowSets))],
			Phone:   fmt.Sprintf("+32255%06d", id),
		})
		if !shareWindows { // decoded per partner
			p := &in.Partners[len(in.Partners)-1]
			p.Windows = slices.Clone(p.Windows)
		}
		if !repeat && i%2 == 0 {
			continue
		}
		var h History
		for range 2 {
			span := last.Sub(first) + 90*24*time.Hour
			d := first.Add(-60*24*time.Hour + time.Duration(rng.Int64N(int64(span/time.Second)))*time.Second)
			h.Count++
			h.Dues = append(h.Dues, d)
			if d.After(h.Latest) {
				h.Latest = d
			}
		}
		in.History[id] = h
	}
	return in
}

// BenchmarkRun: go test ./planner/ -run '^$' -bench Run -benchtime 3x
func BenchmarkRun(b *testing.B) {
	for _, bc := range []struct {
		partners, days int
		repeat, shared bool
	}{
		{10_000, 3, true, false},
		{10_000, 30, true, false},
		{100_000, 3, true, false},
		{100_000, 30, true, false},
		{100_000, 30, false, false},
		{100_000, 30, true, true},
	} {
		name := fmt.Sprintf("partners=%dk/days=%d/", bc.partners/1000, bc.days)
		if bc.repeat {
			name += "repeat"
		} else {
			name += "no-repeat"
		}
		if bc.shared {
			name += "/shared-windows"
		}
		b.Run(name, func(b *testing.B) {
			in := benchInput(b, bc.partners, bc.days, bc.repeat, bc.shared)
			b.ReportAllocs()
			var res Result
			for b.Loop() {
				res = Run(in)
			}
			b.ReportMetric(float64(len(res.Calls)), "calls")
			b.ReportMetric(float64(res.Slots), "slots")
		})
	}
}

func BenchmarkGrid(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Grid(Times{Start: "2026-03-02T09:00", End: "2026-03-31T17:00", Zone: brussels, DurationMinutes: 5}); err != nil {
			b.Fatal(err)
		}
	}
}
