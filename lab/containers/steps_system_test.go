package containers

import (
	"fmt"
	"strings"
	"testing"

	"github.com/runbookhq/runbook/steps"
)

// TestSystemdOnDebian restarts, disables and enables rbdemo, reloads
// systemd with and without a changed unit file, and meets a unit that
// fails to start: the step fails with the unit's own journal lines.
func TestSystemdOnDebian(t *testing.T) {
	l := sharedLab(t)
	h := dialStepHost(t, l, "svc", LoginUser, nil)
	pid := h.sh("systemctl show -p MainPID --value rbdemo")
	r := h.step(`systemd: {name: rbdemo, state: restarted}`, steps.Changed)
	if r.Data["active_after"] != "active" || h.sh("systemctl show -p MainPID --value rbdemo") == pid {
		t.Errorf("restart: data %v, main pid %s before and after", r.Data, pid)
	}
	h.step(`systemd: {name: rbdemo, state: started}`, steps.OK)
	h.step(`systemd: {name: rbdemo, enabled: false}`, steps.Changed)
	if got := strings.TrimSpace(h.sh("systemctl is-enabled rbdemo || true")); got != "disabled" {
		t.Errorf("is-enabled %q after disable", got)
	}
	h.step(`systemd: {name: rbdemo, enabled: true}`, steps.Changed)
	h.step(`systemd: {name: rbdemo, enabled: true, state: started}`, steps.OK)

	// daemon-reload is a change only when a unit file changed on disk.
	h.step(`systemd: {name: rbdemo, state: started, daemon_reload: true}`, steps.OK)
	h.sh("mkdir -p /etc/systemd/system/rbdemo.service.d && printf '[Service]\\nEnvironment=RB=1\\n' > /etc/systemd/system/rbdemo.service.d/rb.conf")
	r = h.step(`systemd: {name: rbdemo, state: started, daemon_reload: true}`, steps.Changed)
	if r.Data["needed_daemon_reload"] != true {
		t.Errorf("data %v", r.Data)
	}
	h.step(`systemd: {name: rbdemo, daemon_reload: true}`, steps.OK)

	// rbdemo 2.1-1 cannot start.
	h.step(`apt: {name: rbdemo, version: 2.1-1}`, steps.Changed)
	r = h.step(`systemd: {name: rbdemo, state: restarted, timeout: 30s}`, steps.Failed)
	for _, want := range []string{"systemd: rbdemo is failed after restart", "rbdemo 2.1-1: fatal: worker pool /etc/rbdemo/pool.d is missing"} {
		if !strings.Contains(r.Err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, r.Err)
		}
	}
	if strings.Contains(r.Err.Error(), "Failed to kill control group") {
		t.Errorf("the node's systemd cannot manage its cgroups:\n%v", r.Err)
	}
	h.step(`apt: {name: rbdemo, version: 1.0-1, allow_downgrade: true}`, steps.Changed)
	h.step(`systemd: {name: rbdemo, state: restarted}`, steps.Changed)
}

// TestRebootAndWaitForOnDebian reboots a node (the lab boots it again
// with a new boot id), carries on over the same transport, and waits for
// rbdemo's port on the node's address.
func TestRebootAndWaitForOnDebian(t *testing.T) {
	l := sharedLab(t)
	h := dialStepHost(t, l, "svc", LoginUser, nil)
	addr, _, _ := l.Addr("svc")
	boots := l.Boots("svc")
	r := h.step(`reboot: {timeout: 3m}`, steps.Changed)
	if r.Data["boot_id_after"] == r.Data["boot_id_before"] || r.Data["boot_id_after"] == nil {
		t.Errorf("boot ids %v", r.Data)
	}
	if l.Boots("svc") != boots+1 {
		t.Errorf("boots %d, want %d", l.Boots("svc"), boots+1)
	}
	if got := strings.TrimSpace(h.sh("cat /proc/sys/kernel/random/boot_id")); got != r.Data["boot_id_after"] {
		t.Errorf("the next command runs on boot %s, not %v", got, r.Data["boot_id_after"])
	}
	h.step(fmt.Sprintf(`wait_for: {port: 8080, host: %q, timeout: 1m}`, addr), steps.OK)
	r = h.step(fmt.Sprintf(`wait_for: {port: 8081, host: %q, timeout: 3s, interval: 1s}`, addr), steps.Failed)
	if !strings.Contains(r.Err.Error(), "8081") {
		t.Errorf("wait_for error %v", r.Err)
	}
	h.step(`wait_for: {command: "systemctl is-active rbdemo", timeout: 1m}`, steps.OK)
}
