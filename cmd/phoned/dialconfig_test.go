package main

import (
	"io"
	"strings"
	"testing"
)

func TestParseServeDialPlanAndPBX(t *testing.T) {
	cfg, err := parseServe(nil, envOf(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DialPlan.String() != "+32" || cfg.PBX != "" {
		t.Fatalf("defaults: dial plan %s, PBX %q; want +32 (the region BE) and none", cfg.DialPlan, cfg.PBX)
	}
	cfg, err = parseServe([]string{"--region", "fr"}, envOf(nil), io.Discard)
	if err != nil || cfg.DialPlan.String() != "+33" {
		t.Fatalf("--region fr: dial plan %s, %v", cfg.DialPlan, err)
	}
	cfg, err = parseServe([]string{"--dial-allow", "+32, +33", "--pbx", "sip:127.0.0.1:5080", "--pbx-user", "trunk1"},
		envOf(map[string]string{"PHONED_PBX_PASSWORD": "trunkpw", "PHONED_DIAL_ALLOW": "+1"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DialPlan.String() != "+32,+33" || cfg.PBX != "sip:127.0.0.1:5080" || cfg.PBXUser != "trunk1" || cfg.PBXPassword != "trunkpw" {
		t.Fatalf("config %s %q %q", cfg.DialPlan, cfg.PBX, cfg.PBXUser)
	}
	cfg, err = parseServe(nil, envOf(map[string]string{"PHONED_PBX": "sip:pbx.example.com;transport=tcp", "PHONED_DIAL_ALLOW": "+44"}), io.Discard)
	if err != nil || cfg.PBX != "sip:pbx.example.com;transport=tcp" || cfg.DialPlan.String() != "+44" {
		t.Fatalf("environment: %q %s %v", cfg.PBX, cfg.DialPlan, err)
	}

	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want []string
	}{
		{"prefix without +", []string{"--dial-allow", "32"}, nil, []string{"--dial-allow", `"32"`}},
		{"prefix with letters", []string{"--dial-allow", "+32,+3x"}, nil, []string{"--dial-allow", "+3x"}},
		{"bare +", []string{"--dial-allow", "+"}, nil, []string{"--dial-allow"}},
		{"bad PHONED_DIAL_ALLOW", nil, map[string]string{"PHONED_DIAL_ALLOW": "00"}, []string{"--dial-allow", "PHONED_DIAL_ALLOW"}},
		{"pbx not a sip URI", []string{"--pbx", "127.0.0.1:5080"}, nil, []string{"--pbx", "127.0.0.1:5080"}},
		{"pbx with a user", []string{"--pbx", "sip:100@pbx"}, nil, []string{"--pbx", "user part"}},
		{"pbx sips", []string{"--pbx", "sips:pbx"}, nil, []string{"--pbx", "sips"}},
		{"bad PHONED_PBX", nil, map[string]string{"PHONED_PBX": "http://pbx"}, []string{"--pbx", "PHONED_PBX"}},
		{"user without pbx", []string{"--pbx-user", "trunk1"}, nil, []string{"--pbx-user", "--pbx"}},
		{"password without pbx", nil, map[string]string{"PHONED_PBX_PASSWORD": "hunter2"}, []string{"--pbx-password", "PHONED_PBX_PASSWORD", "--pbx"}},
		{"user without password", []string{"--pbx", "sip:pbx", "--pbx-user", "trunk1"}, nil, []string{"--pbx-user", "--pbx-password"}},
		{"password without user", []string{"--pbx", "sip:pbx", "--pbx-password", "hunter2"}, nil, []string{"--pbx-password", "--pbx-user"}},
		{"user with a quote", []string{"--pbx", "sip:pbx", "--pbx-user", `tr"unk`, "--pbx-password", "hunter2"}, nil, []string{"--pbx-user"}},
		{"password with a newline", []string{"--pbx", "sip:pbx", "--pbx-user", "trunk1", "--pbx-password", "hunter2\n"}, nil, []string{"--pbx-password", "control"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseServe(tc.args, envOf(tc.env), io.Discard)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}
