package sim

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// PodDisruptionBudgets of the lab cluster, made as on a real one:
//
//	kubectl create poddisruptionbudget web --selector=app=web --min-available=100%
//	kubectl get pdb [-A] [-o json]
//	kubectl delete pdb web
//
// A drain evicts a pod only while every budget that selects it allows a
// disruption; otherwise it retries until its --timeout (see
// kubedrain_retry.go), as kubectl drain does against the eviction API.

// pdb is a PodDisruptionBudget of the cluster.
type pdb struct {
	Name           string    `json:"name"`
	Namespace      string    `json:"namespace"`
	Selector       string    `json:"selector"`
	MinAvailable   string    `json:"min_available,omitempty"`   // a count or "N%"
	MaxUnavailable string    `json:"max_unavailable,omitempty"` // a count or "N%"
	Created        time.Time `json:"created"`
}

// budgetState is what the disruption controller computes for a budget.
type budgetState struct {
	expected, healthy, desired, allowed int
}

// scaled reads a count or a percentage of total, rounded up.
func scaled(v string, total int) (int, error) {
	if pct, ok := strings.CutSuffix(v, "%"); ok {
		n, err := strconv.Atoi(pct)
		if err != nil || n < 0 || n > 100 {
			return 0, fmt.Errorf("invalid percentage %q", v)
		}
		return int(math.Ceil(float64(total) * float64(n) / 100)), nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid value %q", v)
	}
	return n, nil
}

// budgetState computes the budget over the cluster's pods.
func (p *pctx) budgetState(b *pdb) (budgetState, error) {
	sel, err := parseLabelSelector(b.Selector)
	if err != nil {
		return budgetState{}, err
	}
	refs, err := p.collectPods(b.Namespace, nil)
	if err != nil {
		return budgetState{}, err
	}
	var s budgetState
	for _, r := range refs {
		if !sel.matches(podObject(r.p, "")) {
			continue
		}
		s.expected++
		if r.p.Status.Phase == "Running" && r.p.Status.Ready {
			s.healthy++
		}
	}
	if b.MinAvailable != "" {
		s.desired, err = scaled(b.MinAvailable, s.expected)
	} else {
		var maxUnavailable int
		maxUnavailable, err = scaled(b.MaxUnavailable, s.expected)
		s.desired = max(s.expected-maxUnavailable, 0)
	}
	s.allowed = max(s.healthy-s.desired, 0)
	return s, err
}

// blockingBudget returns a budget that forbids evicting q now, or nil.
func (p *pctx) blockingBudget(q *pod) (*pdb, error) {
	cl, err := p.tx.clusterState()
	if err != nil {
		return nil, err
	}
	for _, b := range cl.PDBs {
		if b.Namespace != q.Namespace {
			continue
		}
		sel, err := parseLabelSelector(b.Selector)
		if err != nil || !sel.matches(podObject(q, "")) {
			continue
		}
		s, err := p.budgetState(b)
		if err != nil {
			return nil, err
		}
		if s.allowed <= 0 {
			return b, nil
		}
	}
	return nil, nil
}

// kubectlCreate creates a PodDisruptionBudget (the only object the lab
// creates).
func (p *pctx) kubectlCreate(args []string, cl *cmdline) int {
	if len(args) < 2 || !isPDBResource(args[0]) {
		p.eprintf("lab: kubectl create is simulated for poddisruptionbudget NAME --selector=... --min-available=N|--max-unavailable=N\n")
		return 1
	}
	name, ns := args[1], namespaceOf(cl)
	selector, _ := cl.value("l", "selector")
	minAvail, hasMin := cl.value("min-available")
	maxUnavail, hasMax := cl.value("max-unavailable")
	switch {
	case hasMin == hasMax:
		p.eprintf("error: one of min-available or max-unavailable must be specified\n")
		return 1
	case selector == "":
		p.eprintf("error: a selector must be specified\n")
		return 1
	}
	if _, err := parseLabelSelector(selector); err != nil {
		p.eprintf("error: %v\n", err)
		return 1
	}
	for _, v := range []string{minAvail, maxUnavail} {
		if _, err := scaled(v, 1); v != "" && err != nil {
			p.eprintf("error: %v\n", err)
			return 1
		}
	}
	c, err := p.tx.clusterState()
	if err != nil {
		p.eprintf("error: %v\n", err)
		return 1
	}
	for _, b := range c.PDBs {
		if b.Name == name && b.Namespace == ns {
			p.eprintf("error: failed to create poddisruptionbudget: poddisruptionbudgets.policy %q already exists\n", name)
			return 1
		}
	}
	c.PDBs = append(c.PDBs, &pdb{Name: name, Namespace: ns, Selector: selector, MinAvailable: minAvail, MaxUnavailable: maxUnavail, Created: p.tx.now})
	p.tx.changedCluster()
	p.printf("poddisruptionbudget.policy/%s created\n", name)
	return 0
}

func isPDBResource(s string) bool {
	switch strings.ToLower(s) {
	case "pdb", "pdbs", "poddisruptionbudget", "poddisruptionbudgets":
		return true
	}
	return false
}

// kubectlPDB serves get and delete of PodDisruptionBudgets.
func (p *pctx) kubectlPDB(verb string, names []string, cl *cmdline) int {
	c, err := p.tx.clusterState()
	if err != nil {
		p.eprintf("error: %v\n", err)
		return 1
	}
	ns := namespaceOf(cl)
	if cl.has("A", "all-namespaces") {
		ns = ""
	}
	if verb == "delete" {
		code := 0
		for _, name := range names {
			i := -1
			for j, b := range c.PDBs {
				if b.Name == name && b.Namespace == namespaceOf(cl) {
					i = j
					break
				}
			}
			if i < 0 {
				p.eprintf("Error from server (NotFound): poddisruptionbudgets.policy %q not found\n", name)
				code = 1
				continue
			}
			c.PDBs = append(c.PDBs[:i:i], c.PDBs[i+1:]...)
			p.tx.changedCluster()
			p.printf("poddisruptionbudget.policy %q deleted\n", name)
		}
		return code
	}
	var objects []map[string]any
	var table [][]string
	for _, b := range c.PDBs {
		if (ns != "" && b.Namespace != ns) || (len(names) > 0 && !contains(names, b.Name)) {
			continue
		}
		s, err := p.budgetState(b)
		if err != nil {
			p.eprintf("error: %v\n", err)
			return 1
		}
		objects = append(objects, pdbObject(b, s))
		row := []string{b.Name, orNA(b.MinAvailable), orNA(b.MaxUnavailable), strconv.Itoa(s.allowed), kubeDuration(p.tx.now.Sub(b.Created))}
		if ns == "" {
			row = append([]string{b.Namespace}, row...)
		}
		table = append(table, row)
	}
	header := []string{"NAME", "MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS", "AGE"}
	if ns == "" {
		header = append([]string{"NAMESPACE"}, header...)
	}
	output, _ := cl.value("o", "output")
	if len(objects) == 0 && len(names) == 0 {
		p.eprintf("No resources found in %s namespace.\n", namespaceOf(cl))
		return 0
	}
	if len(objects) == 0 {
		p.eprintf("Error from server (NotFound): poddisruptionbudgets.policy %q not found\n", names[0])
		return 1
	}
	if err := p.printObjects("poddisruptionbudgets", output, objects, header, table, len(names) == 1, cl); err != nil {
		p.eprintf("error: %v\n", err)
		return 1
	}
	return 0
}

func orNA(s string) string {
	if s == "" {
		return "N/A"
	}
	return s
}

// pdbObject is a budget as the API returns it (policy/v1).
func pdbObject(b *pdb, s budgetState) map[string]any {
	spec := map[string]any{"selector": map[string]any{"matchLabels": pdbMatchLabels(b.Selector)}}
	for k, v := range map[string]string{"minAvailable": b.MinAvailable, "maxUnavailable": b.MaxUnavailable} {
		if v == "" {
			continue
		}
		if n, err := strconv.Atoi(v); err == nil {
			spec[k] = n
		} else {
			spec[k] = v
		}
	}
	return map[string]any{
		"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
		"metadata": map[string]any{"name": b.Name, "namespace": b.Namespace, "creationTimestamp": kubeTime(b.Created)},
		"spec":     spec,
		"status": map[string]any{"currentHealthy": s.healthy, "desiredHealthy": s.desired,
			"disruptionsAllowed": s.allowed, "expectedPods": s.expected},
	}
}

// pdbMatchLabels is the equality terms of a selector.
func pdbMatchLabels(selector string) map[string]any {
	out := map[string]any{}
	sel, _ := parseLabelSelector(selector)
	for _, r := range sel {
		if r.op == "=" {
			out[r.key] = r.values[0]
		}
	}
	return out
}

// resourceNames are the names of "KIND NAME..." or "KIND/NAME..." operands.
func resourceNames(args []string) []string {
	var names []string
	if _, name, ok := strings.Cut(args[0], "/"); ok {
		names = append(names, name)
	}
	for _, a := range args[1:] {
		if _, name, ok := strings.Cut(a, "/"); ok {
			a = name
		}
		names = append(names, a)
	}
	return names
}
