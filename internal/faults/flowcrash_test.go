package faults

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/runbookhq/runbook/runbook/journal"
)

// flowCrashRunbook is a real flow on two sshd hosts: the "control plane"
// (host1), then the "workers" (host2). Each host loops over two packages
// (notifying a handler), then runs a block whose drain fails on host2 and
// is rescued. Every command that changes a host appends a line to the
// host's log.
const flowCrashRunbook = `runbook: flow-crash
targets: fleet
params:
  dir: {required: true}
  pkgs: {default: [a, b]}
handlers:
  restart:
    - shell: echo handler.restart >> {{ quote(params.dir) }}/{{ host.name }}.log
phases:
  - name: Check
    kind: check
    steps: [{shell: "true"}]
  - name: Control plane
    kind: batch
    targets: host1
    steps: upgrade
  - name: Workers
    kind: batch
    targets: host2
    steps: upgrade
procedures:
  upgrade:
    - shell: echo pkg.{{ item }} >> {{ quote(params.dir) }}/{{ host.name }}.log
      loop: params.pkgs
      notify: restart
    - block:
        - shell: echo drain >> {{ quote(params.dir) }}/{{ host.name }}.log; test {{ quote(host.name) }} != host2
      rescue:
        - shell: echo rescue >> {{ quote(params.dir) }}/{{ host.name }}.log
`

// TestFlowKilledAtEveryRecord SIGKILLs the flow run after each of its
// journal records in turn, then resumes it until it succeeds. Every step,
// iteration and handler has one final result; the hosts' logs show each
// once, twice only where a kill cut it off; the rescued hosts end rescued
// and the others upgraded.
func TestFlowKilledAtEveryRecord(t *testing.T) {
	f := startSSHFleet(t, 2)
	rb := writeFile(t, "rb.yaml", flowCrashRunbook)
	work := f.workDir(t)
	state := t.TempDir()
	c := newCLI(t, state, f.home)
	if res := c.run("run", rb, "-i", f.inventory(t, work), "-e", "dir="+work); res.code != 0 {
		t.Fatalf("uninterrupted run:\n%s", res)
	}
	_, path := onlyRun(t, state)
	base := readJournal(t, path)
	checkFlowRun(t, base, f, work)
	total := len(base.Records)
	t.Logf("an uninterrupted run has %d records", total)
	for n := 1; n < total; n++ {
		t.Run("after-"+strconv.Itoa(n), func(t *testing.T) {
			t.Parallel()
			work := f.workDir(t)
			state := t.TempDir()
			c := newCLI(t, state, f.home)
			p := c.start("run", rb, "-i", f.inventory(t, work), "-e", "dir="+work)
			killAfter(p, func() string { return runJournal(state) }, n)
			if res := p.wait(); !res.killed && res.code != 0 {
				t.Fatalf("the run failed before it was killed:\n%s", res)
			}
			id, path := onlyRun(t, state)
			for i := 0; ; i++ {
				log := readJournal(t, path)
				if r := lastRecord(log); r.Type == journal.RunFinished && r.Status == journal.RunStatusSucceeded {
					checkFlowRun(t, log, f, work)
					return
				}
				if i == 3 {
					t.Fatalf("the run did not succeed after %d resumes", i)
				}
				if res := c.run("resume", id); res.code != 0 {
					t.Fatalf("resume:\n%s", res)
				}
			}
		})
	}
}

// checkFlowRun checks a flow run that succeeded.
func checkFlowRun(t *testing.T, log *journal.Log, f *sshFleet, work string) {
	t.Helper()
	finals, started, finished := map[stepKey]int{}, map[stepKey]int{}, map[stepKey]int{}
	outcomes := map[string]string{}
	for _, r := range log.Records {
		k := stepKey{r.Host, r.StepID}
		switch r.Type {
		case journal.StepStarted:
			started[k]++
		case journal.StepFinished:
			finished[k]++
			if r.Final {
				finals[k]++
			}
		case journal.HostFinished:
			outcomes[r.Host] = r.Outcome
		}
	}
	for k, n := range finals {
		if n != 1 {
			t.Errorf("%s has %d final results", k, n)
		}
	}
	want := map[string]string{"host1": "upgraded", "host2": "rescued"}
	for h, o := range want {
		if outcomes[h] != o {
			t.Errorf("%s: %s, want %s", h, outcomes[h], o)
		}
	}
	// Each line once; twice only when a kill cut off the step that wrote it.
	ids := map[string]string{"pkg.a": ".steps.0[0]", "pkg.b": ".steps.0[1]", "drain": ".steps.1.block.0",
		"rescue": ".steps.1.rescue.0", "handler.restart": ".steps.handlers.0.0"}
	for _, h := range f.Hosts {
		b, _ := os.ReadFile(work + "/" + h.Name + ".log")
		lines := map[string]int{}
		for _, l := range strings.Fields(string(b)) {
			lines[l]++
		}
		for line, suffix := range ids {
			if line == "rescue" && h.Name != "host2" {
				if lines[line] != 0 {
					t.Errorf("%s ran rescue", h.Name)
				}
				continue
			}
			cut := 0
			for k := range started {
				if k.host == h.Name && strings.HasSuffix(k.step, suffix) {
					cut += started[k] - finished[k]
				}
			}
			if lines[line] < 1 || lines[line] > 1+cut {
				t.Errorf("%s: %q %d times (cut off %d times)", h.Name, line, lines[line], cut)
			}
		}
	}
}
