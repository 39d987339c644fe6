package main

import (
	"slices"
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

// leaseOf is a controller Lease's holder node and its transitions.
func (e *labEnv) leaseOf(name string) (holder string, transitions string) {
	e.t.Helper()
	out := e.sh("cp-2", "kubectl -n kube-system get lease "+name+` -o jsonpath='{.spec.holderIdentity} {.spec.leaseTransitions}'`)
	id, n, _ := strings.Cut(out, " ")
	node, _, _ := strings.Cut(id, "_")
	return node, n
}

// TestLabRollingPatch runs examples/rolling-patch.yaml on a lab where cp-3
// and worker-2 got the libc6 fix by hand last week: every node ends on the
// fixed packages, the control plane goes first with its leader (cp-1, the
// lease holder) last so the leases move once, and only the nodes whose
// upgrade asked for it were drained and rebooted. A second run skips every
// node. The same control plane patched in inventory order moves the leases
// at every reboot.
func TestLabRollingPatch(t *testing.T) {
	t.Parallel()
	e := newLabEnv(t, repoFile("inventories/lab.yaml"))
	e.status() // creates the nodes
	patched := []string{"cp-3", "worker-2"}
	for _, n := range patched {
		e.sh(n, "apt-get install -y -q --only-upgrade libc6 && reboot")
	}
	if holder, moves := e.leaseOf("kube-controller-manager"); holder != "cp-1" || moves != "0" {
		t.Fatalf("before the run the lease is held by %s after %s transitions", holder, moves)
	}
	before := e.status()
	code, out, errOut := e.run("run", repoFile("examples/rolling-patch.yaml"), "-i", e.inv, "--yes")
	if code != 0 || !strings.Contains(out, "SUCCEEDED") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	recs := e.records()
	if got := phaseHosts(recs); !slices.Equal(got, []string{
		"Control plane: cp-2", "Control plane: cp-3", "Control plane: cp-1",
		"Workers canary: worker-1", "Workers: worker-2 worker-3", "Workers: worker-4 worker-5"}) {
		t.Errorf("phases and batches (the leader cp-1 last):\n%s", strings.Join(got, "\n"))
	}
	for _, name := range []string{"kube-controller-manager", "kube-scheduler"} {
		if holder, moves := e.leaseOf(name); holder != "cp-2" || moves != "1" {
			t.Errorf("%s: held by %s after %s transitions, want cp-2 after 1", name, holder, moves)
		}
	}
	after := e.status()
	rebooted := map[string]bool{}
	for _, r := range recs {
		if r.Type == journal.StepFinished && r.Final && r.Step == "reboot" && r.Status == journal.StatusChanged {
			rebooted[r.Host] = true
		}
	}
	for _, n := range kubeNodes() {
		needed := !slices.Contains(patched, n)
		if rebooted[n] != needed || (after[n].BootID != before[n].BootID) != needed {
			t.Errorf("%s: reboot step changed %v, boot id %s -> %s; a reboot was needed: %v", n, rebooted[n], before[n].BootID, after[n].BootID, needed)
		}
		if got := e.sh(n, `dpkg-query -W -f='${Version} ' libc6 libssl3 openssl`); got != "2.35-0ubuntu3.8 3.0.2-0ubuntu1.18 3.0.2-0ubuntu1.18 " {
			t.Errorf("%s: libc6, libssl3, openssl at %s", n, got)
		}
		if s := after[n]; !s.Ready || s.Cordoned {
			t.Errorf("%s: ready %v, cordoned %v", n, s.Ready, s.Cordoned)
		}
	}
	outcomes, _ := e.outcomes()
	for _, n := range kubeNodes() {
		if outcomes[n] != journal.OutcomeUpgraded {
			t.Errorf("%s is %s, want upgraded", n, outcomes[n])
		}
	}

	if code, out, errOut := e.run("run", repoFile("examples/rolling-patch.yaml"), "-i", e.inv); code != 0 {
		t.Errorf("second run: exit %d\n%s\n%s", code, out, errOut)
	}
	outcomes, _ = e.outcomes()
	for _, n := range kubeNodes() {
		if outcomes[n] != journal.OutcomeSkipped {
			t.Errorf("second run: %s is %s, want skipped", n, outcomes[n])
		}
	}

	// Without order_by, the leader goes first and its leases follow the
	// reboots around the control plane.
	e2 := newLabEnv(t, repoFile("inventories/lab.yaml"))
	rb := copyRunbook(t, "examples/rolling-patch.yaml", `    order_by: 'split(leader.stdout, "_")[0] == host.name ? 1 : 0'   # the leader last`+"\n", "")
	if code, out, errOut := e2.run("run", rb, "-i", e2.inv, "--yes", "--limit", "control_plane"); code != 0 {
		t.Fatalf("in inventory order: exit %d\n%s\n%s", code, out, errOut)
	}
	if got := phaseHosts(e2.records()); !slices.Equal(got, []string{"Control plane: cp-1", "Control plane: cp-2", "Control plane: cp-3"}) {
		t.Errorf("in inventory order: %v", got)
	}
	if _, moves := e2.leaseOf("kube-controller-manager"); moves != "3" {
		t.Errorf("in inventory order the lease moved %s times, want 3", moves)
	}
}
