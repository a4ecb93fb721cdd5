// Package gctune sets the garbage collector for phoned's daemon (and the
// load tools that run phoned in their process, so that they measure what
// runs). Setting up a call allocates a lot of short-lived memory (SIP
// messages, dialogs, SQL rows) over a small live heap; with Go's default
// GOGC=100 the collector then runs so often that at a thousand calls per
// second it takes a tenth or more of the daemon's CPU (docs/PERFORMANCE.md).
// A larger target trades some tens of MB of heap for that.
package gctune

import (
	"os"
	"runtime/debug"
)

// Percent is the GOGC phoned runs with unless the environment sets one.
const Percent = 400

// Apply sets GOGC to Percent, unless GOGC is set in the environment (an
// operator's choice wins).
func Apply() {
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	debug.SetGCPercent(Percent)
}
