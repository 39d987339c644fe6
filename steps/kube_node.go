package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/transport"
)

func init() { register[KubeNode]("kube_node") }

// KubeNode takes a Kubernetes node out of service and back, with kubectl
// on the host the step runs on (usually `delegate_to` a control-plane
// host): `kube_node: {node, action, timeout, ...}`.
//
//   - cordon, uncordon: changed only when the node was not so already;
//   - drain: cordons the node and evicts its pods through the eviction
//     API, so PodDisruptionBudgets are respected; kubectl retries an
//     eviction a budget refuses until timeout (default 5m). The pods
//     evicted are recorded (data.evicted). A drain that does not finish
//     fails naming the pods still on the node and why (data.blocking), and
//     uncordons the node again if this step cordoned it, unless
//     leave_cordoned: true;
//   - wait_ready: waits until the node reports Ready, up to timeout.
//
// node defaults to the target host's inventory name. In check mode the
// node and its pods are read and the step says what it would do (a drain:
// the pods it would evict); budgets are only known when the drain runs.
type KubeNode struct {
	Node               string           `yaml:"node" desc:"Kubernetes node name (default: the target host's inventory name)."`
	Action             string           `yaml:"action" desc:"cordon, drain, uncordon or wait_ready." enum:"cordon,drain,uncordon,wait_ready" required:"true"`
	Timeout            runbook.Duration `yaml:"timeout" desc:"drain: how long the evictions may take; wait_ready: how long to wait (default 5m)."`
	IgnoreDaemonSets   *bool            `yaml:"ignore_daemonsets" desc:"drain: leave the DaemonSet pods (default true)."`
	DeleteEmptyDirData bool             `yaml:"delete_emptydir_data" desc:"drain: evict pods with emptyDir volumes (their data is lost)."`
	Force              bool             `yaml:"force" desc:"drain: also delete pods no controller manages (they do not come back)."`
	GracePeriod        *int             `yaml:"grace_period" desc:"drain: seconds each pod gets to terminate (default: the pod's own)."`
	PodSelector        string           `yaml:"pod_selector" desc:"drain: only evict the pods matching this label selector."`
	LeaveCordoned      bool             `yaml:"leave_cordoned" desc:"drain: when the drain fails, leave the node cordoned (default: uncordon it if this step cordoned it)."`
	Kubeconfig         string           `yaml:"kubeconfig" desc:"kubeconfig file on the host (default: kubectl's own choice)."`
}

var kubeActions = []string{"cordon", "drain", "uncordon", "wait_ready"}

// kubeNodeNameRe is a Kubernetes node name (a DNS subdomain).
var kubeNodeNameRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`) })

// Validate implements runbook.StepSpec.
func (k *KubeNode) Validate(c *runbook.Check) {
	if !slices.Contains(kubeActions, k.Action) {
		c.Errorf("action", "kube_node: action %q: use cordon, drain, uncordon or wait_ready", k.Action)
	}
	if k.Node != "" && !runbook.HasTemplate(k.Node) && !kubeNodeNameRe().MatchString(k.Node) {
		c.Errorf("node", "kube_node: %q is not a Kubernetes node name", k.Node)
	}
	drainOnly := k.IgnoreDaemonSets != nil || k.DeleteEmptyDirData || k.Force || k.GracePeriod != nil || k.PodSelector != "" || k.LeaveCordoned
	if drainOnly && k.Action != "drain" {
		c.Errorf("action", "kube_node: ignore_daemonsets, delete_emptydir_data, force, grace_period, pod_selector and leave_cordoned go with action: drain")
	}
	if k.Timeout > 0 && (k.Action == "cordon" || k.Action == "uncordon") {
		c.Errorf("timeout", "kube_node: timeout: goes with drain and wait_ready")
	}
}

func (k *KubeNode) node(x *Exec) string {
	if k.Node != "" {
		return k.Node
	}
	return x.Host
}

func (k *KubeNode) timeout() time.Duration {
	if k.Timeout > 0 {
		return k.Timeout.D()
	}
	return 5 * time.Minute
}

// Describe implements Kind.
func (k *KubeNode) Describe() string {
	node := k.Node
	if node == "" {
		node = "the host's node"
	}
	s := "kube_node: " + k.Action + " " + node
	if k.Action == "drain" || k.Action == "wait_ready" {
		s += " (timeout " + k.timeout().String() + ")"
	}
	return s
}

// kubectl is the argv of a kubectl command.
func (k *KubeNode) kubectl(args ...string) []string {
	argv := []string{"kubectl"}
	if k.Kubeconfig != "" {
		argv = append(argv, "--kubeconfig", k.Kubeconfig)
	}
	return append(argv, args...)
}

// kubeNodeState is what the API says about a node.
type kubeNodeState struct {
	Cordoned bool
	Ready    string // True, False or Unknown
	Reason   string // of the Ready condition
}

// readNode reads the node through kubectl.
func (k *KubeNode) readNode(ctx context.Context, x *Exec, node string) (kubeNodeState, error) {
	argv := k.kubectl("get", "node", node, "-o", "json")
	out, errOut, rc, err := x.Output(ctx, transport.Command{Argv: argv})
	if err != nil {
		return kubeNodeState{}, fmt.Errorf("%s: %w", argvLine(argv), err)
	}
	if rc != 0 {
		return kubeNodeState{}, fmt.Errorf("%s: exit %d%s", argvLine(argv), rc, stderrTail(errOut))
	}
	var obj struct {
		Spec struct {
			Unschedulable bool `json:"unschedulable"`
		} `json:"spec"`
		Status struct {
			Conditions []struct {
				Type, Status, Reason, Message string
			} `json:"conditions"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &obj); err != nil {
		return kubeNodeState{}, fmt.Errorf("%s: %v", argvLine(argv), err)
	}
	s := kubeNodeState{Cordoned: obj.Spec.Unschedulable, Ready: "Unknown"}
	for _, c := range obj.Status.Conditions {
		if c.Type == "Ready" {
			s.Ready = c.Status
			s.Reason = strings.Join(slices.DeleteFunc([]string{c.Reason, c.Message}, func(s string) bool { return s == "" }), ": ")
		}
	}
	return s, nil
}

// Run implements Kind.
func (k *KubeNode) Run(ctx context.Context, x *Exec) Result { return k.apply(ctx, x, false) }

// Predict implements Predictor.
func (k *KubeNode) Predict(ctx context.Context, x *Exec) Result { return k.apply(ctx, x, true) }

func (k *KubeNode) apply(ctx context.Context, x *Exec, check bool) Result {
	node := k.node(x)
	if !kubeNodeNameRe().MatchString(node) {
		return Fail("", "kube_node: %q is not a Kubernetes node name (set node:)", node)
	}
	switch k.Action {
	case "cordon", "uncordon":
		return k.setSchedulable(ctx, x, node, k.Action == "uncordon", check)
	case "drain":
		return k.drain(ctx, x, node, check)
	case "wait_ready":
		return k.waitReady(ctx, x, node, check)
	}
	return Fail("", "kube_node: action %q: use cordon, drain, uncordon or wait_ready", k.Action)
}

// setSchedulable cordons or uncordons the node unless it is so already.
func (k *KubeNode) setSchedulable(ctx context.Context, x *Exec, node string, schedulable, check bool) Result {
	st, err := k.readNode(ctx, x, node)
	data := map[string]any{"node": node, "action": k.Action}
	if err != nil {
		return Result{Status: Failed, Data: data, Err: fmt.Errorf("kube_node: %w", err)}
	}
	data["cordoned_before"] = st.Cordoned
	if st.Cordoned != schedulable {
		return Result{Status: OK, Command: argvLine(k.kubectl("get", "node", node)), Data: data}
	}
	argv := k.kubectl(k.Action, node)
	if check {
		return Result{Status: Changed, Command: argvLine(argv), Data: data}
	}
	out, errOut, rc, _, err := x.capture(ctx, transport.Command{Argv: argv}, 64<<10)
	if err != nil {
		return Broken(argvLine(argv), fmt.Errorf("kube_node: %w", err))
	}
	if rc != 0 {
		return Result{Status: Failed, RC: &rc, Command: argvLine(argv), Data: data,
			Err: fmt.Errorf("kube_node: %s %s: exit %d%s", k.Action, node, rc, stderrTail(errOut+out))}
	}
	return Result{Status: Changed, RC: &rc, Command: argvLine(argv), Data: data}
}

// waitReady polls the node until it is Ready.
func (k *KubeNode) waitReady(ctx context.Context, x *Exec, node string, check bool) Result {
	data := map[string]any{"node": node, "action": k.Action}
	until := waitUntil(ctx, k.timeout())
	cmd := argvLine(k.kubectl("get", "node", node, "-o", "json"))
	for attempt := 1; ; attempt++ {
		st, err := k.readNode(ctx, x, node)
		if cutOff(ctx, err) {
			return Broken(cmd, fmt.Errorf("kube_node: %w", err))
		}
		data["attempts"] = attempt
		if err == nil {
			data["ready"] = st.Ready == "True"
			if st.Ready == "True" || check {
				return Result{Status: OK, Command: cmd, Data: data}
			}
		}
		if !time.Now().Add(2 * time.Second).Before(until) {
			why := "Ready=" + st.Ready
			if err != nil {
				why = err.Error()
			} else if st.Reason != "" {
				why += " (" + st.Reason + ")"
			}
			return Result{Status: Failed, Command: cmd, Data: data,
				Err: fmt.Errorf("kube_node: %s not Ready after %s: %s", node, roundWait(k.timeout()), why)}
		}
		if !sleepCtx(ctx, 2*time.Second) {
			return Broken(cmd, fmt.Errorf("kube_node: waiting for %s: %w", node, ctx.Err()))
		}
	}
}
