package sim

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/runbookhq/runbook/lab/shell"
)

func TestFaultAptInstallFails(t *testing.T) {
	nodes := testFleet()
	nodes[1].Faults.AptInstallFails = true
	w := openTestWorld(t, t.TempDir(), nodes)
	n := "worker-1"
	switchRepo(t, w, n, "1.30")
	r := call(t, w, n, "", "apt-get", "install", "-y", "cri-o=1.30.4-1.1")
	if r.code != 100 || !strings.Contains(r.err, "dpkg: error processing package cri-o (--configure):") || !strings.Contains(r.err, "E: Sub-process /usr/bin/dpkg returned an error code (1)") {
		t.Fatalf("faulty install: exit %d\n%s", r.code, r.err)
	}
	if st := must(t, w, n, "dpkg-query", "-W", "-f=${db:Status-Abbrev}${Version}", "cri-o"); st != "iF 1.30.4-1.1" {
		t.Errorf("dpkg status after the failure: %q", st)
	}
	if v := must(t, w, n, "crictl", "version"); !strings.Contains(v, "RuntimeVersion:  1.29.9") {
		t.Errorf("the running crio changed:\n%s", v)
	}
	// rollback to the initial version works
	switchRepo(t, w, n, "1.29")
	must(t, w, n, "apt-get", "install", "-y", "--allow-downgrades", "cri-o=1.29.9-1.1")
	if st := must(t, w, n, "dpkg-query", "-W", "-f=${db:Status-Abbrev}${Version}", "cri-o"); st != "ii 1.29.9-1.1" {
		t.Errorf("dpkg status after the rollback: %q", st)
	}
}

func TestFaultCrioStartFails(t *testing.T) {
	nodes := testFleet()
	nodes[2].Faults.CrioStartFails = true
	w := openTestWorld(t, t.TempDir(), nodes)
	n := "worker-2"
	before := sandboxIDs(crictlPods(t, w, n))
	switchRepo(t, w, n, "1.30")
	r := call(t, w, n, "", "apt-get", "install", "-y", "cri-o=1.30.4-1.1")
	if r.code != 0 || !strings.Contains(r.err, "Job for crio.service failed") {
		t.Errorf("install: exit %d\n%s", r.code, r.err)
	}
	if r := call(t, w, n, "", "systemctl", "is-active", "crio"); r.code != 3 || r.out != "failed\n" {
		t.Errorf("is-active: %+v", r)
	}
	if r := call(t, w, n, "", "systemctl", "restart", "crio"); r.code != 1 {
		t.Errorf("restart with the fault: exit %d", r.code)
	}
	if j := must(t, w, n, "journalctl", "-u", "crio", "-n", "20"); !strings.Contains(j, "crio_start_fails") || !strings.Contains(j, "Failed to start Container Runtime Interface for OCI (CRI-O).") {
		t.Errorf("journal:\n%s", j)
	}
	if f := nodeFields(must(t, w, "cp-1", "kubectl", "get", "nodes"), n); f[1] != "NotReady" {
		t.Errorf("node status %v", f)
	}
	// rollback: the old version starts, and finds its own version file
	switchRepo(t, w, n, "1.29")
	must(t, w, n, "apt-get", "install", "-y", "--allow-downgrades", "cri-o=1.29.9-1.1")
	must(t, w, n, "systemctl", "restart", "crio")
	if got := sandboxIDs(crictlPods(t, w, n)); !equalMaps(got, before) {
		t.Errorf("the rollback recreated pods: %v -> %v", before, got)
	}
}

func TestPersistenceAndTwoProcesses(t *testing.T) {
	dir := t.TempDir()
	w1 := openTestWorld(t, dir, testFleet())
	upgradeInPlace(t, w1, "worker-1")
	must(t, w1, "cp-1", "kubectl", "cordon", "worker-3")
	ids := sandboxIDs(crictlPods(t, w1, "worker-1"))

	// a second World on the same directory stands for a second process
	w2 := openTestWorld(t, dir, testFleet())
	if v := must(t, w2, "worker-1", "crio", "--version"); !strings.HasPrefix(v, "crio version 1.30.4") {
		t.Errorf("second world sees %q", v)
	}
	if got := sandboxIDs(crictlPods(t, w2, "worker-1")); !equalMaps(got, ids) {
		t.Errorf("second world sees other sandboxes")
	}
	must(t, w2, "worker-2", "reboot")
	must(t, w2, "cp-1", "kubectl", "uncordon", "worker-3")
	st1, err := w1.Status()
	if err != nil {
		t.Fatal(err)
	}
	st2, _ := w2.Status()
	j1, _ := json.Marshal(st1)
	j2, _ := json.Marshal(st2)
	if string(j1) != string(j2) {
		t.Errorf("the two worlds disagree:\n%s\n%s", j1, j2)
	}
	if st1[3].Cordoned || st1[1].CrioVersion != "1.30.4-1.1" || st1[1].CrioRunning != "1.30.4" || !st1[1].Ready || st1[1].Services["kubelet"] != "active" {
		t.Errorf("status: %+v", st1)
	}
	w1.Close()
	w2.Close()
	w3 := openTestWorld(t, dir, testFleet())
	st3, _ := w3.Status()
	j3, _ := json.Marshal(st3)
	if string(j3) != string(j2) {
		t.Errorf("reopened world differs:\n%s\n%s", j2, j3)
	}
}

func TestResetAndDeterminism(t *testing.T) {
	w := newTestWorld(t)
	initial := kubePods(t, w, "-A")
	other := newTestWorld(t)
	for key := range kubePods(t, other, "-A") {
		if _, ok := initial[key]; !ok {
			t.Errorf("a second fresh world has pod %s the first has not", key)
		}
	}
	m := w.Machine("worker-1")
	upgradeInPlace(t, w, "worker-1")
	must(t, w, "cp-1", "kubectl", "drain", "worker-2", "--ignore-daemonsets", "--delete-emptydir-data")
	if err := w.Reset(); err != nil {
		t.Fatal(err)
	}
	if w.Machine("worker-1") != m {
		t.Errorf("Reset replaced the machine")
	}
	if v := must(t, w, "worker-1", "crio", "--version"); !strings.HasPrefix(v, "crio version 1.29.9") {
		t.Errorf("after Reset: %q", v)
	}
	after := kubePods(t, w, "-A")
	if len(after) != len(initial) {
		t.Errorf("%d pods after Reset, want %d", len(after), len(initial))
	}
	for key, p := range initial {
		if q, ok := after[key]; !ok || q.Spec.NodeName != p.Spec.NodeName {
			t.Errorf("pod %s not back on %s", key, p.Spec.NodeName)
		}
	}
	if strings.Contains(must(t, w, "cp-1", "kubectl", "get", "nodes"), "SchedulingDisabled") {
		t.Errorf("a node is still cordoned")
	}
	if strings.Contains(must(t, w, "worker-1", "journalctl", "-u", "crio"), "1.30.4") {
		t.Errorf("the journal survived Reset")
	}
}

func TestOpenWorldValidation(t *testing.T) {
	for _, nodes := range [][]NodeConfig{
		nil,
		{{Name: "Bad_Name"}},
		{{Name: "a"}, {Name: "a"}},
		{{Name: "a", Role: "master"}},
		{{Name: "../x"}},
	} {
		if w, err := OpenWorld(t.TempDir(), nodes); err == nil {
			w.Close()
			t.Errorf("OpenWorld(%v) accepted", nodes)
		}
	}
	w := newTestWorld(t)
	if w.Machine("nosuch") != nil {
		t.Errorf("Machine of an unknown node")
	}
	w.Close()
	if w.Machine("worker-1") != nil {
		t.Errorf("Machine after Close")
	}
	if _, err := w.Status(); err == nil {
		t.Errorf("Status after Close")
	}
}

// TestConcurrentSessions runs commands on every node at once while the
// control plane drains and uncordons; go test -race checks the locking.
func TestConcurrentSessions(t *testing.T) {
	w := newTestWorld(t)
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	run := func(node string, args ...string) {
		r := call(t, w, node, "", args...)
		if r.code != 0 {
			errs <- fmt.Sprintf("%s %v: exit %d %s", node, args, r.code, r.err)
		}
	}
	for _, n := range []string{"worker-1", "worker-2", "worker-3", "worker-4"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				run(n, "systemctl", "restart", "kubelet")
				run(n, "crictl", "pods", "-o", "json")
				run(n, "apt-get", "update")
				run(n, "journalctl", "-u", "kubelet", "-n", "5")
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 3; i++ {
			run("cp-1", "kubectl", "drain", "worker-4", "--ignore-daemonsets", "--delete-emptydir-data")
			run("cp-1", "kubectl", "get", "pods", "-A", "-o", "json")
			run("cp-1", "kubectl", "uncordon", "worker-4")
		}
	}()
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	st, err := w.Status()
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range st {
		if !n.Ready || n.Cordoned {
			t.Errorf("%s: ready %v cordoned %v", n.Name, n.Ready, n.Cordoned)
		}
		for _, p := range n.Pods {
			if p.SandboxID == "" || !p.Ready {
				t.Errorf("%s: pod %s has no live sandbox", n.Name, p.Name)
			}
			if p.Namespace == "default" {
				total++
			}
		}
	}
	if total != 8 {
		t.Errorf("%d workload pods, want 8", total)
	}
}

func TestUseKeepsFewRootsOpen(t *testing.T) {
	defer func(n int) { maxOpenRoots = n }(maxOpenRoots)
	maxOpenRoots = 2
	w := newTestWorld(t)
	openRoots := func() int {
		w.rootsMu.Lock()
		defer w.rootsMu.Unlock()
		return len(w.roots)
	}
	readHostname := func(m *shell.Machine, node string) {
		t.Helper()
		if data, err := readRootFile(m.Root, "/etc/hostname"); err != nil || string(data) != node+"\n" {
			t.Fatalf("%s: /etc/hostname %q, %v", node, data, err)
		}
	}
	for _, cfg := range testFleet() {
		if m, err := w.Prepare(cfg.Name); err != nil || m.Root != nil {
			t.Fatalf("Prepare %s: %v, root %v: the root opens for a use, not before", cfg.Name, err, m.Root)
		}
	}
	if n := openRoots(); n != 0 {
		t.Fatalf("%d roots open after seeding the nodes, want 0", n)
	}
	held, releaseHeld, err := w.Use("worker-1")
	if err != nil {
		t.Fatal(err)
	}
	pinned := w.Machine("worker-2")
	for range 3 {
		for _, cfg := range testFleet() {
			m, release, err := w.Use(cfg.Name)
			if err != nil {
				t.Fatal(err)
			}
			readHostname(m, cfg.Name)
			release()
			release() // a second call does nothing
		}
		if n := openRoots(); n > maxOpenRoots+1 {
			t.Errorf("%d roots open, want at most %d and the one closing them", n, maxOpenRoots)
		}
	}
	// Neither a root in use nor one Machine opened is ever closed.
	readHostname(held, "worker-1")
	readHostname(pinned, "worker-2")
	releaseHeld()
	// Status and Reset open what they read for the time they read it.
	if _, err := w.Status(); err != nil {
		t.Fatal(err)
	}
	if err := w.Reset(); err != nil {
		t.Fatal(err)
	}
	if n := openRoots(); n > maxOpenRoots+1 {
		t.Errorf("%d roots open after Status and Reset", n)
	}
	readHostname(pinned, "worker-2")
}

func TestFewNodeStatesStayInMemory(t *testing.T) {
	defer func(n int) { maxCachedNodes = n }(maxCachedNodes)
	maxCachedNodes = 2
	w := newTestWorld(t)
	upgradeInPlace(t, w, "worker-1")
	must(t, w, "cp-1", "kubectl", "cordon", "worker-3")
	for _, cfg := range testFleet() {
		must(t, w, cfg.Name, "systemctl", "is-active", "crio")
	}
	if n := len(w.nodes); n > maxCachedNodes {
		t.Errorf("%d node states cached, want at most %d", n, maxCachedNodes)
	}
	// What was let go reads back from the node files as it was left.
	if v := must(t, w, "worker-1", "crio", "--version"); !strings.HasPrefix(v, "crio version 1.30.4") {
		t.Errorf("worker-1 after its state was let go: %q", v)
	}
	if out := must(t, w, "cp-1", "kubectl", "get", "nodes"); !strings.Contains(out, "worker-3   Ready,SchedulingDisabled") {
		t.Errorf("worker-3 is no longer cordoned:\n%s", out)
	}
}
