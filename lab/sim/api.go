// Package sim is the simulated system of the lab: Ubuntu 22.04 nodes with
// apt, dpkg, systemd, CRI-O and kubelet, and one shared Kubernetes cluster,
// served to each node's shell as programs (apt-get, systemctl, crio, crictl,
// kubectl, reboot, nc, curl, gpg, ...). CRI-O behaves as shared/CRIO.md
// describes: a minor version change seen at crio start wipes every pod
// sandbox of the node. Kernels are packages too (linux-image-RELEASE from
// jammy-updates and jammy-security): a node boots the newest one installed.
//
// State on disk, under the directory given to OpenWorld:
//
//	lock                    flock'd by every change (several processes may share the lab)
//	cluster.json            pods waiting for a node, the counter of generated pod names
//	nodes/NAME/root/        the node's file system (apt lists, dpkg status, /etc/crio, /run, ...)
//	nodes/NAME/state.json   units, the crio daemon and its sandboxes, kubelet, the Node object
//	                        and the pods bound to the node
//	nodes/NAME/journal.jsonl the node's journal
//
// A node's state is created the first time the node is used.
package sim

import "time"

// Faults are the failures a lab node can be told to show, set per host in
// the inventory (lab_faults).
type Faults struct {
	// AptInstallFails makes apt-get install of cri-o fail with a dpkg error
	// for any version other than the node's initial one (so a rollback to the
	// initial version still works).
	AptInstallFails bool `yaml:"apt_install_fails" json:"apt_install_fails,omitempty"`
	// CrioStartFails makes crio fail to start while the installed cri-o
	// version differs from the node's initial one.
	CrioStartFails bool `yaml:"crio_start_fails" json:"crio_start_fails,omitempty"`
	// UnreachableAfter is handled by the lab server (the node stops answering
	// after that many commands); the simulation ignores it.
	UnreachableAfter int `yaml:"unreachable_after" json:"unreachable_after,omitempty"`
	// Slow is handled by the lab server (every command is delayed); the
	// simulation ignores it.
	Slow time.Duration `yaml:"slow" json:"slow,omitempty"`
}

// Node roles.
const (
	RoleControlPlane = "control-plane"
	RoleWorker       = "worker"
)

// NodeConfig is one node of the lab as the inventory describes it.
type NodeConfig struct {
	// Name is the inventory host name, also the Kubernetes node name.
	Name string
	// Role is RoleControlPlane or RoleWorker.
	Role string
	// Faults are the failures this node shows.
	Faults Faults
}

// NodeStatus is a node as `runbook lab status` shows it.
type NodeStatus struct {
	Name           string            `json:"name"`
	Role           string            `json:"role"`
	BootID         string            `json:"boot_id"`
	Kernel         string            `json:"kernel"`          // release of the running kernel (uname -r)
	CrioVersion    string            `json:"crio_version"`    // installed cri-o package version ("" when not installed)
	CrioRunning    string            `json:"crio_running"`    // version of the running crio daemon ("" when not running)
	KubeletVersion string            `json:"kubelet_version"` // installed kubelet package version
	DefaultRuntime string            `json:"default_runtime"` // effective default_runtime of the running crio
	Services       map[string]string `json:"services"`        // unit -> active|inactive|failed
	Ready          bool              `json:"ready"`
	Cordoned       bool              `json:"cordoned"`
	Pods           []PodStatus       `json:"pods"`
}

// PodStatus is one pod bound to a node, with its live sandbox.
type PodStatus struct {
	Name      string    `json:"name"`
	Namespace string    `json:"namespace"`
	UID       string    `json:"uid"`
	SandboxID string    `json:"sandbox_id"` // "" when the pod has no live sandbox
	Created   time.Time `json:"created"`    // creation of the live sandbox
	Restarts  int       `json:"restarts"`
	Ready     bool      `json:"ready"`
}
