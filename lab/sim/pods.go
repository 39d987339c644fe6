package sim

import "time"

// Workloads of the lab cluster. Pod names are the owner's name plus a
// generated suffix (deterministic here, see nameSuffix).
const (
	rsCoreDNS = "coredns-76f75df574"
	rsWeb     = "web-6d4cf56db6"
	rsCache   = "cache-7b9c8d5f4c"
	rsAPI     = "api-5f8d7c9b6d"
)

// initialPods are the pods bound to a new node: the daemonset pods on every
// node, the static control-plane pods and CoreDNS on control-plane nodes,
// and on the i-th worker a web pod, a cache pod (with an emptyDir) when i is
// even, and an api pod when i is a multiple of 3.
func (tx *txn) initialPods(cfg NodeConfig, idx int, created time.Time) []*pod {
	mk := func(name, ns, kind, owner string, labels labelMap, hostNet bool, containers ...podContainer) *pod {
		return &pod{
			Name: name, Namespace: ns, UID: newUUID(), Created: created,
			OwnerKind: kind, OwnerName: owner, Labels: labels, HostNet: hostNet,
			Containers: containers, NodeName: cfg.Name, Status: podStatus{Phase: "Pending"},
		}
	}
	pods := []*pod{
		mk("kube-flannel-ds-"+nameSuffix(keyFlannel+idx), "kube-flannel", ownerDaemonSet, "kube-flannel-ds",
			labelMap{"app": "flannel", "k8s-app": "flannel", "tier": "node", "controller-revision-hash": "5f6c8d9b7c", "pod-template-generation": "1"},
			true, podContainer{Name: "kube-flannel", Image: "docker.io/flannel/flannel:v0.25.1"}),
		mk("kube-proxy-"+nameSuffix(keyKubeProxy+idx), "kube-system", ownerDaemonSet, "kube-proxy",
			labelMap{"k8s-app": "kube-proxy", "controller-revision-hash": "7d5b9c6f8b", "pod-template-generation": "1"},
			true, podContainer{Name: "kube-proxy", Image: "registry.k8s.io/kube-proxy:" + kubeVersion}),
	}
	if cfg.Role == RoleControlPlane {
		for _, c := range []struct{ name, image string }{
			{"etcd", "registry.k8s.io/etcd:3.5.10-0"},
			{"kube-apiserver", "registry.k8s.io/kube-apiserver:" + kubeVersion},
			{"kube-controller-manager", "registry.k8s.io/kube-controller-manager:" + kubeVersion},
			{"kube-scheduler", "registry.k8s.io/kube-scheduler:" + kubeVersion},
		} {
			pods = append(pods, mk(c.name+"-"+cfg.Name, "kube-system", ownerNode, cfg.Name,
				labelMap{"component": c.name, "tier": "control-plane"}, true,
				podContainer{Name: c.name, Image: c.image}))
		}
	}
	if cfg.Name == tx.w.firstNode(RoleControlPlane) || (tx.w.firstNode(RoleControlPlane) == "" && cfg.Name == tx.w.firstNode(RoleWorker)) {
		for k := 0; k < 2; k++ {
			pods = append(pods, mk(rsCoreDNS+"-"+nameSuffix(keyCoreDNS+k), "kube-system", ownerReplicaSet, rsCoreDNS,
				labelMap{"k8s-app": "kube-dns", "pod-template-hash": "76f75df574"}, false,
				podContainer{Name: "coredns", Image: "registry.k8s.io/coredns/coredns:v1.11.1"}))
		}
	}
	if cfg.Role == RoleWorker {
		w := tx.w.workerIndex(cfg.Name)
		pods = append(pods, mk(rsWeb+"-"+nameSuffix(keyWeb+idx), "default", ownerReplicaSet, rsWeb,
			labelMap{"app": "web", "pod-template-hash": "6d4cf56db6"}, false,
			podContainer{Name: "nginx", Image: "docker.io/library/nginx:1.25.4"}))
		if w%2 == 0 {
			p := mk(rsCache+"-"+nameSuffix(keyCache+idx), "default", ownerReplicaSet, rsCache,
				labelMap{"app": "cache", "pod-template-hash": "7b9c8d5f4c"}, false,
				podContainer{Name: "redis", Image: "docker.io/library/redis:7.2.4"})
			p.EmptyDir = true
			pods = append(pods, p)
		}
		if w%3 == 0 {
			pods = append(pods, mk(rsAPI+"-"+nameSuffix(keyAPI+idx), "default", ownerReplicaSet, rsAPI,
				labelMap{"app": "api", "pod-template-hash": "5f8d7c9b6d"}, false,
				podContainer{Name: "api", Image: "ghcr.io/example/api:2.3.1"},
				podContainer{Name: "envoy", Image: "docker.io/envoyproxy/envoy:v1.29.2"}))
		}
	}
	return pods
}

// firstNode is the first configured node of a role, or "".
func (w *World) firstNode(role string) string {
	for _, c := range w.configs {
		if c.Role == role {
			return c.Name
		}
	}
	return ""
}

// workerIndex is the position of the node among the workers.
func (w *World) workerIndex(name string) int {
	i := 0
	for _, c := range w.configs {
		if c.Name == name {
			return i
		}
		if c.Role == RoleWorker {
			i++
		}
	}
	return i
}
