package sim

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/runbookhq/runbook/lab/shell"
)

var kubectlFlags = newFlagSpec("kubeconfig:,context:,cluster:,user:,s:,server:,request-timeout:,v:,insecure-skip-tls-verify," +
	"n:,namespace:,A,all-namespaces,o:,output:,l:,selector:,field-selector:,no-headers,show-labels,w,watch,sort-by:,chunk-size:,show-kind,L:,label-columns:," +
	"ignore-daemonsets,delete-emptydir-data,delete-local-data,force,timeout:,grace-period:,disable-eviction,dry-run:,pod-selector:,skip-wait-for-delete-timeout:," +
	"for:,all,now,wait,client,short,h,help,min-available:,max-unavailable:")

// kubectlProgram simulates kubectl against the lab cluster. It needs a
// kubeconfig, as the real one: --kubeconfig, $KUBECONFIG, or
// $HOME/.kube/config (control-plane nodes have /root/.kube/config and
// /etc/kubernetes/admin.conf; workers only kubelet.conf).
func (w *World) kubectlProgram(c *shell.Call) int {
	cl, err := kubectlFlags.parse(c.Args[1:])
	if err != nil {
		fmt.Fprintf(c.Stderr, "error: %v\nSee 'kubectl --help' for usage.\n", err)
		return 1
	}
	if len(cl.args) == 0 || cl.has("h", "help") {
		fmt.Fprintf(c.Stdout, "kubectl controls the Kubernetes cluster manager.\n\nBasic Commands: get, cordon, uncordon, drain, delete, wait, version, cluster-info\n")
		return 0
	}
	verb, args := cl.args[0], cl.args[1:]
	if verb == "version" && cl.has("client") {
		return w.read(c, func(p *pctx) int { return p.kubectlVersion(cl, false) })
	}
	if verb == "wait" {
		return w.kubectlWait(c, cl, args)
	}
	if verb == "drain" {
		return w.kubectlDrainRetrying(c, cl, args)
	}
	transact := w.run
	if verb == "get" || verb == "version" || verb == "cluster-info" {
		transact = w.read
	}
	return transact(c, func(p *pctx) int {
		if code := p.kubectlUsable(cl); code != 0 {
			return code
		}
		if (verb == "get" || verb == "delete") && len(args) > 0 && isPDBResource(strings.Split(args[0], "/")[0]) {
			return p.kubectlPDB(verb, resourceNames(args), cl)
		}
		if verb == "get" && len(args) > 0 && isLeaseResource(strings.Split(args[0], "/")[0]) {
			return p.kubectlLeases(resourceNames(args), cl)
		}
		switch verb {
		case "get":
			return p.kubectlGet(cl, args)
		case "cordon", "uncordon":
			return p.kubectlCordon(verb == "cordon", args, cl)
		case "create":
			return p.kubectlCreate(args, cl)
		case "delete":
			return p.kubectlDelete(args, cl)
		case "version":
			return p.kubectlVersion(cl, true)
		case "cluster-info":
			p.printf("Kubernetes control plane is running at https://10.0.0.11:6443\nCoreDNS is running at https://10.0.0.11:6443/api/v1/namespaces/kube-system/services/kube-dns:dns/proxy\n\nTo further debug and diagnose cluster problems, use 'kubectl cluster-info dump'.\n")
			return 0
		}
		p.eprintf("error: unknown command %q for \"kubectl\"\n\nlab: the lab simulates kubectl get, cordon, uncordon, drain, delete pod, wait, version and cluster-info\n", verb)
		return 1
	})
}

// kubectlUsable prints why kubectl cannot reach the cluster from the node
// (it is not installed, or there is no kubeconfig) and returns its exit
// status, or 0.
func (p *pctx) kubectlUsable(cl *cmdline) int {
	if installedVersion(p.root, "kubectl") == "" {
		p.eprintf("kubectl: command not found\n")
		return 127
	}
	if !p.hasKubeconfig(cl) {
		p.eprintf("E%s   %5d memcache.go:265] couldn't get current server API group list: Get \"http://localhost:8080/api?timeout=32s\": dial tcp 127.0.0.1:8080: connect: connection refused\n",
			p.tx.now.UTC().Format("0102 15:04:05.000000"), p.n.newPID())
		p.eprintf("The connection to the server localhost:8080 was refused - did you specify the right host or port?\n")
		return 1
	}
	return 0
}

// hasKubeconfig reports whether kubectl finds a kubeconfig on the node.
func (p *pctx) hasKubeconfig(cl *cmdline) bool {
	if v, ok := cl.value("kubeconfig"); ok {
		return rootFileExists(p.root, absPath(p.call.Dir, v))
	}
	if v := env(p.call, "KUBECONFIG"); v != "" {
		for _, f := range strings.Split(v, ":") {
			if f != "" && rootFileExists(p.root, absPath(p.call.Dir, f)) {
				return true
			}
		}
		return false
	}
	home := env(p.call, "HOME")
	if home == "" {
		home = "/root"
	}
	return rootFileExists(p.root, home+"/.kube/config")
}

func (p *pctx) kubectlVersion(cl *cmdline, server bool) int {
	client := "v" + upstreamVersion(installedVersion(p.root, "kubectl"))
	if o, _ := cl.value("o", "output"); o == "json" {
		p.printf("{\n  \"clientVersion\": {\n    \"major\": \"1\",\n    \"gitVersion\": %q,\n    \"platform\": \"linux/amd64\"\n  },\n  \"kustomizeVersion\": \"v5.0.4-0.20230601165947-6ce0bf390ce3\"", client)
		if server {
			p.printf(",\n  \"serverVersion\": {\n    \"major\": \"1\",\n    \"gitVersion\": %q,\n    \"platform\": \"linux/amd64\"\n  }", kubeVersion)
		}
		p.printf("\n}\n")
		return 0
	}
	p.printf("Client Version: %s\nKustomize Version: v5.0.4-0.20230601165947-6ce0bf390ce3\n", client)
	if server {
		p.printf("Server Version: %s\n", kubeVersion)
	}
	return 0
}

// resourceKind normalises a resource name: "pods", "pod", "po" → "pods".
func resourceKind(s string) string {
	switch strings.ToLower(s) {
	case "pod", "pods", "po":
		return "pods"
	case "node", "nodes", "no":
		return "nodes"
	case "namespace", "namespaces", "ns":
		return "namespaces"
	}
	return ""
}

// resourceArgsError is a usage error of kubectl, worded as kubectl words it.
type resourceArgsError string

func (e resourceArgsError) Error() string { return string(e) }

// splitResourceArgs reads "pods NAME..." or "pod/NAME node/NAME".
func splitResourceArgs(args []string) (kind string, names []string, err error) {
	if len(args) == 0 {
		return "", nil, resourceArgsError(`You must specify the type of resource to get. Use "kubectl api-resources" for a complete list of supported resources.`)
	}
	if k, name, ok := strings.Cut(args[0], "/"); ok {
		kind = resourceKind(k)
		names = append(names, name)
		for _, a := range args[1:] {
			k2, n2, ok := strings.Cut(a, "/")
			if !ok || resourceKind(k2) != kind {
				return "", nil, fmt.Errorf("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'kubectl get resource/<resource_name>' instead of 'kubectl get resource resource/<resource_name>'")
			}
			names = append(names, n2)
		}
	} else {
		kind = resourceKind(args[0])
		names = args[1:]
	}
	if kind == "" {
		return "", nil, fmt.Errorf("the server doesn't have a resource type %q", strings.Split(args[0], "/")[0])
	}
	return kind, names, nil
}

// podRef is a pod and the node it is bound to (nil while pending).
type podRef struct {
	p *pod
	n *nodeState
}

func (r podRef) hostIP() string {
	if r.n == nil {
		return ""
	}
	return r.n.Node.InternalIP
}

// collectPods lists the pods of the namespace (or all), sorted by
// namespace and name. A spec.nodeName= field selector reads only that node.
func (p *pctx) collectPods(ns string, sel fieldSelector) ([]podRef, error) {
	var nodes []*nodeState
	if name, ok := sel.nodeName(); ok {
		if _, known := p.tx.w.index[name]; known {
			n, err := p.tx.node(name)
			if err != nil {
				return nil, err
			}
			nodes = []*nodeState{n}
		}
	} else {
		all, err := p.tx.allNodes()
		if err != nil {
			return nil, err
		}
		nodes = all
	}
	var out []podRef
	for _, n := range nodes {
		for _, q := range n.Pods {
			if ns == "" || q.Namespace == ns {
				out = append(out, podRef{q, n})
			}
		}
	}
	cl, err := p.tx.clusterState()
	if err != nil {
		return nil, err
	}
	for _, q := range cl.Pending {
		if ns == "" || q.Namespace == ns {
			out = append(out, podRef{q, nil})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].p.Namespace != out[j].p.Namespace {
			return out[i].p.Namespace < out[j].p.Namespace
		}
		return out[i].p.Name < out[j].p.Name
	})
	return out, nil
}

// namespaceOf is the namespace of the command: -n, else "default".
func namespaceOf(cl *cmdline) string {
	if v, ok := cl.value("n", "namespace"); ok && v != "" {
		return v
	}
	return "default"
}

func (p *pctx) kubectlGet(cl *cmdline, args []string) int {
	kind, names, err := splitResourceArgs(args)
	if err != nil {
		p.eprintf("error: %v\n", err)
		return 1
	}
	output, _ := cl.value("o", "output")
	labels, err := parseLabelSelector(valueOr(cl, "", "l", "selector"))
	if err != nil {
		p.eprintf("error: %v\n", err)
		return 1
	}
	fields, err := parseFieldSelector(valueOr(cl, "", "field-selector"))
	if err != nil {
		p.eprintf("Error from server (BadRequest): %v\n", err)
		return 1
	}
	var objects []map[string]any
	var table [][]string
	var header []string
	var notFound []string
	switch kind {
	case "nodes":
		nodes, err := p.tx.allNodes()
		if err != nil {
			p.eprintf("error: %v\n", err)
			return 1
		}
		header = []string{"NAME", "STATUS", "ROLES", "AGE", "VERSION"}
		if output == "wide" {
			header = append(header, "INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME")
		}
		selected := nodes
		if len(names) > 0 {
			selected = nil
			for _, name := range names {
				found := false
				for _, n := range nodes {
					if n.Name == name {
						selected, found = append(selected, n), true
					}
				}
				if !found {
					notFound = append(notFound, name)
				}
			}
		}
		for _, n := range selected {
			obj := nodeObject(n, p.tx.now)
			if !labels.matches(obj) || !fields.matchesNode(n) {
				continue
			}
			objects = append(objects, obj)
			table = append(table, p.nodeRow(n, output == "wide"))
		}
	case "pods":
		ns := namespaceOf(cl)
		if cl.has("A", "all-namespaces") {
			ns = ""
		}
		refs, err := p.collectPods(ns, fields)
		if err != nil {
			p.eprintf("error: %v\n", err)
			return 1
		}
		header = []string{"NAME", "READY", "STATUS", "RESTARTS", "AGE"}
		if ns == "" {
			header = append([]string{"NAMESPACE"}, header...)
		}
		if output == "wide" {
			header = append(header, "IP", "NODE", "NOMINATED NODE", "READINESS GATES")
		}
		if len(names) > 0 {
			var sel []podRef
			for _, name := range names {
				found := false
				for _, r := range refs {
					if r.p.Name == name {
						sel, found = append(sel, r), true
					}
				}
				if !found {
					notFound = append(notFound, name)
				}
			}
			refs = sel
		}
		for _, r := range refs {
			obj := podObject(r.p, r.hostIP())
			if !labels.matches(obj) || !fields.matchesPod(r.p) {
				continue
			}
			objects = append(objects, obj)
			row := p.podRow(r, output == "wide")
			if ns == "" {
				row = append([]string{r.p.Namespace}, row...)
			}
			table = append(table, row)
		}
	case "namespaces":
		header = []string{"NAME", "STATUS", "AGE"}
		for _, name := range []string{"default", "kube-flannel", "kube-node-lease", "kube-public", "kube-system"} {
			if len(names) > 0 && !contains(names, name) {
				continue
			}
			objects = append(objects, map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name}, "status": map[string]any{"phase": "Active"}})
			table = append(table, []string{name, "Active", "10d"})
		}
	}
	for _, name := range notFound {
		p.eprintf("Error from server (NotFound): %s %q not found\n", kind, name)
	}
	code := 0
	if len(notFound) > 0 {
		code = 1
	}
	single := len(names) == 1 && len(objects) == 1
	if err := p.printObjects(kind, output, objects, header, table, single, cl); err != nil {
		p.eprintf("error: %v\n", err)
		return 1
	}
	if len(objects) == 0 && len(notFound) == 0 && (output == "" || output == "wide") {
		if kind == "pods" && !cl.has("A", "all-namespaces") {
			p.eprintf("No resources found in %s namespace.\n", namespaceOf(cl))
		} else {
			p.eprintf("No resources found\n")
		}
	}
	return code
}

func valueOr(cl *cmdline, def string, names ...string) string {
	if v, ok := cl.value(names...); ok {
		return v
	}
	return def
}

// nodeRow is a line of kubectl get nodes.
func (p *pctx) nodeRow(n *nodeState, wide bool) []string {
	status := "Ready"
	if !n.Node.Ready {
		status = "NotReady"
	}
	if n.Node.Unschedulable {
		status += ",SchedulingDisabled"
	}
	roles := "<none>"
	if n.Role == RoleControlPlane {
		roles = "control-plane"
	}
	row := []string{n.Name, status, roles, kubeDuration(p.tx.now.Sub(n.Node.Created)), n.Node.KubeletVersion}
	if wide {
		row = append(row, n.Node.InternalIP, "<none>", "Ubuntu 22.04.4 LTS", n.kernel(), n.Node.RuntimeVersion)
	}
	return row
}

// podRow is a line of kubectl get pods.
func (p *pctx) podRow(r podRef, wide bool) []string {
	q := r.p
	ready, restarts := 0, 0
	var lastStart time.Time
	for _, c := range q.Status.Containers {
		if c.Ready {
			ready++
		}
		restarts += c.RestartCount
		if c.RestartCount > 0 && c.StartedAt.After(lastStart) {
			lastStart = c.StartedAt
		}
	}
	rs := fmt.Sprint(restarts)
	if restarts > 0 && !lastStart.IsZero() {
		rs = fmt.Sprintf("%d (%s ago)", restarts, kubeDuration(p.tx.now.Sub(lastStart)))
	}
	row := []string{q.Name, fmt.Sprintf("%d/%d", ready, len(q.Containers)), podReason(q), rs, kubeDuration(p.tx.now.Sub(q.Created))}
	if wide {
		ip, node := q.Status.PodIP, q.NodeName
		if ip == "" {
			ip = "<none>"
		}
		if node == "" {
			node = "<none>"
		}
		row = append(row, ip, node, "<none>", "<none>")
	}
	return row
}
