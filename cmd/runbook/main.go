// Command runbook runs phased upgrades over SSH: validate and plan a YAML
// runbook, run it across an inventory with canary, batches, a failure budget
// and rollback, resume it after a crash, and report what happened.
package main

import (
	"os"
)

func main() {
	stopProfiles := startProfiles(os.Stderr)
	code := Main(os.Args[1:], SystemIO())
	stopProfiles()
	os.Exit(code)
}
