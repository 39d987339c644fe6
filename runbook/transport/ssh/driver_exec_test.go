package ssh_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbookhq/runbook/runbook/transport"
	"github.com/runbookhq/runbook/runbook/transport/driverproto"
)

// A step through the driver costs the host one exec: a shell step's
// /bin/sh, or a command step's program, never a shell to start the shell;
// runbook's own inline scripts of builtins cost none.
// The driver runs here under strace, with this machine's /bin/sh, fed the
// requests the transport sends; each step runs twice.
func TestDriverExecsOncePerStep(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace is not installed (apt-get install strace): it counts the driver's execs")
	}
	for _, c := range []struct {
		name  string
		cmd   transport.Command
		execs []string // the programs each step execs, in order
	}{
		{"shell", transport.Command{Shell: "echo step; true"}, []string{"/bin/sh"}},
		{"shell with env", transport.Command{Shell: `echo "$STEP"`, Env: map[string]string{"STEP": "s3cr3t"}}, []string{"/bin/sh"}},
		{"argv", transport.Command{Argv: []string{"/bin/echo", "step"}}, []string{"/bin/echo"}},
		{"argv with env", transport.Command{Argv: []string{"/bin/echo", "step"}, Env: map[string]string{"STEP": "1"}}, []string{"/bin/echo"}},
		// runbook's own script of builtins (the lock and the facts): none.
		{"inline", transport.Command{Shell: `L=x; { read -r h < /proc/sys/kernel/hostname; } 2>/dev/null; echo "$L $h"`, Inline: true}, nil},
	} {
		inv, err := transport.Prepare(c.cmd, transport.SudoNonInteractive)
		if err != nil {
			t.Fatal(err)
		}
		trace := filepath.Join(t.TempDir(), "trace")
		cmd := exec.Command(strace, "-f", "-qq", "-e", "trace=execve", "-o", trace,
			"/bin/sh", "-c", driverproto.Script, "sh", driverproto.Name, "n0")
		cmd.Stdin = strings.NewReader(driverproto.Request("n1", inv.Eval) + driverproto.Request("n2", inv.Eval))
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Skipf("strace cannot trace here (%v): %s", err, errb.String())
		}
		if want := driverproto.StatusMarker("n1", 0); !strings.Contains(out.String(), want) ||
			!strings.HasSuffix(out.String(), driverproto.StatusMarker("n2", 0)) {
			t.Fatalf("%s: the driver's output %q, stderr %q", c.name, out.String(), errb.String())
		}
		got := execs(t, trace)
		want := append(append([]string{"/bin/sh"}, c.execs...), c.execs...) // the driver, then each step
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: the driver and its steps exec %q, want %q", c.name, got, want)
		}
	}
}

// execs lists the programs execve ran, from strace's output.
func execs(t *testing.T, trace string) []string {
	t.Helper()
	b, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		_, call, ok := strings.Cut(line, ` execve("`)
		if !ok || !strings.HasSuffix(line, "= 0") {
			continue
		}
		prog, _, _ := strings.Cut(call, `"`)
		out = append(out, prog)
	}
	return out
}
