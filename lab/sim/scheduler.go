package sim

// isWorkload reports whether the pod is managed by a ReplicaSet (the pods a
// drain evicts and the scheduler places).
func (p *pod) isWorkload() bool { return p.OwnerKind == ownerReplicaSet }

// toleratesControlPlane reports whether the pod may run on control-plane
// nodes (their NoSchedule taint): only kube-system workloads such as CoreDNS.
func (p *pod) toleratesControlPlane() bool { return p.Namespace == "kube-system" }

// schedulePod binds a new pod to the Ready, schedulable node with the fewest
// workload pods (ties: inventory order), or leaves it Pending when there is
// none. The node's kubelet starts it at once when it runs.
func (tx *txn) schedulePod(p *pod) error {
	cl, err := tx.clusterState()
	if err != nil {
		return err
	}
	nodes, err := tx.allNodes()
	if err != nil {
		return err
	}
	var best *nodeState
	bestLoad := 0
	for _, n := range nodes {
		if !n.Node.Ready || n.Node.Unschedulable {
			continue
		}
		if n.Role == RoleControlPlane && !p.toleratesControlPlane() {
			continue
		}
		load := 0
		for _, q := range n.Pods {
			if q.isWorkload() {
				load++
			}
		}
		if best == nil || load < bestLoad {
			best, bestLoad = n, load
		}
	}
	if best == nil {
		p.NodeName = ""
		p.Status = podStatus{Phase: "Pending"}
		cl.Pending = append(cl.Pending, p)
		tx.changedCluster()
		return nil
	}
	p.NodeName = best.Name
	p.Status = podStatus{Phase: "Pending"}
	best.Pods = append(best.Pods, p)
	tx.kubeletSync(best)
	return nil
}

// schedulePending tries again to place the pods waiting for a node.
func (tx *txn) schedulePending() {
	if tx.scheduling || tx.seeding {
		return
	}
	cl, err := tx.clusterState()
	if err != nil || len(cl.Pending) == 0 {
		return
	}
	tx.scheduling = true
	defer func() { tx.scheduling = false }()
	pending := cl.Pending
	cl.Pending = nil
	tx.changedCluster()
	for _, p := range pending {
		if err := tx.schedulePod(p); err != nil {
			cl.Pending = append(cl.Pending, p)
		}
	}
}

// deletePod removes a pod from the node it is bound to; its controller
// makes a replacement: a ReplicaSet a new pod (new name and UID) placed by
// the scheduler, a DaemonSet a new pod on the same node, a static pod's
// mirror comes back with the same name and a new UID.
func (tx *txn) deletePod(n *nodeState, p *pod) error {
	for i, q := range n.Pods {
		if q == p {
			n.Pods = append(n.Pods[:i:i], n.Pods[i+1:]...)
			break
		}
	}
	tx.kubeletSync(n)
	switch p.OwnerKind {
	case ownerReplicaSet:
		np, err := tx.replacementPod(p)
		if err != nil {
			return err
		}
		return tx.schedulePod(np)
	case ownerDaemonSet:
		np, err := tx.replacementPod(p)
		if err != nil {
			return err
		}
		np.NodeName = n.Name
		n.Pods = append(n.Pods, np)
		tx.kubeletSync(n)
	case ownerNode:
		np := clonePodSpec(p)
		np.Name = p.Name
		np.UID = newUUID()
		np.Created = tx.now
		np.NodeName = n.Name
		n.Pods = append(n.Pods, np)
		tx.kubeletSync(n)
	}
	return nil
}

// replacementPod is the pod a controller creates in place of p: same
// owner, a new generated name and a new UID.
func (tx *txn) replacementPod(p *pod) (*pod, error) {
	cl, err := tx.clusterState()
	if err != nil {
		return nil, err
	}
	cl.NameSeq++
	tx.changedCluster()
	np := clonePodSpec(p)
	np.Name = p.OwnerName + "-" + nameSuffix(keyNew+cl.NameSeq)
	np.UID = newUUID()
	np.Created = tx.now
	return np, nil
}

// clonePodSpec copies the spec part of a pod (no name, UID, node, status).
func clonePodSpec(p *pod) *pod {
	labels := labelMap{}
	for k, v := range p.Labels {
		labels[k] = v
	}
	return &pod{
		Namespace: p.Namespace, OwnerKind: p.OwnerKind, OwnerName: p.OwnerName,
		Labels: labels, Containers: append([]podContainer(nil), p.Containers...),
		EmptyDir: p.EmptyDir, HostNet: p.HostNet,
	}
}
