package sim

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestKubectlFormats(t *testing.T) {
	w := newTestWorld(t)
	// a single pod as JSON is the object itself
	name := ""
	for _, p := range kubePods(t, w, "-n", "kube-system", "-l", "k8s-app=kube-proxy", "--field-selector", "spec.nodeName=worker-2") {
		name = p.Metadata.Name
	}
	if name == "" {
		t.Fatal("no kube-proxy pod on worker-2")
	}
	var pod kubePod
	var raw map[string]any
	out := must(t, w, "cp-1", "kubectl", "get", "pod", name, "-n", "kube-system", "-o", "json")
	if err := json.Unmarshal([]byte(out), &pod); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal([]byte(out), &raw)
	if raw["kind"] != "Pod" || pod.Spec.NodeName != "worker-2" || pod.Metadata.UID == "" || len(pod.Status.ContainerStatuses) != 1 || pod.Status.ContainerStatuses[0].RestartCount != 0 {
		t.Errorf("pod object: %s", out)
	}
	// the API pod's UID is the sandbox's
	if sb := crictlPods(t, w, "worker-2")[name]; sb.Metadata.UID != pod.Metadata.UID || sb.Labels["io.kubernetes.pod.uid"] != pod.Metadata.UID {
		t.Errorf("sandbox %+v does not carry the pod UID %s", sb, pod.Metadata.UID)
	}
	// nodes
	var nodes struct {
		Items []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Status struct {
				NodeInfo struct {
					ContainerRuntimeVersion string `json:"containerRuntimeVersion"`
					KubeletVersion          string `json:"kubeletVersion"`
					OSImage                 string `json:"osImage"`
				} `json:"nodeInfo"`
			} `json:"status"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(must(t, w, "cp-1", "kubectl", "get", "nodes", "-o", "json")), &nodes); err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) != 5 || nodes.Items[1].Status.NodeInfo.ContainerRuntimeVersion != "cri-o://1.29.9" || nodes.Items[1].Status.NodeInfo.OSImage != "Ubuntu 22.04.4 LTS" {
		t.Errorf("nodes: %+v", nodes)
	}
	if got := must(t, w, "cp-1", "kubectl", "get", "nodes", "-o", "name"); got != "node/cp-1\nnode/worker-1\nnode/worker-2\nnode/worker-3\nnode/worker-4\n" {
		t.Errorf("-o name: %q", got)
	}
	table := must(t, w, "cp-1", "kubectl", "get", "pods", "-A")
	if !strings.HasPrefix(table, "NAMESPACE      NAME                           READY   STATUS    RESTARTS   AGE\n") {
		t.Errorf("table header:\n%s", table)
	}
	if got := must(t, w, "cp-1", "kubectl", "get", "nodes", "-o", "custom-columns=NAME:.metadata.name,READY:.status.conditions[?(@.type==\"Ready\")].status", "--no-headers"); !strings.Contains(got, "worker-4   True") {
		t.Errorf("custom-columns:\n%s", got)
	}
	yaml := must(t, w, "cp-1", "kubectl", "get", "node", "cp-1", "-o", "yaml")
	if !strings.Contains(yaml, "kind: Node") || !strings.Contains(yaml, "node-role.kubernetes.io/control-plane") {
		t.Errorf("yaml:\n%s", yaml)
	}
	if r := call(t, w, "cp-1", "", "kubectl", "get", "pod", "nope"); r.code != 1 || r.err != "Error from server (NotFound): pods \"nope\" not found\n" {
		t.Errorf("missing pod: %d %q", r.code, r.err)
	}
	if r := call(t, w, "cp-1", "", "kubectl", "get", "pods", "-n", "empty"); r.code != 0 || r.err != "No resources found in empty namespace.\n" {
		t.Errorf("empty namespace: %d %q", r.code, r.err)
	}
	// crictl ps -o json
	var ps struct {
		Containers []struct {
			ID           string `json:"id"`
			PodSandboxID string `json:"podSandboxId"`
			Metadata     struct {
				Name    string `json:"name"`
				Attempt int    `json:"attempt"`
			} `json:"metadata"`
			State string `json:"state"`
		} `json:"containers"`
	}
	if err := json.Unmarshal([]byte(must(t, w, "worker-1", "crictl", "ps", "-o", "json")), &ps); err != nil {
		t.Fatal(err)
	}
	if len(ps.Containers) != 6 || ps.Containers[0].State != "CONTAINER_RUNNING" || len(ps.Containers[0].ID) != 64 {
		t.Errorf("crictl ps: %+v", ps)
	}
	var inspect struct {
		Status struct {
			ID        string `json:"id"`
			CreatedAt string `json:"createdAt"`
			State     string `json:"state"`
		} `json:"status"`
	}
	id := ps.Containers[0].PodSandboxID
	if err := json.Unmarshal([]byte(must(t, w, "worker-1", "crictl", "inspectp", id[:12])), &inspect); err != nil {
		t.Fatal(err)
	}
	if _, err := time.Parse(time.RFC3339Nano, inspect.Status.CreatedAt); err != nil || inspect.Status.ID != id {
		t.Errorf("inspectp: %+v (%v)", inspect, err)
	}
	if ids := must(t, w, "worker-1", "crictl", "pods", "-q", "--namespace", "kube-system"); strings.Count(ids, "\n") != 1 {
		t.Errorf("crictl pods -q --namespace kube-system: %q", ids)
	}
	if v := must(t, w, "worker-1", "crictl", "version"); !strings.Contains(v, "RuntimeName:  cri-o\nRuntimeVersion:  1.29.9\n") {
		t.Errorf("crictl version:\n%s", v)
	}
}

func TestKubeconfig(t *testing.T) {
	w := newTestWorld(t)
	r := call(t, w, "worker-1", "", "kubectl", "get", "nodes")
	if r.code != 1 || !strings.Contains(r.err, "The connection to the server localhost:8080 was refused") {
		t.Errorf("kubectl on a worker: exit %d %q", r.code, r.err)
	}
	must(t, w, "worker-1", "kubectl", "--kubeconfig", "/etc/kubernetes/kubelet.conf", "get", "nodes")
}

func TestDeleteAndWait(t *testing.T) {
	w := newTestWorld(t)
	before := kubePods(t, w, "-n", "default")
	var victim kubePod
	for _, p := range before {
		if p.Spec.NodeName == "worker-4" && strings.HasPrefix(p.Metadata.Name, "web-") {
			victim = p
		}
	}
	out := must(t, w, "cp-1", "kubectl", "delete", "pod", victim.Metadata.Name)
	if out != "pod \""+victim.Metadata.Name+"\" deleted\n" {
		t.Errorf("delete printed %q", out)
	}
	after := kubePods(t, w, "-n", "default")
	if len(after) != len(before) {
		t.Errorf("%d pods after delete, want %d", len(after), len(before))
	}
	if _, ok := after["default/"+victim.Metadata.Name]; ok {
		t.Errorf("deleted pod still there")
	}
	// wait for a node to become Ready while another session starts kubelet
	must(t, w, "worker-2", "systemctl", "stop", "kubelet")
	if r := call(t, w, "cp-1", "", "kubectl", "wait", "--for=condition=Ready", "node/worker-2", "--timeout=200ms"); r.code != 1 || !strings.Contains(r.err, "timed out waiting for the condition on nodes/worker-2") {
		t.Errorf("wait on a NotReady node: %d %q", r.code, r.err)
	}
	go func() {
		time.Sleep(150 * time.Millisecond)
		call(t, w, "worker-2", "", "systemctl", "start", "kubelet")
	}()
	if out := must(t, w, "cp-1", "kubectl", "wait", "--for=condition=Ready", "node/worker-2", "--timeout=5s"); out != "node/worker-2 condition met\n" {
		t.Errorf("wait printed %q", out)
	}
}

// TestPendingPods: with every worker cordoned, evicted pods wait for a node;
// an uncordon places them.
func TestPendingPods(t *testing.T) {
	w := newTestWorld(t)
	for _, n := range []string{"worker-2", "worker-3", "worker-4"} {
		must(t, w, "cp-1", "kubectl", "cordon", n)
	}
	must(t, w, "cp-1", "kubectl", "drain", "worker-1", "--ignore-daemonsets", "--delete-emptydir-data")
	pending := 0
	for _, p := range kubePods(t, w, "-n", "default") {
		if p.Status.Phase == "Pending" {
			pending++
			if p.Spec.NodeName != "" {
				t.Errorf("pending pod bound to %s", p.Spec.NodeName)
			}
		}
	}
	if pending != 3 {
		t.Errorf("%d pending pods, want 3", pending)
	}
	must(t, w, "cp-1", "kubectl", "uncordon", "worker-3")
	for key, p := range kubePods(t, w, "-n", "default") {
		if p.Status.Phase != "Running" {
			t.Errorf("%s still %s after the uncordon", key, p.Status.Phase)
		}
	}
}
