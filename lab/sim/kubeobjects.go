package sim

import (
	"fmt"
	"sort"
	"time"
)

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func kubeTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// readyCondition is the node's Ready condition as the API shows it.
func readyCondition(n *nodeState) (status, reason, message string) {
	switch {
	case n.Node.Ready:
		return "True", "KubeletReady", "kubelet is posting ready status"
	case !n.active("kubelet"):
		return "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status."
	}
	return "False", "KubeletNotReady", "container runtime is down, PLEG is not healthy: pleg was last seen active 3m0s ago; threshold is 3m0s"
}

// nodeObject is the node's Node object, decoded-JSON shaped.
func nodeObject(n *nodeState, now time.Time) map[string]any {
	labels := map[string]any{
		"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
		"kubernetes.io/arch": "amd64", "kubernetes.io/hostname": n.Name, "kubernetes.io/os": "linux",
	}
	var taints []any
	if n.Role == RoleControlPlane {
		labels["node-role.kubernetes.io/control-plane"] = ""
		labels["node.kubernetes.io/exclude-from-external-load-balancers"] = ""
		taints = append(taints, map[string]any{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"})
	}
	spec := map[string]any{"podCIDR": n.Node.PodCIDR, "podCIDRs": []any{n.Node.PodCIDR}}
	if n.Node.Unschedulable {
		spec["unschedulable"] = true
		taints = append(taints, map[string]any{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule", "timeAdded": kubeTime(now)})
	}
	if !n.Node.Ready {
		key := "node.kubernetes.io/not-ready"
		if !n.active("kubelet") {
			key = "node.kubernetes.io/unreachable"
		}
		taints = append(taints, map[string]any{"key": key, "effect": "NoSchedule", "timeAdded": kubeTime(n.Node.ReadySince)})
	}
	if len(taints) > 0 {
		spec["taints"] = taints
	}
	status, reason, message := readyCondition(n)
	cond := func(typ, st, reason, msg string, since time.Time) map[string]any {
		return map[string]any{"type": typ, "status": st, "reason": reason, "message": msg,
			"lastHeartbeatTime": kubeTime(now), "lastTransitionTime": kubeTime(since)}
	}
	return map[string]any{
		"apiVersion": "v1", "kind": "Node",
		"metadata": map[string]any{
			"name": n.Name, "creationTimestamp": kubeTime(n.Node.Created), "labels": labels,
			"annotations": map[string]any{
				"flannel.alpha.coreos.com/public-ip":                     n.Node.InternalIP,
				"kubeadm.alpha.kubernetes.io/cri-socket":                 "unix:///var/run/crio/crio.sock",
				"node.alpha.kubernetes.io/ttl":                           "0",
				"volumes.kubernetes.io/controller-managed-attach-detach": "true",
			},
		},
		"spec": spec,
		"status": map[string]any{
			"addresses": []any{
				map[string]any{"type": "InternalIP", "address": n.Node.InternalIP},
				map[string]any{"type": "Hostname", "address": n.Name},
			},
			"conditions": []any{
				cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available", n.Node.Created),
				cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure", n.Node.Created),
				cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available", n.Node.Created),
				cond("Ready", status, reason, message, n.Node.ReadySince),
			},
			"nodeInfo": map[string]any{
				"architecture": "amd64", "bootID": n.BootID, "containerRuntimeVersion": n.Node.RuntimeVersion,
				"kernelVersion": n.kernel(), "kubeProxyVersion": n.Node.KubeletVersion, "kubeletVersion": n.Node.KubeletVersion,
				"machineID": fmt.Sprintf("%032x", n.Index+1), "operatingSystem": "linux", "osImage": "Ubuntu 22.04.4 LTS",
				"systemUUID": fmt.Sprintf("%08x-0000-4000-8000-%012x", n.Index+1, n.Index+1),
			},
		},
	}
}

// podReason is the STATUS column of kubectl get pods.
func podReason(p *pod) string {
	for _, c := range p.Status.Containers {
		if c.State == "waiting" && c.Reason != "" {
			return c.Reason
		}
		if c.State == "terminated" && c.Reason != "" {
			return c.Reason
		}
	}
	if p.Status.Phase == "" {
		return "Pending"
	}
	return p.Status.Phase
}

// podObject is the Pod object, decoded-JSON shaped.
func podObject(p *pod, hostIP string) map[string]any {
	owner := map[string]any{"apiVersion": "apps/v1", "kind": p.OwnerKind, "name": p.OwnerName, "controller": true, "blockOwnerDeletion": true}
	annotations := map[string]any{}
	if p.OwnerKind == ownerNode {
		owner = map[string]any{"apiVersion": "v1", "kind": "Node", "name": p.OwnerName, "controller": true}
		annotations["kubernetes.io/config.source"] = "file"
		annotations["kubernetes.io/config.mirror"] = p.UID
	}
	labels := map[string]any{}
	for k, v := range p.Labels {
		labels[k] = v
	}
	var containers []any
	for _, c := range p.Containers {
		containers = append(containers, map[string]any{"name": c.Name, "image": c.Image, "imagePullPolicy": "IfNotPresent"})
	}
	spec := map[string]any{
		"containers": containers, "restartPolicy": "Always", "schedulerName": "default-scheduler",
		"terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
	}
	if p.NodeName != "" {
		spec["nodeName"] = p.NodeName
	}
	if p.HostNet {
		spec["hostNetwork"] = true
	}
	if p.EmptyDir {
		spec["volumes"] = []any{map[string]any{"name": "data", "emptyDir": map[string]any{}}}
	}
	boolStatus := func(b bool) string {
		if b {
			return "True"
		}
		return "False"
	}
	status := map[string]any{"phase": p.Status.Phase, "qosClass": "BestEffort"}
	scheduled := p.NodeName != ""
	conds := []any{map[string]any{"type": "PodScheduled", "status": boolStatus(scheduled)}}
	if !scheduled {
		conds[0].(map[string]any)["reason"] = "Unschedulable"
		conds[0].(map[string]any)["message"] = "0/0 nodes are available: no node is Ready and schedulable."
	} else {
		conds = append(conds,
			map[string]any{"type": "Initialized", "status": "True"},
			map[string]any{"type": "ContainersReady", "status": boolStatus(p.Status.Ready)},
			map[string]any{"type": "Ready", "status": boolStatus(p.Status.Ready)})
		status["hostIP"] = hostIP
		status["hostIPs"] = []any{map[string]any{"ip": hostIP}}
	}
	status["conditions"] = conds
	if !p.Status.StartTime.IsZero() {
		status["startTime"] = kubeTime(p.Status.StartTime)
	}
	if p.Status.PodIP != "" {
		status["podIP"] = p.Status.PodIP
		status["podIPs"] = []any{map[string]any{"ip": p.Status.PodIP}}
	}
	var statuses []any
	for _, c := range p.Status.Containers {
		st := map[string]any{}
		switch c.State {
		case "running":
			st["running"] = map[string]any{"startedAt": kubeTime(c.StartedAt)}
		case "terminated":
			st["terminated"] = map[string]any{"exitCode": 255, "reason": c.Reason}
		default:
			w := map[string]any{"reason": c.Reason}
			if c.Message != "" {
				w["message"] = c.Message
			}
			st["waiting"] = w
		}
		cs := map[string]any{
			"name": c.Name, "image": c.Image, "imageID": c.Image, "ready": c.Ready, "started": c.Started,
			"restartCount": c.RestartCount, "state": st, "lastState": map[string]any{},
		}
		if c.ContainerID != "" {
			cs["containerID"] = c.ContainerID
		}
		statuses = append(statuses, cs)
	}
	if statuses != nil {
		status["containerStatuses"] = statuses
	}
	return map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{
			"name": p.Name, "namespace": p.Namespace, "uid": p.UID, "creationTimestamp": kubeTime(p.Created),
			"labels": labels, "annotations": annotations, "ownerReferences": []any{owner},
		},
		"spec":   spec,
		"status": status,
	}
}

// kubeDuration is apimachinery's HumanDuration, as kubectl shows ages.
func kubeDuration(d time.Duration) string {
	if s := int(d.Seconds()); s < -1 {
		return "<invalid>"
	} else if s < 0 {
		return "0s"
	} else if s < 60*2 {
		return fmt.Sprintf("%ds", s)
	}
	minutes := int(d / time.Minute)
	if minutes < 10 {
		if s := int(d/time.Second) % 60; s != 0 {
			return fmt.Sprintf("%dm%ds", minutes, s)
		}
		return fmt.Sprintf("%dm", minutes)
	} else if minutes < 60*3 {
		return fmt.Sprintf("%dm", minutes)
	}
	hours := int(d / time.Hour)
	switch {
	case hours < 8:
		if m := minutes % 60; m != 0 {
			return fmt.Sprintf("%dh%dm", hours, m)
		}
		return fmt.Sprintf("%dh", hours)
	case hours < 48:
		return fmt.Sprintf("%dh", hours)
	case hours < 24*8:
		if h := hours % 24; h != 0 {
			return fmt.Sprintf("%dd%dh", hours/24, h)
		}
		return fmt.Sprintf("%dd", hours/24)
	case hours < 24*365*2:
		return fmt.Sprintf("%dd", hours/24)
	case hours < 24*365*8:
		if dy := hours / 24 % 365; dy != 0 {
			return fmt.Sprintf("%dy%dd", hours/24/365, dy)
		}
		return fmt.Sprintf("%dy", hours/24/365)
	}
	return fmt.Sprintf("%dy", hours/24/365)
}
