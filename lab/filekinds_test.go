package lab

import (
	"strings"
	"testing"

	"github.com/runbookhq/runbook/steps"
)

// TestFileKindsOnLab runs the kinds that edit files on a lab node, over
// SSH with become, as a runbook does: CRI-O picks up the TOML drop-in the
// toml kind writes, and each kind is idempotent there too.
func TestFileKindsOnLab(t *testing.T) {
	l := startLab(t, t.TempDir(), threeNodes())
	h := newStepHost(t, l, "worker-1")
	h.x.Diff = true

	t.Run("toml drop-in read by crio", func(t *testing.T) {
		h.t = t
		pin := `toml: {path: /etc/crio/crio.conf.d/99-local.conf, set: {crio.runtime.default_runtime: runc}, create: true, mode: "0644"}`
		r := h.predict(pin, steps.Changed)
		if !strings.Contains(r.Diff, "+default_runtime = \"runc\"") {
			t.Errorf("diff:\n%s", r.Diff)
		}
		h.step(pin, steps.Changed)
		h.step(pin, steps.OK)
		h.step(`systemd: {name: crio, state: restarted}`, steps.Changed)
		if got := h.sh("crio status config"); !strings.Contains(got, `default_runtime = "runc"`) {
			t.Errorf("crio does not see the drop-in:\n%s", got)
		}
		// The packaged drop-in keeps its other tables when edited.
		h.step(`toml: {path: /etc/crio/crio.conf.d/10-crio.conf, set: {crio.runtime.runtimes.crun.runtime_root: /run/crun2}}`, steps.Changed)
		got := h.sh("cat /etc/crio/crio.conf.d/10-crio.conf")
		if !strings.Contains(got, "runtime_root = \"/run/crun2\"") || !strings.Contains(got, "[crio.runtime.runtimes.runc]") {
			t.Errorf("10-crio.conf:\n%s", got)
		}
		h.sh("echo 'broken = ' > /etc/crio/crio.conf.d/50-bad.conf")
		r = h.step(`toml: {path: /etc/crio/crio.conf.d/50-bad.conf, set: {a: 1}}`, steps.Failed)
		if !strings.Contains(r.Err.Error(), "/etc/crio/crio.conf.d/50-bad.conf:1:") {
			t.Errorf("error %v", r.Err)
		}
		h.step(`file: {path: /etc/crio/crio.conf.d/50-bad.conf, state: absent}`, steps.Changed)
	})

	t.Run("lineinfile, ini, file, stat", func(t *testing.T) {
		h.t = t
		h.step(`file: {path: /etc/default, state: directory, mode: "0755"}`, steps.Changed)
		h.step(`lineinfile: {path: /etc/default/kubelet, line: "KUBELET_EXTRA_ARGS=--node-ip=10.0.0.21", regexp: "^KUBELET_EXTRA_ARGS=", create: true}`, steps.Changed)
		h.step(`lineinfile: {path: /etc/default/kubelet, line: "KUBELET_EXTRA_ARGS=--node-ip=10.0.0.21", regexp: "^KUBELET_EXTRA_ARGS="}`, steps.OK)
		h.step(`ini: {path: /etc/containers/containers.conf, section: engine, option: cgroup_manager, value: '"systemd"', create: true}`, steps.Changed)
		h.step(`ini: {path: /etc/containers/containers.conf, section: engine, option: cgroup_manager, value: '"systemd"'}`, steps.OK)
		h.step(`file: {path: /etc/runbook/markers, state: directory, mode: "0700"}`, steps.Changed)
		h.step(`file: {path: /etc/runbook/markers, state: directory, mode: "0700"}`, steps.OK)
		h.step(`file: {path: /etc/runbook/markers/upgraded, state: touch}`, steps.Changed)
		h.step(`file: {path: /etc/runbook/current, state: link, src: /etc/runbook/markers/upgraded}`, steps.Changed)
		h.step(`file: {path: /etc/runbook/current, state: link, src: /etc/runbook/markers/upgraded}`, steps.OK)
		r := h.step(`stat: /etc/runbook/markers`, steps.OK)
		if r.Data["type"] != "directory" || r.Data["mode"] != "0700" || r.Data["owner"] != "root" {
			t.Errorf("stat: %v", r.Data)
		}
		r = h.step(`stat: /etc/crio/crio.conf.d/99-local.conf`, steps.OK)
		if r.Data["exists"] != true || r.Data["type"] != "file" || len(r.Data["sha256"].(string)) != 64 {
			t.Errorf("stat: %v", r.Data)
		}
		h.step(`file: {path: /etc/runbook, state: absent}`, steps.Changed)
		if r := h.step(`stat: /etc/runbook`, steps.OK); r.Data["exists"] != false {
			t.Errorf("stat after absent: %v", r.Data)
		}
	})
}
