package report

import (
	"strings"
	"testing"

	"github.com/runbookhq/runbook/runbook/journal"
)

// What to do next prints only commands that can make progress: a plain
// resume of a run halted by failures halts again.
func TestNextStepsOnlyCommandsThatProgress(t *testing.T) {
	host := func(name, outcome string) journal.Record {
		return journal.Record{Type: journal.HostFinished, Host: name, Outcome: outcome, Phase: "Canary"}
	}
	end := func(status, reason string) journal.Record {
		return journal.Record{Type: journal.RunFinished, Status: status, Reason: reason}
	}
	refused := journal.Record{Type: journal.Approval, Phase: "Canary", Prompt: "Continue?", Decision: "refused"}
	const (
		cont  = "Continue the run: rb resume 20261127-090000-demo-0a0b"
		retry = "rb resume 20261127-090000-demo-0a0b --retry-failed"
		again = "Continue the run (the approval \"Continue?\" is asked again): rb resume 20261127-090000-demo-0a0b"
		lock  = "Once the other run has released its lock, continue the run: rb resume 20261127-090000-demo-0a0b"
	)
	for _, tt := range []struct {
		name      string
		recs      []journal.Record
		want, not []string
	}{
		{"halted canary", []journal.Record{host("a", journal.OutcomeRolledBack), host("b", journal.OutcomeNotStarted),
			end(journal.RunStatusHalted, "canary Canary failed on [a]")}, []string{retry}, []string{cont, "resume 20261127-090000-demo-0a0b\n"}},
		{"budget exceeded", []journal.Record{host("a", journal.OutcomeFailed), host("b", journal.OutcomeNotStarted),
			end(journal.RunStatusHalted, "failure budget exceeded: 1 hosts failed, the budget allows 0")}, []string{retry}, []string{cont}},
		{"unreachable in the backup phase", []journal.Record{host("a", journal.OutcomeUnreachable), host("b", journal.OutcomeNotStarted),
			end(journal.RunStatusHalted, "phase 1 Backup failed on [a] before any change")}, []string{retry}, []string{cont}},
		{"interrupted", []journal.Record{host("a", journal.OutcomeUpgraded), end(journal.RunStatusInterrupted, "interrupted by a signal")},
			[]string{cont}, []string{retry}},
		{"cut off", []journal.Record{host("a", journal.OutcomeUpgraded)}, []string{cont}, nil},
		{"approval refused", []journal.Record{host("a", journal.OutcomeUpgraded), refused, end(journal.RunStatusHalted, "approval refused: \"Continue?\"")},
			[]string{again}, []string{cont}},
		{"lock held", []journal.Record{host("a", journal.OutcomeUpgraded),
			end(journal.RunStatusHalted, "b: locked by run 20260101-000000-other-abcd of alice on ops-1 since 2026-01-01T00:00:00Z (/var/lib/runbook/lock)")},
			[]string{lock}, []string{retry}},
		{"failed", []journal.Record{host("a", journal.OutcomeRolledBack), host("b", journal.OutcomeUpgraded), end(journal.RunStatusFailed, "hosts need attention")},
			[]string{retry}, []string{cont}},
		{"succeeded", []journal.Record{host("a", journal.OutcomeUpgraded), host("b", journal.OutcomeSkipped), end(journal.RunStatusSucceeded, "")},
			[]string{"Nothing to do"}, []string{cont, retry}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			recs := newRecords().add(runStart("a", "b")).add(tt.recs...).list
			n := NextSteps(Summarize(recs), "rb")
			all := strings.Join(n.Commands, "\n") + "\n"
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("commands lack %q:\n%s", w, all)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(all, w) {
					t.Errorf("commands hold %q, which cannot make progress:\n%s", w, all)
				}
			}
		})
	}
}

// A rescued host is named with what was rescued, not as unfinished.
func TestNextStepsRescuedHost(t *testing.T) {
	recs := newRecords().add(runStart("a"),
		journal.Record{Type: journal.HostFinished, Host: "a", Outcome: journal.OutcomeRescued, Phase: "Roll out", FailedStep: "restart"},
		journal.Record{Type: journal.RunFinished, Status: journal.RunStatusSucceeded}).list
	n := NextSteps(Summarize(recs), "rb")
	if len(n.Hosts) != 1 || !strings.HasPrefix(n.Hosts[0], `a: upgraded after a block's rescue made up for "restart" failing in Roll out`) {
		t.Errorf("advice %q", n.Hosts)
	}
}
