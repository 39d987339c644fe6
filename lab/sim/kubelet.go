package sim

import (
	"fmt"
	"strconv"
)

// kubeletSync is one reconcile of the node's kubelet: sandboxes of pods no
// longer bound to the node are stopped and removed; every bound pod without
// a ready sandbox gets a new one (attempt 0 when the pod has no sandbox at
// all, as after a wipe); containers that exited are restarted; the pod
// statuses and the node's Ready condition are updated. Nothing happens
// while kubelet or crio is down.
func (tx *txn) kubeletSync(n *nodeState) {
	if !n.active("kubelet") || !n.active("crio") {
		if n.active("kubelet") {
			tx.kubeletLog(n, prioErr, `"Container runtime not ready" runtimeReady="RuntimeReady=false reason: dial unix /var/run/crio/crio.sock: connect: no such file or directory"`)
		}
		tx.updateNodeReady(n)
		return
	}
	bound := map[string]bool{}
	for _, p := range n.Pods {
		bound[p.UID] = true
	}
	kept := n.Sandboxes[:0]
	for _, s := range n.Sandboxes {
		if bound[s.PodUID] {
			kept = append(kept, s)
			continue
		}
		tx.crioLog(n, "info", fmt.Sprintf("Stopped pod sandbox: %s", s.ID))
		tx.crioLog(n, "info", fmt.Sprintf("Removed pod sandbox: %s", s.ID))
	}
	n.Sandboxes = kept
	for _, p := range n.Pods {
		tx.syncPod(n, p)
	}
	tx.updateNodeReady(n)
}

// syncPod makes the pod's sandbox and containers run, then records its status.
func (tx *txn) syncPod(n *nodeState, p *pod) {
	s := n.liveSandbox(p.UID)
	if s == nil {
		attempt := 0
		kept := n.Sandboxes[:0]
		for _, old := range n.Sandboxes {
			if old.PodUID != p.UID {
				kept = append(kept, old)
				continue
			}
			if old.Attempt+1 > attempt {
				attempt = old.Attempt + 1
			}
			tx.crioLog(n, "info", fmt.Sprintf("Removed pod sandbox: %s", old.ID))
		}
		n.Sandboxes = kept
		s = tx.newSandbox(n, p, attempt)
		n.Sandboxes = append(n.Sandboxes, s)
	}
	for i, spec := range p.Containers {
		var c *container
		for _, sc := range s.Containers {
			if sc.Name == spec.Name {
				c = sc
			}
		}
		switch {
		case c == nil:
			restart := 0
			if i < len(p.Status.Containers) && p.Status.Containers[i].ContainerID != "" {
				restart = p.Status.Containers[i].RestartCount + 1
			}
			s.Containers = append(s.Containers, tx.newContainer(n, s, p, spec, restart))
		case c.State == containerExited:
			nc := tx.newContainer(n, s, p, spec, c.Attempt+1)
			for j, sc := range s.Containers {
				if sc == c {
					s.Containers[j] = nc
				}
			}
		}
	}
	tx.recordPodStatus(n, p, s)
}

// newSandbox runs a pod sandbox for p on the node.
func (tx *txn) newSandbox(n *nodeState, p *pod, attempt int) *sandbox {
	ip := n.Node.InternalIP
	if !p.HostNet {
		n.NextIP++
		if n.NextIP < 2 || n.NextIP > 254 {
			n.NextIP = 2
		}
		ip = podIP(n.Index, n.NextIP)
	}
	labels := labelMap{
		"io.kubernetes.pod.name":      p.Name,
		"io.kubernetes.pod.namespace": p.Namespace,
		"io.kubernetes.pod.uid":       p.UID,
	}
	for k, v := range p.Labels {
		labels[k] = v
	}
	s := &sandbox{
		ID: newHexID(), PodUID: p.UID, PodName: p.Name, Namespace: p.Namespace,
		Attempt: attempt, State: sandboxReady, Created: tx.now, IP: ip,
		Runtime: n.Crio.Runtime, Labels: labels,
	}
	if p.OwnerKind == ownerNode {
		s.Source = "file"
	}
	tx.crioLog(n, "info", fmt.Sprintf("Running pod sandbox: %s/%s/POD", p.Namespace, p.Name))
	tx.crioLog(n, "info", fmt.Sprintf("Ran pod sandbox %s with infra container: %s/%s/POD", s.ID, p.Namespace, p.Name))
	return s
}

// newContainer creates and starts a container of a sandbox.
func (tx *txn) newContainer(n *nodeState, s *sandbox, p *pod, spec podContainer, attempt int) *container {
	c := &container{
		ID: newHexID(), Name: spec.Name, Image: spec.Image, Attempt: attempt,
		State: containerRunning, Created: tx.now, Runtime: n.Crio.Runtime,
	}
	tx.crioLog(n, "info", fmt.Sprintf("Created container %s: %s/%s/%s", c.ID, p.Namespace, p.Name, spec.Name))
	tx.crioLog(n, "info", fmt.Sprintf("Started container PID=%d containerID=%s description=%s/%s/%s", n.newPID(), c.ID, p.Namespace, p.Name, spec.Name))
	return c
}

// recordPodStatus writes what kubelet reports for the pod.
func (tx *txn) recordPodStatus(n *nodeState, p *pod, s *sandbox) {
	st := &p.Status
	st.Phase = "Running"
	if st.StartTime.IsZero() {
		st.StartTime = s.Created
	}
	st.PodIP = s.IP
	var statuses []containerStatus
	ready := true
	for _, spec := range p.Containers {
		cs := containerStatus{Name: spec.Name, Image: spec.Image, State: "waiting", Reason: "ContainerCreating"}
		for _, c := range s.Containers {
			if c.Name != spec.Name {
				continue
			}
			cs.ContainerID = "cri-o://" + c.ID
			cs.RestartCount = c.Attempt
			switch c.State {
			case containerRunning:
				cs.State, cs.Reason, cs.Ready, cs.Started, cs.StartedAt = "running", "", true, true, c.Created
			case containerUnknown:
				cs.State, cs.Reason, cs.Message = "waiting", "RunContainerError", "failed to start container: listen tcp: bind: address already in use"
			default:
				cs.State, cs.Reason = "terminated", "Error"
			}
		}
		if !cs.Ready {
			ready = false
		}
		statuses = append(statuses, cs)
	}
	st.Containers = statuses
	st.Ready = ready && n.Node.Ready
}

// updateNodeReady sets the node's Ready condition: kubelet and crio active.
// A node that is not ready has its pods marked not ready, as the node
// lifecycle controller does.
func (tx *txn) updateNodeReady(n *nodeState) {
	ready := n.active("kubelet") && n.active("crio")
	changed := ready != n.Node.Ready
	if changed {
		n.Node.Ready, n.Node.ReadySince = ready, tx.now
		if n.active("kubelet") {
			if ready {
				tx.kubeletLog(n, prioInfo, fmt.Sprintf(`"Node became ready" node=%q`, n.Name))
			} else {
				tx.kubeletLog(n, prioInfo, fmt.Sprintf(`"Node became not ready" node=%q condition={"type":"Ready","status":"False","reason":"KubeletNotReady"}`, n.Name))
			}
		}
	}
	for _, p := range n.Pods {
		if !ready {
			p.Status.Ready = false
			for i := range p.Status.Containers {
				p.Status.Containers[i].Ready = false
			}
		} else if s := n.liveSandbox(p.UID); s != nil && changed {
			tx.recordPodStatus(n, p, s)
		}
	}
	if changed && ready {
		tx.schedulePending()
	}
}

// podIP is the address of the k-th pod of the node with the given index.
func podIP(index, k int) string {
	return "10." + strconv.Itoa(244+index/256) + "." + strconv.Itoa(index%256) + "." + strconv.Itoa(k)
}

// nodeIP is the InternalIP of the node with the given index.
func nodeIP(index int) string {
	return fmt.Sprintf("10.0.%d.%d", (index+10)/250, (index+10)%250+1)
}

// podCIDR is the pod network of the node with the given index.
func podCIDR(index int) string {
	return fmt.Sprintf("10.%d.%d.0/24", 244+index/256, index%256)
}
