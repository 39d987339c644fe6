package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/runbookhq/runbook/lab/shell"
)

// testFleet is the lab fleet of most tests: one control plane, four workers.
func testFleet() []NodeConfig {
	return []NodeConfig{
		{Name: "cp-1", Role: RoleControlPlane},
		{Name: "worker-1", Role: RoleWorker},
		{Name: "worker-2", Role: RoleWorker},
		{Name: "worker-3", Role: RoleWorker},
		{Name: "worker-4", Role: RoleWorker},
	}
}

func openTestWorld(t *testing.T, dir string, nodes []NodeConfig) *World {
	t.Helper()
	w, err := OpenWorld(dir, nodes)
	if err != nil {
		t.Fatalf("OpenWorld: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func newTestWorld(t *testing.T) *World {
	t.Helper()
	return openTestWorld(t, t.TempDir(), testFleet())
}

// result is what a program printed and returned.
type result struct {
	out, err string
	code     int
}

// call runs a program of the world on a node, as the shell would.
func call(t *testing.T, w *World, node string, stdin string, args ...string) result {
	t.Helper()
	m := w.Machine(node)
	if m == nil {
		t.Fatalf("no machine %s", node)
	}
	prog := m.Programs[args[0]]
	if prog == nil {
		t.Fatalf("no program %s", args[0])
	}
	var out, errb bytes.Buffer
	code := prog(&shell.Call{
		Ctx: context.Background(), Machine: m, Args: args,
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Dir: "/root",
		Env: func(name string) string { return m.Env[name] },
	})
	return result{out.String(), errb.String(), code}
}

// must runs a program and fails the test unless it exits 0.
func must(t *testing.T, w *World, node string, args ...string) string {
	t.Helper()
	r := call(t, w, node, "", args...)
	if r.code != 0 {
		t.Fatalf("%s: %s: exit %d\nstdout:\n%s\nstderr:\n%s", node, strings.Join(args, " "), r.code, r.out, r.err)
	}
	return r.out
}

// crictlPod is an item of crictl pods -o json.
type crictlPod struct {
	ID       string `json:"id"`
	Metadata struct {
		Name      string `json:"name"`
		UID       string `json:"uid"`
		Namespace string `json:"namespace"`
		Attempt   int    `json:"attempt"`
	} `json:"metadata"`
	State     string            `json:"state"`
	CreatedAt string            `json:"createdAt"`
	Labels    map[string]string `json:"labels"`
}

func crictlPods(t *testing.T, w *World, node string) map[string]crictlPod {
	t.Helper()
	var doc struct {
		Items []crictlPod `json:"items"`
	}
	if err := json.Unmarshal([]byte(must(t, w, node, "crictl", "pods", "-o", "json")), &doc); err != nil {
		t.Fatalf("crictl pods -o json: %v", err)
	}
	out := map[string]crictlPod{}
	for _, it := range doc.Items {
		out[it.Metadata.Name] = it
	}
	return out
}

// kubePod is the part of a Pod object the tests read.
type kubePod struct {
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
		UID       string `json:"uid"`
	} `json:"metadata"`
	Spec struct {
		NodeName string `json:"nodeName"`
	} `json:"spec"`
	Status struct {
		Phase             string `json:"phase"`
		ContainerStatuses []struct {
			Name         string `json:"name"`
			RestartCount int    `json:"restartCount"`
			Ready        bool   `json:"ready"`
		} `json:"containerStatuses"`
	} `json:"status"`
}

func (p kubePod) restarts() int {
	n := 0
	for _, c := range p.Status.ContainerStatuses {
		n += c.RestartCount
	}
	return n
}

func kubePods(t *testing.T, w *World, args ...string) map[string]kubePod {
	t.Helper()
	var doc struct {
		Kind  string    `json:"kind"`
		Items []kubePod `json:"items"`
	}
	out := must(t, w, "cp-1", append([]string{"kubectl", "get", "pods", "-o", "json"}, args...)...)
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("kubectl get pods -o json: %v", err)
	}
	if doc.Kind != "List" {
		t.Fatalf("kind = %q, want List", doc.Kind)
	}
	m := map[string]kubePod{}
	for _, p := range doc.Items {
		m[p.Metadata.Namespace+"/"+p.Metadata.Name] = p
	}
	return m
}

// writeNodeFile writes a file of a node, as an operator's editor would.
func writeNodeFile(t *testing.T, w *World, node, path, content string) {
	t.Helper()
	if err := writeRootFile(w.Machine(node).Root, path, []byte(content), 0o644); err != nil {
		t.Fatalf("%s: writing %s: %v", node, path, err)
	}
}

// readNodeFile reads a file of a node.
func readNodeFile(t *testing.T, w *World, node, path string) string {
	t.Helper()
	data, err := readRootFile(w.Machine(node).Root, path)
	if err != nil {
		t.Fatalf("%s: reading %s: %v", node, path, err)
	}
	return string(data)
}

const crio130Line = "deb [signed-by=/etc/apt/keyrings/cri-o-apt-keyring.gpg] https://pkgs.k8s.io/addons:/cri-o:/stable:/v1.30/deb/ /\n"

// switchRepo points the node's cri-o repository at a minor and updates apt.
func switchRepo(t *testing.T, w *World, node, minor string) {
	t.Helper()
	line := strings.Replace(crio130Line, "v1.30", "v"+minor, 1)
	writeNodeFile(t, w, node, "/etc/apt/sources.list.d/cri-o.list", line)
	must(t, w, node, "apt-get", "update")
}

// sandboxIDs maps pod name to sandbox id.
func sandboxIDs(pods map[string]crictlPod) map[string]string {
	out := map[string]string{}
	for name, p := range pods {
		out[name] = p.ID
	}
	return out
}

// nodeFields returns the fields of a table line starting with name.
func nodeFields(table, name string) []string {
	for _, line := range strings.Split(table, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == name {
			return f
		}
	}
	return nil
}
