package report

import (
	"fmt"
	"time"

	"github.com/runbookhq/runbook/runbook/journal"
)

// fleetRun is the journal of a run over n hosts as the engine writes it: a
// canary (the first host) that soaks for two minutes and is approved, then
// batches of 50 hosts of five steps each, taking one to three seconds. The
// host numbered fail fails its last step (stderr "healthz: connection
// refused", rc 7) and is rolled back.
func fleetRun(n, fail int) []journal.Record {
	hosts := make([]string, n)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("node-%04d", i)
	}
	at := time.Date(2026, 11, 27, 22, 0, 0, 0, time.UTC)
	var list []journal.Record
	add := func(r journal.Record, after time.Duration) {
		at = at.Add(after)
		r.Seq, r.Time = int64(len(list)+1), at
		list = append(list, r)
	}
	add(journal.Record{Type: journal.RunStarted, RunID: "20261127-220000-fleet-upgrade-7c1d", Runbook: "fleet-upgrade", Operator: "alice", Hosts: hosts}, 0)
	steps := func(host string, phase string, index, batch int) (failed bool) {
		for s := 0; s < 5; s++ {
			rec := journal.Record{Host: host, Phase: phase, PhaseIndex: index, PhaseKind: "batch", Batch: batch,
				StepID: fmt.Sprintf("%d.steps.%d", index, s), Step: fmt.Sprintf("step %d", s+1), Index: s + 1, Attempt: 1, Kind: "shell",
				Command: fmt.Sprintf("upgrade-part %d", s+1)}
			if batch == 0 {
				rec.PhaseKind = "canary"
			}
			rec.Type = journal.StepStarted
			add(rec, 10*time.Millisecond)
			took := time.Duration(1000+(len(host)*37+s*211)%2000) * time.Millisecond
			rec.Type, rec.Final, rec.Status, rec.RC, rec.DurationMS = journal.StepFinished, true, journal.StatusChanged, intp(0), took.Milliseconds()
			rec.Stdout = fmt.Sprintf("part %d done on %s\n", s+1, host)
			if host == hosts[fail] && s == 4 {
				rec.Status, rec.RC, rec.Stdout = journal.StatusFailed, intp(7), ""
				rec.Stderr = "curl: (7) Failed to connect to 127.0.0.1 port 10248\nhealthz: connection refused\n"
				rec.Error = "shell: exit 7: healthz: connection refused"
				add(rec, took)
				return true
			}
			add(rec, took)
		}
		return false
	}
	canary := journal.Record{Type: journal.PhaseStarted, Phase: "Canary", PhaseIndex: 1, PhaseKind: "canary", Hosts: hosts[:1]}
	add(canary, time.Second)
	steps(hosts[0], "Canary", 1, 0)
	add(journal.Record{Type: journal.WaitStarted, Phase: "Canary", Text: "soak", Seconds: 120}, 0)
	add(journal.Record{Type: journal.WaitFinished, Phase: "Canary", Text: "soak"}, 2*time.Minute)
	add(journal.Record{Type: journal.HostFinished, Host: hosts[0], Outcome: journal.OutcomeUpgraded, Phase: "Canary", PhaseIndex: 1, PhaseKind: "canary"}, 0)
	add(journal.Record{Type: journal.Approval, Phase: "Canary", Prompt: "Continue?", Decision: "approved", By: "alice", Via: "tty"}, 40*time.Second)
	canary.Type = journal.PhaseFinished
	add(canary, 0)
	for first, batch := 1, 1; first < n; first, batch = first+50, batch+1 {
		members := hosts[first:min(first+50, n)]
		add(journal.Record{Type: journal.PhaseStarted, Phase: "Roll out", PhaseIndex: 2, PhaseKind: "batch", Batch: batch, Hosts: members}, time.Second)
		start, end := at, at
		var rolledBack string
		for _, h := range members {
			at = start // the hosts of a batch work side by side
			failed := steps(h, "Roll out", 2, batch)
			if failed {
				rolledBack = h
			} else {
				add(journal.Record{Type: journal.HostFinished, Host: h, Outcome: journal.OutcomeUpgraded, Phase: "Roll out", PhaseIndex: 2, PhaseKind: "batch"}, 0)
			}
			if at.After(end) {
				end = at
			}
		}
		at = end
		if rolledBack != "" {
			add(journal.Record{Type: journal.PhaseStarted, Phase: "rollback", PhaseKind: "rollback", Hosts: []string{rolledBack}}, 0)
			undo := journal.Record{Host: rolledBack, Phase: "rollback", PhaseKind: "rollback", StepID: "rollback.steps.0", Step: "downgrade", Index: 1, Attempt: 1, Kind: "shell", Command: "downgrade"}
			undo.Type = journal.StepStarted
			add(undo, 0)
			undo.Type, undo.Final, undo.Status, undo.RC, undo.DurationMS = journal.StepFinished, true, journal.StatusChanged, intp(0), 2500
			add(undo, 2500*time.Millisecond)
			add(journal.Record{Type: journal.HostFinished, Host: rolledBack, Outcome: journal.OutcomeRolledBack, Phase: "Roll out", PhaseIndex: 2, PhaseKind: "batch",
				FailedStep: "step 5", Error: "shell: exit 7: healthz: connection refused"}, 0)
		}
		add(journal.Record{Type: journal.PhaseFinished, Phase: "Roll out", PhaseIndex: 2, PhaseKind: "batch", Batch: batch, Hosts: members}, 0)
		if first+50 < n {
			add(journal.Record{Type: journal.WaitStarted, Phase: "Roll out", Batch: batch, Text: "pause_between", Seconds: 30}, 0)
			add(journal.Record{Type: journal.WaitFinished, Phase: "Roll out", Batch: batch, Text: "pause_between"}, 30*time.Second)
		}
	}
	add(journal.Record{Type: journal.RunFinished, Status: journal.RunStatusFailed, Reason: "hosts need attention: [" + hosts[fail] + " rolled_back]"}, time.Second)
	return list
}
