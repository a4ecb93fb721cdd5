package store

import (
	"testing"

	"go.uber.org/goleak"
)

// No test may leave a goroutine behind (request goroutines, the concurrent
// planner reads, database connections).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
