package lab

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"github.com/runbookhq/runbook/runbook/transport"
	rbssh "github.com/runbookhq/runbook/runbook/transport/ssh"
	"github.com/runbookhq/runbook/runbook/transport/transporttest"
	"golang.org/x/crypto/ssh"
)

// canaries writes files next to (outside) the lab's node roots and returns
// a check that they were neither changed nor joined by new files.
func canaries(t *testing.T, dir string) func() {
	t.Helper()
	files := map[string]string{
		filepath.Join(dir, "canary.txt"):          "controller secret\n",
		filepath.Join(dir, "nodes", "canary.txt"): "controller secret 2\n",
	}
	for p, content := range files {
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := os.ReadDir(dir)
	return func() {
		t.Helper()
		for p, content := range files {
			got, err := os.ReadFile(p)
			if err != nil || string(got) != content {
				t.Errorf("canary %s changed: %q, %v", p, got, err)
			}
		}
		after, _ := os.ReadDir(dir)
		if len(after) != len(before) {
			t.Errorf("files appeared in the lab directory: %v -> %v", names(before), names(after))
		}
	}
}

func names(es []os.DirEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func TestSFTPConfined(t *testing.T) {
	dir := t.TempDir()
	l := startLab(t, dir, threeNodes())
	check := canaries(t, dir)
	c := dial(t, l, "worker-1")
	sc, err := sftp.NewClient(c)
	if err != nil {
		t.Fatalf("sftp: %v", err)
	}
	defer sc.Close()

	// Upload and download.
	w, err := sc.Create("/tmp/upload.txt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("payload\n")); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if err := sc.Chmod("/tmp/upload.txt", 0o640); err != nil {
		t.Fatal(err)
	}
	if r := runCmd(t, c, "cat /tmp/upload.txt; stat -c %a /tmp/upload.txt", "", nil); r.out != "payload\n640\n" {
		t.Errorf("uploaded file seen by the shell: %+v", r)
	}
	f, err := sc.Open("/etc/hostname")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f)
	f.Close()
	if strings.TrimSpace(string(got)) != "worker-1" {
		t.Errorf("/etc/hostname over sftp: %q", got)
	}
	// Relative paths start at /root.
	if wd, err := sc.Getwd(); err != nil || wd != "/root" {
		t.Errorf("Getwd: %q, %v", wd, err)
	}

	// Escapes: .., absolute symlinks, symlinks to .., renames out.
	// The absolute escape aims at the canary beside the node roots, never
	// at a file of the machine: a confinement bug must fail the test, not
	// damage the controller.
	for _, p := range []string{"../../../canary.txt", "/../../canary.txt", "/../../../../../../../../../.." + filepath.Join(dir, "canary.txt")} {
		w, err := sc.Create(p)
		if err != nil {
			continue
		}
		w.Write([]byte("pwned\n"))
		w.Close()
	}
	// What was written through "../../../canary.txt" landed in the node.
	if r := runCmd(t, c, "cat /canary.txt", "", nil); r.out != "pwned\n" {
		t.Errorf("the write through .. went elsewhere: %+v", r)
	}
	if err := sc.Symlink("/../../..", "/tmp/up"); err != nil {
		t.Fatal(err)
	}
	if entries, err := sc.ReadDir("/tmp/up"); err == nil {
		for _, e := range entries {
			if e.Name() == "nodes" || e.Name() == "known_hosts" {
				t.Errorf("a symlink to /../../.. listed the lab directory (%s)", e.Name())
			}
		}
	}
	if w, err := sc.Create("/tmp/up/canary.txt"); err == nil {
		w.Write([]byte("pwned\n"))
		w.Close()
	}
	if err := sc.Symlink("/etc/hostname", "/tmp/hn"); err != nil {
		t.Fatal(err)
	}
	f, err = sc.Open("/tmp/hn")
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(f)
	f.Close()
	if strings.TrimSpace(string(got)) != "worker-1" {
		t.Errorf("absolute symlink read %q, want the node's /etc/hostname", got)
	}
	_ = sc.Rename("/tmp/upload.txt", "/../../moved.txt")
	entries, err := sc.ReadDir("/")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == "nodes" || e.Name() == "id_ed25519" {
			t.Errorf("the node's / lists %s: the lab directory leaked", e.Name())
		}
	}
	check()
	// The host's /etc/passwd was not written either (it is not ours to
	// check beyond reading it back unchanged).
	if data, err := os.ReadFile("/etc/passwd"); err == nil && strings.Contains(string(data), "pwned") {
		t.Fatal("the controller's /etc/passwd was written")
	}
}

func TestPtyShell(t *testing.T) {
	l := startLab(t, t.TempDir(), threeNodes()[:1])
	c := dial(t, l, "cp-1")
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.RequestPty("xterm", 24, 80, ssh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	in, _ := s.StdinPipe()
	var out bytes.Buffer
	s.Stdout = &out
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(in, "cd /etc\r")
	io.WriteString(in, "cat hostname\r")
	io.WriteString(in, "exit\r")
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the shell did not end")
	}
	if !strings.Contains(out.String(), "cp-1\r\n") || !strings.Contains(out.String(), "root@cp-1:~# ") {
		t.Errorf("shell output: %q", out.String())
	}
}

func TestShellWithoutPtyReadsScript(t *testing.T) {
	l := startLab(t, t.TempDir(), threeNodes()[:1])
	c := dial(t, l, "cp-1")
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Stdin = strings.NewReader("x=4\necho $((x*2))\n")
	var out bytes.Buffer
	s.Stdout = &out
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	if err := s.Wait(); err != nil || out.String() != "8\n" {
		t.Errorf("script on stdin: %q, %v", out.String(), err)
	}
}

func TestOpenSSHClient(t *testing.T) {
	sshBin, err := exec.LookPath("ssh")
	if err != nil {
		if os.Getenv("RUNBOOK_REQUIRE_SSHD") == "1" {
			t.Fatal("ssh not found and RUNBOOK_REQUIRE_SSHD=1")
		}
		t.Skip("no OpenSSH client on this machine")
	}
	l := startLab(t, t.TempDir(), threeNodes())
	addr := l.Addr("worker-2")
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sshBin, "-F", "/dev/null",
		"-o", "UserKnownHostsFile="+l.KnownHostsFile(), "-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
		"-i", l.IdentityFile(), "-p", port, "root@127.0.0.1", "echo hi; cat /etc/os-release; exit 7")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 7 {
		t.Fatalf("ssh: %v, stderr %q", err, stderr.String())
	}
	if !strings.HasPrefix(stdout.String(), "hi\n") || !strings.Contains(stdout.String(), `VERSION_ID="22.04"`) {
		t.Errorf("ssh output: %q", stdout.String())
	}
	// A known_hosts without the node's key is refused (strict checking).
	empty := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(empty, nil, 0o600)
	cmd = exec.CommandContext(ctx, sshBin, "-F", "/dev/null", "-o", "UserKnownHostsFile="+empty, "-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-i", l.IdentityFile(), "-p", port, "root@127.0.0.1", "true")
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("ssh connected without the host key: %s", out)
	}
	// OpenSSH's sftp, when present, works too.
	if sftpBin, err := exec.LookPath("sftp"); err == nil {
		batch := filepath.Join(t.TempDir(), "batch")
		local := filepath.Join(t.TempDir(), "hostname")
		os.WriteFile(batch, []byte("get /etc/hostname "+local+"\n"), 0o600)
		cmd = exec.CommandContext(ctx, sftpBin, "-F", "/dev/null", "-o", "UserKnownHostsFile="+l.KnownHostsFile(), "-o", "GlobalKnownHostsFile=/dev/null",
			"-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-i", l.IdentityFile(), "-P", port, "-b", batch, "root@127.0.0.1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sftp: %v: %s", err, out)
		} else if got, _ := os.ReadFile(local); strings.TrimSpace(string(got)) != "worker-2" {
			t.Errorf("sftp fetched %q", got)
		}
	}
}

var scratch atomic.Int64

func TestTransportSuiteOnLab(t *testing.T) {
	l := startLab(t, t.TempDir(), threeNodes())
	d := rbssh.NewDialer(rbssh.Options{
		KnownHostsFiles: []string{l.KnownHostsFile()},
		SSHConfigFile:   "none",
		AgentSocket:     "none",
	})
	t.Cleanup(func() { d.Close() })
	transporttest.Run(t, transporttest.Harness{
		New: func(t *testing.T) (transport.Transport, string) {
			info := l.Nodes()[1]
			tr, err := d.Dial(context.Background(), rbssh.Target{
				Name: info.Name, Address: "127.0.0.1", Port: info.Port, User: l.User(), IdentityFile: l.IdentityFile(),
			})
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			t.Cleanup(func() { tr.Close() })
			dir := "/tmp/suite-" + strconv.FormatInt(scratch.Add(1), 10)
			res, err := tr.Run(context.Background(), transport.Command{Shell: "mkdir -p " + dir})
			if err != nil || res.ExitCode != 0 {
				t.Fatalf("mkdir %s: %v, exit %d", dir, err, res.ExitCode)
			}
			return tr, dir
		},
		Sudo:         true,
		CommandLines: func() [][]string { return l.byName[l.Nodes()[1].Name].procs.list() },
	})
}
