package sim

import (
	"strings"
	"testing"
)

// TestKernelUpdate: the kernel security update of the lab archive installs
// from jammy-security/jammy-updates, asks for a reboot, and the node runs it
// from its next boot (uname, /proc, the Node object); removing it boots the
// previous kernel again.
func TestKernelUpdate(t *testing.T) {
	w := newTestWorld(t)
	node := "worker-1"
	kernelOf := func() string {
		t.Helper()
		st, err := w.Status()
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range st {
			if n.Name == node {
				return n.Kernel
			}
		}
		t.Fatalf("no status of %s", node)
		return ""
	}
	if k := kernelOf(); k != "5.15.0-119-generic" {
		t.Fatalf("a new node runs %q", k)
	}
	if v := must(t, w, node, "dpkg-query", "-W", "-f=${Status}|${Version}", oldKernelPackage); v != "install ok installed|5.15.0-119.129" {
		t.Errorf("the running kernel's package: %q", v)
	}
	policy := must(t, w, node, "apt-cache", "policy", newKernelPackage)
	for _, want := range []string{"Candidate: 5.15.0-122.132", "500 http://security.ubuntu.com/ubuntu jammy-security/main amd64 Packages"} {
		if !strings.Contains(policy, want) {
			t.Errorf("apt-cache policy lacks %q:\n%s", want, policy)
		}
	}
	out := must(t, w, node, "apt-get", "install", "-y", newKernelPackage)
	for _, want := range []string{"Get:1 http://archive.ubuntu.com/ubuntu jammy-updates/main amd64 " + newKernelPackage, "Found linux image: /boot/vmlinuz-5.15.0-122-generic"} {
		if !strings.Contains(out, want) {
			t.Errorf("apt-get install lacks %q:\n%s", want, out)
		}
	}
	if got := readNodeFile(t, w, node, "/var/run/reboot-required.pkgs"); got != newKernelPackage+"\n" {
		t.Errorf("reboot-required.pkgs: %q", got)
	}
	if k := kernelOf(); k != "5.15.0-119-generic" {
		t.Errorf("the new kernel runs before a reboot: %q", k)
	}
	must(t, w, node, "reboot")
	if k := kernelOf(); k != "5.15.0-122-generic" {
		t.Errorf("after the reboot the node runs %q", k)
	}
	if got := readNodeFile(t, w, node, "/proc/sys/kernel/osrelease"); got != "5.15.0-122-generic\n" {
		t.Errorf("osrelease: %q", got)
	}
	if rootFileExists(w.Machine(node).Root, "/var/run/reboot-required") {
		t.Error("reboot-required survived the reboot")
	}
	if wide := must(t, w, "cp-1", "kubectl", "get", "node", node, "-o", "wide"); !strings.Contains(wide, "5.15.0-122-generic") {
		t.Errorf("kubectl get node -o wide:\n%s", wide)
	}
	must(t, w, node, "apt-get", "remove", "-y", newKernelPackage)
	must(t, w, node, "reboot")
	if k := kernelOf(); k != "5.15.0-119-generic" {
		t.Errorf("with the new kernel removed the node boots %q", k)
	}
}

func TestNetcatProbe(t *testing.T) {
	w := newTestWorld(t)
	for _, tt := range []struct {
		node string
		args []string
		code int
		err  string
	}{
		{"worker-1", []string{"nc", "-z", "-w", "3", "127.0.0.1", "10250"}, 0, ""},
		{"worker-1", []string{"nc", "-zv", "localhost", "10248"}, 0, "Connection to localhost 10248 port [tcp/*] succeeded!"},
		{"worker-1", []string{"nc", "-z", "worker-2", "10248"}, 1, ""}, // loopback only
		{"worker-1", []string{"nc", "-zv", "worker-2", "22"}, 0, "succeeded"},
		{"worker-1", []string{"nc", "-z", "cp-1", "6443"}, 0, ""},
		{"worker-1", []string{"nc", "-z", "worker-2", "6443"}, 1, ""},
		{"worker-1", []string{"nc", "-zv", "127.0.0.1", "10251"}, 1, "nc: connect to 127.0.0.1 port 10251 (tcp) failed: Connection refused"},
		{"worker-1", []string{"nc", "-z", "example.com", "443"}, 1, "Temporary failure in name resolution"},
		{"worker-1", []string{"nc", "-z", "localhost", "10240-10260"}, 0, ""},
		{"worker-1", []string{"nc", "localhost", "22"}, 1, "only port probes"},
	} {
		r := call(t, w, tt.node, "", tt.args...)
		if r.code != tt.code || !strings.Contains(r.err, tt.err) {
			t.Errorf("%s: %v: exit %d, stderr %q; want exit %d and %q", tt.node, tt.args, r.code, r.err, tt.code, tt.err)
		}
	}
	// kubelet stopped: its port closes.
	must(t, w, "worker-1", "systemctl", "stop", "kubelet")
	if r := call(t, w, "worker-1", "", "nc", "-z", "localhost", "10250"); r.code != 1 {
		t.Errorf("port 10250 still open with kubelet stopped")
	}
}

func TestAptMarkAndGpgOptions(t *testing.T) {
	w := newTestWorld(t)
	if out := must(t, w, "worker-1", "apt-mark", "hold", "--", "cri-o"); out != "cri-o set on hold.\n" {
		t.Errorf("apt-mark hold -- cri-o: %q", out)
	}
	if out := must(t, w, "worker-1", "apt-mark", "-q", "unhold", "--", "cri-o"); out != "Canceled hold on cri-o.\n" {
		t.Errorf("apt-mark unhold -- cri-o: %q", out)
	}
	if r := call(t, w, "worker-1", "", "apt-mark", "--bogus", "hold", "cri-o"); r.code != 100 {
		t.Errorf("apt-mark --bogus: exit %d", r.code)
	}
	key := releaseKey("cri-o")
	r := call(t, w, "worker-1", key, "gpg", "--batch", "--quiet", "--homedir", "/tmp", "--dearmor")
	if r.code != 0 || r.out != labKeyring("cri-o") {
		t.Errorf("gpg --homedir --dearmor: exit %d %q %q", r.code, r.out, r.err)
	}
}
