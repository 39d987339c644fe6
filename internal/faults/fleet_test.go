package faults

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbookhq/runbook/internal/sshdtest"
	"github.com/runbookhq/runbook/runbook/journal"
)

// sshFleet is n real sshd hosts and a HOME whose ~/.ssh/known_hosts lists
// them, as an operator's would.
type sshFleet struct {
	*sshdtest.Fleet
	home string
}

func startSSHFleet(t *testing.T, n int) *sshFleet {
	t.Helper()
	f := sshdtest.Start(t, sshdtest.Hosts(n))
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	kh, err := os.ReadFile(f.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".ssh", "known_hosts"), kh, 0o600); err != nil {
		t.Fatal(err)
	}
	return &sshFleet{Fleet: f, home: home}
}

// workDir is a fresh directory the hosts' login user may write: the
// hosts' side-effect logs and lock directories go there. The hosts share
// this machine's filesystem, so every host gets its own lock_path in it.
func (f *sshFleet) workDir(t *testing.T) string {
	t.Helper()
	return sshdtest.ScratchDir(t, f.User)
}

// inventory writes an inventory of the fleet's hosts (group fleet) whose
// locks live in work, and returns its path.
func (f *sshFleet) inventory(t *testing.T, work string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("all:\n  children:\n    fleet:\n      hosts:\n")
	for _, h := range f.Hosts {
		fmt.Fprintf(&b, "        %s: {address: %s, port: %d, user: %s, identity_file: %s, lock_path: %s}\n",
			h.Name, h.Address, h.Port, f.User, f.KeyFile, lockPath(work, h.Name))
	}
	path := filepath.Join(t.TempDir(), "inventory.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func lockPath(work, host string) string { return filepath.Join(work, host+".lock") }

// hostLog is what a host's steps appended to its side-effect log, one step
// id a line.
func hostLog(t *testing.T, work, host string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(work, host+".log"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}

// writeFile writes content to a new file in a temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// stepKey names one step on one host.
type stepKey struct{ host, step string }

func (k stepKey) String() string { return k.host + " " + k.step }

// outcomes are the last host_finished outcome of every host, and the last
// run_finished status.
func outcomes(log *journal.Log) (status string, out map[string]string) {
	out = map[string]string{}
	for _, r := range log.Records {
		switch r.Type {
		case journal.HostFinished:
			out[r.Host] = r.Outcome
		case journal.RunFinished:
			status = r.Status
		}
	}
	return status, out
}

// lastRecord is the journal's last record.
func lastRecord(log *journal.Log) journal.Record {
	if len(log.Records) == 0 {
		return journal.Record{}
	}
	return log.Records[len(log.Records)-1]
}
