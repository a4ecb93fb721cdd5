package sip

import (
	"testing"

	"go.uber.org/goleak"
)

// No test may leave a goroutine behind: Serve owns its listeners, its
// ticker and the handlers it runs.
//
// One exception, sipgo's own: when a request leaves from a client UDP
// socket while the user agent is closing (seen once in five full runs of
// the suite under load, never alone), sipgo's transport starts that
// socket's reader after its connection pool was cleared, and nothing
// stops it. It is a sipgo goroutine, ended with the process in the daemon;
// the goroutines phoned starts stay checked.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/emiago/sipgo/sip.(*TransportUDP).readUDPConnection"))
}
