package sim

import (
	"os"
	"strings"
)

// unitDef is a systemd unit the lab knows.
type unitDef struct {
	Name        string
	Description string
	Package     string // the unit exists only while this package is installed ("" = always)
	Path        string // unit file
	Static      bool   // cannot be enabled or disabled
	Aliases     []string
}

var unitDefs = []*unitDef{
	{Name: "crio", Description: "Container Runtime Interface for OCI (CRI-O)", Package: "cri-o", Path: "/lib/systemd/system/crio.service", Aliases: []string{"cri-o"}},
	{Name: "kubelet", Description: "kubelet: The Kubernetes Node Agent", Package: "kubelet", Path: "/lib/systemd/system/kubelet.service"},
	{Name: "ssh", Description: "OpenBSD Secure Shell server", Path: "/lib/systemd/system/ssh.service", Aliases: []string{"sshd"}},
	{Name: "cron", Description: "Regular background program processing daemon", Path: "/lib/systemd/system/cron.service"},
	{Name: "systemd-journald", Description: "Journal Service", Path: "/lib/systemd/system/systemd-journald.service", Static: true},
}

// lookupUnit finds a unit by the name given on a command line ("crio",
// "crio.service", an alias).
func lookupUnit(arg string) *unitDef {
	name := strings.TrimSuffix(arg, ".service")
	for _, d := range unitDefs {
		if d.Name == name {
			return d
		}
		for _, a := range d.Aliases {
			if a == name {
				return d
			}
		}
	}
	return nil
}

// unitName is the full unit name, e.g. crio.service.
func (d *unitDef) unitName() string { return d.Name + ".service" }

// present reports whether the unit exists on the node (its package is
// installed).
func (d *unitDef) present(root *os.Root) bool {
	return d.Package == "" || installedVersion(root, d.Package) != ""
}

// startUnit starts a unit; false when it failed to start.
func (tx *txn) startUnit(n *nodeState, root *os.Root, d *unitDef) bool {
	switch d.Name {
	case "crio":
		return tx.startCrio(n, root)
	case "kubelet":
		return tx.startKubelet(n, root)
	}
	u := n.unit(d.Name)
	if u.Active != "active" {
		u.Active, u.Since, u.PID = "active", tx.now, n.newPID()
		tx.systemdLog(n, d.unitName(), prioInfo, "Started "+d.Description+".")
	}
	return true
}

// stopUnit stops a unit.
func (tx *txn) stopUnit(n *nodeState, root *os.Root, d *unitDef) {
	switch d.Name {
	case "crio":
		tx.stopCrio(n, root)
		return
	case "kubelet":
		tx.stopKubelet(n)
		return
	}
	u := n.unit(d.Name)
	if u.Active == "active" {
		tx.systemdLog(n, d.unitName(), prioInfo, "Stopping "+d.Description+"...")
		tx.systemdLog(n, d.unitName(), prioInfo, "Stopped "+d.Description+".")
	}
	u.Active, u.Since, u.PID = "inactive", tx.now, 0
}

// restartUnit stops and starts a unit; false when the start failed.
func (tx *txn) restartUnit(n *nodeState, root *os.Root, d *unitDef) bool {
	tx.stopUnit(n, root, d)
	return tx.startUnit(n, root, d)
}

// failUnit records a failed start of a unit.
func (tx *txn) failUnit(n *nodeState, d *unitDef) {
	u := n.unit(d.Name)
	u.Active, u.Since, u.PID = "failed", tx.now, 0
	tx.systemdLog(n, d.unitName(), prioInfo, d.unitName()+": Main process exited, code=exited, status=1/FAILURE")
	tx.systemdLog(n, d.unitName(), prioWarning, d.unitName()+": Failed with result 'exit-code'.")
	tx.systemdLog(n, d.unitName(), prioErr, "Failed to start "+d.Description+".")
}
