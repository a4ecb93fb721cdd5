package sip

import (
	"testing"

	"go.uber.org/goleak"
)

// No test may leave a goroutine behind: Serve owns its listeners, its
// ticker and the handlers it runs.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
