package engine

import (
	"testing"

	"github.com/runbookhq/runbook/runbook/journal"
)

// A re-run where the check phase skips every host has no canary: its
// approval gate must not be asked (without a terminal or --yes, asking would
// fail a run that has nothing to do).
func TestCanaryApprovalNotAskedWithoutCanaryHosts(t *testing.T) {
	src := `runbook: gate
targets: workers
phases:
  - name: Check
    kind: check
    steps: [{shell: version, register: v}]
    skip_host_when: 'v.stdout == "new"'
  - name: Canary
    kind: canary
    hosts: 1
    steps: [{shell: upgrade}]
    approve: Continue?
  - name: Roll out
    kind: batch
    steps: [{shell: upgrade}]
`
	allNew := func(host, cmd string) (string, int, error) {
		if cmd == "version" {
			return "new", 0, nil
		}
		return "", 0, nil
	}
	for _, tt := range []struct {
		name    string
		reply   func(host, cmd string) (string, int, error)
		asked   bool
		upgrade int
	}{
		{"every host skipped", allNew, false, 0},
		{"a canary ran", okReply, true, 6},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeFleet(tt.reply)
			a := &approver{answer: true}
			r := runFake(t, src, f, func(o *Options) { o.Approver = a })
			if r.err != nil || r.res.Status != journal.RunStatusSucceeded {
				t.Fatalf("status %s, err %v", r.res.Status, r.err)
			}
			if got := len(a.asked) > 0; got != tt.asked {
				t.Errorf("approval asked %v (%q), want %v", got, a.asked, tt.asked)
			}
			if n := f.count("upgrade"); n != tt.upgrade {
				t.Errorf("upgrade ran %d times, want %d", n, tt.upgrade)
			}
			for _, rec := range r.records {
				if rec.Type == journal.Approval && !tt.asked {
					t.Errorf("approval journalled with no canary: %+v", rec)
				}
			}
		})
	}
}
