package sim

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// gitCommitOf is a stable fake commit id of a CRI-O version.
func gitCommitOf(version string) string {
	h := uint64(1469598103934665603)
	for i := 0; i < len(version); i++ {
		h = (h ^ uint64(version[i])) * 1099511628211
	}
	return fmt.Sprintf("%016x%016x%08x", h, h*31+7, uint32(h>>7))
}

// startCrio starts the crio daemon of the node, following CRIO.md: restore,
// then the wipe check against the version file, then the version file is
// written. False when crio failed to start.
func (tx *txn) startCrio(n *nodeState, root *os.Root) bool {
	d := lookupUnit("crio")
	u := n.unit("crio")
	if u.Active == "active" {
		return true
	}
	installed := installedVersion(root, "cri-o")
	version := upstreamVersion(installed)
	u.PID = n.newPID()
	tx.systemdLog(n, d.unitName(), prioInfo, "Starting "+d.Description+"...")
	tx.crioLog(n, "info", fmt.Sprintf("Starting CRI-O, version: %s, git: %s(clean)", version, gitCommitOf(version)))
	if n.faults.CrioStartFails && installed != n.InitialCrio {
		tx.crioLog(n, "fatal", "creating server: failed to initialize storage: mount overlay: invalid argument (lab fault crio_start_fails)")
		tx.failUnit(n, d)
		tx.updateNodeReady(n)
		return false
	}
	cfg, err := loadCrioConfig(root)
	if err == nil {
		err = validateCrioConfig(root, cfg)
	}
	if err != nil {
		tx.crioLog(n, "fatal", err.Error())
		tx.failUnit(n, d)
		tx.updateNodeReady(n)
		return false
	}
	runtime := defaultRuntime(cfg)
	tx.crioLog(n, "info", fmt.Sprintf("Using default runtime %q", runtime))

	// The pod sandboxes of n.Sandboxes are what crio restores from its
	// storage. Then the wipe check.
	vf := versionFilePath(cfg)
	if crioWipeEnabled(cfg) {
		if wipe, why := crioShouldWipe(root, vf, version); wipe {
			tx.crioLog(n, "info", why)
			for _, s := range n.Sandboxes {
				tx.crioLog(n, "info", "Removing pod sandbox: "+s.ID)
				tx.crioLog(n, "info", "Removed pod sandbox: "+s.ID)
			}
			n.Sandboxes = nil
		}
	}
	data, _ := json.Marshal(version)
	if err := writeRootFile(root, vf, data, 0o644); err != nil {
		tx.crioLog(n, "warning", fmt.Sprintf("Writing version file %s: %v", vf, err))
	}

	// A default runtime that changed under running containers breaks them
	// (cri-o/cri-o#8705): crio asks the new runtime about containers the old
	// one runs.
	for _, s := range n.Sandboxes {
		for _, c := range s.Containers {
			if c.State == containerRunning && c.Runtime != runtime {
				c.State = containerUnknown
				c.Reason = "Unknown"
				c.Message = fmt.Sprintf("container was created with runtime %s but the default runtime is now %s", c.Runtime, runtime)
				tx.crioLog(n, "error", fmt.Sprintf("Failed to update container state for %s: %s: container %s does not exist (stray %s process left running)", c.ID, runtime, c.ID, c.Runtime))
				tx.crioLog(n, "error", fmt.Sprintf("Failed to restart container %s of pod sandbox %s: listen tcp: bind: address already in use", c.Name, shortID(s.ID)))
			}
		}
	}
	n.Crio = crioDaemon{Version: version, Runtime: runtime, Config: renderCrioConfig(cfg)}
	u.Active, u.Since = "active", tx.now
	_ = writeRootFile(root, "/var/run/crio/crio.sock", nil, 0o660)
	tx.systemdLog(n, d.unitName(), prioInfo, "Started "+d.Description+".")
	n.Node.RuntimeVersion = "cri-o://" + version
	tx.kubeletSync(n)
	return true
}

// crioShouldWipe is CRI-O's check: the recorded version differs from the
// binary's in major or minor, or the file is missing or unparsable.
func crioShouldWipe(root *os.Root, versionFile, current string) (bool, string) {
	data, err := readRootFile(root, versionFile)
	if err != nil {
		return true, fmt.Sprintf("Version file %s not found: %v: triggering wipe", versionFile, strings.TrimPrefix(err.Error(), "open "))
	}
	var recorded string
	if err := json.Unmarshal(data, &recorded); err != nil {
		return true, fmt.Sprintf("Version read from %s could not be parsed: %v: triggering wipe", versionFile, err)
	}
	old, err := semver.NewVersion(recorded)
	if err != nil {
		return true, fmt.Sprintf("Version read from %s could not be parsed: %v: triggering wipe", versionFile, err)
	}
	cur, err := semver.NewVersion(current)
	if err != nil {
		return true, fmt.Sprintf("Current version %q could not be parsed: %v: triggering wipe", current, err)
	}
	if old.Major() != cur.Major() || old.Minor() != cur.Minor() {
		return true, fmt.Sprintf("%s indicates version %s, current version is %s: major or minor version changed: triggering wipe", versionFile, recorded, current)
	}
	return false, ""
}

// stopCrio stops the crio daemon. The containers keep running (conmon
// holds them); kubelet loses its runtime.
func (tx *txn) stopCrio(n *nodeState, root *os.Root) {
	d := lookupUnit("crio")
	u := n.unit("crio")
	if u.Active == "active" {
		tx.systemdLog(n, d.unitName(), prioInfo, "Stopping "+d.Description+"...")
		tx.crioLog(n, "info", "Received signal to terminate, shutting down")
		tx.systemdLog(n, d.unitName(), prioInfo, d.unitName()+": Deactivated successfully.")
		tx.systemdLog(n, d.unitName(), prioInfo, "Stopped "+d.Description+".")
	}
	u.Active, u.Since, u.PID = "inactive", tx.now, 0
	n.Crio = crioDaemon{}
	if root != nil {
		_ = removeRootPath(root, "/var/run/crio/crio.sock")
	}
	tx.updateNodeReady(n)
}

// startKubelet starts kubelet, which reconciles the node's pods at once.
func (tx *txn) startKubelet(n *nodeState, root *os.Root) bool {
	d := lookupUnit("kubelet")
	u := n.unit("kubelet")
	if u.Active == "active" {
		return true
	}
	version := upstreamVersion(installedVersion(root, "kubelet"))
	u.Active, u.Since, u.PID = "active", tx.now, n.newPID()
	n.Kubelet = kubeletDaemon{Version: version}
	n.Node.KubeletVersion = "v" + version
	tx.systemdLog(n, d.unitName(), prioInfo, "Started "+d.Description+".")
	tx.kubeletLog(n, prioInfo, fmt.Sprintf("Kubelet version: v%s", version))
	tx.kubeletSync(n)
	return true
}

// stopKubelet stops kubelet; the pods keep running as they are.
func (tx *txn) stopKubelet(n *nodeState) {
	d := lookupUnit("kubelet")
	u := n.unit("kubelet")
	if u.Active == "active" {
		tx.systemdLog(n, d.unitName(), prioInfo, "Stopping "+d.Description+"...")
		tx.systemdLog(n, d.unitName(), prioInfo, d.unitName()+": Deactivated successfully.")
		tx.systemdLog(n, d.unitName(), prioInfo, "Stopped "+d.Description+".")
	}
	u.Active, u.Since, u.PID = "inactive", tx.now, 0
	n.Kubelet = kubeletDaemon{}
	tx.updateNodeReady(n)
}
