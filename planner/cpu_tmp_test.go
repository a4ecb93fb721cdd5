package planner

import (
	"fmt"
	"syscall"
	"testing"
	"time"
)

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestCPUTmp(t *testing.T) {
	for _, bc := range []struct{ p, d int; r bool }{{10000, 3, true}, {10000, 30, true}, {100000, 3, true}, {100000, 30, true}, {100000, 30, false}} {
		b := &testing.B{}
		in := benchInput(b, bc.p, bc.d, bc.r)
		minCPU, minWall := time.Hour, time.Hour
		for range 7 {
			c0, w0 := cpuNow(), time.Now()
			Run(in)
			minCPU, minWall = min(minCPU, cpuNow()-c0), min(minWall, time.Since(w0))
		}
		fmt.Printf("partners=%d days=%d repeat=%v: cpu %v wall %v\n", bc.p, bc.d, bc.r, minCPU, minWall)
	}
}
