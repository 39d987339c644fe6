package engine

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/runbookhq/runbook/runbook/journal"
	"github.com/runbookhq/runbook/runbook/transport"
)

// TestRetryFailedContinuesOrStartsOver: resume --retry-failed gives a
// rolled-back host a fresh start, and lets a host that was cut off without
// rollback continue at its first unfinished step: what it finished is not
// run again.
func TestRetryFailedContinuesOrStartsOver(t *testing.T) {
	src := `runbook: retry
targets: workers
failure_budget: 2
phases:
  - name: Roll out
    kind: batch
    serial: [6]
    steps: [{shell: upgrade}, {shell: restart}]
rollback:
  steps: [{shell: undo}]
`
	broken := true
	f := newFakeFleet(func(host, cmd string) (string, int, error) {
		switch {
		case broken && cmd == "restart" && host == "worker-2":
			return "", 1, nil // fails: rolled back
		case broken && cmd == "restart" && host == "worker-5":
			return "", 0, transport.Unreachable(host, errors.New("connection reset")) // cut off
		}
		return "", 0, nil
	})
	r := runFake(t, src, f, nil)
	wantRunError(t, r.err, journal.RunStatusFailed)
	if o := r.outcomes(); o["worker-2"] != journal.OutcomeRolledBack || o["worker-5"] != journal.OutcomeUnreachable {
		t.Fatalf("outcomes %v", o)
	}
	broken = false
	e, err := Resume(context.Background(), ResumeOptions{Options: Options{StateDir: stateOf(r), Connector: f,
		Approver: &approver{answer: true}}, RunID: r.res.RunID, RetryFailed: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []RetryDecision{{Host: "worker-2", Outcome: journal.OutcomeRolledBack, StartsOver: true},
		{Host: "worker-5", Outcome: journal.OutcomeUnreachable, Kept: 1}}
	if got := e.Retried(); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("retry decisions %+v, want %+v", got, want)
	}
	res, err := e.Continue(context.Background())
	if err != nil || res.Counts[journal.OutcomeUpgraded] != 6 {
		t.Fatalf("resumed: %v %+v", err, res)
	}
	for host, want := range map[string]int{"worker-2": 2, "worker-5": 1, "worker-1": 1} {
		if n := f.counts[host+": upgrade"]; n != want {
			t.Errorf("%s: upgrade ran %d times, want %d", host, n, want)
		}
	}
	if n := f.counts["worker-5: restart"]; n != 2 {
		t.Errorf("worker-5: restart ran %d times, want 2 (cut off, then again)", n)
	}
}

func stateOf(r runResult) string { return filepath.Dir(filepath.Dir(r.res.RunDir)) }
