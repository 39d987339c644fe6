package steps

import (
	"context"
	"testing"
	"time"

	"github.com/runbookhq/runbook/internal/sshdtest"
	rbssh "github.com/runbookhq/runbook/runbook/transport/ssh"
)

// sshTargets are the end-to-end targets reached over real SSH: one real
// sshd host, logged in as the test user with sudo (become on, where the
// fleet's user may sudo). Without sshd the tests skip these, unless
// RUNBOOK_REQUIRE_SSHD=1.
func sshTargets(t *testing.T) []target {
	t.Helper()
	f := sshdtest.Start(t)
	h := f.Hosts[0]
	d := rbssh.NewDialer(rbssh.Options{KnownHostsFiles: []string{f.KnownHosts}, SSHConfigFile: "none", AgentSocket: "none"})
	t.Cleanup(func() { d.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr, err := d.Dial(ctx, rbssh.Target{Name: h.Name, Address: h.Address, Port: h.Port, User: f.User, IdentityFile: f.KeyFile, ProxyJump: "none"})
	if err != nil {
		t.Fatalf("dial the test sshd: %v", err)
	}
	t.Cleanup(func() { tr.Close() })
	return []target{{name: "ssh-" + f.User, tr: tr, become: f.Become, scratch: func(t *testing.T) string { return sshdtest.ScratchDir(t, f.User) }}}
}
