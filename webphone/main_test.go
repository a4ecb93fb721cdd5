package webphone

import (
	"testing"

	"go.uber.org/goleak"
)

// No goroutine of the phone, its connections or its PeerConnections may
// outlive a test.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
