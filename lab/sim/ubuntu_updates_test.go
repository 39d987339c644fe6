package sim

import (
	"strings"
	"testing"
)

// TestUbuntuUpdates: a new node has the older libc6, libssl3 and openssl,
// apt sees their fixes in jammy-updates; upgrading openssl asks for no
// reboot, upgrading libc6 does (reboot-required and its .pkgs), and the
// reboot clears it.
func TestUbuntuUpdates(t *testing.T) {
	w := newTestWorld(t)
	const node = "worker-2"
	for _, u := range ubuntuUpdates {
		if v := must(t, w, node, "dpkg-query", "-W", "-f=${Status}|${Version}", u.name); v != "install ok installed|"+u.installed {
			t.Errorf("%s on a new node: %q", u.name, v)
		}
		policy := must(t, w, node, "apt-cache", "policy", u.name)
		if !strings.Contains(policy, "Installed: "+u.installed) || !strings.Contains(policy, "Candidate: "+u.fixed) {
			t.Errorf("apt-cache policy %s:\n%s", u.name, policy)
		}
	}
	must(t, w, node, "apt-get", "install", "-y", "--only-upgrade", "openssl", "libssl3")
	if rootFileExists(w.Machine(node).Root, rebootRequired) {
		t.Error("upgrading openssl and libssl3 asked for a reboot")
	}
	out := must(t, w, node, "apt-get", "install", "-y", "libc6=2.35-0ubuntu3.8")
	if !strings.Contains(out, "Unpacking libc6 (2.35-0ubuntu3.8) over (2.35-0ubuntu3.6)") {
		t.Errorf("apt-get install libc6:\n%s", out)
	}
	if got := readNodeFile(t, w, node, rebootRequiredPkgs); got != "libc6\n" {
		t.Errorf("reboot-required.pkgs: %q", got)
	}
	must(t, w, node, "apt-get", "install", "-y", "--reinstall", "libc6")
	if got := readNodeFile(t, w, node, rebootRequiredPkgs); got != "libc6\n" {
		t.Errorf("reboot-required.pkgs after a second upgrade: %q", got)
	}
	must(t, w, node, "reboot")
	if rootFileExists(w.Machine(node).Root, rebootRequired) {
		t.Error("reboot-required outlived the reboot")
	}
	if v := must(t, w, "worker-1", "dpkg-query", "-W", "-f=${Version}", "libc6"); v != "2.35-0ubuntu3.6" {
		t.Errorf("worker-1 was changed too: libc6 %s", v)
	}
}
