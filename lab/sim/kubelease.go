package sim

import (
	"fmt"
	"hash/fnv"
	"strings"
	"time"
)

// The leader-election Leases of the control plane's controllers, as a
// kubeadm cluster has them in kube-system:
//
//	kubectl -n kube-system get lease kube-controller-manager -o jsonpath='{.spec.holderIdentity}'
//
// The first control-plane node holds them from the start. When the node
// holding one reboots, the next Ready control-plane node (in inventory
// order, wrapping) takes it over and leaseTransitions goes up: a rolling
// reboot that leaves the leader for last moves each lease once.

// leaseNames are the Leases the controllers of every control-plane node
// compete for.
var leaseNames = []string{"kube-controller-manager", "kube-scheduler"}

// lease is one controller's Lease.
type lease struct {
	Name        string    `json:"name"`
	Holder      string    `json:"holder"`    // the node its holder runs on
	HolderID    string    `json:"holder_id"` // holderIdentity: NODE_UUID
	Acquired    time.Time `json:"acquired"`
	Transitions int       `json:"transitions"`
}

// leases returns the cluster's Leases; those never handed over are as the
// cluster began, computed rather than stored, so that reading them writes
// nothing.
func (tx *txn) leases() ([]*lease, error) {
	cl, err := tx.clusterState()
	if err != nil {
		return nil, err
	}
	if cl.Leases != nil {
		return cl.Leases, nil
	}
	first := tx.w.firstNode(RoleControlPlane)
	if first == "" {
		return nil, nil
	}
	out := make([]*lease, len(leaseNames))
	for i, name := range leaseNames {
		out[i] = &lease{Name: name, Holder: first, HolderID: first + "_" + stableUUID(cl.Created.String()+name), Acquired: cl.Created}
	}
	return out, nil
}

// handOverLeases gives the Leases n holds to the next Ready control-plane
// node, as its controllers stop when n goes down.
func (tx *txn) handOverLeases(n *nodeState) error {
	ls, err := tx.leases()
	if err != nil || len(ls) == 0 {
		return err
	}
	next, err := tx.nextControlPlane(n.Name)
	if err != nil || next == "" {
		return err
	}
	moved := false
	for _, l := range ls {
		if l.Holder != n.Name {
			continue
		}
		l.Holder, l.HolderID, l.Acquired = next, next+"_"+newUUID(), tx.now
		l.Transitions++
		moved = true
	}
	if moved {
		tx.cluster.Leases = ls
		tx.changedCluster()
	}
	return nil
}

// nextControlPlane is the first Ready control-plane node after name in
// inventory order (wrapping), or "".
func (tx *txn) nextControlPlane(name string) (string, error) {
	cfgs := tx.w.configs
	start := tx.w.index[name]
	for k := 1; k < len(cfgs); k++ {
		c := cfgs[(start+k)%len(cfgs)]
		if c.Role != RoleControlPlane {
			continue
		}
		n, err := tx.node(c.Name)
		if err != nil {
			return "", err
		}
		if n.Node.Ready {
			return c.Name, nil
		}
	}
	return "", nil
}

// stableUUID is a version-4-shaped UUID derived from seed.
func stableUUID(seed string) string {
	var b [16]byte
	h := fnv.New128a()
	h.Write([]byte(seed))
	copy(b[:], h.Sum(nil))
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func isLeaseResource(s string) bool {
	switch strings.ToLower(s) {
	case "lease", "leases", "lease.coordination.k8s.io", "leases.coordination.k8s.io":
		return true
	}
	return false
}

// kubectlLeases serves `kubectl get lease`.
func (p *pctx) kubectlLeases(names []string, cl *cmdline) int {
	ls, err := p.tx.leases()
	if err != nil {
		p.eprintf("error: %v\n", err)
		return 1
	}
	ns := namespaceOf(cl)
	all := cl.has("A", "all-namespaces")
	var objects []map[string]any
	var table [][]string
	for _, l := range ls {
		if (!all && ns != "kube-system") || (len(names) > 0 && !contains(names, l.Name)) {
			continue
		}
		objects = append(objects, p.leaseObject(l))
		row := []string{l.Name, l.HolderID, kubeDuration(p.tx.now.Sub(l.Acquired))}
		if all {
			row = append([]string{"kube-system"}, row...)
		}
		table = append(table, row)
	}
	header := []string{"NAME", "HOLDER", "AGE"}
	if all {
		header = append([]string{"NAMESPACE"}, header...)
	}
	if len(objects) == 0 && len(names) == 0 {
		p.eprintf("No resources found in %s namespace.\n", ns)
		return 0
	}
	if len(objects) == 0 {
		p.eprintf("Error from server (NotFound): leases.coordination.k8s.io %q not found\n", names[0])
		return 1
	}
	output, _ := cl.value("o", "output")
	if err := p.printObjects("leases", output, objects, header, table, len(names) == 1, cl); err != nil {
		p.eprintf("error: %v\n", err)
		return 1
	}
	return 0
}

// leaseObject is a Lease as the API returns it (coordination.k8s.io/v1);
// its holder renews it every two seconds, so renewTime is now.
func (p *pctx) leaseObject(l *lease) map[string]any {
	micro := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00") }
	return map[string]any{
		"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
		"metadata": map[string]any{"name": l.Name, "namespace": "kube-system", "creationTimestamp": kubeTime(p.tx.cluster.Created)},
		"spec": map[string]any{
			"holderIdentity": l.HolderID, "leaseDurationSeconds": 15, "leaseTransitions": l.Transitions,
			"acquireTime": micro(l.Acquired), "renewTime": micro(p.tx.now),
		},
	}
}
