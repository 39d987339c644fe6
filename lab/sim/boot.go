package sim

import (
	"fmt"
	"os"
)

const (
	bootIDPath    = "/proc/sys/kernel/random/boot_id"
	osReleasePath = "/proc/sys/kernel/osrelease"
	initialKernel = "5.15.0-119-generic" // what a node runs without a kernel package
)

// boot brings the node up: a new boot id, then the enabled units in order
// (crio before kubelet, so that kubelet reconciles against the new crio).
func (tx *txn) boot(n *nodeState, root *os.Root) error {
	n.BootID = newUUID()
	n.BootedAt = tx.now
	if err := writeRootFile(root, bootIDPath, []byte(bootIDText(n.BootID)), 0o444); err != nil {
		return fmt.Errorf("lab: %s: boot: %w", n.Name, err)
	}
	release, version := bootKernel(root)
	if release == "" {
		release, version = initialKernel, oldKernelVersion
	}
	n.Kernel = release
	if err := writeRootFile(root, osReleasePath, []byte(release+"\n"), 0o444); err != nil {
		return fmt.Errorf("lab: %s: boot: %w", n.Name, err)
	}
	if err := writeRootFile(root, kernelVersionPath, []byte("#"+kernelBuild(version)+"-Ubuntu SMP Fri Aug 2 19:25:20 UTC 2024\n"), 0o444); err != nil {
		return fmt.Errorf("lab: %s: boot: %w", n.Name, err)
	}
	tx.log(n, "", "kernel", 0, prioInfo, kernelBanner(release, version))
	tx.systemdLog(n, "", prioInfo, "systemd 249.11-0ubuntu3.12 running in system mode")
	for _, d := range unitDefs {
		u := n.unit(d.Name)
		if (u.Enabled || d.Static) && d.present(root) {
			tx.startUnit(n, root, d)
		}
	}
	tx.updateNodeReady(n)
	return nil
}

// reboot stops everything, forgets what lived in /run (a tmpfs: the CRI-O
// version file goes with it), and boots again. The node's SSH sessions are
// dropped after the transaction (Machine.OnReboot).
func (tx *txn) reboot(n *nodeState, root *os.Root) error {
	if err := tx.handOverLeases(n); err != nil {
		return err
	}
	tx.systemdLog(n, "", prioInfo, "Stopping Session of User root.")
	for i := len(unitDefs) - 1; i >= 0; i-- {
		d := unitDefs[i]
		if n.active(d.Name) {
			tx.stopUnit(n, root, d)
		} else {
			u := n.unit(d.Name)
			u.Active, u.PID = "inactive", 0
		}
	}
	tx.log(n, "", "systemd-shutdown", 1, prioInfo, "Syncing filesystems and block devices.")
	tx.log(n, "", "kernel", 0, prioInfo, "reboot: Restarting system")
	for _, s := range n.Sandboxes {
		s.State = sandboxNotReady
		for _, c := range s.Containers {
			if c.State == containerRunning || c.State == containerUnknown {
				c.State, c.Finished, c.ExitCode, c.Reason = containerExited, tx.now, 255, "Error"
			}
		}
	}
	for _, dir := range []string{"/run", "/var/run"} {
		if err := clearRootDir(root, dir); err != nil {
			return fmt.Errorf("lab: %s: reboot: clearing %s: %w", n.Name, dir, err)
		}
	}
	return tx.boot(n, root)
}
