package main

import (
	"strings"
	"testing"

	"github.com/runbookhq/runbook/runbook/journal"
)

// TestLabDrainRescue: a PodDisruptionBudget that allows no CoreDNS pod to
// go keeps cp-1's drain from finishing. The rescue around the drain puts
// cp-1 back into service and fails it; the rollback sees the drain failed
// and has nothing to undo; the control-plane canary halts the run before
// any other node is touched.
func TestLabDrainRescue(t *testing.T) {
	t.Parallel()
	e := newLabEnv(t, repoFile("inventories/lab.yaml"))
	e.status() // creates the nodes
	e.sh("cp-1", "kubectl -n kube-system create poddisruptionbudget coredns --selector=k8s-app=kube-dns --min-available=100%")
	rb := copyRunbook(t, "examples/crio-upgrade.yaml", "timeout: 120s", "timeout: 2s", "soak: 5s", "soak: 0s")
	code, out, errOut := e.run("run", rb, "-i", e.inv, "--yes")
	if code != exitFailed || !strings.Contains(out, "HALTED") {
		t.Fatalf("exit %d, want %d (halted)\n%s\n%s", code, exitFailed, out, errOut)
	}
	outcomes, status := e.outcomes()
	if status != journal.RunStatusHalted || outcomes["cp-1"] != journal.OutcomeRolledBack {
		t.Errorf("status %s, outcomes %v", status, outcomes)
	}
	for _, n := range kubeNodes()[1:] {
		if outcomes[n] != journal.OutcomeNotStarted {
			t.Errorf("%s is %s, want not_started", n, outcomes[n])
		}
	}
	// What ran on cp-1 after the check phase, in order, and how it ended.
	var ran []string
	for _, r := range e.records() {
		if r.Type == journal.StepFinished && r.Host == "cp-1" && r.Final && r.Phase != "Back up CRI-O config" && r.Phase != "Check versions" {
			ran = append(ran, r.Step+" "+r.Status)
		}
		if r.Type == journal.StepRescued {
			t.Errorf("the drain's failure was marked rescued, yet the rescue failed the node: %+v", r)
		}
	}
	want := []string{"drain failed", "uncordon changed", "fail failed", "undo the upgrade skipped"}
	if strings.Join(ran, ", ") != strings.Join(want, ", ") {
		t.Errorf("cp-1's steps:\n got %v\nwant %v", ran, want)
	}
	st := e.status()
	if n := st["cp-1"]; n.Cordoned || !n.Ready || n.CrioVersion != "1.29.9-1.1" {
		t.Errorf("cp-1 after the rescue: cordoned %v, ready %v, cri-o %s", n.Cordoned, n.Ready, n.CrioVersion)
	}
	if ls := e.sh("cp-1", "ls /etc/crio/crio.conf.d/"); strings.Contains(ls, "99-local.conf") {
		t.Errorf("cp-1 got a 99-local.conf: %s", ls)
	}
}
