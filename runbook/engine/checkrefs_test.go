package engine

import (
	"errors"
	"strings"
	"testing"

	"github.com/runbookhq/runbook/runbook/journal"
)

const delegateRunbook = `runbook: delegate
targets: workers
params:
  lb: {default: cp-1}
phases:
  - name: Check
    kind: check
    steps:
      - shell: which-lb
        register: v
  - name: Roll out
    kind: batch
    steps:
      - shell: upgrade
      - shell: drain
        delegate_to: %s
rollback:
  steps:
    - shell: undo
`

// TestDelegateToCheckedBeforeAnyChange: a delegate_to that names no host of
// the inventory, as written or rendered from params, refuses the run with
// the runbook's file, line and column before anything runs.
func TestDelegateToCheckedBeforeAnyChange(t *testing.T) {
	for _, tc := range []struct {
		delegate string
		given    map[string]any
		want     string
	}{
		{"lb-1", nil, `rb.yaml:16:22: delegate_to: no host "lb-1" in inv.yaml`},
		{`"{{ params.lb }}"`, map[string]any{"lb": "lb-2"}, `rb.yaml:16:22: delegate_to "{{ params.lb }}" is "lb-2" on host worker-1: no such host in inv.yaml`},
		{`"{{ host.vars.nosuch }}"`, nil, `rb.yaml:16:22: delegate_to "{{ host.vars.nosuch }}" is "" on host worker-1: no such host`},
	} {
		src := strings.Replace(delegateRunbook, "%s", tc.delegate, 1)
		f := newFakeFleet(okReply)
		_, err := New(Options{Runbook: loadRunbook(t, src), Inventory: loadInventory(t, fleetInventory), InventoryFile: "inv.yaml",
			StateDir: t.TempDir(), Connector: f, Given: tc.given})
		var pe *ParamError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("delegate_to %s: %v, want a ParamError with %q", tc.delegate, err, tc.want)
		}
		if len(f.counts) != 0 {
			t.Errorf("delegate_to %s: commands ran: %v", tc.delegate, f.counts)
		}
	}
}

// TestDelegateToFromRegisteredValueFailsBeforeChange: a delegate_to that
// only the check phase can tell fails its host before the host's first
// change (nothing to roll back); the others go on.
func TestDelegateToFromRegisteredValueFailsBeforeChange(t *testing.T) {
	src := strings.Replace(delegateRunbook, "%s", `"{{ v.stdout }}"`, 1)
	f := newFakeFleet(func(host, cmd string) (string, int, error) {
		if cmd == "which-lb" {
			if host == "worker-3" {
				return "lb-9\n", 0, nil
			}
			return "cp-1\n", 0, nil
		}
		return "", 0, nil
	})
	r := runFake(t, src, f, func(o *Options) { o.Runbook.FailureBudget.Count = 1 })
	wantRunError(t, r.err, journal.RunStatusFailed)
	if got := r.outcomes()["worker-3"]; got != journal.OutcomeFailed {
		t.Errorf("worker-3: %s, want failed", got)
	}
	if n := f.counts["worker-3: upgrade"] + f.counts["worker-3: undo"]; n != 0 {
		t.Errorf("worker-3 changed or was rolled back (%d commands)", n)
	}
	if n := f.count("upgrade"); n != 5 {
		t.Errorf("upgrade ran %d times, want 5", n)
	}
	for _, rec := range r.records {
		if rec.Host == "worker-3" && rec.Type == journal.StepFinished && rec.StepID == "delegate_to" {
			if !strings.Contains(rec.Error, `delegate_to "{{ v.stdout }}" is "lb-9": no such host`) {
				t.Errorf("error %q", rec.Error)
			}
			return
		}
	}
	t.Errorf("no delegate_to failure journaled for worker-3")
}
