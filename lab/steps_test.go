package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/transport"
	rbssh "github.com/runbookhq/runbook/runbook/transport/ssh"
	"github.com/runbookhq/runbook/steps"
)

// The lab must run what every step kind sends to an Ubuntu 22.04 host:
// these tests run each kind, over the real SSH transport with become, on a
// lab node and check its effect on the node.

// stepHost is one lab node reached as runbook reaches it, with the state
// the engine keeps between steps (snapshots, backups).
type stepHost struct {
	t   *testing.T
	l   *Lab
	tr  transport.Transport
	x   *steps.Exec
	out *strings.Builder

	mu      sync.Mutex
	snaps   map[string]string
	cmds    map[string]string
	backups map[string]steps.BackupRecord
}

func newStepHost(t *testing.T, l *Lab, name string) *stepHost {
	t.Helper()
	d := rbssh.NewDialer(rbssh.Options{KnownHostsFiles: []string{l.KnownHostsFile()}, SSHConfigFile: "none", AgentSocket: "none"})
	t.Cleanup(func() { d.Close() })
	addr := l.Addr(name)
	var port int
	fmt.Sscanf(addr[strings.LastIndexByte(addr, ':')+1:], "%d", &port)
	tr, err := d.Dial(context.Background(), rbssh.Target{Name: name, Address: "127.0.0.1", Port: port, User: l.User(), IdentityFile: l.IdentityFile()})
	if err != nil {
		t.Fatalf("dial %s: %v", name, err)
	}
	t.Cleanup(func() { tr.Close() })
	h := &stepHost{t: t, l: l, tr: tr, out: &strings.Builder{},
		snaps: map[string]string{}, cmds: map[string]string{}, backups: map[string]steps.BackupRecord{}}
	h.x = &steps.Exec{Host: name, RunsOn: name, T: tr, Become: true, Timeout: time.Minute,
		Stdout: lockedWriter{&h.mu, h.out}, Stderr: lockedWriter{&h.mu, h.out},
		RunID: "20260101-000000-lab-steps-0001", RunDir: t.TempDir(), BaseDir: t.TempDir()}
	r := &runbook.Renderer{Env: map[string]any{"host": map[string]any{"name": name}}}
	h.x.Render = r.Render
	h.x.Snapshot = func(n string) (string, bool) { s, ok := h.snaps[n]; return s, ok }
	h.x.SnapshotCommand = func(n string) (string, bool) { s, ok := h.cmds[n]; return s, ok }
	h.x.Backup = func(n string) (steps.BackupRecord, bool) { b, ok := h.backups[n]; return b, ok }
	return h
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// step parses one step (YAML of a list item) and runs it, keeping what it
// records as the engine does; it fails the test unless the status is want.
func (h *stepHost) step(src, want string) steps.Result {
	h.t.Helper()
	doc := "runbook: t\ntargets: all\nphases:\n  - name: p\n    kind: verify\n    steps:\n      - " + src + "\n"
	rb, _, err := runbook.Parse("t.yaml", []byte(doc), nil)
	if err != nil {
		h.t.Fatalf("parsing %s: %v", src, err)
	}
	k := rb.Phases[0].Steps.Steps[0].Spec.(steps.Kind)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h.out.Reset()
	r := k.Run(ctx, h.x)
	for n, s := range r.Snapshots {
		h.snaps[n] = s
	}
	for n, s := range r.SnapshotCommands {
		h.cmds[n] = s
	}
	if name, rec, ok := steps.BackupFromData(r.Data); ok {
		h.backups[name] = rec
	}
	if r.Status != want {
		h.t.Fatalf("%s: status %s (err %v), want %s\ncommand: %s\noutput: %s\ndata: %v", src, r.Status, r.Err, want, r.Command, h.out.String(), r.Data)
	}
	return r
}

// sh runs a command on the node (outside any step) and returns its output.
func (h *stepHost) sh(cmd string) string {
	h.t.Helper()
	var out strings.Builder
	res, err := h.tr.Run(context.Background(), transport.Command{Shell: cmd, Stdout: &out, Stderr: &out})
	if err != nil || res.ExitCode != 0 {
		h.t.Fatalf("%s: exit %d, %v: %s", cmd, res.ExitCode, err, out.String())
	}
	return out.String()
}

func TestStepKindsOnLab(t *testing.T) {
	l := startLab(t, t.TempDir(), threeNodes())
	h := newStepHost(t, l, "worker-1")

	t.Run("shell and command", func(t *testing.T) {
		h.t = t
		h.step(`shell: "umask 077; echo hi > /tmp/u; stat -c %a /tmp/u"`, steps.Changed)
		if got := strings.TrimSpace(h.out.String()); got != "600" {
			t.Errorf("a file made under umask 077 has mode %q, want 600", got)
		}
		h.step(`command: [systemctl, is-active, crio, kubelet]`, steps.Changed)
	})

	t.Run("copy", func(t *testing.T) {
		h.t = t
		h.step(`copy: {dest: /etc/crio/crio.conf.d/99-local.conf, content: "[crio.runtime]\n", mode: "0640", owner: root, group: root}`, steps.Changed)
		h.step(`copy: {dest: /etc/crio/crio.conf.d/99-local.conf, content: "[crio.runtime]\n", mode: "0640", owner: root, group: root}`, steps.OK)
		if got := h.sh(`stat -c '%a %U %G' /etc/crio/crio.conf.d/99-local.conf`); got != "640 root root\n" {
			t.Errorf("stat: %q", got)
		}
		h.step(`copy: {dest: /etc/crio/crio.conf.d/99-local.conf, content: "[crio.runtime]\n", mode: "0644"}`, steps.Changed)
		h.step(`copy: {dest: /no/such/dir/f, content: x}`, steps.Failed)
	})

	t.Run("template and fetch", func(t *testing.T) {
		h.t = t
		src := filepath.Join(h.x.BaseDir, "motd.tmpl")
		if err := os.WriteFile(src, []byte("node {{ host.name }}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		h.step(`template: {src: motd.tmpl, dest: /etc/motd}`, steps.Changed)
		if got := h.sh("cat /etc/motd"); got != "node worker-1\n" {
			t.Errorf("/etc/motd: %q", got)
		}
		r := h.step(`fetch: {src: /etc/os-release, dest: os-release}`, steps.OK)
		local, _ := r.Data["dest"].(string)
		data, err := os.ReadFile(local)
		if err != nil || !strings.Contains(string(data), `VERSION_ID="22.04"`) {
			t.Errorf("fetched %s: %q, %v (data %v)", local, data, err, r.Data)
		}
	})

	t.Run("script", func(t *testing.T) {
		h.t = t
		if err := os.WriteFile(filepath.Join(h.x.BaseDir, "s.sh"), []byte("#!/bin/sh\nset -eu\necho \"args: $*\"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		h.step(`script: s.sh`, steps.Changed)
		if !strings.Contains(h.out.String(), "args:") {
			t.Errorf("script output: %q", h.out.String())
		}
	})

	t.Run("backup and restore", func(t *testing.T) {
		h.t = t
		r := h.step(`backup: {name: crio, paths: [/etc/crio, /etc/apt/sources.list.d/cri-o.list]}`, steps.Changed)
		remote, _ := r.Data["remote"].(string)
		if got := h.sh("stat -c %a " + filepath.Dir(remote) + " " + remote); got != "700\n600\n" {
			t.Errorf("backup modes (dir, archive): %q", got)
		}
		h.sh(`echo changed > /etc/crio/crio.conf.d/10-crio.conf; echo 'deb x /' > /etc/apt/sources.list.d/cri-o.list`)
		h.step(`restore: crio`, steps.Changed)
		if got := h.sh("head -1 /etc/crio/crio.conf.d/10-crio.conf; cat /etc/apt/sources.list.d/cri-o.list"); !strings.HasPrefix(got, "[crio.runtime]\ndeb [signed-by=") {
			t.Errorf("after restore: %q", got)
		}
		// The host's copy gone: restore uploads the controller's.
		h.sh("rm -f " + remote + "; echo changed > /etc/crio/crio.conf.d/10-crio.conf")
		r = h.step(`restore: crio`, steps.Changed)
		if r.Data["source"] != "controller" {
			t.Errorf("restore source %v, want controller", r.Data["source"])
		}
		if got := h.sh("head -1 /etc/crio/crio.conf.d/10-crio.conf"); got != "[crio.runtime]\n" {
			t.Errorf("after restore from the controller: %q", got)
		}
		h.step(`backup: {name: gone, paths: [/etc/nonexistent]}`, steps.Failed)
	})

	t.Run("apt_repository and apt", func(t *testing.T) {
		h.t = t
		line := "deb [signed-by=/etc/apt/keyrings/cri-o-apt-keyring.gpg] https://pkgs.k8s.io/addons:/cri-o:/stable:/v1.30/deb/ /"
		h.sh("rm -f /etc/apt/keyrings/cri-o-apt-keyring.gpg")
		h.step(`apt_repository: {name: cri-o, line: "`+line+`", key_url: "https://pkgs.k8s.io/addons:/cri-o:/stable:/v1.30/deb/Release.key"}`, steps.Changed)
		h.step(`apt_repository: {name: cri-o, line: "`+line+`", key_url: "https://pkgs.k8s.io/addons:/cri-o:/stable:/v1.30/deb/Release.key"}`, steps.OK)
		r := h.step(`apt: {name: cri-o, version: "1.30.4-1.1", hold: true, update_cache: true}`, steps.Changed)
		if r.Data["version_before"] != "1.29.9-1.1" || r.Data["version_after"] != "1.30.4-1.1" || r.Data["held"] != true {
			t.Errorf("apt data: %v", r.Data)
		}
		h.step(`apt: {name: cri-o, version: "1.30.4-1.1", hold: true}`, steps.OK)
		h.step(`apt: {name: cri-o, version: "9.9.9-1"}`, steps.Failed)
	})

	t.Run("systemd", func(t *testing.T) {
		h.t = t
		h.step(`systemd: {name: kubelet, state: stopped}`, steps.Changed)
		h.step(`systemd: {name: kubelet, state: stopped}`, steps.OK)
		h.step(`systemd: {name: crio, state: restarted, daemon_reload: true}`, steps.Changed)
		h.step(`systemd: {name: kubelet, state: started, enabled: true}`, steps.Changed)
	})

	t.Run("wait_for", func(t *testing.T) {
		h.t = t
		h.step(`wait_for: {command: "systemctl is-active kubelet", timeout: 10s, interval: 100ms}`, steps.OK)
		h.step(`wait_for: {port: 10250, timeout: 10s, interval: 100ms}`, steps.OK)
		h.step(`wait_for: {port: 10251, timeout: 300ms, interval: 100ms}`, steps.Failed)
	})

	t.Run("snapshot and compare", func(t *testing.T) {
		h.t = t
		h.step(`snapshot: {name: pods, shell: "crictl pods -q | sort"}`, steps.OK)
		h.step(`compare: {snapshot: pods}`, steps.OK)
		h.sh("crictl pods -q | head -1 | xargs crictl rmp -f")
		h.step(`compare: {snapshot: pods, expect: changed}`, steps.OK)
	})

	t.Run("reboot", func(t *testing.T) {
		h.t = t
		before := h.sh("cat /proc/sys/kernel/random/boot_id")
		r := h.step(`reboot: {timeout: 1m}`, steps.Changed)
		after := h.sh("cat /proc/sys/kernel/random/boot_id")
		if before == after || r.Data["boot_id_after"] != strings.TrimSpace(after) {
			t.Errorf("boot id %q -> %q (data %v)", before, after, r.Data)
		}
		if got := h.sh("ls /var/run/crio"); !strings.Contains(got, "version") {
			t.Errorf("/var/run/crio after the reboot: %q (crio writes its version file at start)", got)
		}
	})
}
