package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/runbookhq/runbook/lab/containers"
)

// openPTY opens a pseudo-terminal pair.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

// runWithTerminal runs the CLI binary with a terminal of its own (its
// /dev/tty), answers the prompt with answer, and returns its exit status,
// output, and what it wrote on the terminal.
func runWithTerminal(t *testing.T, env []string, prompt, answer string, args ...string) (int, string, string) {
	t.Helper()
	master, slave := openPTY(t)
	defer master.Close()
	cmd := exec.Command(sigtestBinary(t), args...)
	var out bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, &out, &out
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	var mu sync.Mutex
	var term bytes.Buffer
	prompted := make(chan struct{})
	go func() {
		buf := make([]byte, 4096)
		once := sync.Once{}
		for {
			n, err := master.Read(buf)
			mu.Lock()
			term.Write(buf[:n])
			seen := strings.Contains(term.String(), prompt)
			mu.Unlock()
			if seen {
				once.Do(func() { close(prompted) })
			}
			if err != nil {
				return
			}
		}
	}()
	select {
	case <-prompted:
		master.WriteString(answer + "\n")
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatalf("no %q on the terminal within a minute; output:\n%s", prompt, out.String())
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("the run did not end; output:\n%s", out.String())
	}
	mu.Lock()
	defer mu.Unlock()
	return cmd.ProcessState.ExitCode(), out.String(), term.String()
}

// TestAskBecomePassOnContainerLab logs in to a real node as a user whose
// sudo asks for a password, given on the terminal by --ask-become-pass:
// the steps run as root, and the password is in no file of the run and
// in no output; a wrong one fails the host saying why.
func TestAskBecomePassOnContainerLab(t *testing.T) {
	needContainerLab(t)
	base := containerAddressBase(t)
	state := t.TempDir()
	l := serveContainerLab(t, state, base, "node-1")
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	kh, err := os.ReadFile(l.KnownHostsFile())
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(home, ".ssh", "known_hosts"), kh, 0o600)
	addr, port, _ := l.Addr("node-1")
	inv := filepath.Join(t.TempDir(), "inv.yaml")
	os.WriteFile(inv, []byte(fmt.Sprintf("all:\n  hosts:\n    node-1: {address: %s, port: %d, user: %s, identity_file: %s}\n",
		addr, port, containers.PasswordUser, l.IdentityFile())), 0o644)
	rb := filepath.Join(t.TempDir(), "whoami.yaml")
	os.WriteFile(rb, []byte(`runbook: whoami
targets: all
become: true
phases:
  - name: Who
    kind: verify
    steps:
      - shell: id -un
        register: who
      - assert: {that: ['who.stdout == "root"']}
      - apt: {name: rbdemo, hold: true}
`), 0o644)
	env := []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "SSH_AUTH_SOCK=", "NO_COLOR=1"}
	runState := t.TempDir()
	code, out, term := runWithTerminal(t, env, "BECOME password:", containers.PasswordUserSudo,
		"--state-dir", runState, "run", rb, "-i", inv, "--yes", "--ask-become-pass")
	if code != 0 {
		t.Fatalf("exit %d\n%s\nterminal: %q", code, out, term)
	}
	if got := nodeShell(t, l, "node-1", "dpkg-query -W -f='${Status}' rbdemo"); got != "hold ok installed" {
		t.Errorf("rbdemo is %q after the run", got)
	}
	if strings.Contains(out+term, containers.PasswordUserSudo) {
		t.Error("the password was echoed or printed")
	}
	filepath.Walk(runState, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			if data, _ := os.ReadFile(path); bytes.Contains(data, []byte(containers.PasswordUserSudo)) {
				t.Errorf("%s holds the password", path)
			}
		}
		return nil
	})

	code, out, term = runWithTerminal(t, env, "BECOME password:", "not-the-password",
		"--state-dir", t.TempDir(), "run", rb, "-i", inv, "--yes", "--ask-become-pass")
	// sudo's own words for a refused password.
	if code != 1 || !strings.Contains(out, "Sorry, try again.") {
		t.Errorf("a wrong password: exit %d\n%s\nterminal: %q", code, out, term)
	}
}
