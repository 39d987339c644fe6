package sim

import (
	"strings"
)

// nodeNamed returns a node of the cluster, or prints the API's NotFound.
func (p *pctx) nodeNamed(name string) *nodeState {
	if _, ok := p.tx.w.index[name]; !ok {
		p.eprintf("Error from server (NotFound): nodes %q not found\n", name)
		return nil
	}
	n, err := p.tx.node(name)
	if err != nil {
		p.eprintf("error: %v\n", err)
		return nil
	}
	return n
}

// nodeArgs resolves "NAME" and "node/NAME" arguments.
func nodeArgs(args []string) []string {
	out := make([]string, 0, len(args))
	for _, a := range args {
		if k, name, ok := strings.Cut(a, "/"); ok && resourceKind(k) == "nodes" {
			a = name
		}
		out = append(out, a)
	}
	return out
}

func (p *pctx) kubectlCordon(cordon bool, args []string, cl *cmdline) int {
	if len(args) == 0 {
		p.eprintf("error: resource(s) were provided, but no name was specified\n")
		return 1
	}
	dry := valueOr(cl, "none", "dry-run") != "none"
	for _, name := range nodeArgs(args) {
		n := p.nodeNamed(name)
		if n == nil {
			return 1
		}
		p.setSchedulable(n, !cordon, dry)
	}
	return 0
}

// setSchedulable cordons or uncordons a node, printing what kubectl prints.
func (p *pctx) setSchedulable(n *nodeState, schedulable, dry bool) {
	verb := map[bool]string{true: "uncordoned", false: "cordoned"}[schedulable]
	suffix := ""
	if dry {
		suffix = " (dry run)"
	}
	if n.Node.Unschedulable == !schedulable {
		p.printf("node/%s already %s%s\n", n.Name, verb, suffix)
		return
	}
	if !dry {
		n.Node.Unschedulable = !schedulable
		if schedulable {
			p.tx.schedulePending()
		}
	}
	p.printf("node/%s %s%s\n", n.Name, verb, suffix)
}

// kubectlDrain cordons the node, then evicts its pods as kubectl drain
// does: daemonset pods need --ignore-daemonsets (and stay), pods with an
// emptyDir need --delete-emptydir-data, mirror pods stay silently. Evicted
// pods are deleted at once and their ReplicaSet's replacements scheduled.
// A pod whose disruption budget allows no eviction now is returned as
// pending, for kubectlDrainRetrying to try again.
func (p *pctx) kubectlDrain(args []string, cl *cmdline) (int, []pendingEviction) {
	if len(args) == 0 {
		p.eprintf("error: USAGE: drain NODE [flags]\nSee 'kubectl drain -h' for help and examples\n")
		return 1, nil
	}
	dry := valueOr(cl, "none", "dry-run") != "none"
	ignoreDS := cl.has("ignore-daemonsets")
	deleteEmptyDir := cl.has("delete-emptydir-data", "delete-local-data")
	if cl.has("delete-local-data") {
		p.eprintf("Flag --delete-local-data has been deprecated, This option is deprecated and will be deleted. Use --delete-emptydir-data.\n")
	}
	podSel, err := parseLabelSelector(valueOr(cl, "", "pod-selector"))
	if err != nil {
		p.eprintf("error: %v\n", err)
		return 1, nil
	}
	var nodes []*nodeState
	for _, name := range nodeArgs(args) {
		n := p.nodeNamed(name)
		if n == nil {
			return 1, nil
		}
		nodes = append(nodes, n)
	}
	for _, n := range nodes {
		p.setSchedulable(n, false, dry)
	}
	var pending, fatal []string
	var blocked []pendingEviction
	for _, n := range nodes {
		var ds, local, evict []*pod
		for _, q := range n.Pods {
			if !podSel.matches(podObject(q, "")) {
				continue
			}
			switch {
			case q.OwnerKind == ownerNode:
				// mirror pods cannot be deleted through the API
			case q.OwnerKind == ownerDaemonSet:
				ds = append(ds, q)
			case q.EmptyDir:
				local = append(local, q)
				evict = append(evict, q)
			default:
				evict = append(evict, q)
			}
		}
		var errs, warnings []string
		if len(ds) > 0 {
			if ignoreDS {
				warnings = append(warnings, "ignoring DaemonSet-managed Pods: "+podList(ds))
			} else {
				errs = append(errs, "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): "+podList(ds))
			}
		}
		if len(local) > 0 {
			if deleteEmptyDir {
				warnings = append(warnings, "deleting Pods with local storage: "+podList(local))
			} else {
				errs = append(errs, "cannot delete Pods with local storage (use --delete-emptydir-data to override): "+podList(local))
			}
		}
		if len(errs) > 0 {
			msg := errs[0]
			if len(errs) > 1 {
				msg = "[" + strings.Join(errs, ", ") + "]"
			}
			p.eprintf("error: unable to drain node %q due to error: %s, continuing command...\n", n.Name, msg)
			pending = append(pending, n.Name)
			fatal = append(fatal, errs...)
			continue
		}
		if len(warnings) > 0 {
			p.eprintf("Warning: %s\n", strings.Join(warnings, "; "))
		}
		if dry {
			for _, q := range evict {
				p.printf("evicting pod %s/%s (dry run)\n", q.Namespace, q.Name)
			}
			p.printf("node/%s drained (dry run)\n", n.Name)
			continue
		}
		held, err := p.evictAll(n, evict)
		if err != nil {
			p.eprintf("error: %v\n", err)
			return 1, nil
		}
		blocked = append(blocked, held...)
	}
	if len(pending) > 0 {
		p.eprintf("There are pending nodes to be drained:\n")
		for _, name := range pending {
			p.eprintf(" %s\n", name)
		}
		for _, f := range fatal {
			p.eprintf("%s\n", f)
		}
		return 1, nil
	}
	return 0, blocked
}

func podList(pods []*pod) string {
	names := make([]string, len(pods))
	for i, q := range pods {
		names[i] = q.Namespace + "/" + q.Name
	}
	return strings.Join(names, ", ")
}

// kubectlDelete deletes pods ("pod NAME", "pod/NAME"); their controllers
// recreate them.
func (p *pctx) kubectlDelete(args []string, cl *cmdline) int {
	kind, names, err := splitResourceArgs(args)
	if err != nil {
		p.eprintf("error: %v\n", err)
		return 1
	}
	if kind != "pods" {
		p.eprintf("lab: kubectl delete is simulated for pods only\n")
		return 1
	}
	ns := namespaceOf(cl)
	code := 0
	for _, name := range names {
		refs, err := p.collectPods(ns, nil)
		if err != nil {
			p.eprintf("error: %v\n", err)
			return 1
		}
		var found *podRef
		for i := range refs {
			if refs[i].p.Name == name {
				found = &refs[i]
			}
		}
		if found == nil {
			p.eprintf("Error from server (NotFound): pods %q not found\n", name)
			code = 1
			continue
		}
		if found.n == nil {
			cl, _ := p.tx.clusterState()
			for i, q := range cl.Pending {
				if q == found.p {
					cl.Pending = append(cl.Pending[:i:i], cl.Pending[i+1:]...)
					break
				}
			}
			p.tx.changedCluster()
		} else if err := p.tx.deletePod(found.n, found.p); err != nil {
			p.eprintf("error: %v\n", err)
			return 1
		}
		p.printf("pod %q deleted\n", name)
	}
	return code
}
