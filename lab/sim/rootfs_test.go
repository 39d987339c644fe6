package sim

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// TestReadOnlyFileRewrittenWithoutRoot: a node's read-only files (its boot
// id on every reboot) are written again by a lab that does not run as
// root, as a developer's does. Run as root, the test runs itself again as
// nobody, since root may write any file.
func TestReadOnlyFileRewrittenWithoutRoot(t *testing.T) {
	if os.Geteuid() == 0 && os.Getenv("RUNBOOK_SIM_AS_NOBODY") == "" {
		// go test's build directory is root's alone: nobody runs a copy.
		bin := filepath.Join(t.TempDir(), "sim.test")
		data, err := os.ReadFile(os.Args[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, data, 0o755); err != nil {
			t.Fatal(err)
		}
		for d := filepath.Dir(bin); d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
			os.Chmod(d, 0o755)
		}
		cmd := exec.Command(bin, "-test.run=^TestReadOnlyFileRewrittenWithoutRoot$", "-test.v")
		cmd.Dir = "/"
		cmd.Env = append(os.Environ(), "RUNBOOK_SIM_AS_NOBODY=1", "TMPDIR=/tmp")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("as nobody: %v\n%s", err, out)
		}
		return
	}
	dir, err := os.MkdirTemp("", "runbook-sim-rootfs-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	for _, id := range []string{"first\n", "second\n"} {
		if err := writeRootFile(root, bootIDPath, []byte(id), 0o444); err != nil {
			t.Fatalf("writing %q: %v", id, err)
		}
		if got, _ := readRootFile(root, bootIDPath); string(got) != id {
			t.Fatalf("the file holds %q, want %q", got, id)
		}
	}
	if fi, err := root.Stat(rel(bootIDPath)); err != nil || fi.Mode().Perm() != 0o444 {
		t.Errorf("mode %v (%v), want 0444", fi.Mode(), err)
	}
}
