package ssh_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbookhq/runbook/internal/sshdtest"
	"github.com/runbookhq/runbook/runbook/transport"
	rbssh "github.com/runbookhq/runbook/runbook/transport/ssh"
)

func TestProxyJump(t *testing.T) {
	isolateHome(t)
	f := sshdtest.Start(t, sshdtest.Hosts(2), sshdtest.WithBastion())
	b := f.Bastion
	// The jump host's key comes from ssh_config, as it would for a user.
	cfg := filepath.Join(t.TempDir(), "config")
	os.WriteFile(cfg, []byte(fmt.Sprintf("Host bastion\n  HostName %s\n  Port %d\n  User %s\n  IdentityFile %s\n",
		b.Address, b.Port, b.User, b.KeyFile)), 0o600)
	opts := fleetOptions(f)
	opts.SSHConfigFile = cfg
	d := rbssh.NewDialer(opts)
	t.Cleanup(func() { d.Close() })

	var trs []transport.Transport
	for _, h := range f.Hosts {
		tg := target(h)
		tg.ProxyJump = "bastion"
		tr := dial(t, d, tg)
		if r, err := tr.Run(context.Background(), transport.Command{Shell: "true"}); err != nil || r.ExitCode != 0 {
			t.Fatalf("Run on %s through the jump host: %v %+v", h.Name, err, r)
		}
		trs = append(trs, tr)
	}
	if n := strings.Count(b.Log(), "Accepted publickey"); n != 1 {
		t.Errorf("the jump host saw %d logins for two targets, want one shared connection:\n%s", n, b.Log())
	}
	// The targets' connections run through the jump host: without it they
	// are unreachable, and with it back they redial through it.
	b.Kill()
	if _, err := trs[0].Run(context.Background(), transport.Command{Shell: "true"}); !errors.Is(err, transport.ErrUnreachable) {
		t.Errorf("Run with the jump host down: %v, want ErrUnreachable", err)
	}
	if err := b.Restart(); err != nil {
		t.Fatal(err)
	}
	for i, tr := range trs {
		if r, err := tr.Run(context.Background(), transport.Command{Shell: "true"}); err != nil || r.ExitCode != 0 {
			t.Errorf("Run on host%d after the jump host restarted: %v %+v", i+1, err, r)
		}
	}

	// An explicit user@host:port chain works too, and a jump host whose key
	// is unknown is refused like any host.
	tg := target(f.Hosts[0])
	tg.ProxyJump = fmt.Sprintf("%s@%s:%d", b.User, b.Address, b.Port)
	tg.IdentityFile = f.KeyFile
	opts.SSHConfigFile = "none"
	opts.KnownHostsFiles = []string{f.KnownHosts}
	// Without ssh_config the jump host has no key of its own: put the
	// fleet's key where default keys are looked for.
	home, _ := os.UserHomeDir()
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	key, _ := os.ReadFile(f.KeyFile)
	os.WriteFile(filepath.Join(home, ".ssh", "id_ed25519"), key, 0o600)
	dial(t, rbssh.NewDialer(opts), tg)

	opts.KnownHostsFiles = []string{writeKnownHosts(t, strings.Split(strings.TrimSpace(readFile(t, f.KnownHosts)), "\n")[0])}
	_, err := rbssh.NewDialer(opts).Dial(context.Background(), tg)
	var hk *rbssh.HostKeyError
	if !errors.As(err, &hk) || !strings.Contains(err.Error(), fmt.Sprint(b.Port)) {
		t.Errorf("Dial through a jump host of unknown key: %v, want its host key refused", err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Jump hosts given as targets (inventory hosts) are reached with their own
// address, port, user and identity file, with no ssh_config and no key of
// the user's; the jump host's log shows the forward to the target.
func TestProxyJumpTargets(t *testing.T) {
	isolateHome(t)
	f := sshdtest.Start(t, sshdtest.Hosts(1), sshdtest.WithBastion())
	b, h := f.Bastion, f.Hosts[0]
	tg := target(h)
	tg.ProxyJump = "ignored.invalid"
	tg.Jumps = []rbssh.Target{{Name: "n1", Address: b.Address, Port: b.Port, User: b.User, IdentityFile: f.KeyFile}}
	tr := dial(t, rbssh.NewDialer(fleetOptions(f)), tg)
	if r, err := tr.Run(context.Background(), transport.Command{Shell: "true"}); err != nil || r.ExitCode != 0 {
		t.Fatalf("Run through the jump host: %v %+v", err, r)
	}
	if forward := fmt.Sprintf("target %s port %d", h.Address, h.Port); !strings.Contains(b.Log(), forward) {
		t.Errorf("the jump host's log has no forward to %s:%d:\n%s", h.Address, h.Port, b.Log())
	}
	// Without its identity file (and no other key here) the jump host
	// refuses the login, and the error names it.
	tg.Jumps[0].IdentityFile = ""
	_, err := rbssh.NewDialer(fleetOptions(f)).Dial(context.Background(), tg)
	if err == nil || !strings.Contains(err.Error(), "via jump host n1") {
		t.Errorf("Dial through a jump host without its key: %v", err)
	}
}
