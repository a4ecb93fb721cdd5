package main

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// envOf returns a lookupEnv over a fixed map, so tests never read the
// real environment.
func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// wantConfig is serveConfig with the zone as its name, for comparing.
type wantConfig struct {
	DB, HTTP, SIP, TZ, Region string
	LogLevel                  slog.Level
	LogFormat                 string
	Demo                      bool
}

func configOf(c serveConfig) wantConfig {
	tz := "<nil>"
	if c.TZ != nil {
		tz = c.TZ.String()
	}
	return wantConfig{c.DB, c.HTTP, c.SIP, tz, c.Region, c.LogLevel, c.LogFormat, c.Demo}
}

var defaults = wantConfig{
	DB: "phoned.db", HTTP: "127.0.0.1:8080", SIP: "127.0.0.1:5060", TZ: "UTC", Region: "BE",
	LogLevel: slog.LevelInfo, LogFormat: "text", Demo: false,
}

// allEnv sets every serve option from the environment.
var allEnv = map[string]string{
	"PHONED_DB": "/var/lib/phoned/env.db", "PHONED_HTTP": "0.0.0.0:9000", "PHONED_SIP": "10.0.0.1:5080",
	"PHONED_TZ": "Europe/Paris", "PHONED_REGION": "fr", "PHONED_LOG_LEVEL": "warn",
	"PHONED_LOG_FORMAT": "json", "PHONED_DEMO": "true",
}

func TestParseServe(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want wantConfig
	}{
		{name: "defaults", want: defaults},
		{
			name: "environment when no flag",
			env:  allEnv,
			want: wantConfig{
				DB: "/var/lib/phoned/env.db", HTTP: "0.0.0.0:9000", SIP: "10.0.0.1:5080", TZ: "Europe/Paris",
				Region: "FR", LogLevel: slog.LevelWarn, LogFormat: "json", Demo: true,
			},
		},
		{
			name: "flags override environment",
			env:  allEnv,
			args: []string{
				"--db", "flag.db", "--http", "[::1]:8081", "--sip", ":5070", "--tz", "America/New_York",
				"--region", "us", "--log-level", "debug", "--log-format", "text", "--demo=false",
			},
			want: wantConfig{
				DB: "flag.db", HTTP: "[::1]:8081", SIP: ":5070", TZ: "America/New_York",
				Region: "US", LogLevel: slog.LevelDebug, LogFormat: "text", Demo: false,
			},
		},
		{
			name: "a flag overrides a bad environment value",
			env:  map[string]string{"PHONED_TZ": "Mars/Olympus_Mons", "PHONED_HTTP": "nowhere"},
			args: []string{"--tz", "Europe/Brussels", "--http", "127.0.0.1:0"},
			want: func() wantConfig { w := defaults; w.TZ, w.HTTP = "Europe/Brussels", "127.0.0.1:0"; return w }(),
		},
		{
			name: "--demo wins over a bad PHONED_DEMO",
			env:  map[string]string{"PHONED_DEMO": "yes"},
			args: []string{"--demo=false"},
			want: defaults,
		},
		{
			name: "PHONED_DEMO in another spelling",
			env:  map[string]string{"PHONED_DEMO": "1"},
			want: func() wantConfig { w := defaults; w.Demo = true; return w }(),
		},
		{
			name: "bare --demo",
			args: []string{"--demo"},
			want: func() wantConfig { w := defaults; w.Demo = true; return w }(),
		},
		{
			name: "single-dash flags",
			args: []string{"-db=x.db", "-log-level=error"},
			want: func() wantConfig { w := defaults; w.DB, w.LogLevel = "x.db", slog.LevelError; return w }(),
		},
		{
			name: "values are trimmed",
			args: []string{"--db", "  spaced.db ", "--http", " 127.0.0.1:1 ", "--region", " nl "},
			want: func() wantConfig { w := defaults; w.DB, w.HTTP, w.Region = "spaced.db", "127.0.0.1:1", "NL"; return w }(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			cfg, err := parseServe(tt.args, envOf(tt.env), &stderr)
			if err != nil {
				t.Fatalf("parseServe(%q) error: %v (stderr %q)", tt.args, err, stderr.String())
			}
			if got := configOf(cfg); got != tt.want {
				t.Errorf("parseServe(%q)\n got %+v\nwant %+v", tt.args, got, tt.want)
			}
			if stderr.Len() > 0 {
				t.Errorf("stderr = %q, want nothing", stderr.String())
			}
		})
	}
}

func TestParseServeErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []string // substrings of the error message
	}{
		{name: "unknown zone", args: []string{"--tz", "Mars/Olympus_Mons"}, want: []string{"--tz", "Mars/Olympus_Mons"}},
		{name: "Local zone", args: []string{"--tz", "Local"}, want: []string{"--tz", "IANA"}},
		{name: "empty zone", args: []string{"--tz", ""}, want: []string{"--tz"}},
		{name: "http not host:port", args: []string{"--http", "8080"}, want: []string{"--http", "host:port"}},
		{name: "http port too big", args: []string{"--http", "127.0.0.1:65536"}, want: []string{"--http", "65536"}},
		{name: "http host name", args: []string{"--http", "example.com:80"}, want: []string{"--http", "example.com"}},
		{name: "sip not host:port", args: []string{"--sip", "127.0.0.1"}, want: []string{"--sip", "host:port"}},
		{name: "sip port name", args: []string{"--sip", "127.0.0.1:sip"}, want: []string{"--sip", `"sip"`}},
		{name: "unknown region", args: []string{"--region", "XX"}, want: []string{"--region", "XX"}},
		{name: "empty region", args: []string{"--region", ""}, want: []string{"--region"}},
		{name: "bad log level", args: []string{"--log-level", "loud"}, want: []string{"--log-level", "loud"}},
		{name: "bad log format", args: []string{"--log-format", "xml"}, want: []string{"--log-format", "xml"}},
		{name: "empty db", args: []string{"--db", ""}, want: []string{"--db"}},
		{name: "blank db", args: []string{"--db", "   "}, want: []string{"--db"}},
		{name: "bad demo flag", args: []string{"--demo=maybe"}, want: []string{"demo", "maybe"}},
		{name: "bad PHONED_DEMO", env: map[string]string{"PHONED_DEMO": "maybe"}, want: []string{"--demo", "PHONED_DEMO", "maybe"}},
		{name: "empty PHONED_DEMO", env: map[string]string{"PHONED_DEMO": ""}, want: []string{"--demo", "PHONED_DEMO"}},
		{name: "bad PHONED_TZ", env: map[string]string{"PHONED_TZ": "Mars/Olympus_Mons"}, want: []string{"--tz", "PHONED_TZ"}},
		{name: "bad PHONED_HTTP", env: map[string]string{"PHONED_HTTP": "nowhere"}, want: []string{"--http", "PHONED_HTTP"}},
		{name: "bad PHONED_SIP", env: map[string]string{"PHONED_SIP": "1.2.3.4:99999"}, want: []string{"--sip", "PHONED_SIP"}},
		{name: "bad PHONED_REGION", env: map[string]string{"PHONED_REGION": "Belgium"}, want: []string{"--region", "PHONED_REGION"}},
		{name: "bad PHONED_LOG_LEVEL", env: map[string]string{"PHONED_LOG_LEVEL": "chatty"}, want: []string{"--log-level", "PHONED_LOG_LEVEL"}},
		{name: "bad PHONED_LOG_FORMAT", env: map[string]string{"PHONED_LOG_FORMAT": "yaml"}, want: []string{"--log-format", "PHONED_LOG_FORMAT"}},
		{name: "empty PHONED_DB", env: map[string]string{"PHONED_DB": ""}, want: []string{"--db", "PHONED_DB"}},
		{name: "unknown flag", args: []string{"--colour", "blue"}, want: []string{"colour"}},
		{name: "positional argument", args: []string{"extra"}, want: []string{"no arguments", "extra"}},
		{name: "positional after flags", args: []string{"--db", "x.db", "now"}, want: []string{"no arguments", "now"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			cfg, err := parseServe(tt.args, envOf(tt.env), &stderr)
			if err == nil {
				t.Fatalf("parseServe(%q, env %v) = %+v, want an error", tt.args, tt.env, configOf(cfg))
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}

func TestParseServeHelp(t *testing.T) {
	var stderr bytes.Buffer
	_, err := parseServe([]string{"-h"}, envOf(nil), &stderr)
	if !errors.Is(err, errUsage) {
		t.Fatalf("parseServe(-h) = %v, want errUsage", err)
	}
	// Every option and its environment variable are in the help.
	for _, o := range serveOptions {
		if !strings.Contains(stderr.String(), "-"+o.flag) || !strings.Contains(stderr.String(), o.env) {
			t.Errorf("help does not show -%s and %s:\n%s", o.flag, o.env, stderr.String())
		}
	}
}

func TestCheckAddr(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  string // substring; "" means no error
	}{
		{in: "127.0.0.1:8080", want: "127.0.0.1:8080"},
		{in: ":8080", want: ":8080"},
		{in: "0.0.0.0:0", want: "0.0.0.0:0"},
		{in: "localhost:65535", want: "localhost:65535"},
		{in: "[::1]:5060", want: "[::1]:5060"},
		{in: "[::]:5060", want: "[::]:5060"},
		{in: " 10.0.0.1:80 ", want: "10.0.0.1:80"},
		{in: "", wantErr: "host:port"},
		{in: "127.0.0.1", wantErr: "host:port"},
		{in: "::1:80", wantErr: "host:port"},
		{in: "127.0.0.1:", wantErr: "port"},
		{in: "127.0.0.1:http", wantErr: "port"},
		{in: "127.0.0.1:65536", wantErr: "65536"},
		{in: "127.0.0.1:-1", wantErr: "-1"},
		{in: "example.com:80", wantErr: "example.com"},
		{in: "256.0.0.1:80", wantErr: "256.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := checkAddr(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("checkAddr(%q) = %q, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("checkAddr(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}
