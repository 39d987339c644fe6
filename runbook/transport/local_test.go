package transport_test

import (
	"os"
	"os/exec"
	"testing"

	"github.com/runbookhq/runbook/runbook/transport"
	"github.com/runbookhq/runbook/runbook/transport/transporttest"
)

func TestLocal(t *testing.T) {
	// Root may sudo without a password; anyone else may not, here.
	_, sudoErr := exec.LookPath("sudo")
	transporttest.Run(t, transporttest.Harness{
		New: func(t *testing.T) (transport.Transport, string) {
			tr := transport.Local()
			t.Cleanup(func() { tr.Close() })
			return tr, t.TempDir()
		},
		Sudo:      os.Geteuid() == 0 && sudoErr == nil,
		Processes: true,
	})
}
