package containers

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runbookhq/runbook/internal/containertest"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// needContainers skips a test where containers cannot run, unless
// RUNBOOK_REQUIRE_CONTAINERS=1 (CI) demands them.
func needContainers(t *testing.T) {
	t.Helper()
	containertest.Require(t, Available())
}

// testAddressBase picks a loopback /24 no other lab of this machine is
// likely to use (the CLI's tests take 127.150-199).
func testAddressBase(t *testing.T) string {
	t.Helper()
	return containertest.AddressBase(t, 200)
}

// startLab starts a lab of the named nodes in a temporary directory and
// stops it at the end of the test, checking that it left nothing behind.
func startLab(t *testing.T, names ...string) *Lab {
	t.Helper()
	needContainers(t)
	dir := t.TempDir()
	base := testAddressBase(t)
	var specs []NodeSpec
	for i, n := range names {
		specs = append(specs, NodeSpec{Name: n, Address: fmt.Sprintf("%s%d", base, i+1)})
	}
	var progress bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	l, err := Start(ctx, Options{Dir: dir, Nodes: specs, Progress: &progress})
	if err != nil {
		t.Fatalf("start: %v\n%s", err, progress.String())
	}
	t.Cleanup(func() {
		l.Close()
		if left := Leftovers(dir); len(left) > 0 {
			t.Errorf("the lab left behind:\n%s", strings.Join(left, "\n"))
		}
	})
	return l
}

// nodeClient logs in to a node as user with the lab's key, checking its
// host key against the lab's known_hosts.
func nodeClient(t *testing.T, l *Lab, name, user string) *ssh.Client {
	t.Helper()
	c, err := dialNode(l, name, user)
	if err != nil {
		t.Fatalf("ssh %s@%s: %v", user, name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// run runs cmd on the node through c and returns its output; a failure
// to run or a non-zero exit fails the test.
func run(t *testing.T, c *ssh.Client, cmd string) string {
	t.Helper()
	out, err := output(c, cmd)
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	return out
}

func output(c *ssh.Client, cmd string) (string, error) {
	s, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	out, err := s.CombinedOutput(cmd)
	return string(out), err
}

// upperPath is where a node keeps its own copy of a file.
func upperPath(l *Lab, node, path string) string {
	return filepath.Join(l.Dir(), "nodes", node, "upper", path)
}

func itoa(n int) string { return fmt.Sprint(n) }

// dialNode is nodeClient without the test's failure, for polling.
func dialNode(l *Lab, name, user string) (*ssh.Client, error) {
	key, err := os.ReadFile(l.IdentityFile())
	if err != nil {
		return nil, err
	}
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		return nil, err
	}
	hk, err := knownhosts.New(l.KnownHostsFile())
	if err != nil {
		return nil, err
	}
	addr, port, err := l.Addr(name)
	if err != nil {
		return nil, err
	}
	return ssh.Dial("tcp", net.JoinHostPort(addr, fmt.Sprint(port)), &ssh.ClientConfig{
		User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: hk, Timeout: 5 * time.Second})
}
