package sim

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPodDisruptionBudgets: a budget that allows no disruption holds a
// drain back until its timeout; one that allows a disruption lets the
// drain through; deleting the budget mid-drain lets a waiting drain end.
func TestPodDisruptionBudgets(t *testing.T) {
	w := newTestWorld(t) // four workers, a web pod on each
	must(t, w, "cp-1", "kubectl", "create", "pdb", "web", "--selector=app=web", "--min-available=100%")
	var list struct {
		Items []struct {
			Metadata struct{ Name string }
			Spec     struct{ MinAvailable any }
			Status   struct{ CurrentHealthy, ExpectedPods, DisruptionsAllowed int }
		}
	}
	if err := json.Unmarshal([]byte(must(t, w, "cp-1", "kubectl", "get", "pdb", "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Spec.MinAvailable != "100%" || list.Items[0].Status.ExpectedPods != 4 ||
		list.Items[0].Status.CurrentHealthy != 4 || list.Items[0].Status.DisruptionsAllowed != 0 {
		t.Fatalf("get pdb: %+v", list)
	}
	if out := must(t, w, "cp-1", "kubectl", "get", "pdb"); !strings.Contains(out, "web    100%            N/A               0") {
		t.Errorf("get pdb table:\n%s", out)
	}

	start := time.Now()
	r := call(t, w, "cp-1", "", "kubectl", "drain", "worker-1", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=2s")
	if r.code != 1 || !strings.Contains(r.err, `Cannot evict pod as it would violate the pod's disruption budget.`) ||
		!strings.Contains(r.err, `-n "default": global timeout reached: 2s`) || !strings.Contains(r.err, "There are pending nodes to be drained:\n worker-1\n") {
		t.Fatalf("drain against the budget: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.err)
	}
	if d := time.Since(start); d < 2*time.Second {
		t.Errorf("the drain gave up after %s, before its timeout", d)
	}
	if n := strings.Count(r.err, "Cannot evict pod"); n < 2 {
		t.Errorf("the eviction was tried %d times, want it retried", n)
	}
	web := kubePods(t, w, "-n", "default", "-l", "app=web", "--field-selector", "spec.nodeName=worker-1")
	if len(web) != 1 {
		t.Errorf("the web pod should still be on worker-1: %v", web)
	}
	if out := must(t, w, "cp-1", "kubectl", "get", "nodes"); !strings.Contains(out, "SchedulingDisabled") {
		t.Errorf("the drain cordons the node even when it fails:\n%s", out)
	}

	// A drain without timeout waits; deleting the budget lets it end.
	var wg sync.WaitGroup
	wg.Add(1)
	var waited result
	go func() {
		defer wg.Done()
		waited = call(t, w, "cp-1", "", "kubectl", "drain", "worker-1", "--ignore-daemonsets", "--delete-emptydir-data")
	}()
	time.Sleep(1500 * time.Millisecond)
	must(t, w, "cp-1", "kubectl", "delete", "pdb", "web")
	wg.Wait()
	if waited.code != 0 || !strings.Contains(waited.out, "node/worker-1 drained") {
		t.Fatalf("drain after the budget went: exit %d\n%s\n%s", waited.code, waited.out, waited.err)
	}

	// A budget with room lets the drain through.
	must(t, w, "cp-1", "kubectl", "create", "pdb", "web", "--selector=app=web", "--max-unavailable=1")
	r = call(t, w, "cp-1", "", "kubectl", "drain", "worker-2", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=5s")
	if r.code != 0 || strings.Contains(r.err, "Cannot evict") {
		t.Errorf("drain within the budget: exit %d\n%s", r.code, r.err)
	}

	for _, bad := range [][]string{
		{"kubectl", "create", "pdb", "x", "--selector=app=web"},
		{"kubectl", "create", "pdb", "x", "--min-available=1"},
		{"kubectl", "create", "pdb", "web", "--selector=app=web", "--min-available=1"},
		{"kubectl", "create", "pdb", "x", "--selector=app=web", "--min-available=150%"},
		{"kubectl", "delete", "pdb", "nope"},
	} {
		if r := call(t, w, "cp-1", "", bad...); r.code == 0 {
			t.Errorf("%v succeeded", bad)
		}
	}
}
