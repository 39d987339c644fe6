package sim

import (
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestAptErrors(t *testing.T) {
	w := newTestWorld(t)
	node := "worker-2"
	expect := func(args []string, code int, stderr string) {
		t.Helper()
		r := call(t, w, node, "", args...)
		if r.code != code || !strings.Contains(r.err, stderr) {
			t.Errorf("%v: exit %d stderr %q, want exit %d and %q", args, r.code, r.err, code, stderr)
		}
	}
	// not installable without the repository line
	expect([]string{"apt-get", "install", "-y", "cri-o=1.30.4-1.1"}, 100, "E: Version '1.30.4-1.1' for 'cri-o' was not found")
	// nor with the line but before apt-get update
	writeNodeFile(t, w, node, "/etc/apt/sources.list.d/cri-o.list", crio130Line)
	expect([]string{"apt-get", "install", "-y", "cri-o=1.30.4-1.1"}, 100, "E: Version '1.30.4-1.1' for 'cri-o' was not found")
	if out := must(t, w, node, "apt-get", "update"); !strings.Contains(out, "Get:5 https://pkgs.k8s.io/addons:/cri-o:/stable:/v1.30/deb  Packages") {
		t.Errorf("apt-get update:\n%s", out)
	}
	expect([]string{"apt-get", "install", "-y", "cri-o=1.30.9"}, 100, "E: Version '1.30.9' for 'cri-o' was not found")
	expect([]string{"apt-get", "install", "-y", "cri-o-foo"}, 100, "E: Unable to locate package cri-o-foo")
	// the update dropped the v1.29 list: 1.29.7 is gone too
	expect([]string{"apt-get", "install", "-y", "--allow-downgrades", "cri-o=1.29.7-1.1"}, 100, "E: Version '1.29.7-1.1' for 'cri-o' was not found")
	policy := must(t, w, node, "apt-cache", "policy", "cri-o")
	if !strings.Contains(policy, "  Installed: 1.29.9-1.1\n  Candidate: 1.30.5-1.1\n") || !strings.Contains(policy, " *** 1.29.9-1.1 100\n        100 /var/lib/dpkg/status") {
		t.Errorf("apt-cache policy:\n%s", policy)
	}
	// held packages need --allow-change-held-packages
	must(t, w, node, "apt-mark", "hold", "cri-o")
	expect([]string{"apt-get", "install", "-y", "cri-o=1.30.4-1.1"}, 100, "E: Held packages were changed and -y was used without --allow-change-held-packages.")
	if v := must(t, w, node, "dpkg-query", "-W", "-f=${Version}", "cri-o"); v != "1.29.9-1.1" {
		t.Errorf("refused install changed the version to %q", v)
	}
	must(t, w, node, "apt-get", "install", "-y", "--allow-change-held-packages", "cri-o=1.30.4-1.1")
	if v := must(t, w, node, "dpkg-query", "-W", "-f=${Version} ${db:Status-Abbrev}", "cri-o"); v != "1.30.4-1.1 hi " {
		t.Errorf("after the install: %q (the hold must stay)", v)
	}
	if out := must(t, w, node, "apt-get", "install", "-y", "--allow-change-held-packages", "cri-o=1.30.4-1.1"); !strings.Contains(out, "cri-o is already the newest version (1.30.4-1.1).") {
		t.Errorf("reinstalling the same version:\n%s", out)
	}
	// without -y a downgrade asks, and an empty stdin aborts
	r := call(t, w, node, "", "apt-get", "install", "--allow-change-held-packages", "cri-o=1.30.3-1.1")
	if r.code != 1 || !strings.Contains(r.out, "Do you want to continue? [Y/n] Abort.") {
		t.Errorf("prompt without an answer: exit %d\n%s", r.code, r.out)
	}
	r = call(t, w, node, "y\n", "apt-get", "install", "--allow-change-held-packages", "cri-o=1.30.3-1.1")
	if r.code != 0 || !strings.Contains(r.out, "Unpacking cri-o (1.30.3-1.1) over (1.30.4-1.1) ...") {
		t.Errorf("prompt answered y: exit %d\n%s%s", r.code, r.out, r.err)
	}
	// a repository that does not exist, and one whose key is missing
	writeNodeFile(t, w, node, "/etc/apt/sources.list.d/cri-o.list", strings.Replace(crio130Line, "v1.30", "v1.99", 1))
	expect([]string{"apt-get", "update"}, 100, "does not have a Release file.")
	writeNodeFile(t, w, node, "/etc/apt/sources.list.d/cri-o.list", strings.Replace(crio130Line, "cri-o-apt-keyring", "missing-keyring", 1))
	expect([]string{"apt-get", "update"}, 100, "InRelease' is not signed.")
	expect([]string{"apt-get", "frobnicate"}, 100, "E: Invalid operation frobnicate")
	expect([]string{"apt-mark", "hold", "nosuchpkg"}, 100, "E: Unable to locate package nosuchpkg")
	expect([]string{"dpkg-query", "-W", "nosuchpkg"}, 1, "dpkg-query: no packages found matching nosuchpkg")
}

func TestAptRemoveAndRepoKey(t *testing.T) {
	w := newTestWorld(t)
	node := "worker-3"
	// the key of a new minor, fetched and dearmored as CRIO.md says
	must(t, w, node, "curl", "-fsSL", "-o", "/tmp/Release.key", "https://pkgs.k8s.io/addons:/cri-o:/stable:/v1.30/deb/Release.key")
	must(t, w, node, "gpg", "--dearmor", "--yes", "-o", "/etc/apt/keyrings/cri-o-130.gpg", "/tmp/Release.key")
	writeNodeFile(t, w, node, "/etc/apt/sources.list.d/cri-o.list", strings.Replace(crio130Line, "cri-o-apt-keyring.gpg", "cri-o-130.gpg", 1))
	must(t, w, node, "apt-get", "update")
	if r := call(t, w, node, "", "curl", "-fsSL", "https://example.com/key"); r.code != 6 {
		t.Errorf("curl to the internet: exit %d", r.code)
	}
	r := call(t, w, node, "", "apt-get", "remove", "-y", "cri-o")
	if r.code != 0 || !strings.Contains(r.out, "Removing cri-o (1.29.9-1.1) ...") {
		t.Fatalf("remove: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if r := call(t, w, node, "", "crio", "--version"); r.code != 127 {
		t.Errorf("crio after removal: exit %d", r.code)
	}
	if r := call(t, w, node, "", "systemctl", "start", "crio"); r.code != 5 || !strings.Contains(r.err, "Unit crio.service not found.") {
		t.Errorf("start after removal: exit %d %s", r.code, r.err)
	}
	if !rootFileExists(w.Machine(node).Root, crioDropIn) {
		t.Errorf("remove (not purge) deleted the configuration")
	}
	must(t, w, node, "apt-get", "install", "-y", "cri-o=1.30.4-1.1")
	if v := must(t, w, node, "crio", "version"); !strings.Contains(v, "Version:        1.30.4") {
		t.Errorf("crio version:\n%s", v)
	}
	must(t, w, node, "systemctl", "start", "crio")
	if len(crictlPods(t, w, node)) != 4 {
		t.Errorf("pods after reinstall")
	}
	must(t, w, node, "apt-get", "purge", "-y", "cri-o")
	if rootFileExists(w.Machine(node).Root, "/etc/crio") {
		t.Errorf("purge left /etc/crio")
	}
}

func TestDpkgLock(t *testing.T) {
	w := newTestWorld(t)
	node := "worker-1"
	f, err := w.Machine(node).Root.OpenFile("var/lib/dpkg/lock-frontend", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	r := call(t, w, node, "", "apt-get", "install", "-y", "cri-o=1.29.7-1.1", "--allow-downgrades")
	if r.code != 100 || !strings.Contains(r.err, "E: Could not get lock /var/lib/dpkg/lock-frontend") || !strings.Contains(r.err, "E: Unable to acquire the dpkg frontend lock") {
		t.Errorf("apt-get with the lock held: exit %d\n%s", r.code, r.err)
	}
	go func() {
		time.Sleep(200 * time.Millisecond)
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
	}()
	r = call(t, w, node, "", "apt-get", "-o", "DPkg::Lock::Timeout=10", "install", "-y", "--allow-downgrades", "cri-o=1.29.7-1.1")
	if r.code != 0 {
		t.Errorf("apt-get waiting for the lock: exit %d\n%s", r.code, r.err)
	}
}

func TestDebVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1.30.4-1.1", "1.29.9-1.1", 1},
		{"1.29.10-1.1", "1.29.9-1.1", 1},
		{"1.29.9-1.1", "1.29.9-1.1", 0},
		{"1.29.9-1.1", "1.29.9-1.2", -1},
		{"1.0~rc1-1", "1.0-1", -1},
		{"1:1.0-1", "2.0-1", 1},
		{"1.0a-1", "1.0-1", 1},
		{"1.0-1", "1.0", 1},
		{"2:0.1", "1:9.9", 1},
		{"1.0~~", "1.0~", -1},
		{"1.0+b1-1", "1.0-1", 1},
		{"not a version", "1.0-1", 1}, // dpkg refuses it; it still sorts
	} {
		if got := compareDebVersions(tc.a, tc.b); got != tc.want {
			t.Errorf("compare(%s, %s) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := compareDebVersions(tc.b, tc.a); got != -tc.want {
			t.Errorf("compare(%s, %s) = %d, want %d", tc.b, tc.a, got, -tc.want)
		}
	}
	if m := minorOf("1.30.4-1.1"); m != "1.30" {
		t.Errorf("minorOf = %q", m)
	}
}
