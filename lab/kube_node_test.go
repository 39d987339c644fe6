package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/steps"
)

// predict parses one step and runs it in check mode, failing the test
// unless the status is want.
func (h *stepHost) predict(src, want string) steps.Result {
	h.t.Helper()
	doc := "runbook: t\ntargets: all\nphases:\n  - name: p\n    kind: verify\n    steps:\n      - " + src + "\n"
	rb, _, err := runbook.Parse("t.yaml", []byte(doc), nil)
	if err != nil {
		h.t.Fatalf("parsing %s: %v", src, err)
	}
	k, ok := rb.Phases[0].Steps.Steps[0].Spec.(steps.Predictor)
	if !ok {
		h.t.Fatalf("%s cannot predict", src)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := k.Predict(ctx, h.x)
	if r.Status != want {
		h.t.Fatalf("%s: check mode status %s (err %v), want %s\ndata: %v", src, r.Status, r.Err, want, r.Data)
	}
	return r
}

// cordoned asks the cluster whether node is cordoned.
func (h *stepHost) cordoned(node string) bool {
	h.t.Helper()
	var obj struct {
		Spec struct{ Unschedulable bool }
	}
	if err := json.Unmarshal([]byte(h.sh("kubectl get node "+node+" -o json")), &obj); err != nil {
		h.t.Fatal(err)
	}
	return obj.Spec.Unschedulable
}

// TestKubeNodeOnLab drains a lab worker through kubectl on the control
// plane: check mode, a PodDisruptionBudget that blocks the drain (the
// node uncordoned again, or left cordoned when asked), then a drain that
// goes through, its evicted pods recorded.
func TestKubeNodeOnLab(t *testing.T) {
	l := startLab(t, t.TempDir(), threeNodes())
	h := newStepHost(t, l, "cp-1")

	h.step(`kube_node: {node: worker-1, action: wait_ready, timeout: 30s}`, steps.OK)
	r := h.predict(`kube_node: {node: worker-1, action: drain, delete_emptydir_data: true}`, steps.Changed)
	if evict := fmt.Sprint(r.Data["would_evict"]); !strings.Contains(evict, "default/web-") || !strings.Contains(evict, "default/cache-") {
		t.Errorf("would evict %s", evict)
	}
	h.predict(`kube_node: {node: worker-1, action: drain}`, steps.Failed) // the cache pod has an emptyDir
	if h.cordoned("worker-1") {
		t.Fatal("check mode cordoned the node")
	}

	// A budget that allows no disruption of the web pods.
	h.sh("kubectl create poddisruptionbudget web --selector=app=web --min-available=100%")
	r = h.step(`kube_node: {node: worker-1, action: drain, delete_emptydir_data: true, timeout: 3s}`, steps.Failed)
	for _, want := range []string{"kube_node: drain worker-1: 1 pod(s) could not be evicted within 3s: default/web-",
		"Cannot evict pod as it would violate the pod's disruption budget", "the node was uncordoned"} {
		if !strings.Contains(r.Err.Error(), want) {
			t.Errorf("error %q lacks %q", r.Err, want)
		}
	}
	if evicted := fmt.Sprint(r.Data["evicted"]); !strings.Contains(evicted, "default/cache-") || strings.Contains(evicted, "web-") {
		t.Errorf("evicted %s", evicted)
	}
	if h.cordoned("worker-1") {
		t.Error("a failed drain left the node cordoned")
	}

	r = h.step(`kube_node: {node: worker-2, action: drain, delete_emptydir_data: true, timeout: 2s, leave_cordoned: true}`, steps.Failed)
	if !strings.Contains(r.Err.Error(), "left cordoned (leave_cordoned: true)") || !h.cordoned("worker-2") {
		t.Errorf("leave_cordoned: %v, cordoned %v", r.Err, h.cordoned("worker-2"))
	}
	h.step(`kube_node: {node: worker-2, action: uncordon}`, steps.Changed)

	// Without the budget the drain goes through, and a second one has
	// nothing to do.
	h.sh("kubectl delete pdb web")
	r = h.step(`kube_node: {node: worker-1, action: drain, delete_emptydir_data: true, timeout: 30s}`, steps.Changed)
	if evicted := fmt.Sprint(r.Data["evicted"]); !strings.Contains(evicted, "default/web-") {
		t.Errorf("evicted %s", evicted)
	}
	if pods := h.sh("kubectl get pods -n default --field-selector spec.nodeName=worker-1 -o name"); pods != "" {
		t.Errorf("pods left on the drained node: %q", pods)
	}
	h.step(`kube_node: {node: worker-1, action: drain, delete_emptydir_data: true}`, steps.OK)
	h.step(`kube_node: {node: worker-1, action: cordon}`, steps.OK)
	h.step(`kube_node: {node: worker-1, action: uncordon}`, steps.Changed)
	h.step(`kube_node: {node: worker-1, action: wait_ready, timeout: 30s}`, steps.OK)
}
