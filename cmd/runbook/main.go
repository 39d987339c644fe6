// Command runbook runs phased upgrades over SSH: validate and plan a YAML
// runbook, run it across an inventory with canary, batches, a failure budget
// and rollback, resume it after a crash, and report what happened.
package main

import (
	"os"
	"runtime/debug"
)

func main() {
	tuneGC()
	stopProfiles := startProfiles(os.Stderr)
	code := Main(os.Args[1:], SystemIO())
	stopProfiles()
	os.Exit(code)
}

// tuneGC trades memory the controller has to spare for CPU it does not:
// a run's heap is mostly short-lived (SSH packets, journal records), and
// with Go's default (GOGC=100) collecting it is a large share of the
// controller's CPU on a large fleet. The collector waits for the
// heap to reach 4× what is live instead (GOGC=300); a soft limit of
// 512 MiB makes it collect more often when a very large fleet brings the
// heap near that. GOGC or GOMEMLIMIT in the environment win.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(300)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(512 << 20)
	}
}
