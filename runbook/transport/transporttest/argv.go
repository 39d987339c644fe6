package transporttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook/transport"
)

// procCommandLines lists the command line of every process of this
// machine, from /proc/PID/cmdline (each argument whole).
func procCommandLines() [][]string {
	var out [][]string
	pids, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range pids {
		b, err := os.ReadFile(filepath.Join(dir, "cmdline"))
		if err != nil || len(b) == 0 {
			continue // gone meanwhile, or a kernel thread
		}
		out = append(out, strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00"))
	}
	return out
}

// testEnvNotInArgv runs commands whose Env holds a secret, each in every
// way a transport may run it (a script, an argv, with become, with
// standard input of its own, with an environment too large to go along
// with the command, sensitive), and while each runs, lists the command
// line of every process of the host: the secret must be in none, only in
// the command's environment.
func testEnvNotInArgv(t *testing.T, h Harness) {
	list := h.CommandLines
	if list == nil && h.Processes {
		list = procCommandLines
	}
	if list == nil {
		t.Skip("the host's command lines cannot be listed")
	}
	tr, dir := h.New(t)
	var b [12]byte
	rand.Read(b[:])
	secret := "rb-secret-" + hex.EncodeToString(b[:])
	wait := func(started, goFile string) string {
		return fmt.Sprintf(`printf '%%s|%%s' "$TOK" "${#BIG}"; echo > %s; while [ ! -e %s ]; do sleep 0.05; done`,
			transport.Quote(started), transport.Quote(goFile))
	}
	cases := []struct {
		name string
		cmd  func(script string) transport.Command
		big  bool
	}{
		{"shell", func(s string) transport.Command { return transport.Command{Shell: s} }, false},
		{"argv", func(s string) transport.Command { return transport.Command{Argv: []string{"sh", "-c", s}} }, false},
		{"stdin", func(s string) transport.Command { return transport.Command{Shell: s, Stdin: strings.NewReader("in")} }, false},
		{"large env", func(s string) transport.Command { return transport.Command{Shell: s} }, true},
		{"sensitive", func(s string) transport.Command { return transport.Command{Shell: s, Sensitive: true} }, false},
		{"become", func(s string) transport.Command { return transport.Command{Shell: s, Become: true} }, false},
		{"become argv", func(s string) transport.Command {
			return transport.Command{Argv: []string{"sh", "-c", s}, Become: true}
		}, false},
		{"become stdin", func(s string) transport.Command {
			return transport.Command{Shell: s, Become: true, Stdin: strings.NewReader("in")}
		}, true},
	}
	for i, c := range cases {
		cmd := c.cmd("")
		if cmd.Become && !h.Sudo {
			continue
		}
		started, goFile := path.Join(dir, fmt.Sprintf("started-%d", i)), path.Join(dir, fmt.Sprintf("go-%d", i))
		cmd = c.cmd(wait(started, goFile))
		cmd.Env = map[string]string{"TOK": secret, "OTHER": "x y"}
		wantBig := 0
		if c.big {
			wantBig = 64 << 10
			cmd.Env["BIG"] = strings.Repeat("b", wantBig)
		}
		cmd.Timeout = time.Minute
		done := make(chan error, 1)
		var r result
		go func() {
			var err error
			r, err = tryRun(context.Background(), tr, cmd)
			done <- err
		}()
		waitForFile(t, tr, started, done)
		seen := false // the command's own shell, whose script names goFile
		for _, argv := range list() {
			line := strings.Join(argv, " ")
			if strings.Contains(line, secret) {
				t.Errorf("%s: a value of Env is in the command line of a process on the host: %s", c.name, around(line, secret))
			}
			seen = seen || strings.Contains(line, goFile)
		}
		if !seen && !cmd.Sensitive {
			t.Errorf("%s: the command's shell is not among the host's processes: the list is not the host's", c.name)
		}
		run(t, tr, transport.Command{Argv: []string{"touch", goFile}})
		if err := <-done; err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if want := fmt.Sprintf("%s|%d", secret, wantBig); r.ExitCode != 0 || r.Stdout != want {
			t.Errorf("%s: exit %d, stdout %q, want %q (stderr %q)", c.name, r.ExitCode, r.Stdout, want, r.Stderr)
		}
	}
}

// around is the part of line around the first s, for a message.
func around(line, s string) string {
	i := strings.Index(line, s)
	from, to := max(0, i-80), min(len(line), i+len(s)+80)
	return fmt.Sprintf("%q", line[from:to])
}
