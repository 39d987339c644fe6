package ssh_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/runbookhq/runbook/internal/sshdtest"
	"github.com/runbookhq/runbook/runbook/transport"
	rbssh "github.com/runbookhq/runbook/runbook/transport/ssh"
)

// parentOf runs a command that prints its parent's command line: the
// driver shell's when the command went through the driver, sshd's when it
// had a session of its own.
func parentOf(t *testing.T, tr transport.Transport, cmd transport.Command) string {
	t.Helper()
	var out bytes.Buffer
	cmd.Shell = `tr '\0' ' ' </proc/$PPID/cmdline; echo; echo "$PPID"`
	cmd.Stdout = &out
	res, err := tr.Run(context.Background(), cmd)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("parent: %+v %v", res, err)
	}
	return out.String()
}

// Commands run one after another through one driver session, each with
// its output and exit status exactly as a session of its own gives them;
// commands that need their standard input take a session of their own.
func TestDriverRunsCommandsInOneSession(t *testing.T) {
	t.Parallel()
	f := sshdtest.Start(t)
	ctx := context.Background()
	viaDriver := dial(t, rbssh.NewDialer(fleetOptions(f)), target(f.Hosts[0]))
	opts := fleetOptions(f)
	opts.SessionPerCommand = true
	perSession := dial(t, rbssh.NewDialer(opts), target(f.Hosts[0]))

	first := parentOf(t, viaDriver, transport.Command{})
	if !strings.Contains(first, "rbdriver") {
		t.Fatalf("the command's parent is not the driver: %q", first)
	}
	if again := parentOf(t, viaDriver, transport.Command{Env: map[string]string{"X": "1"}}); again != first {
		t.Errorf("the second command ran elsewhere: %q, then %q", first, again)
	}
	if p := parentOf(t, perSession, transport.Command{}); strings.Contains(p, "rbdriver") {
		t.Errorf("SessionPerCommand: the command's parent is the driver: %q", p)
	}
	if p := parentOf(t, viaDriver, transport.Command{Stdin: strings.NewReader("")}); strings.Contains(p, "rbdriver") {
		t.Errorf("a command with standard input went through the driver: %q", p)
	}

	scripts := []string{
		`printf 'no newline'`,
		`printf 'to stderr' >&2`,
		`printf '\036rbd-000000000000000000000000 0\n'; printf '\036' >&2`,
		`printf '\036rbd-'; exit 3`,
		`i=0; while [ $i -lt 5000 ]; do echo "line $i"; i=$((i+1)); done; echo tail >&2; exit 255`,
		`exit 127`,
		`kill -TERM $$`,
		"printf '%s\\n' one \\\n two",
		`echo "$HOME" "$PWD"; umask`,
		`printf '%s|' "$0" "$#" "$-"; cat; [ -t 0 ] || echo no tty`,
	}
	env := map[string]string{"A": "it's \\ $HOME\n", "B": ""}
	cmds := []transport.Command{
		{Argv: []string{"printf", "[%s]", "a b", "it's", ""}},
		{Argv: []string{"runbook-no-such-program", "x"}},
		{Argv: []string{"runbook-no-such-program", "x"}, Env: env},
		{Shell: `printf '[%s]' "$A" "$B" "$0"; exit 5`, Env: env},
	}
	for _, script := range scripts {
		cmds = append(cmds, transport.Command{Shell: script})
	}
	if os.Geteuid() == 0 && f.User == sshdtest.SudoUserName {
		cmds = append(cmds, transport.Command{Shell: `printf '[%s]' "$A" "$(id -u)"; cat`, Env: env, Become: true},
			transport.Command{Argv: []string{"runbook-no-such-program"}, Env: env, Become: true})
	}
	for i, cmd := range cmds {
		want := runBoth(t, perSession, cmd)
		got := runBoth(t, viaDriver, cmd)
		if got != want {
			t.Errorf("command %d %q %q:\n through the driver: %s\n in a session:       %s", i, cmd.Shell, cmd.Argv, got, want)
		}
	}
	if again := parentOf(t, viaDriver, transport.Command{}); again != first {
		t.Errorf("the driver was replaced: %q, then %q", first, again)
	}

	// An interrupted command ends its driver; the next command gets a new one.
	tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err := viaDriver.Run(tctx, transport.Command{Shell: "sleep 30"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a command past its deadline: %v", err)
	}
	next := parentOf(t, viaDriver, transport.Command{})
	if next == first || !strings.Contains(next, "rbdriver") {
		t.Errorf("after an interrupted command: parent %q (the first driver was %q)", next, first)
	}
}

// runBoth runs cmd and describes what came back: exit status, stdout and
// stderr, exactly.
func runBoth(t *testing.T, tr transport.Transport, cmd transport.Command) string {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	res, err := tr.Run(context.Background(), cmd)
	if err != nil {
		t.Fatalf("%q %q: %v", cmd.Shell, cmd.Argv, err)
	}
	return fmt.Sprintf("exit %d, stdout %q, stderr %q", res.ExitCode, out.Bytes(), errb.Bytes())
}

// A host whose ForceCommand refuses the driver (one that vets each
// command, say) gets every command in a session of its own, each run once.
func TestDriverRefusedByForceCommand(t *testing.T) {
	t.Parallel()
	f := sshdtest.Start(t, sshdtest.WithForceCommand(
		`case "$SSH_ORIGINAL_COMMAND" in *rbdriver*) echo no drivers here >&2; exit 1 ;; esac; eval "$SSH_ORIGINAL_COMMAND"`))
	tr := dial(t, rbssh.NewDialer(fleetOptions(f)), target(f.Hosts[0]))
	dir := sshdtest.ScratchDir(t, f.User)
	log := dir + "/ran"
	for i := range 3 {
		var out bytes.Buffer
		res, err := tr.Run(context.Background(), transport.Command{Shell: "echo " + fmt.Sprint(i) + " >> " + log + "; echo done", Stdout: &out})
		if err != nil || res.ExitCode != 0 || out.String() != "done\n" {
			t.Fatalf("command %d: %+v %v %q", i+1, res, err, out.String())
		}
	}
	var out bytes.Buffer
	if _, err := tr.Run(context.Background(), transport.Command{Argv: []string{"cat", log}, Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "0\n1\n2\n" {
		t.Errorf("the commands ran %q, want each once", out.String())
	}
	if p := parentOf(t, tr, transport.Command{}); strings.Contains(p, "rbdriver") {
		t.Errorf("a command went through a driver: %q", p)
	}
}
