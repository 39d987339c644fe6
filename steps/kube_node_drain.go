package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/runbookhq/runbook/runbook/transport"
)

// This file holds kube_node's drain: what is on the node before and after,
// and why what stayed did.

// kubePod is a pod as the drain considers it.
type kubePod struct {
	Key       string // namespace/name
	UID       string
	Owner     string // kind of the controlling owner, "" for none
	Mirror    bool   // a static pod's mirror: kubectl drain leaves it
	EmptyDir  bool
	Finished  bool // Succeeded or Failed: deleted, not evicted
	DaemonSet bool
}

// listPods lists the pods bound to node (those matching the drain's pod
// selector).
func (k *KubeNode) listPods(ctx context.Context, x *Exec, node string) ([]kubePod, error) {
	args := []string{"get", "pods", "-A", "--field-selector", "spec.nodeName=" + node, "-o", "json"}
	if k.PodSelector != "" {
		args = append(args, "-l", k.PodSelector)
	}
	argv := k.kubectl(args...)
	out, errOut, rc, err := x.Output(ctx, transport.Command{Argv: argv})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", argvLine(argv), err)
	}
	if rc != 0 {
		return nil, fmt.Errorf("%s: exit %d%s", argvLine(argv), rc, stderrTail(errOut))
	}
	var list struct {
		Items []struct {
			Metadata struct {
				Name, Namespace, UID string
				Annotations          map[string]string
				OwnerReferences      []struct {
					Kind       string
					Controller bool
				}
			}
			Spec struct {
				Volumes []struct {
					EmptyDir *json.RawMessage `json:"emptyDir"`
				}
			}
			Status struct{ Phase string }
		}
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		return nil, fmt.Errorf("%s: %v", argvLine(argv), err)
	}
	var pods []kubePod
	for _, it := range list.Items {
		p := kubePod{Key: it.Metadata.Namespace + "/" + it.Metadata.Name, UID: it.Metadata.UID,
			Finished: it.Status.Phase == "Succeeded" || it.Status.Phase == "Failed"}
		_, p.Mirror = it.Metadata.Annotations["kubernetes.io/config.mirror"]
		for _, o := range it.Metadata.OwnerReferences {
			if o.Controller {
				p.Owner = o.Kind
			}
		}
		p.DaemonSet = p.Owner == "DaemonSet"
		for _, v := range it.Spec.Volumes {
			p.EmptyDir = p.EmptyDir || v.EmptyDir != nil
		}
		pods = append(pods, p)
	}
	return pods, nil
}

// toEvict are the pods a drain evicts, and the reasons kubectl would
// refuse to start (pods it needs a flag for).
func (k *KubeNode) toEvict(pods []kubePod) (evict []kubePod, refusals []string) {
	var ds, local, unmanaged []string
	for _, p := range pods {
		switch {
		case p.Mirror:
		case p.DaemonSet:
			if k.IgnoreDaemonSets != nil && !*k.IgnoreDaemonSets {
				ds = append(ds, p.Key)
			}
		case p.Finished:
			evict = append(evict, p)
		default:
			if p.EmptyDir && !k.DeleteEmptyDirData {
				local = append(local, p.Key)
			}
			if p.Owner == "" && !k.Force {
				unmanaged = append(unmanaged, p.Key)
			}
			evict = append(evict, p)
		}
	}
	if len(ds) > 0 {
		refusals = append(refusals, "DaemonSet-managed pods (ignore_daemonsets: true leaves them): "+strings.Join(ds, ", "))
	}
	if len(local) > 0 {
		refusals = append(refusals, "pods with local storage (delete_emptydir_data: true evicts them): "+strings.Join(local, ", "))
	}
	if len(unmanaged) > 0 {
		refusals = append(refusals, "pods no controller manages (force: true deletes them): "+strings.Join(unmanaged, ", "))
	}
	return evict, refusals
}

// drainArgv is the kubectl drain command, its timeout given.
func (k *KubeNode) drainArgv(node string, timeout time.Duration) []string {
	args := []string{"drain", node}
	if k.IgnoreDaemonSets == nil || *k.IgnoreDaemonSets {
		args = append(args, "--ignore-daemonsets")
	}
	if k.DeleteEmptyDirData {
		args = append(args, "--delete-emptydir-data")
	}
	if k.Force {
		args = append(args, "--force")
	}
	if k.GracePeriod != nil {
		args = append(args, "--grace-period="+strconv.Itoa(*k.GracePeriod))
	}
	if k.PodSelector != "" {
		args = append(args, "--pod-selector="+k.PodSelector)
	}
	return k.kubectl(append(args, "--timeout="+roundWait(timeout).String())...)
}

// drainTimeout is the timeout given to kubectl drain: the step's, cut so
// that the step still has time to see what stayed and to uncordon.
func (k *KubeNode) drainTimeout(ctx context.Context) time.Duration {
	t := k.timeout()
	if dl, ok := ctx.Deadline(); ok {
		t = min(t, time.Until(dl)-30*time.Second)
	}
	return max(t, time.Second)
}

// drain cordons the node and evicts its pods.
func (k *KubeNode) drain(ctx context.Context, x *Exec, node string, check bool) Result {
	data := map[string]any{"node": node, "action": "drain"}
	st, err := k.readNode(ctx, x, node)
	if err != nil {
		return Result{Status: Failed, Data: data, Err: fmt.Errorf("kube_node: %w", err)}
	}
	before, err := k.listPods(ctx, x, node)
	if err != nil {
		return Result{Status: Failed, Data: data, Err: fmt.Errorf("kube_node: %w", err)}
	}
	evict, refusals := k.toEvict(before)
	data["cordoned_before"] = st.Cordoned
	timeout := k.drainTimeout(ctx)
	argv := k.drainArgv(node, timeout)
	if st.Cordoned && len(evict) == 0 {
		data["evicted"] = []string{}
		return Result{Status: OK, Command: argvLine(k.kubectl("get", "pods", "-A", "--field-selector", "spec.nodeName="+node)), Data: data}
	}
	if check {
		data["would_evict"] = podKeys(evict)
		if len(refusals) > 0 {
			return Result{Status: Failed, Command: argvLine(argv), Data: data,
				Err: fmt.Errorf("kube_node: drain %s would fail: %s", node, strings.Join(refusals, "; "))}
		}
		return Result{Status: Changed, Command: argvLine(argv), Data: data}
	}
	_, errOut, rc, _, err := x.capture(ctx, transport.Command{Argv: argv, Timeout: timeout + 30*time.Second}, 1<<20)
	if err != nil && cutOff(ctx, err) {
		return Broken(argvLine(argv), fmt.Errorf("kube_node: %w", err))
	}
	after, lerr := k.listPods(ctx, x, node)
	if lerr == nil {
		gone, stayed := diffPods(evict, after)
		data["evicted"], data["blocking"] = podKeys(gone), podKeys(stayed)
		if rc == 0 && err == nil {
			return Result{Status: Changed, RC: &rc, Command: argvLine(argv), Data: data}
		}
		return k.drainFailed(ctx, x, node, st.Cordoned, rc, err, errOut, stayed, timeout, data, argv)
	}
	if rc == 0 && err == nil {
		return Result{Status: Changed, RC: &rc, Command: argvLine(argv), Data: data}
	}
	return k.drainFailed(ctx, x, node, st.Cordoned, rc, err, errOut, nil, timeout, data, argv)
}

// drainFailed reports a drain that did not finish and, unless the node was
// cordoned before or the runbook says to leave it so, uncordons it.
func (k *KubeNode) drainFailed(ctx context.Context, x *Exec, node string, cordonedBefore bool, rc int, runErr error, stderr string,
	stayed []kubePod, timeout time.Duration, data map[string]any, argv []string) Result {
	reasons := evictionReasons(stderr)
	var why string
	if len(stayed) > 0 {
		parts := make([]string, len(stayed))
		for i, p := range stayed {
			parts[i] = p.Key
			if r := reasons[p.Key]; r != "" {
				parts[i] += " (" + r + ")"
			}
		}
		why = fmt.Sprintf("%d pod(s) could not be evicted within %s: %s", len(stayed), roundWait(timeout), strings.Join(parts, ", "))
	} else if runErr != nil {
		why = runErr.Error()
	} else {
		why = fmt.Sprintf("exit %d%s", rc, stderrTail(stderr))
	}
	switch {
	case k.LeaveCordoned:
		why += "; the node is left cordoned (leave_cordoned: true)"
	case cordonedBefore:
		why += "; the node is left cordoned, as it was before the step"
	default:
		cctx, cancel := cleanupCtx(ctx)
		defer cancel()
		uargv := k.kubectl("uncordon", node)
		_, uerr, urc, err := x.Output(cctx, transport.Command{Argv: uargv})
		if err == nil && urc == 0 {
			data["uncordoned"] = true
			why += "; the node was uncordoned"
		} else {
			data["uncordoned"] = false
			why += fmt.Sprintf("; uncordoning it failed too (exit %d%s%s): it is still cordoned", urc, stderrTail(uerr), errText(err))
		}
	}
	r := Result{Status: Failed, Command: argvLine(argv), Data: data, Err: fmt.Errorf("kube_node: drain %s: %s", node, why)}
	if runErr == nil {
		r.RC = &rc
	}
	return r
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return ": " + err.Error()
}

// evictionErrorRe is kubectl drain's line for an eviction it was refused:
// `error when evicting pods/"web-1" -n "default" (will retry after 5s):
// Cannot evict pod as it would violate the pod's disruption budget.`
var evictionErrorRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`error when evicting pods/"([^"]+)" -n "([^"]+)"(?: \(will retry after [^)]*\))?: (.*)`)
})

// evictionReasons reads why each pod was not evicted, the first reason
// other than the final timeout kept.
func evictionReasons(stderr string) map[string]string {
	out := map[string]string{}
	for _, m := range evictionErrorRe().FindAllStringSubmatch(stderr, -1) {
		key, reason := m[2]+"/"+m[1], strings.TrimSuffix(strings.TrimSpace(m[3]), ".")
		if strings.Contains(reason, "]") {
			continue // inside a summary line, which repeats the last error
		}
		if old := out[key]; old == "" || strings.HasPrefix(old, "global timeout") {
			out[key] = reason
		}
	}
	return out
}

// diffPods splits the pods to evict into those gone from the node and
// those still on it.
func diffPods(evict, after []kubePod) (gone, stayed []kubePod) {
	still := map[string]bool{}
	for _, p := range after {
		still[p.UID] = true
	}
	for _, p := range evict {
		if still[p.UID] {
			stayed = append(stayed, p)
		} else {
			gone = append(gone, p)
		}
	}
	return gone, stayed
}

func podKeys(pods []kubePod) []string {
	keys := make([]string, len(pods))
	for i, p := range pods {
		keys[i] = p.Key
	}
	sort.Strings(keys)
	return keys
}
