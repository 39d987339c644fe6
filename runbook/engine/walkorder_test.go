package engine

import (
	"slices"
	"testing"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/journal"
)

func TestWalkOrder(t *testing.T) {
	for _, tt := range []struct {
		kinds []string
		want  []int
	}{
		{[]string{"backup", "check", "canary", "batch", "verify"}, []int{1, 0, 2, 3, 4}},
		{[]string{"check", "backup", "batch"}, []int{0, 1, 2}},
		{[]string{"backup", "check", "backup", "check", "batch"}, []int{1, 3, 0, 2, 4}},
		{[]string{"backup", "batch"}, []int{0, 1}},
		{[]string{"backup", "check"}, []int{1, 0}},
		{nil, []int{}},
	} {
		phases := make([]*runbook.Phase, len(tt.kinds))
		for i, k := range tt.kinds {
			phases[i] = &runbook.Phase{Kind: k}
		}
		if got := walkOrder(phases); !slices.Equal(got, tt.want) {
			t.Errorf("walkOrder(%v) = %v, want %v", tt.kinds, got, tt.want)
		}
	}
}

const backupThenCheck = `runbook: upgrade
targets: workers
phases:
  - name: Backup
    kind: backup
    steps:
      - shell: save
  - name: Check
    kind: check
    steps:
      - shell: version
        register: v
        changed_when: false
    skip_host_when: 'v.stdout == "new"'
  - name: Roll out
    kind: batch
    serial: [10]
    steps:
      - shell: upgrade
`

// A check before which a backup phase stands in the runbook runs first: a
// host it skips gets no backup.
func TestChecksRunBeforeBackups(t *testing.T) {
	done := map[string]bool{"worker-2": true, "worker-4": true}
	f := newFakeFleet(func(host, cmd string) (string, int, error) {
		if cmd == "version" && done[host] {
			return "new", 0, nil
		}
		return "old", 0, nil
	})
	r := runFake(t, backupThenCheck, f, nil)
	if r.err != nil {
		t.Fatal(r.err)
	}
	for _, h := range []string{"worker-1", "worker-2", "worker-3", "worker-4", "worker-5", "worker-6"} {
		want := []string{"version", "save", "upgrade"}
		if done[h] {
			want = []string{"version"}
		}
		if got := f.ran(h); !slices.Equal(got, want) {
			t.Errorf("%s ran %v, want %v", h, got, want)
		}
	}
	var phases []string
	for _, rec := range r.records {
		if rec.Type == journal.PhaseStarted {
			phases = append(phases, rec.Phase)
			if rec.Phase == "Backup" && (rec.PhaseIndex != 1 || len(rec.Hosts) != 4) {
				t.Errorf("backup phase_started: index %d, hosts %v; want its runbook index 1 and the 4 hosts not skipped", rec.PhaseIndex, rec.Hosts)
			}
		}
	}
	if !slices.Equal(phases, []string{"Check", "Backup", "Roll out"}) {
		t.Errorf("phases started %v, want Check, Backup, Roll out", phases)
	}
}

// A re-run on a fleet that is done changes nothing: no step reports
// changed, every host is skipped.
func TestRerunOnDoneFleetChangesNothing(t *testing.T) {
	f := newFakeFleet(func(_, cmd string) (string, int, error) { return "new", 0, nil })
	r := runFake(t, backupThenCheck, f, nil)
	if r.err != nil {
		t.Fatal(r.err)
	}
	for _, rec := range r.records {
		if rec.Type == journal.StepFinished && rec.Status != journal.StatusOK {
			t.Errorf("%s %s: %s, want ok", rec.Host, rec.Step, rec.Status)
		}
		if rec.Type == journal.HostFinished && rec.Reason != `Check: skip_host_when v.stdout == "new"` {
			t.Errorf("%s skipped with reason %q, want the check's skip_host_when", rec.Host, rec.Reason)
		}
		if rec.Type == journal.PhaseStarted && rec.Phase != "Check" {
			t.Errorf("phase %s started on %v; nothing is left to do after the check", rec.Phase, rec.Hosts)
		}
	}
	for h, o := range r.outcomes() {
		if o != journal.OutcomeSkipped {
			t.Errorf("%s: %s, want skipped", h, o)
		}
	}
	if f.count("save") != 0 {
		t.Errorf("backups ran %d times", f.count("save"))
	}
}
