package faults

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook/journal"
)

// hostKillRunbook: a canary (host1), then batches of two. In the batch,
// the victim's first step holds (sleeps) until its sshd is killed; its
// batch mate holds until the test says the kill is done, so that it
// provably goes on after the kill.
const hostKillRunbook = `runbook: host-kill
targets: fleet
failure_budget: %d
params:
  dir: {required: true}
  victim: {required: true}
phases:
  - name: Canary
    kind: canary
    hosts: 1
    steps:
      - shell: echo 1.steps.0 >> {{ quote(params.dir) }}/{{ host.name }}.log
  - name: Roll out
    kind: batch
    serial: [2]
    steps:
      - name: hold
        shell: |
          echo 2.steps.0 >> {{ quote(params.dir) }}/{{ host.name }}.log
          if [ {{ quote(host.name) }} = {{ quote(params.victim) }} ]; then
            touch {{ quote(params.dir) }}/{{ host.name }}.holding
            sleep 60
          else
            i=0
            while [ ! -e {{ quote(params.dir) }}/killed ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done
          fi
          echo 2.steps.0.done >> {{ quote(params.dir) }}/{{ host.name }}.log
      - shell: echo 2.steps.1 >> {{ quote(params.dir) }}/{{ host.name }}.log
    verify:
      - shell: grep -q 2.steps.1 {{ quote(params.dir) }}/{{ host.name }}.log
`

// TestHostKilledMidBatch kills a host's sshd (and the command it runs)
// while its step runs in the first batch. The host ends unreachable, its
// step is journaled unreachable (never ok), its later steps never start,
// its batch mate finishes, and the failure budget decides whether the next
// batch starts.
func TestHostKilledMidBatch(t *testing.T) {
	for _, tc := range []struct {
		name   string
		budget int
		status string
		later  string // outcome of the hosts of the second batch
	}{
		{"within-budget", 1, journal.RunStatusFailed, journal.OutcomeUpgraded},
		{"budget-0", 0, journal.RunStatusHalted, journal.OutcomeNotStarted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			f := startSSHFleet(t, 5)
			work := f.workDir(t)
			inv := f.inventory(t, work)
			rb := writeFile(t, "rb.yaml", fmt.Sprintf(hostKillRunbook, tc.budget))
			state := t.TempDir()
			c := newCLI(t, state, f.home)
			// Batches after the canary host1: [host2 host3] [host4 host5].
			victim := f.Hosts[2]
			p := c.start("run", rb, "-i", inv, "--yes", "-e", "dir="+work, "-e", "victim="+victim.Name)
			waitForFile(t, p, filepath.Join(work, victim.Name+".holding"))
			victim.Kill()
			if err := os.WriteFile(filepath.Join(work, "killed"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			res := p.wait()
			if res.code != 1 {
				t.Fatalf("want exit 1:\n%s", res)
			}
			_, path := onlyRun(t, state)
			log := readJournal(t, path)
			status, out := outcomes(log)
			want := map[string]string{"host1": "upgraded", "host2": "upgraded", "host3": "unreachable",
				"host4": tc.later, "host5": tc.later}
			if status != tc.status || fmt.Sprint(out) != fmt.Sprint(want) {
				t.Fatalf("status %s, outcomes %v; want %s, %v\n%s", status, out, tc.status, want, res)
			}
			checkVictim(t, log, victim.Name)
			// The victim's step was cut off: it never reached its end.
			if got := hostLog(t, work, victim.Name); !slices.Equal(got, []string{"2.steps.0"}) {
				t.Errorf("%s's log: %v, want only the start of the step that was cut off", victim.Name, got)
			}
			// Its batch mate finished every step after the kill.
			if got := hostLog(t, work, "host2"); !slices.Equal(got, []string{"2.steps.0", "2.steps.0.done", "2.steps.1"}) {
				t.Errorf("host2's log: %v", got)
			}
			for _, h := range []string{"host4", "host5"} {
				got := hostLog(t, work, h)
				if tc.later == journal.OutcomeNotStarted && len(got) != 0 {
					t.Errorf("%s ran steps after the budget was exceeded: %v", h, got)
				}
				if tc.later == journal.OutcomeUpgraded && len(got) != 3 {
					t.Errorf("%s's log: %v, want its three step lines", h, got)
				}
			}
			if !strings.Contains(res.stdout, victim.Name) || !strings.Contains(res.stdout, "unreachable") {
				t.Errorf("the summary does not name the unreachable host:\n%s", res.stdout)
			}
			t.Logf("%s: %v", tc.name, time.Since(start).Round(time.Millisecond))
		})
	}
}

// checkVictim checks the killed host's journal: its cut-off step has one
// final step_finished, unreachable; nothing of it is ok or changed; no
// later step of it started; its host_finished says unreachable at that
// step.
func checkVictim(t *testing.T, log *journal.Log, victim string) {
	t.Helper()
	var finals []journal.Record
	for _, r := range log.Records {
		if r.Host != victim {
			continue
		}
		switch {
		case r.Type == journal.StepStarted && r.StepID != "1.steps.0" && r.StepID != "2.steps.0":
			t.Errorf("%s started step %s after it was cut off", victim, r.StepID)
		case r.Type == journal.StepFinished && r.StepID == "2.steps.0":
			if r.Status == journal.StatusOK || r.Status == journal.StatusChanged {
				t.Errorf("the step cut off on %s is journaled %s", victim, r.Status)
			}
			if r.Final {
				finals = append(finals, r)
			}
		case r.Type == journal.HostFinished:
			if r.Outcome != journal.OutcomeUnreachable || r.FailedStep != "hold" {
				t.Errorf("%s host_finished: outcome %s at %q, want unreachable at hold", victim, r.Outcome, r.FailedStep)
			}
			if !strings.Contains(r.Error, "connection lost") {
				t.Errorf("%s host_finished error %q does not say the connection was lost", victim, r.Error)
			}
		}
	}
	if len(finals) != 1 || finals[0].Status != journal.StatusUnreachable {
		t.Errorf("%s: final step_finished of the cut-off step: %+v, want one, unreachable", victim, finals)
	}
}

// waitForFile waits until path exists, while p runs.
func waitForFile(t *testing.T, p *proc, path string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if p.exited() {
			t.Fatalf("runbook ended before %s appeared:\n%s", path, p.wait())
		}
		if time.Now().After(deadline) {
			p.kill()
			t.Fatalf("%s did not appear within a minute:\n%s", path, p.wait())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
