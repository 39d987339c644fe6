package ssh_test

import (
	"context"
	"os"
	"testing"

	"github.com/runbookhq/runbook/internal/sshdtest"
	"github.com/runbookhq/runbook/runbook/transport"
	rbssh "github.com/runbookhq/runbook/runbook/transport/ssh"
	"github.com/runbookhq/runbook/runbook/transport/transporttest"
)

// fleetOptions are Options that use only the fleet's files: no agent, no
// ssh_config, no key of the machine's own.
func fleetOptions(f *sshdtest.Fleet) rbssh.Options {
	return rbssh.Options{
		KnownHostsFiles: []string{f.KnownHosts},
		SSHConfigFile:   "none",
		AgentSocket:     "none",
	}
}

func target(h *sshdtest.Host) rbssh.Target {
	return rbssh.Target{Name: h.Name, Address: h.Address, Port: h.Port, User: h.User, IdentityFile: h.KeyFile}
}

// dial connects to h and closes the transport when the test ends.
func dial(t *testing.T, d *rbssh.Dialer, tg rbssh.Target) transport.Transport {
	t.Helper()
	tr, err := d.Dial(context.Background(), tg)
	if err != nil {
		t.Fatalf("Dial %s: %v", tg.Name, err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func TestTransportSuite(t *testing.T) { runSuite(t, false) }

// TestTransportSuiteSessionPerCommand runs the suite with a session per
// command, the way every command runs when the driver is off or refused.
func TestTransportSuiteSessionPerCommand(t *testing.T) { runSuite(t, true) }

func runSuite(t *testing.T, sessionPerCommand bool) {
	f := sshdtest.Start(t)
	opts := fleetOptions(f)
	opts.SessionPerCommand = sessionPerCommand
	d := rbssh.NewDialer(opts)
	t.Cleanup(func() { d.Close() })
	transporttest.Run(t, transporttest.Harness{
		New: func(t *testing.T) (transport.Transport, string) {
			return dial(t, d, target(f.Hosts[0])), sshdtest.ScratchDir(t, f.User)
		},
		Sudo:      os.Geteuid() == 0 && f.User == sshdtest.SudoUserName,
		Processes: true,
	})
}
