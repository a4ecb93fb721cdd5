package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves a goroutine behind: serve
// starts an HTTP server, a janitor and database pools, and all of them
// must end with its context.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestRunUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantErr    error
		wantStdout string // substring; "" means stdout must stay empty
		wantStderr string // substring; "" means stderr must stay empty
	}{
		{name: "no command", args: nil, wantErr: errUsage, wantStderr: "usage:"},
		{name: "unknown command", args: []string{"frobnicate"}, wantErr: errUsage, wantStderr: `unknown command "frobnicate"`},
		{name: "token without create", args: []string{"token"}, wantErr: errUsage, wantStderr: "usage:"},
		{name: "token with another verb", args: []string{"token", "delete"}, wantErr: errUsage, wantStderr: "usage:"},
		{name: "help", args: []string{"help"}, wantStdout: "phoned serve"},
		{name: "--help", args: []string{"--help"}, wantStdout: "phoned token create"},
		{name: "serve -h", args: []string{"serve", "-h"}, wantErr: errUsage, wantStderr: "PHONED_HTTP"},
		{name: "token create -h", args: []string{"token", "create", "-h"}, wantErr: errUsage, wantStderr: "-role"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), tt.args, &stdout, &stderr)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("run(%q) = %v, want %v", tt.args, err, tt.wantErr)
			}
			checkOutput(t, "stdout", stdout.String(), tt.wantStdout)
			checkOutput(t, "stderr", stderr.String(), tt.wantStderr)
		})
	}
}

func checkOutput(t *testing.T, name, got, want string) {
	t.Helper()
	if want == "" {
		if got != "" {
			t.Errorf("%s = %q, want nothing", name, got)
		}
		return
	}
	if !strings.Contains(got, want) {
		t.Errorf("%s = %q, want it to contain %q", name, got, want)
	}
}
