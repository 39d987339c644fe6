package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/runbookhq/runbook/internal/containertest"
	"github.com/runbookhq/runbook/lab/containers"
	"github.com/runbookhq/runbook/runbook/journal"
)

// The container lab's end-to-end tests run rbdemo-upgrade and its faults
// through the CLI on real Debian nodes (SPEC 10a), each in its own state
// directory and on loopback addresses of its own.

// needContainerLab skips where containers cannot run, unless CI demands
// them (RUNBOOK_REQUIRE_CONTAINERS=1).
func needContainerLab(t *testing.T) {
	t.Helper()
	containertest.Require(t, containers.Available())
}

// containerAddressBase picks a loopback /24 ("127.A.B.") no other lab of
// this machine is likely to use (the lab's own tests take 127.200-249).
func containerAddressBase(t *testing.T) string {
	t.Helper()
	return containertest.AddressBase(t, 150)
}

// containerInventory is inventories/lab-containers.yaml on the test's own
// addresses.
func containerInventory(t *testing.T, base string) string {
	t.Helper()
	src, err := os.ReadFile(repoFile("inventories/lab-containers.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(src, []byte("127.80.0.")) {
		t.Fatal("inventories/lab-containers.yaml no longer puts its nodes on 127.80.0.x")
	}
	inv := filepath.Join(t.TempDir(), "lab-containers.yaml")
	os.WriteFile(inv, bytes.ReplaceAll(src, []byte("127.80.0."), []byte(base)), 0o644)
	return inv
}

var containerNodes = []string{"node-1", "node-2", "node-3"}

// serveContainerLab starts the inventory's nodes as `runbook lab serve`
// would, for the CLI of the same state directory to use; it is stopped,
// and checked for leftovers, at the end of the test.
func serveContainerLab(t *testing.T, state, base string, nodes ...string) *containers.Lab {
	t.Helper()
	if len(nodes) == 0 {
		nodes = containerNodes
	}
	var specs []containers.NodeSpec
	for i, n := range nodes {
		specs = append(specs, containers.NodeSpec{Name: n, Address: fmt.Sprintf("%s%d", base, i+1)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	l, err := containers.Start(ctx, containers.Options{Dir: containerLabDir(state), Nodes: specs, Standalone: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		l.Close()
		checkNoLeftovers(t, containerLabDir(state))
	})
	return l
}

func checkNoLeftovers(t *testing.T, dir string) {
	t.Helper()
	if left := containers.Leftovers(dir); len(left) > 0 {
		t.Errorf("the container lab left behind:\n%s", strings.Join(left, "\n"))
	}
}

// nodeShell runs a command on a node of l as its login user.
func nodeShell(t *testing.T, l *containers.Lab, node, cmd string) string {
	t.Helper()
	key, err := os.ReadFile(l.IdentityFile())
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := ssh.ParsePrivateKey(key)
	hk, err := knownhosts.New(l.KnownHostsFile())
	if err != nil {
		t.Fatal(err)
	}
	addr, port, _ := l.Addr(node)
	c, err := ssh.Dial("tcp", net.JoinHostPort(addr, fmt.Sprint(port)), &ssh.ClientConfig{User: l.User(),
		Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: hk, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.CombinedOutput(cmd)
	if err != nil {
		t.Fatalf("%s: %s: %v\n%s", node, cmd, err, out)
	}
	return string(out)
}

// TestRbdemoUpgradeOnContainerLab is the README's command: the run boots
// the nodes itself, upgrades them canary first, and powers them off; a
// second run finds them upgraded.
func TestRbdemoUpgradeOnContainerLab(t *testing.T) {
	needContainerLab(t)
	inv := containerInventory(t, containerAddressBase(t))
	state := t.TempDir()
	defer checkNoLeftovers(t, containerLabDir(state))
	rb := repoFile("examples/rbdemo-upgrade.yaml")
	code, out, errOut := runCLI(t, "--state-dir", state, "--no-color", "run", rb, "-i", inv, "--yes")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "container lab: 3 node(s) up") {
		t.Errorf("the run did not say it booted the nodes:\n%s", errOut)
	}
	status, outcomes := outcomesOf(t, state)
	if status != journal.RunStatusSucceeded {
		t.Errorf("run %s", status)
	}
	for _, n := range containerNodes {
		if outcomes[n] != journal.OutcomeUpgraded {
			t.Errorf("%s: %s", n, outcomes[n])
		}
	}
	code, out, errOut = runCLI(t, "--state-dir", state, "--no-color", "lab", "status", "-i", inv)
	if code != 0 || len(regexp.MustCompile(`(?m)^node-\d\s+stopped\s+-\s+2\.0-1\s+true\s+-$`).FindAllString(out, -1)) != 3 {
		t.Errorf("lab status: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "--state-dir", state, "--no-color", "run", rb, "-i", inv, "--yes")
	if _, outcomes = outcomesOf(t, state); code != 0 || outcomes["node-2"] != journal.OutcomeSkipped {
		t.Errorf("second run: exit %d, outcomes %v\n%s%s", code, outcomes, out, errOut)
	}
}

// nodeState is what a rollback must give back: rbdemo's version and hold,
// its config files with their owners, modes and bytes, and its service.
const nodeState = `dpkg-query -W -f='${Version} ${Status}\n' rbdemo
rbdemo --version
stat -c '%n %U %G %a %s' /etc/rbdemo/*
sha256sum /etc/rbdemo/*
systemctl is-active rbdemo`

// TestRbdemoRollbackLeavesNodeAsItWas: 2.1-1's service fails to start on
// the canary, which is rolled back to exactly what it had (held, as it
// was), and the rollout halts.
func TestRbdemoRollbackLeavesNodeAsItWas(t *testing.T) {
	needContainerLab(t)
	base := containerAddressBase(t)
	inv := containerInventory(t, base)
	state := t.TempDir()
	l := serveContainerLab(t, state, base)
	nodeShell(t, l, "node-1", "sudo apt-mark hold rbdemo")
	before := nodeShell(t, l, "node-1", nodeState)
	if !strings.Contains(before, "1.0-1 hold ok installed") || !strings.HasSuffix(before, "active\n") {
		t.Fatalf("node-1 before the run:\n%s", before)
	}
	code, out, errOut := runCLI(t, "--state-dir", state, "--no-color", "run", repoFile("examples/rbdemo-upgrade.yaml"),
		"-i", inv, "--yes", "-e", "target_version=2.1-1")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	if strings.Contains(errOut, "booting") {
		t.Errorf("the run booted nodes of its own beside the served ones:\n%s", errOut)
	}
	_, outcomes := outcomesOf(t, state)
	if outcomes["node-1"] != journal.OutcomeRolledBack || outcomes["node-2"] != journal.OutcomeNotStarted {
		t.Errorf("outcomes %v\n%s", outcomes, out)
	}
	if !strings.Contains(out, "rbdemo is failed after restart") {
		t.Errorf("the failure is not named:\n%s", out)
	}
	if after := nodeShell(t, l, "node-1", nodeState); after != before {
		t.Errorf("node-1 after the rollback:\n%s\nbefore:\n%s", after, before)
	}
	code, out, errOut = runCLI(t, "--state-dir", state, "--no-color", "lab", "status", "-i", inv)
	if code != 0 || !regexp.MustCompile(`node-1\s+running\s+`+regexp.QuoteMeta(base)+`1:22\s+1\.0-1\s+true\s+active`).MatchString(out) {
		t.Errorf("lab status of the served nodes: exit %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = runCLI(t, "--state-dir", state, "--no-color", "lab", "reset", "-i", inv)
	if code == 0 || !strings.Contains(errOut, "are already running") {
		t.Errorf("lab reset of running nodes: exit %d: %s", code, errOut)
	}
}

// TestContainerNodeKilledMidStepIsUnreachable cuts a node's power while a
// step runs on it: the step and the host end unreachable, never ok.
func TestContainerNodeKilledMidStepIsUnreachable(t *testing.T) {
	needContainerLab(t)
	base := containerAddressBase(t)
	inv := containerInventory(t, base)
	state := t.TempDir()
	l := serveContainerLab(t, state, base)
	rb := filepath.Join(t.TempDir(), "slow.yaml")
	src := `runbook: slow
targets: rbdemo_nodes
on_failure: halt
phases:
  - name: Canary
    kind: canary
    hosts: [node-2]
    steps:
      - name: Long step
        shell: sleep 60; echo done
`
	// The login user cannot take the run lock under /var/lib without
	// become: that is an error saying so, not a lock held by another run.
	os.WriteFile(rb, []byte(src), 0o644)
	code, out, errOut := runCLI(t, "--state-dir", state, "--no-color", "run", rb, "-i", inv, "--yes")
	if code == 4 || !strings.Contains(out+errOut, "could not take the run lock /var/lib/runbook/lock: mkdir: cannot create directory") {
		t.Errorf("a lock the login user cannot make: exit %d\n%s\n%s", code, out, errOut)
	}
	os.WriteFile(rb, []byte(`runbook: slow
targets: rbdemo_nodes
become: true
on_failure: halt
phases:
  - name: Canary
    kind: canary
    hosts: [node-2]
    steps:
      - name: Long step
        shell: sleep 60; echo done
`), 0o644)
	done := make(chan int, 1)
	go func() {
		var code int
		code, out, errOut = runCLI(t, "--state-dir", state, "--no-color", "run", rb, "-i", inv, "--yes")
		done <- code
	}()
	deadline := time.Now().Add(2 * time.Minute)
	for strings.TrimSpace(nodeShell(t, l, "node-2", "pgrep -x sleep || true")) == "" {
		select {
		case code = <-done:
			t.Fatalf("the run ended (exit %d) before the long step ran:\n%s\n%s", code, out, errOut)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the long step never started")
		}
	}
	if err := l.Kill("node-2"); err != nil {
		t.Fatal(err)
	}
	select {
	case code = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("the run did not end within 2 minutes of the node's death")
	}
	if code != 1 {
		t.Errorf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	if _, outcomes := outcomesOf(t, state); outcomes["node-2"] != journal.OutcomeUnreachable {
		t.Errorf("outcomes %v\n%s", outcomes, out)
	}
	ids, _ := journal.ListRuns(state)
	var status string
	for _, id := range ids {
		log, err := journal.ReadFile(filepath.Join(journal.RunDir(state, id), journal.JournalFile))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range log.Records {
			if r.Type == journal.StepFinished && r.Host == "node-2" && r.Step == "Long step" {
				status = r.Status
			}
		}
	}
	if status != "unreachable" {
		t.Errorf("the long step ended %q, want unreachable", status)
	}
}

// dryRunState is what a dry run must leave as it was on a node: nodeState,
// the holds, the times of dpkg's status and apt's sources, and no lock or
// backup of runbook's.
const dryRunState = nodeState + `
apt-mark showhold
stat -c '%n %Y' /var/lib/dpkg/status /etc/apt/sources.list.d /etc/rbdemo /etc/rbdemo/*
ls -A /var/lib/runbook /var/backups/runbook 2>&1 || true`

// TestRbdemoDryRunOnContainerLab: run --check --diff of rbdemo-upgrade on
// real Debian nodes predicts the install from apt's simulation and the
// restart from systemd, and changes nothing on any node; a version the
// repository lacks is predicted to fail the canary (what a run would do),
// as only a backup and a check came before it.
func TestRbdemoDryRunOnContainerLab(t *testing.T) {
	needContainerLab(t)
	base := containerAddressBase(t)
	inv := containerInventory(t, base)
	state := t.TempDir()
	l := serveContainerLab(t, state, base)
	before := map[string]string{}
	for _, n := range containerNodes {
		before[n] = nodeShell(t, l, n, dryRunState)
	}
	rb := repoFile("examples/rbdemo-upgrade.yaml")
	code, out, errOut := runCLI(t, "--state-dir", state, "--no-color", "run", rb, "-i", inv, "--check", "--diff")
	if code != 0 {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"Install rbdemo 2.0-1, keeping the local config, held  would change",
		"Restart rbdemo  would change", "dry run: backup cannot predict its effect", "DRY RUN SUCCEEDED"} {
		if !strings.Contains(out, want) {
			t.Errorf("the dry run's output lacks %q:\n%s", want, out)
		}
	}
	code, out, errOut = runCLI(t, "--state-dir", state, "--no-color", "run", rb, "-i", inv, "--check", "-e", "target_version=9.9-1")
	if code != 1 || !strings.Contains(out, "DRY RUN HALTED") || !strings.Contains(out, "9.9-1") {
		t.Errorf("dry run of a version the repository lacks: exit %d, want 1 and a predicted failure\n%s\n%s", code, out, errOut)
	}
	for _, n := range containerNodes {
		if after := nodeShell(t, l, n, dryRunState); after != before[n] {
			t.Errorf("%s after the dry runs:\n%s\nbefore:\n%s", n, after, before[n])
		}
	}
}
