package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbookhq/runbook/internal/sshdtest"
)

// proxy_jump naming an inventory host reaches the target through that
// host, logged in with its address, port, user and identity file and
// checked against its known_hosts entry, as an Ansible user expects of a
// bastion in the inventory. The jump host's sshd log shows the forward.
func TestProxyJumpThroughInventoryHost(t *testing.T) {
	f := sshdtest.Start(t, sshdtest.Hosts(1), sshdtest.WithBastion())
	b, h := f.Bastion, f.Hosts[0]
	home := t.TempDir() // no key of the user's: the jump host takes n1's
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	kh, err := os.ReadFile(f.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(home, ".ssh", "known_hosts"), kh, 0o600)
	t.Setenv("HOME", home)
	t.Setenv("SSH_AUTH_SOCK", "")
	work := sshdtest.ScratchDir(t, f.User)
	inv := filepath.Join(t.TempDir(), "inv.yaml")
	os.WriteFile(inv, []byte(fmt.Sprintf(`all:
  children:
    bastions:
      hosts:
        n1: {address: %s, port: %d, user: %s, identity_file: %s}
    fleet:
      hosts:
        n2: {address: %s, port: %d, user: %s, identity_file: %s, proxy_jump: n1, lock_path: %s}
`, b.Address, b.Port, f.User, f.KeyFile, h.Address, h.Port, f.User, f.KeyFile, filepath.Join(work, "n2.lock"))), 0o644)
	rb := filepath.Join(t.TempDir(), "rb.yaml")
	os.WriteFile(rb, []byte(fmt.Sprintf(`runbook: jump
targets: fleet
phases:
  - name: Touch
    kind: batch
    steps:
      - shell: echo through > %s/{{ host.name }}.done
`, work)), 0o644)
	code, out, errOut := runCLI(t, "--state-dir", t.TempDir(), "run", rb, "-i", inv, "--yes")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if got, err := os.ReadFile(filepath.Join(work, "n2.done")); err != nil || string(got) != "through\n" {
		t.Errorf("n2.done: %q %v", got, err)
	}
	if forward := fmt.Sprintf("target %s port %d", h.Address, h.Port); !strings.Contains(b.Log(), forward) {
		t.Errorf("the jump host n1 forwarded nothing to n2 (%s:%d):\n%s", h.Address, h.Port, b.Log())
	}
}

// A proxy_jump chain that leads back to a host is refused, naming it.
func TestProxyJumpLoopRefused(t *testing.T) {
	inv := filepath.Join(t.TempDir(), "inv.yaml")
	os.WriteFile(inv, []byte(`all:
  hosts:
    n1: {address: 127.0.0.1, port: 1, proxy_jump: n2}
    n2: {address: 127.0.0.1, port: 1, proxy_jump: n1}
`), 0o644)
	rb := filepath.Join(t.TempDir(), "rb.yaml")
	os.WriteFile(rb, []byte("runbook: loop\ntargets: n2\nphases:\n  - name: P\n    kind: batch\n    steps:\n      - shell: \"true\"\n"), 0o644)
	code, out, errOut := runCLI(t, "--state-dir", t.TempDir(), "run", rb, "-i", inv, "--yes")
	if code == 0 || !strings.Contains(out+errOut, "n1 leads back to itself") && !strings.Contains(out+errOut, "n2 leads back to itself") {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
}
