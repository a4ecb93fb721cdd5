package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSIPpStatsReadsTheLastLine(t *testing.T) {
	dir := t.TempDir()
	csv := "StartTime;TotalCallCreated;SuccessfulCall(C);FailedCall(C);Retransmissions(C);CallRate(C);ResponseTime1(C);" +
		"ResponseTimeRepartition1_<2;ResponseTimeRepartition1_<5;ResponseTimeRepartition1_<10;ResponseTimeRepartition1_<20;\n" +
		"x;10;9;1;0;100.5;00:00:00:001000;5;2;1;1;\n" +
		"x;2000;1998;2;7;499.127;00:00:00:003000;1900;50;40;8;\n"
	if err := os.WriteFile(filepath.Join(dir, "stats.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := (&sippRun{name: "caller", dir: dir}).stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.created != 2000 || st.successful != 1998 || st.failed != 2 || st.retrans != 7 || st.callRate != 499.127 || st.responseTime != 3*time.Millisecond {
		t.Errorf("stats = %+v", st)
	}
	if n := st.under(10 * time.Millisecond); n != 1990 {
		t.Errorf("under 10 ms = %d, want 1990", n)
	}
}

func TestParseFlagsRefusesUnboundedRuns(t *testing.T) {
	for _, args := range [][]string{
		{"-max-rate", "100000"},
		{"-seconds", "0"},
		{"-seconds", "600"},
		{"-calls", "0"},
		{"-hold", "5s"},
		{"-max-time", "3h"},
		{"-target", "kamailio"},
		{"-rtp-ports", "30001-30010"},
		{"-start-rate", "500", "-max-rate", "400"},
		{"-target", "bare", "-cpuprofile", "x.prof"},
	} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("parseFlags(%q) = nil error", args)
		}
	}
	cfg, err := parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.targets) != 2 || cfg.targets[0] != "phoned" || cfg.targets[1] != "bare" {
		t.Errorf("default targets %q", cfg.targets)
	}
}
