package sim

import (
	"os"
	"sort"
)

// Status reports every node, in configuration order.
func (w *World) Status() ([]NodeStatus, error) {
	var out []NodeStatus
	err := w.do(func(tx *txn) error {
		tx.readOnly = true
		out = out[:0]
		nodes, err := tx.allNodes()
		if err != nil {
			return err
		}
		for _, n := range nodes {
			var st NodeStatus
			if err := w.withRoot(n.Name, func(root *os.Root) error {
				st = n.status(root)
				return nil
			}); err != nil {
				return err
			}
			out = append(out, st)
		}
		return nil
	})
	return out, err
}

// status reports the node, reading its root for the installed versions.
func (n *nodeState) status(root *os.Root) NodeStatus {
	st := NodeStatus{
		Name: n.Name, Role: n.Role, BootID: n.BootID, Kernel: n.kernel(),
		CrioVersion:    installedVersion(root, "cri-o"),
		CrioRunning:    n.Crio.Version,
		KubeletVersion: installedVersion(root, "kubelet"),
		DefaultRuntime: n.Crio.Runtime,
		Services:       map[string]string{},
		Ready:          n.Node.Ready,
		Cordoned:       n.Node.Unschedulable,
		Pods:           []PodStatus{},
	}
	for _, d := range unitDefs {
		if d.Name == "crio" || d.Name == "kubelet" {
			st.Services[d.Name] = n.unit(d.Name).Active
		}
	}
	for _, p := range n.Pods {
		ps := PodStatus{Name: p.Name, Namespace: p.Namespace, UID: p.UID, Ready: p.Status.Ready}
		for _, c := range p.Status.Containers {
			ps.Restarts += c.RestartCount
		}
		if s := n.liveSandbox(p.UID); s != nil {
			ps.SandboxID, ps.Created = s.ID, s.Created
		}
		st.Pods = append(st.Pods, ps)
	}
	sort.Slice(st.Pods, func(i, j int) bool {
		a, b := st.Pods[i], st.Pods[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	return st
}
