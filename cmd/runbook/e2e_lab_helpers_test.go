package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/runbookhq/runbook/lab"
	"github.com/runbookhq/runbook/lab/shell"
	"github.com/runbookhq/runbook/lab/sim"
	"github.com/runbookhq/runbook/runbook/journal"
)

// The end-to-end tests of the lab run the example runbooks through the CLI
// against the built-in lab, each in its own state directory, and check the
// simulated fleet afterwards through the lab's own API.

const repoRoot = "../.."

func repoFile(p string) string { return filepath.Join(repoRoot, filepath.FromSlash(p)) }

// labEnv is one test's state directory and lab inventory.
type labEnv struct {
	t     *testing.T
	state string
	inv   string
	specs []lab.NodeSpec
}

func newLabEnv(t *testing.T, inv string) *labEnv {
	t.Helper()
	parsed, err := loadInventory(inv)
	if err != nil {
		t.Fatal(err)
	}
	specs, err := labNodes(parsed)
	if err != nil {
		t.Fatal(err)
	}
	return &labEnv{t: t, state: t.TempDir(), inv: inv, specs: specs}
}

// run runs the CLI with the test's state directory.
func (e *labEnv) run(args ...string) (code int, stdout, stderr string) {
	e.t.Helper()
	return runCLI(e.t, append([]string{"--state-dir", e.state, "--no-color"}, args...)...)
}

// status is every lab node's status, by name.
func (e *labEnv) status() map[string]sim.NodeStatus {
	e.t.Helper()
	st, err := lab.Status(labDir(e.state), e.specs)
	if err != nil {
		e.t.Fatalf("lab status: %v", err)
	}
	out := map[string]sim.NodeStatus{}
	for _, n := range st {
		out[n.Name] = n
	}
	return out
}

// sh runs a command on a lab node (no SSH: straight into the simulation)
// and returns its standard output; it must succeed.
func (e *labEnv) sh(node, script string) string {
	e.t.Helper()
	var cfgs []sim.NodeConfig
	for _, s := range e.specs {
		cfgs = append(cfgs, sim.NodeConfig{Name: s.Name, Role: s.Role, Faults: s.Faults})
	}
	w, err := sim.OpenWorld(labDir(e.state), cfgs)
	if err != nil {
		e.t.Fatal(err)
	}
	defer w.Close()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if code := shell.Run(ctx, w.Machine(node), script, nil, &out, &errb); code != 0 {
		e.t.Fatalf("%s: %s: exit %d: %s", node, script, code, errb.String())
	}
	return out.String()
}

// runIDs lists the runs of the state directory, oldest first.
func (e *labEnv) runIDs() []string {
	e.t.Helper()
	ids, err := journal.ListRuns(e.state)
	if err != nil {
		e.t.Fatal(err)
	}
	return ids
}

// records reads the journal of the latest run: the one written last (run
// ids of one second sort by their random suffix, not by time).
func (e *labEnv) records() []journal.Record {
	e.t.Helper()
	var latest string
	var latestTime time.Time
	for _, id := range e.runIDs() {
		p := filepath.Join(journal.RunDir(e.state, id), journal.JournalFile)
		if fi, err := os.Stat(p); err == nil && fi.ModTime().After(latestTime) {
			latest, latestTime = p, fi.ModTime()
		}
	}
	if latest == "" {
		e.t.Fatal("no run in the state directory")
	}
	log, err := journal.ReadFile(latest)
	if err != nil {
		e.t.Fatal(err)
	}
	return log.Records
}

// outcomes are the hosts' outcomes in the latest run, and its status.
func (e *labEnv) outcomes() (map[string]string, string) {
	out, status := map[string]string{}, ""
	for _, r := range e.records() {
		switch r.Type {
		case journal.HostFinished:
			out[r.Host] = r.Outcome
		case journal.RunFinished:
			status = r.Status
		}
	}
	return out, status
}

// phaseHosts lists the canaries and batches of a journal in the order they
// started, as "PHASE: HOST...".
func phaseHosts(recs []journal.Record) []string {
	var out []string
	for _, r := range recs {
		if r.Type == journal.PhaseStarted && (r.PhaseKind == "canary" || r.PhaseKind == "batch") {
			out = append(out, r.Phase+": "+strings.Join(r.Hosts, " "))
		}
	}
	return out
}

func workers() []string { return []string{"worker-1", "worker-2", "worker-3", "worker-4", "worker-5"} }

func controlPlane() []string { return []string{"cp-1", "cp-2", "cp-3"} }

// kubeNodes are the lab's nodes, control plane first.
func kubeNodes() []string { return append(controlPlane(), workers()...) }

// staticPods are the pods (namespace/name) kubelet runs from manifest
// files: their mirror pods are owned by their node.
func (e *labEnv) staticPods() map[string]bool {
	out := e.sh("cp-1", `kubectl get pods -A -o json | jq -r '.items[] | select(.metadata.ownerReferences[0].kind == "Node") | "\(.metadata.namespace)/\(.metadata.name)"'`)
	set := map[string]bool{}
	for _, l := range strings.Fields(out) {
		set[l] = true
	}
	return set
}

// daemonSetPods are the pods (namespace/name) a DaemonSet owns.
func (e *labEnv) daemonSetPods() map[string]bool {
	out := e.sh("cp-1", `kubectl get pods -A -o json | jq -r '.items[] | select(.metadata.ownerReferences[0].kind == "DaemonSet") | "\(.metadata.namespace)/\(.metadata.name)"'`)
	set := map[string]bool{}
	for _, l := range strings.Fields(out) {
		set[l] = true
	}
	if len(set) == 0 {
		e.t.Fatal("no daemonset pods in the lab cluster")
	}
	return set
}

var (
	ranSandboxRE    = regexp.MustCompile(`Ran pod sandbox ([0-9a-f]{64}) with infra container: ([^/\s]+/[^/\s]+)/POD`)
	removingSandbox = regexp.MustCompile(`Removing pod sandbox: ([0-9a-f]{64})`)
	evictingRE      = regexp.MustCompile(`evicting pod (\S+/\S+)`)
)

// wipedPods reads crio's journal on node: the pods (namespace/name) whose
// sandboxes crio removed at a start, the wipe of CRIO.md.
func (e *labEnv) wipedPods(node string) []string {
	e.t.Helper()
	log := e.sh(node, "journalctl -u crio --no-pager -o cat")
	pods := map[string]string{}
	for _, m := range ranSandboxRE.FindAllStringSubmatch(log, -1) {
		pods[m[1]] = m[2]
	}
	var out []string
	for _, m := range removingSandbox.FindAllStringSubmatch(log, -1) {
		name, ok := pods[m[1]]
		if !ok {
			name = "unknown sandbox " + m[1]
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// evictedPods are the pods the run's drain steps evicted.
func evictedPods(recs []journal.Record) map[string]bool {
	out := map[string]bool{}
	for _, r := range recs {
		if r.Type != journal.StepFinished {
			continue
		}
		for _, m := range evictingRE.FindAllStringSubmatch(r.Stdout+r.Stderr, -1) {
			out[m[1]] = true
		}
	}
	return out
}

// workloadPods are the pods of node that are in none of the sets given
// (daemonset pods, static pods).
func workloadPods(n sim.NodeStatus, leave ...map[string]bool) []sim.PodStatus {
	var out []sim.PodStatus
	for _, p := range n.Pods {
		if !slices.ContainsFunc(leave, func(set map[string]bool) bool { return set[p.Namespace+"/"+p.Name] }) {
			out = append(out, p)
		}
	}
	return out
}

// copyRunbook copies an example runbook, with its modules, into a
// temporary directory, replacing each old text by its new one (each must
// be found), and returns the copy's path.
func copyRunbook(t *testing.T, example string, replacements ...string) string {
	t.Helper()
	data, err := os.ReadFile(repoFile(example))
	if err != nil {
		t.Fatal(err)
	}
	src := string(data)
	for i := 0; i+1 < len(replacements); i += 2 {
		if !strings.Contains(src, replacements[i]) {
			t.Fatalf("%s does not contain %q", example, replacements[i])
		}
		src = strings.ReplaceAll(src, replacements[i], replacements[i+1])
	}
	dir := t.TempDir()
	modules, err := filepath.Glob(repoFile("examples/modules/*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "modules"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, m := range modules {
		b, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "modules", filepath.Base(m)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, filepath.Base(example))
	if err := os.WriteFile(out, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkUpgraded checks that every node of nodes runs CRI-O version,
// healthy and back in service.
func checkUpgraded(t *testing.T, st map[string]sim.NodeStatus, nodes []string, pkg, running string) {
	t.Helper()
	for _, name := range nodes {
		n := st[name]
		if n.CrioVersion != pkg || n.CrioRunning != running {
			t.Errorf("%s: cri-o %s running %s, want %s running %s", name, n.CrioVersion, n.CrioRunning, pkg, running)
		}
		if n.Services["crio"] != "active" || n.Services["kubelet"] != "active" || !n.Ready || n.Cordoned {
			t.Errorf("%s: services %v, ready %v, cordoned %v", name, n.Services, n.Ready, n.Cordoned)
		}
	}
}
