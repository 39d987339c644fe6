package sim

import (
	"strconv"
	"strings"
	"testing"
)

// TestInPlaceMinorUpgradeRecreatesPods reproduces cri-o/cri-o#8739: an
// in-place 1.29 -> 1.30 upgrade without a drain recreates every pod sandbox
// of the node (new id, new createdAt, attempt 0), the API pods keep their
// name and UID, the restart counts go up, and the journal shows the wipe.
func TestInPlaceMinorUpgradeRecreatesPods(t *testing.T) {
	w := newTestWorld(t)
	before := crictlPods(t, w, "worker-1")
	apiBefore := kubePods(t, w, "-A", "--field-selector", "spec.nodeName=worker-1")
	otherBefore := sandboxIDs(crictlPods(t, w, "worker-2"))
	if len(before) != 5 {
		t.Fatalf("worker-1 has %d sandboxes, want 5 (flannel, proxy, web, cache, api)", len(before))
	}

	switchRepo(t, w, "worker-1", "1.30")
	out := must(t, w, "worker-1", "apt-get", "install", "-y", "cri-o=1.30.4-1.1")
	if !strings.Contains(out, "Unpacking cri-o (1.30.4-1.1) over (1.29.9-1.1) ...") {
		t.Errorf("apt-get install output lacks the unpack line:\n%s", out)
	}
	if v := must(t, w, "worker-1", "crio", "--version"); !strings.HasPrefix(v, "crio version 1.30.4\n") {
		t.Errorf("crio --version = %q", v)
	}
	if got := readNodeFile(t, w, "worker-1", "/var/run/crio/version"); got != `"1.30.4"` {
		t.Errorf("version file = %q, want %q", got, `"1.30.4"`)
	}

	after := crictlPods(t, w, "worker-1")
	if len(after) != len(before) {
		t.Fatalf("sandboxes after = %d, want %d", len(after), len(before))
	}
	journal := must(t, w, "worker-1", "journalctl", "-u", "crio", "--no-pager")
	if !strings.Contains(journal, "Starting CRI-O, version: 1.30.4") {
		t.Errorf("journal lacks the start line of 1.30.4")
	}
	for name, b := range before {
		a, ok := after[name]
		if !ok {
			t.Errorf("pod %s lost its name", name)
			continue
		}
		if a.ID == b.ID {
			t.Errorf("pod %s kept sandbox %s", name, b.ID)
		}
		if a.Metadata.UID != b.Metadata.UID {
			t.Errorf("pod %s changed UID", name)
		}
		if a.Metadata.Attempt != 0 || a.State != "SANDBOX_READY" {
			t.Errorf("pod %s: attempt %d state %s, want 0 SANDBOX_READY", name, a.Metadata.Attempt, a.State)
		}
		ca, _ := strconv.ParseInt(a.CreatedAt, 10, 64)
		cb, _ := strconv.ParseInt(b.CreatedAt, 10, 64)
		if ca <= cb {
			t.Errorf("pod %s: createdAt %d not after %d", name, ca, cb)
		}
		for _, line := range []string{"Removing pod sandbox: " + b.ID, "Removed pod sandbox: " + b.ID} {
			if !strings.Contains(journal, line) {
				t.Errorf("journal lacks %q", line)
			}
		}
	}
	apiAfter := kubePods(t, w, "-A", "--field-selector", "spec.nodeName=worker-1")
	for key, b := range apiBefore {
		a, ok := apiAfter[key]
		if !ok {
			t.Errorf("API pod %s gone", key)
			continue
		}
		if a.Metadata.UID != b.Metadata.UID {
			t.Errorf("API pod %s changed UID", key)
		}
		if a.restarts() != b.restarts()+len(a.Status.ContainerStatuses) {
			t.Errorf("API pod %s: restarts %d, want %d", key, a.restarts(), b.restarts()+len(a.Status.ContainerStatuses))
		}
	}
	if got := sandboxIDs(crictlPods(t, w, "worker-2")); !equalMaps(got, otherBefore) {
		t.Errorf("worker-2's sandboxes changed: %v -> %v", otherBefore, got)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestSafeProcedure follows CRIO.md steps 3-9 on one worker: its workload
// pods move to other Ready workers, only its daemonset pods are recreated,
// and no pod elsewhere is touched.
func TestSafeProcedure(t *testing.T) {
	w := newTestWorld(t)
	others := []string{"worker-2", "worker-3", "worker-4"}
	otherBefore := map[string]map[string]string{}
	for _, n := range others {
		otherBefore[n] = sandboxIDs(crictlPods(t, w, n))
	}
	before := crictlPods(t, w, "worker-1")

	// 3: the default runtime made explicit in a later drop-in
	writeNodeFile(t, w, "worker-1", "/etc/crio/crio.conf.d/99-local.conf", "[crio.runtime]\ndefault_runtime = \"crun\"\n")
	// 4: cordon and drain from the control plane
	if out := must(t, w, "cp-1", "kubectl", "cordon", "worker-1"); out != "node/worker-1 cordoned\n" {
		t.Errorf("cordon printed %q", out)
	}
	r := call(t, w, "cp-1", "", "kubectl", "drain", "worker-1", "--ignore-daemonsets", "--delete-emptydir-data")
	if r.code != 0 {
		t.Fatalf("drain: exit %d\n%s%s", r.code, r.out, r.err)
	}
	for _, want := range []string{"node/worker-1 already cordoned", "pod/web-6d4cf56db6-", "node/worker-1 drained"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("drain stdout lacks %q:\n%s", want, r.out)
		}
	}
	if !strings.Contains(r.err, "Warning: ignoring DaemonSet-managed Pods: kube-flannel/kube-flannel-ds-") || !strings.Contains(r.err, "evicting pod default/cache-7b9c8d5f4c-") {
		t.Errorf("drain stderr:\n%s", r.err)
	}
	onNode := kubePods(t, w, "-A", "--field-selector", "spec.nodeName=worker-1")
	if len(onNode) != 2 {
		t.Errorf("after the drain worker-1 has %d pods, want the 2 daemonset pods: %v", len(onNode), onNode)
	}
	workloads := kubePods(t, w, "-n", "default")
	if len(workloads) != 8 {
		t.Errorf("default namespace has %d pods, want 8", len(workloads))
	}
	for key, p := range workloads {
		if p.Spec.NodeName == "worker-1" || p.Spec.NodeName == "" || p.Status.Phase != "Running" {
			t.Errorf("pod %s on %q phase %s, want Running on another worker", key, p.Spec.NodeName, p.Status.Phase)
		}
	}

	// 5-7
	must(t, w, "worker-1", "systemctl", "stop", "kubelet")
	switchRepo(t, w, "worker-1", "1.30")
	must(t, w, "worker-1", "apt-get", "install", "-y", "-o", "Dpkg::Options::=--force-confold", "cri-o=1.30.4-1.1")
	if out := must(t, w, "worker-1", "apt-mark", "hold", "cri-o"); out != "cri-o set on hold.\n" {
		t.Errorf("apt-mark hold printed %q", out)
	}
	must(t, w, "worker-1", "systemctl", "restart", "crio")
	must(t, w, "worker-1", "systemctl", "start", "kubelet")

	// 8: verify
	if v := must(t, w, "worker-1", "crio", "--version"); !strings.HasPrefix(v, "crio version 1.30.4\n") {
		t.Errorf("crio --version = %q", v)
	}
	if out := must(t, w, "worker-1", "systemctl", "is-active", "crio", "kubelet"); out != "active\nactive\n" {
		t.Errorf("is-active printed %q", out)
	}
	ready := must(t, w, "cp-1", "kubectl", "get", "node", "worker-1", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
	if ready != "True" {
		t.Errorf("Ready = %q", ready)
	}
	after := crictlPods(t, w, "worker-1")
	if len(after) != 2 {
		t.Errorf("worker-1 runs %d sandboxes, want 2 daemonset pods", len(after))
	}
	for name, a := range after {
		if !strings.HasPrefix(name, "kube-proxy-") && !strings.HasPrefix(name, "kube-flannel-ds-") {
			t.Errorf("unexpected pod %s on worker-1", name)
		}
		if b := before[name]; a.ID == b.ID || a.Metadata.UID != b.Metadata.UID || a.State != "SANDBOX_READY" {
			t.Errorf("daemonset pod %s: sandbox %s (was %s), want a new sandbox of the same pod", name, a.ID, b.ID)
		}
	}
	for _, n := range others {
		now := sandboxIDs(crictlPods(t, w, n))
		for name, id := range otherBefore[n] {
			if now[name] != id {
				t.Errorf("%s: pod %s recreated (%s -> %s)", n, name, id, now[name])
			}
		}
	}
	// 9
	must(t, w, "cp-1", "kubectl", "uncordon", "worker-1")
	nodes := must(t, w, "cp-1", "kubectl", "get", "nodes", "--no-headers")
	if f := nodeFields(nodes, "worker-1"); len(f) < 3 || f[1] != "Ready" || f[2] != "<none>" {
		t.Errorf("get nodes:\n%s", nodes)
	}
	if out := must(t, w, "worker-1", "apt-mark", "showhold"); out != "cri-o\nkubeadm\nkubectl\nkubelet\n" {
		t.Errorf("showhold = %q", out)
	}
}

// upgradeInPlace moves a node to cri-o 1.30.4 without a drain.
func upgradeInPlace(t *testing.T, w *World, node string) {
	t.Helper()
	switchRepo(t, w, node, "1.30")
	must(t, w, node, "apt-get", "install", "-y", "cri-o=1.30.4-1.1")
}

func TestDowngradeAlsoWipes(t *testing.T) {
	w := newTestWorld(t)
	upgradeInPlace(t, w, "worker-2")
	mid := sandboxIDs(crictlPods(t, w, "worker-2"))
	switchRepo(t, w, "worker-2", "1.29")
	r := call(t, w, "worker-2", "", "apt-get", "install", "-y", "cri-o=1.29.9-1.1")
	if r.code != 100 || !strings.Contains(r.err, "E: Packages were downgraded and -y was used without --allow-downgrades.") {
		t.Fatalf("downgrade without --allow-downgrades: exit %d\n%s", r.code, r.err)
	}
	if !strings.Contains(r.out, "The following packages will be DOWNGRADED:\n  cri-o") {
		t.Errorf("plan lacks the downgrade:\n%s", r.out)
	}
	must(t, w, "worker-2", "apt-get", "install", "-y", "--allow-downgrades", "cri-o=1.29.9-1.1")
	for name, id := range sandboxIDs(crictlPods(t, w, "worker-2")) {
		if mid[name] == id {
			t.Errorf("pod %s kept sandbox %s across the downgrade", name, id)
		}
	}
	if j := must(t, w, "worker-2", "journalctl", "-u", "crio", "-n", "200"); !strings.Contains(j, "Starting CRI-O, version: 1.29.9") {
		t.Errorf("journal lacks the 1.29.9 start")
	}
}

func TestStopStartAndPatchUpgradeKeepPods(t *testing.T) {
	w := newTestWorld(t)
	before := sandboxIDs(crictlPods(t, w, "worker-3"))
	must(t, w, "worker-3", "systemctl", "stop", "crio")
	if r := call(t, w, "worker-3", "", "crictl", "pods"); r.code != 1 || !strings.Contains(r.err, "connect: no such file or directory") {
		t.Errorf("crictl with crio stopped: exit %d %s", r.code, r.err)
	}
	if got := must(t, w, "cp-1", "kubectl", "get", "node", "worker-3", "--no-headers"); !strings.Contains(got, "NotReady") {
		t.Errorf("node with crio stopped: %s", got)
	}
	must(t, w, "worker-3", "systemctl", "start", "crio")
	must(t, w, "worker-3", "systemctl", "restart", "kubelet")
	// a patch downgrade within 1.29 keeps the minor: no wipe
	must(t, w, "worker-3", "apt-get", "install", "-y", "--allow-downgrades", "cri-o=1.29.7-1.1")
	if got := sandboxIDs(crictlPods(t, w, "worker-3")); !equalMaps(got, before) {
		t.Errorf("sandboxes changed: %v -> %v", before, got)
	}
}

func TestRebootWipesAndCallsOnReboot(t *testing.T) {
	w := newTestWorld(t)
	m := w.Machine("worker-4")
	rebooted := 0
	m.OnReboot = func() { rebooted++ }
	boot := readNodeFile(t, w, "worker-4", bootIDPath)
	before := crictlPods(t, w, "worker-4")
	must(t, w, "worker-4", "reboot")
	if rebooted != 1 {
		t.Errorf("OnReboot called %d times", rebooted)
	}
	if now := readNodeFile(t, w, "worker-4", bootIDPath); now == boot || len(strings.TrimSpace(now)) != 36 {
		t.Errorf("boot id %q -> %q", boot, now)
	}
	after := crictlPods(t, w, "worker-4")
	for name, b := range before {
		if a := after[name]; a.ID == b.ID || a.Metadata.Attempt != 0 {
			t.Errorf("pod %s: sandbox %s attempt %d after reboot", name, a.ID, a.Metadata.Attempt)
		}
	}
	j := must(t, w, "worker-4", "journalctl", "-u", "crio", "-b")
	if !strings.Contains(j, "Version file /var/run/crio/version not found") || !strings.Contains(j, "Removed pod sandbox: ") {
		t.Errorf("journal of the boot:\n%s", j)
	}
	if out := must(t, w, "worker-4", "systemctl", "is-active", "crio", "kubelet"); out != "active\nactive\n" {
		t.Errorf("services after reboot: %q", out)
	}
	if !strings.Contains(must(t, w, "worker-4", "journalctl", "--no-pager"), "-- Boot ") {
		t.Errorf("journal shows no boot marker")
	}
}

func TestWipeCheck(t *testing.T) {
	w := newTestWorld(t)
	root := w.Machine("worker-1").Root
	for _, tc := range []struct {
		content string
		exists  bool
		wipe    bool
	}{
		{`"1.29.9"`, true, false},
		{`"1.29.0"`, true, false},
		{`"1.30.4"`, true, true},
		{`"1.28.9"`, true, true},
		{`"2.29.9"`, true, true},
		{`1.29.9`, true, true}, // not a JSON string
		{`"garbage"`, true, true},
		{``, true, true},
		{``, false, true},
	} {
		if tc.exists {
			writeNodeFile(t, w, "worker-1", "/tmp/version", tc.content)
		} else {
			removeRootPath(root, "/tmp/version")
		}
		if wipe, why := crioShouldWipe(root, "/tmp/version", "1.29.9"); wipe != tc.wipe {
			t.Errorf("version file %q (exists %v): wipe = %v (%s), want %v", tc.content, tc.exists, wipe, why, tc.wipe)
		}
	}
	// a garbled version file wipes at the next start
	before := sandboxIDs(crictlPods(t, w, "worker-1"))
	writeNodeFile(t, w, "worker-1", "/var/run/crio/version", "not json")
	must(t, w, "worker-1", "systemctl", "restart", "crio")
	for name, id := range sandboxIDs(crictlPods(t, w, "worker-1")) {
		if before[name] == id {
			t.Errorf("pod %s kept its sandbox after a garbled version file", name)
		}
	}
	// internal_wipe = false turns the wipe off
	before = sandboxIDs(crictlPods(t, w, "worker-1"))
	writeNodeFile(t, w, "worker-1", "/etc/crio/crio.conf.d/50-nowipe.conf", "[crio]\ninternal_wipe = false\n")
	removeRootPath(root, "/var/run/crio/version")
	must(t, w, "worker-1", "systemctl", "restart", "crio")
	if got := sandboxIDs(crictlPods(t, w, "worker-1")); !equalMaps(got, before) {
		t.Errorf("internal_wipe = false still wiped")
	}
}

// TestRuntimeSwitch: an operator set runc in 10-crio.conf; the package
// overwrites it with crun; without a wipe the running containers break. A
// 99-local.conf with runc keeps runc and nothing breaks.
func TestRuntimeSwitch(t *testing.T) {
	for _, local := range []bool{false, true} {
		w := newTestWorld(t)
		node := "worker-1"
		conf := readNodeFile(t, w, node, crioDropIn)
		writeNodeFile(t, w, node, crioDropIn, strings.Replace(conf, `default_runtime = "crun"`, `default_runtime = "runc"`, 1))
		if local {
			writeNodeFile(t, w, node, "/etc/crio/crio.conf.d/99-local.conf", "[crio.runtime]\ndefault_runtime = \"runc\"\n")
		}
		must(t, w, node, "reboot") // everything now runs with runc
		if cfg := must(t, w, node, "crio", "status", "config"); !strings.Contains(cfg, `default_runtime = "runc"`) {
			t.Fatalf("effective config:\n%s", cfg)
		}
		must(t, w, node, "apt-get", "install", "-y", "--allow-downgrades", "cri-o=1.29.7-1.1")
		if got := readNodeFile(t, w, node, crioDropIn); got != packagedCrioConf {
			t.Errorf("10-crio.conf not overwritten by the package:\n%s", got)
		}
		running := must(t, w, node, "crictl", "ps", "-q")
		all := must(t, w, node, "crictl", "ps", "-a", "-q")
		pods := kubePods(t, w, "-A", "--field-selector", "spec.nodeName="+node)
		journal := must(t, w, node, "journalctl", "-u", "crio", "-n", "50")
		cfg := must(t, w, node, "crio", "status", "config")
		if local {
			if running != all || !strings.Contains(cfg, `default_runtime = "runc"`) {
				t.Errorf("with 99-local.conf: running %q of %q, config:\n%s", running, all, cfg)
			}
			for key, p := range pods {
				for _, c := range p.Status.ContainerStatuses {
					if !c.Ready {
						t.Errorf("with 99-local.conf: %s/%s not ready", key, c.Name)
					}
				}
			}
			continue
		}
		if running != "" || all == "" {
			t.Errorf("after the switch to crun: running %q, all %q", running, all)
		}
		if !strings.Contains(journal, "address already in use") {
			t.Errorf("journal lacks the runtime error:\n%s", journal)
		}
		if ps := must(t, w, node, "crictl", "ps", "-a"); !strings.Contains(ps, "Unknown") {
			t.Errorf("crictl ps -a:\n%s", ps)
		}
		table := must(t, w, "cp-1", "kubectl", "get", "pods", "-A", "--field-selector", "spec.nodeName="+node, "--no-headers")
		if strings.Count(table, "RunContainerError") != len(pods) {
			t.Errorf("kubectl get pods:\n%s", table)
		}
	}
}
