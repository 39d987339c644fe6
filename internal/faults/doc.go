// Package faults is runbook's fault suite: `go test ./internal/faults` builds
// the runbook command, runs it as a subprocess against real OpenSSH sshd
// hosts (internal/sshdtest) or the lab, and breaks things on purpose: it kills
// a host's sshd in the middle of a batch, SIGKILLs the controller at random
// journal positions and resumes, tears the journal's last line, fills the
// state directory's disk, and slows a third of 200 hosts down. Each test
// checks the promises of SPEC §9 from the journal and from what the hosts
// saw. The package has no code of its own: everything is in its tests.
package faults
