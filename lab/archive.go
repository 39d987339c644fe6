package lab

import "github.com/runbookhq/runbook/lab/sim"

// Archive lists what the lab's apt archive offers, repository by
// repository: what a runbook rehearsed on the lab can install.
func Archive() []sim.ArchivePackage { return sim.Archive() }
