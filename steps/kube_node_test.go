package steps

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/runbookhq/runbook/runbook/transport"
)

// fakeCluster answers kubectl as an API server with one node would: it
// keeps the node's cordon and its pods; a drain evicts the pods not held
// by a budget (held), and fails when some are.
type fakeCluster struct {
	mu       sync.Mutex
	cordoned bool
	ready    string
	pods     map[string]string // "ns/name" -> owner kind
	held     map[string]bool
	commands []string
}

func newFakeCluster() *fakeCluster {
	return &fakeCluster{ready: "True", held: map[string]bool{}, pods: map[string]string{
		"default/web-1": "ReplicaSet", "default/api-1": "ReplicaSet",
		"kube-system/kube-proxy-1": "DaemonSet", "kube-system/etcd-node1": "Node",
	}}
}

func (f *fakeCluster) reply(_ int, c transport.Command) (string, int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	line := strings.Join(c.Argv, " ")
	f.commands = append(f.commands, line)
	switch {
	case strings.HasPrefix(line, "kubectl get node node1 -o json"):
		return fmt.Sprintf(`{"spec":{"unschedulable":%v},"status":{"conditions":[{"type":"Ready","status":%q,"reason":"KubeletReady"}]}}`, f.cordoned, f.ready), 0, nil
	case strings.HasPrefix(line, "kubectl get pods -A --field-selector spec.nodeName=node1 -o json"):
		var items []string
		for key, owner := range f.pods {
			ns, name, _ := strings.Cut(key, "/")
			ann := ""
			if owner == "Node" {
				ann = `,"annotations":{"kubernetes.io/config.mirror":"x"}`
			}
			items = append(items, fmt.Sprintf(`{"metadata":{"name":%q,"namespace":%q,"uid":"uid-%s","ownerReferences":[{"kind":%q,"controller":true}]%s},"status":{"phase":"Running"}}`, name, ns, key, owner, ann))
		}
		return `{"items":[` + strings.Join(items, ",") + `]}`, 0, nil
	case line == "kubectl cordon node1":
		f.cordoned = true
		return "node/node1 cordoned\n", 0, nil
	case line == "kubectl uncordon node1":
		f.cordoned = false
		return "node/node1 uncordoned\n", 0, nil
	case strings.HasPrefix(line, "kubectl drain node1 --ignore-daemonsets"):
		f.cordoned = true
		var errs []string
		for key, owner := range f.pods {
			ns, name, _ := strings.Cut(key, "/")
			switch {
			case owner == "DaemonSet" || owner == "Node":
			case f.held[key]:
				errs = append(errs, fmt.Sprintf(`error when evicting pods/%q -n %q (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.`, name, ns))
			default:
				delete(f.pods, key)
			}
		}
		if len(errs) > 0 {
			if c.Stderr != nil {
				fmt.Fprintln(c.Stderr, strings.Join(errs, "\n")+"\nerror: unable to drain node \"node1\" due to error: [error when evicting pods/\"web-1\" -n \"default\": global timeout reached: 30s], continuing command...")
			}
			return "", 1, nil
		}
		return "node/node1 drained\n", 0, nil
	}
	return "", 1, fmt.Errorf("fake cluster: unexpected %q", line)
}

func (f *fakeCluster) ran(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.commands {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

func kubeExec(t *testing.T) (*fakeCluster, *Exec) {
	f := newFakeCluster()
	x := newExec(t, &fakeT{reply: f.reply}, false)
	x.Host = "node1"
	return f, x
}

func TestKubeNodeCordon(t *testing.T) {
	f, x := kubeExec(t)
	wantStatus(t, predict(t, mustKind(t, `kube_node: {action: cordon}`), x, ""), Changed)
	if f.cordoned {
		t.Fatal("check mode cordoned the node")
	}
	wantStatus(t, run(t, mustKind(t, `kube_node: {action: cordon}`), x), Changed)
	wantStatus(t, run(t, mustKind(t, `kube_node: {action: cordon, node: node1}`), x), OK)
	wantStatus(t, predict(t, mustKind(t, `kube_node: {action: cordon}`), x, ""), OK)
	wantStatus(t, run(t, mustKind(t, `kube_node: {action: uncordon}`), x), Changed)
	wantStatus(t, run(t, mustKind(t, `kube_node: {action: uncordon}`), x), OK)
	if n := f.ran("kubectl cordon"); n != 1 {
		t.Errorf("cordon ran %d times", n)
	}
}

func TestKubeNodeDrain(t *testing.T) {
	f, x := kubeExec(t)
	r := predict(t, mustKind(t, `kube_node: {action: drain}`), x, "")
	wantStatus(t, r, Changed)
	if fmt.Sprint(r.Data["would_evict"]) != "[default/api-1 default/web-1]" || f.ran("kubectl drain") != 0 {
		t.Fatalf("check mode: %v, %v", r.Data, f.commands)
	}
	r = run(t, mustKind(t, `kube_node: {action: drain, timeout: 2m}`), x)
	wantStatus(t, r, Changed)
	if fmt.Sprint(r.Data["evicted"]) != "[default/api-1 default/web-1]" || fmt.Sprint(r.Data["blocking"]) != "[]" {
		t.Errorf("data %v", r.Data)
	}
	if !strings.Contains(r.Command, "kubectl drain node1 --ignore-daemonsets '--timeout=1m30s'") { // 2m, less what the step keeps for after
		t.Errorf("command %q", r.Command)
	}
	// Drained: nothing more to do.
	wantStatus(t, run(t, mustKind(t, `kube_node: {action: drain}`), x), OK)
	if n := f.ran("kubectl drain"); n != 1 {
		t.Errorf("drain ran %d times", n)
	}
}

func TestKubeNodeDrainBlocked(t *testing.T) {
	for _, tc := range []struct {
		name           string
		step           string
		cordonedBefore bool
		wantCordoned   bool
		wantErr        string
	}{
		{"uncordons what it cordoned", `kube_node: {action: drain, timeout: 30s}`, false, false, "the node was uncordoned"},
		{"leave_cordoned", `kube_node: {action: drain, timeout: 30s, leave_cordoned: true}`, false, true, "left cordoned (leave_cordoned: true)"},
		{"a node cordoned before stays so", `kube_node: {action: drain, timeout: 30s}`, true, true, "left cordoned, as it was before the step"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, x := kubeExec(t)
			f.held["default/web-1"] = true
			f.cordoned = tc.cordonedBefore
			r := run(t, mustKind(t, tc.step), x)
			wantErr(t, r, "kube_node: drain node1: 1 pod(s) could not be evicted within 30s: default/web-1 (Cannot evict pod as it would violate the pod's disruption budget)", tc.wantErr)
			if fmt.Sprint(r.Data["evicted"]) != "[default/api-1]" || fmt.Sprint(r.Data["blocking"]) != "[default/web-1]" {
				t.Errorf("data %v", r.Data)
			}
			if f.cordoned != tc.wantCordoned {
				t.Errorf("cordoned %v, want %v", f.cordoned, tc.wantCordoned)
			}
		})
	}
}

func TestKubeNodeWaitReady(t *testing.T) {
	f, x := kubeExec(t)
	wantStatus(t, run(t, mustKind(t, `kube_node: {action: wait_ready, timeout: 10s}`), x), OK)
	f.ready = "False"
	r := run(t, mustKind(t, `kube_node: {action: wait_ready, timeout: 1s}`), x)
	wantErr(t, r, "kube_node: node1 not Ready after 1s: Ready=False (KubeletReady)")
	r = predict(t, mustKind(t, `kube_node: {action: wait_ready}`), x, "")
	if r.Status != OK || r.Data["ready"] != false {
		t.Errorf("check mode: %s %v", r.Status, r.Data)
	}
}

func TestKubeNodeLoadErrors(t *testing.T) {
	for _, tc := range []struct{ step, want string }{
		{`kube_node: {action: restart}`, `t.yaml:7:29: kube_node: action "restart": use cordon, drain, uncordon or wait_ready`},
		{`kube_node: {node: Worker_1, action: cordon}`, `kube_node: "Worker_1" is not a Kubernetes node name`},
		{`kube_node: {action: cordon, force: true}`, "go with action: drain"},
		{`kube_node: {action: uncordon, timeout: 1m}`, "kube_node: timeout: goes with drain and wait_ready"},
		{`kube_node: {action: drain, grace_period: soon}`, `expected a whole number, got "soon"`},
	} {
		_, err := parseStep(t, tc.step)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.step, err, tc.want)
		}
	}
}

func TestEvictionReasons(t *testing.T) {
	stderr := `node/worker-1 cordoned
Warning: ignoring DaemonSet-managed Pods: kube-flannel/kube-flannel-ds-x, kube-system/kube-proxy-y
evicting pod default/web-6d4cf56db6-abcde
error when evicting pods/"web-6d4cf56db6-abcde" -n "default" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.
evicting pod default/web-6d4cf56db6-abcde
error when evicting pods/"web-6d4cf56db6-abcde" -n "default" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.
There are pending pods in node "worker-1" when an error occurred: [error when evicting pods/"web-6d4cf56db6-abcde" -n "default": global timeout reached: 30s]
error: unable to drain node "worker-1" due to error: [error when evicting pods/"web-6d4cf56db6-abcde" -n "default": global timeout reached: 30s], continuing command...
There are pending nodes to be drained:
 worker-1
error when evicting pods/"web-6d4cf56db6-abcde" -n "default": global timeout reached: 30s
error when evicting pods/"db-0" -n "data": global timeout reached: 30s
`
	got := evictionReasons(stderr)
	want := map[string]string{
		"default/web-6d4cf56db6-abcde": "Cannot evict pod as it would violate the pod's disruption budget",
		"data/db-0":                    "global timeout reached: 30s",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}
