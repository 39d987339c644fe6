package lab

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/runbookhq/runbook/lab/shell"
	"github.com/runbookhq/runbook/lab/sim"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// threeNodes is the fleet of most tests.
func threeNodes() []NodeSpec {
	return []NodeSpec{
		{Name: "cp-1", Role: sim.RoleControlPlane},
		{Name: "worker-1", Role: sim.RoleWorker},
		{Name: "worker-2", Role: sim.RoleWorker},
	}
}

func startLab(t *testing.T, dir string, nodes []NodeSpec) *Lab {
	t.Helper()
	l, err := Start(context.Background(), Options{Dir: dir, Nodes: nodes, Logf: t.Logf})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return l
}

// addProgram gives every node of the lab a test program (before any
// connection is made: the programs map is shared with the simulation).
func addProgram(l *Lab, name string, p shell.Program) {
	for _, n := range l.nodes {
		if n.m.Programs == nil {
			n.m.Programs = map[string]shell.Program{}
		}
		n.m.Programs[name] = p
	}
}

// clientConfig is a strict client: the lab key, the lab's known_hosts.
func clientConfig(t *testing.T, l *Lab) *ssh.ClientConfig {
	t.Helper()
	keyData, err := os.ReadFile(l.IdentityFile())
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(keyData)
	if err != nil {
		t.Fatal(err)
	}
	hk, err := knownhosts.New(l.KnownHostsFile())
	if err != nil {
		t.Fatal(err)
	}
	return &ssh.ClientConfig{
		User:            l.User(),
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: hk,
		Timeout:         10 * time.Second,
	}
}

func dialBench(b *testing.B, l *Lab, name string) *ssh.Client {
	b.Helper()
	keyData, err := os.ReadFile(l.IdentityFile())
	if err != nil {
		b.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(keyData)
	if err != nil {
		b.Fatal(err)
	}
	hk, err := knownhosts.New(l.KnownHostsFile())
	if err != nil {
		b.Fatal(err)
	}
	c, err := ssh.Dial("tcp", l.Addr(name), &ssh.ClientConfig{User: l.User(), Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: hk})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func dial(t *testing.T, l *Lab, name string) *ssh.Client {
	t.Helper()
	c, err := ssh.Dial("tcp", l.Addr(name), clientConfig(t, l))
	if err != nil {
		t.Fatalf("dial %s: %v", name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

type execResult struct {
	out, err string
	code     int
}

// runCmd runs cmd on a new session and returns its output and exit status.
func runCmd(t *testing.T, c *ssh.Client, cmd, stdin string, env map[string]string) execResult {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatalf("NewSession: %v", err)
	}
	defer s.Close()
	for k, v := range env {
		if err := s.Setenv(k, v); err != nil {
			t.Fatalf("Setenv: %v", err)
		}
	}
	var out, errb bytes.Buffer
	s.Stdout, s.Stderr = &out, &errb
	if stdin != "" {
		s.Stdin = strings.NewReader(stdin)
	}
	err = s.Run(cmd)
	code := 0
	var ee *ssh.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitStatus()
	case err != nil:
		t.Fatalf("run %q: %v", cmd, err)
	}
	return execResult{out.String(), errb.String(), code}
}

// eventually polls cond for up to 15 s (a functional bound, not a speed
// assertion).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}
