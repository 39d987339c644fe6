package sim

import "time"

// nodeState is everything of a node that is not a file of its root: the
// systemd units, the running CRI-O daemon and its pod sandboxes, kubelet,
// and the node's share of the cluster (its Node object and the pods bound to
// it). It is stored as JSON in STATE_DIR/lab/nodes/NAME/state.json.
type nodeState struct {
	Name        string    `json:"name"`
	Role        string    `json:"role"`
	Index       int       `json:"index"`
	InitialCrio string    `json:"initial_crio"`
	BootID      string    `json:"boot_id"`
	BootedAt    time.Time `json:"booted_at"`
	Kernel      string    `json:"kernel,omitempty"` // release of the running kernel
	NextPID     int       `json:"next_pid"`
	NextIP      int       `json:"next_ip"`

	Units     map[string]*unitState `json:"units"`
	Crio      crioDaemon            `json:"crio"`
	Kubelet   kubeletDaemon         `json:"kubelet"`
	Sandboxes []*sandbox            `json:"sandboxes"`

	Node kubeNode `json:"node"`
	Pods []*pod   `json:"pods"`

	faults Faults // from the configuration, never stored
}

// unitState is one systemd unit of a node.
type unitState struct {
	Enabled  bool      `json:"enabled"`
	Active   string    `json:"active"` // active | inactive | failed
	Since    time.Time `json:"since"`
	PID      int       `json:"pid"`
	Restarts int       `json:"restarts"`
}

// crioDaemon is what the running crio loaded at its start.
type crioDaemon struct {
	Version string `json:"version,omitempty"` // binary version, e.g. 1.30.4
	Runtime string `json:"runtime,omitempty"` // effective default_runtime
	Config  string `json:"config,omitempty"`  // effective configuration, TOML
}

// kubeletDaemon is what the running kubelet loaded at its start.
type kubeletDaemon struct {
	Version string `json:"version,omitempty"` // e.g. 1.29.6
}

// Sandbox and container states, as CRI names them.
const (
	sandboxReady     = "SANDBOX_READY"
	sandboxNotReady  = "SANDBOX_NOTREADY"
	containerRunning = "CONTAINER_RUNNING"
	containerExited  = "CONTAINER_EXITED"
	containerUnknown = "CONTAINER_UNKNOWN"
)

// sandbox is one CRI-O pod sandbox with its containers.
type sandbox struct {
	ID         string       `json:"id"`
	PodUID     string       `json:"pod_uid"`
	PodName    string       `json:"pod_name"`
	Namespace  string       `json:"namespace"`
	Attempt    int          `json:"attempt"`
	State      string       `json:"state"`
	Created    time.Time    `json:"created"`
	IP         string       `json:"ip"`
	Runtime    string       `json:"runtime"` // runtime the infra container runs with
	Labels     labelMap     `json:"labels"`
	Source     string       `json:"source,omitempty"` // kubelet's config source: "file" for a static pod, else the API
	Containers []*container `json:"containers"`
}

// container is one container of a sandbox.
type container struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Image    string    `json:"image"`
	Attempt  int       `json:"attempt"`
	State    string    `json:"state"`
	Created  time.Time `json:"created"`
	Finished time.Time `json:"finished,omitzero"`
	ExitCode int       `json:"exit_code"`
	Reason   string    `json:"reason,omitempty"`
	Message  string    `json:"message,omitempty"`
	Runtime  string    `json:"runtime"` // runtime the container was created with
}

// kubeNode is the node's Node object of the cluster.
type kubeNode struct {
	Created        time.Time `json:"created"`
	Unschedulable  bool      `json:"unschedulable"`
	Ready          bool      `json:"ready"`
	ReadySince     time.Time `json:"ready_since"`
	KubeletVersion string    `json:"kubelet_version"` // v1.29.6
	RuntimeVersion string    `json:"runtime_version"` // cri-o://1.29.9
	InternalIP     string    `json:"internal_ip"`
	PodCIDR        string    `json:"pod_cidr"`
}

// Pod owner kinds.
const (
	ownerDaemonSet  = "DaemonSet"
	ownerReplicaSet = "ReplicaSet"
	ownerNode       = "Node" // static pod, seen through its mirror pod
)

// pod is a Pod object of the cluster.
type pod struct {
	Name       string         `json:"name"`
	Namespace  string         `json:"namespace"`
	UID        string         `json:"uid"`
	Created    time.Time      `json:"created"`
	OwnerKind  string         `json:"owner_kind"`
	OwnerName  string         `json:"owner_name"`
	Labels     labelMap       `json:"labels"`
	Containers []podContainer `json:"containers"`
	EmptyDir   bool           `json:"empty_dir,omitempty"`
	HostNet    bool           `json:"host_network,omitempty"`
	NodeName   string         `json:"node_name"`
	Status     podStatus      `json:"status"`
}

// podContainer is one container of a pod's spec.
type podContainer struct {
	Name  string `json:"name"`
	Image string `json:"image"`
}

// podStatus is what kubelet last reported for a pod.
type podStatus struct {
	Phase      string            `json:"phase"` // Pending | Running
	Ready      bool              `json:"ready"`
	StartTime  time.Time         `json:"start_time,omitzero"`
	PodIP      string            `json:"pod_ip,omitempty"`
	Containers []containerStatus `json:"containers,omitempty"`
}

// containerStatus is one entry of status.containerStatuses.
type containerStatus struct {
	Name         string    `json:"name"`
	ContainerID  string    `json:"container_id,omitempty"`
	Image        string    `json:"image"`
	Ready        bool      `json:"ready"`
	Started      bool      `json:"started"`
	RestartCount int       `json:"restart_count"`
	State        string    `json:"state"` // running | waiting | terminated
	Reason       string    `json:"reason,omitempty"`
	Message      string    `json:"message,omitempty"`
	StartedAt    time.Time `json:"started_at,omitzero"`
}

// labelMap is a set of Kubernetes labels.
type labelMap map[string]string

// clusterState is the cluster-wide part of the state that belongs to no
// node: pods waiting for a node, the counter behind new pod names, and the
// disruption budgets. It
// is stored in STATE_DIR/lab/cluster.json.
type clusterState struct {
	Created time.Time `json:"created"`
	NameSeq int       `json:"name_seq"`
	Pending []*pod    `json:"pending"`
	PDBs    []*pdb    `json:"pdbs,omitempty"`   // PodDisruptionBudgets (kubepdb.go)
	Leases  []*lease  `json:"leases,omitempty"` // the controllers' Leases once handed over (kubelease.go)
}

// unit returns the named unit, creating it inactive when absent.
func (n *nodeState) unit(name string) *unitState {
	if n.Units == nil {
		n.Units = map[string]*unitState{}
	}
	u := n.Units[name]
	if u == nil {
		u = &unitState{Active: "inactive"}
		n.Units[name] = u
	}
	return u
}

// kernel is the release of the running kernel.
func (n *nodeState) kernel() string {
	if n.Kernel == "" {
		return initialKernel
	}
	return n.Kernel
}

// active reports whether the unit is active.
func (n *nodeState) active(name string) bool {
	u := n.Units[name]
	return u != nil && u.Active == "active"
}

// newPID returns a fresh process id of the node.
func (n *nodeState) newPID() int {
	if n.NextPID < 1000 {
		n.NextPID = 1000 + n.Index%500*7
	}
	n.NextPID += 1 + n.NextPID%7
	return n.NextPID
}

// liveSandbox returns the pod's ready sandbox, or nil.
func (n *nodeState) liveSandbox(uid string) *sandbox {
	for i := len(n.Sandboxes) - 1; i >= 0; i-- {
		s := n.Sandboxes[i]
		if s.PodUID == uid && s.State == sandboxReady {
			return s
		}
	}
	return nil
}
