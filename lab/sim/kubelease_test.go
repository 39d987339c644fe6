package sim

import (
	"encoding/json"
	"strings"
	"testing"
)

// leaseSpec is the spec of a Lease as kubectl prints it.
type leaseSpec struct {
	Holder      string `json:"holderIdentity"`
	Transitions int    `json:"leaseTransitions"`
	Duration    int    `json:"leaseDurationSeconds"`
	AcquireTime string `json:"acquireTime"`
}

func getLease(t *testing.T, w *World, from, name string) leaseSpec {
	t.Helper()
	var obj struct {
		Kind string    `json:"kind"`
		Spec leaseSpec `json:"spec"`
	}
	out := must(t, w, from, "kubectl", "-n", "kube-system", "get", "lease", name, "-o", "json")
	if err := json.Unmarshal([]byte(out), &obj); err != nil || obj.Kind != "Lease" {
		t.Fatalf("kubectl get lease %s -o json: %v\n%s", name, err, out)
	}
	return obj.Spec
}

// TestControllerLeases: the first control-plane node holds the
// controllers' Leases; a reboot of a node that holds none moves nothing,
// a reboot of the holder hands them to the next Ready control-plane node,
// and a second world opened on the same directory sees the same holder.
func TestControllerLeases(t *testing.T) {
	dir := t.TempDir()
	w := openTestWorld(t, dir, haFleet())
	first := getLease(t, w, "cp-2", "kube-controller-manager")
	if !strings.HasPrefix(first.Holder, "cp-1_") || first.Transitions != 0 || first.Duration != 15 {
		t.Fatalf("a new cluster's lease: %+v", first)
	}
	if again := getLease(t, w, "cp-1", "kube-controller-manager"); again.Holder != first.Holder {
		t.Errorf("reading the lease twice: %s then %s", first.Holder, again.Holder)
	}
	holder := must(t, w, "cp-1", "kubectl", "-n", "kube-system", "get", "lease", "kube-scheduler", "-o", "jsonpath={.spec.holderIdentity}")
	if !strings.HasPrefix(holder, "cp-1_") {
		t.Errorf("jsonpath holderIdentity: %q", holder)
	}
	table := must(t, w, "cp-1", "kubectl", "get", "leases", "-A")
	for _, want := range []string{"NAMESPACE", "HOLDER", "kube-system   kube-controller-manager   cp-1_", "kube-scheduler"} {
		if !strings.Contains(table, want) {
			t.Errorf("kubectl get leases -A lacks %q:\n%s", want, table)
		}
	}
	if r := call(t, w, "cp-1", "", "kubectl", "-n", "kube-system", "get", "lease", "nosuch"); r.code != 1 || !strings.Contains(r.err, `leases.coordination.k8s.io "nosuch" not found`) {
		t.Errorf("a missing lease: exit %d, %q", r.code, r.err)
	}

	must(t, w, "cp-2", "reboot")
	if l := getLease(t, w, "cp-1", "kube-controller-manager"); l.Holder != first.Holder || l.Transitions != 0 {
		t.Errorf("rebooting cp-2 moved cp-1's lease: %+v", l)
	}
	must(t, w, "cp-1", "reboot")
	for _, name := range leaseNames {
		l := getLease(t, w, "cp-3", name)
		if !strings.HasPrefix(l.Holder, "cp-2_") || l.Transitions != 1 || l.AcquireTime == first.AcquireTime {
			t.Errorf("after cp-1's reboot, %s: %+v", name, l)
		}
	}
	w2 := openTestWorld(t, dir, haFleet())
	if l := getLease(t, w2, "cp-1", "kube-scheduler"); !strings.HasPrefix(l.Holder, "cp-2_") || l.Transitions != 1 {
		t.Errorf("another process sees %+v", l)
	}
	must(t, w, "cp-2", "reboot")
	if l := getLease(t, w, "cp-1", "kube-scheduler"); !strings.HasPrefix(l.Holder, "cp-3_") || l.Transitions != 2 {
		t.Errorf("after cp-2's reboot: %+v", l)
	}
}

// TestNoControlPlaneNoLeases: a fleet of workers has no leases to show.
func TestNoControlPlaneNoLeases(t *testing.T) {
	w := openTestWorld(t, t.TempDir(), []NodeConfig{{Name: "w1", Role: RoleWorker}})
	r := call(t, w, "w1", "", "kubectl", "--kubeconfig", "/etc/kubernetes/kubelet.conf", "-n", "kube-system", "get", "leases")
	if r.code != 0 || !strings.Contains(r.err, "No resources found in kube-system namespace.") {
		t.Errorf("exit %d, %q %q", r.code, r.out, r.err)
	}
}
