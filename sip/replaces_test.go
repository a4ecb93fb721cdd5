package sip

import (
	"strings"
	"testing"

	"phoned/switchboard"
)

func TestReferToWithReplaces(t *testing.T) {
	got, err := withReplaces(switchboard.Replaces{URI: "sip:202@127.0.0.1:5070;transport=udp", CallID: "abc@host", LocalTag: "ph-1", RemoteTag: "t-9"})
	if err != nil {
		t.Fatal(err)
	}
	want := "sip:202@127.0.0.1:5070;transport=udp?Replaces=abc%40host%3Bto-tag%3Dt-9%3Bfrom-tag%3Dph-1"
	if got != want {
		t.Fatalf("Refer-To\n got %s\nwant %s", got, want)
	}
	for _, bad := range []switchboard.Replaces{
		{URI: "not a uri", CallID: "a", LocalTag: "b", RemoteTag: "c"},
		{URI: "sip:202@h", CallID: "a\r\nX: y", LocalTag: "b", RemoteTag: "c"},
		{URI: "sip:202@h", CallID: "a", LocalTag: "b>", RemoteTag: "c"},
	} {
		if u, err := withReplaces(bad); err == nil {
			t.Errorf("%+v gave %s", bad, u)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("error with a line break: %q", err)
		}
	}
}
