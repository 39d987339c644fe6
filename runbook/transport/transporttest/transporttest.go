// Package transporttest is one test suite for every transport.Transport:
// the SSH transport against real sshd, the local transport, the lab. A
// transport that passes it behaves as the engine and the step kinds expect.
package transporttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook/transport"
)

// Harness describes the transport under test.
type Harness struct {
	// New returns a connected transport to a host and a directory on that
	// host that the login user may write, both fresh for the test and
	// released when it ends (the suite closes the transport itself only in
	// its Close subtest).
	New func(t *testing.T) (transport.Transport, string)
	// Sudo says Become works on the host without a password, to root and
	// to "nobody".
	Sudo bool
	// Processes says the host runs real Linux processes, visible in /proc,
	// so the suite can check that a cancelled command left none behind.
	// The suite's hosts with real processes (loopback sshd, local) run
	// them on this machine, whose /proc the suite also reads for
	// CommandLines.
	Processes bool
	// CommandLines lists the command line (argv) of every process running
	// on the host now; nil reads this machine's /proc when Processes is
	// set.
	CommandLines func() [][]string
	// BytesCommand returns a shell command printing n bytes; nil means
	// `head -c N /dev/zero`.
	BytesCommand func(n int64) string
}

// Run runs the whole suite against h.
func Run(t *testing.T, h Harness) {
	if h.BytesCommand == nil {
		h.BytesCommand = func(n int64) string { return fmt.Sprintf("head -c %d /dev/zero", n) }
	}
	t.Run("ExitCodes", func(t *testing.T) { testExitCodes(t, h) })
	t.Run("StdoutStderr", func(t *testing.T) { testStdoutStderr(t, h) })
	t.Run("Stdin", func(t *testing.T) { testStdin(t, h) })
	t.Run("Env", func(t *testing.T) { testEnv(t, h) })
	t.Run("ArgvQuoting", func(t *testing.T) { testArgvQuoting(t, h) })
	t.Run("EnvNotInArgv", func(t *testing.T) { testEnvNotInArgv(t, h) })
	t.Run("Sensitive", func(t *testing.T) { testSensitive(t, h) })
	t.Run("Become", func(t *testing.T) { testBecome(t, h) })
	t.Run("InvalidCommand", func(t *testing.T) { testInvalidCommand(t, h) })
	t.Run("Timeout", func(t *testing.T) { testTimeout(t, h, false) })
	t.Run("Cancel", func(t *testing.T) { testCancel(t, h, false) })
	t.Run("CancelBecome", func(t *testing.T) { testCancel(t, h, true) })
	t.Run("CancelIgnoringTERM", func(t *testing.T) { testCancelStubborn(t, h, false) })
	t.Run("CancelBecomeIgnoringTERM", func(t *testing.T) { testCancelStubborn(t, h, true) })
	t.Run("LargeOutput", func(t *testing.T) { testLargeOutput(t, h) })
	t.Run("OutputStreams", func(t *testing.T) { testOutputStreams(t, h) })
	t.Run("Files", func(t *testing.T) { testFiles(t, h) })
	t.Run("Facts", func(t *testing.T) { testFacts(t, h) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, h) })
	t.Run("Close", func(t *testing.T) { testClose(t, h) })
}

// result is what run returns: the outcome and both streams.
type result struct {
	transport.Result
	Stdout, Stderr string
}

// run runs cmd, collecting its output, and fails the test on an error.
func run(t *testing.T, tr transport.Transport, cmd transport.Command) result {
	t.Helper()
	r, err := tryRun(context.Background(), tr, cmd)
	if err != nil {
		t.Fatalf("Run(%q %q): %v", cmd.Shell, cmd.Argv, err)
	}
	return r
}

func tryRun(ctx context.Context, tr transport.Transport, cmd transport.Command) (result, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	res, err := tr.Run(ctx, cmd)
	return result{Result: res, Stdout: stdout.String(), Stderr: stderr.String()}, err
}

func sh(script string) transport.Command { return transport.Command{Shell: script} }

func testExitCodes(t *testing.T, h Harness) {
	tr, _ := h.New(t)
	cases := []struct {
		cmd  transport.Command
		want int
	}{
		{sh("true"), 0},
		{sh("exit 3"), 3},
		{sh("false"), 1},
		{sh("exit 255"), 255},
		{transport.Command{Argv: []string{"sh", "-c", "exit 7"}}, 7},
		{sh("runbook-no-such-command-xyz"), 127},
	}
	for _, c := range cases {
		r := run(t, tr, c.cmd)
		if r.ExitCode != c.want {
			t.Errorf("Run(%q %q): exit %d, want %d (stderr %q)", c.cmd.Shell, c.cmd.Argv, r.ExitCode, c.want, r.Stderr)
		}
	}
	if r := run(t, tr, sh("sleep 0.2")); r.Duration < 100*time.Millisecond {
		t.Errorf("Duration of sleep 0.2 = %v, want about 200ms", r.Duration)
	}
}

func testStdoutStderr(t *testing.T, h Harness) {
	tr, _ := h.New(t)
	r := run(t, tr, sh("echo out1; echo err1 >&2; echo out2; echo err2 >&2; exit 4"))
	if r.Stdout != "out1\nout2\n" || r.Stderr != "err1\nerr2\n" || r.ExitCode != 4 {
		t.Errorf("got stdout %q stderr %q exit %d; want %q %q 4", r.Stdout, r.Stderr, r.ExitCode, "out1\nout2\n", "err1\nerr2\n")
	}
	// Nil writers discard the output without blocking the command.
	res, err := tr.Run(context.Background(), transport.Command{Shell: h.BytesCommand(1 << 20)})
	if err != nil || res.ExitCode != 0 {
		t.Errorf("Run with nil writers: %v, exit %d", err, res.ExitCode)
	}
}

func testStdin(t *testing.T, h Harness) {
	tr, _ := h.New(t)
	in := "line one\nline 'two' $HOME\n\x01\xff binary\n"
	r := run(t, tr, transport.Command{Shell: "cat", Stdin: strings.NewReader(in)})
	if r.Stdout != in {
		t.Errorf("cat echoed %q, want %q", r.Stdout, in)
	}
	r = run(t, tr, transport.Command{Argv: []string{"cat"}, Stdin: strings.NewReader(in)})
	if r.Stdout != in {
		t.Errorf("argv cat echoed %q, want %q", r.Stdout, in)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 256<<10) // 4 MiB
	r = run(t, tr, transport.Command{Shell: "wc -c", Stdin: bytes.NewReader(big)})
	if n, err := strconv.Atoi(strings.TrimSpace(r.Stdout)); err != nil || n != len(big) {
		t.Errorf("wc -c of %d bytes of stdin said %q", len(big), r.Stdout)
	}
	// No Stdin: the command sees end of file at once rather than hang.
	r = run(t, tr, transport.Command{Shell: "cat; echo done", Timeout: 20 * time.Second})
	if r.Stdout != "done\n" {
		t.Errorf("cat with no stdin printed %q", r.Stdout)
	}
}

// awkward are arguments that break naive quoting.
var awkward = []string{
	"plain", "with space", "it's", `"double"`, "$HOME", "${PATH}", "`id`", "$(id)",
	"back\\slash", "new\nline", "tab\there", "*", "?", "[a]", "~", ";", "&&", "|", ">out",
	"-n", "--", "", "a=b", "'", `'\''`, "#hash", "ünïcødé", "%s%%",
}

func testEnv(t *testing.T, h Harness) {
	tr, _ := h.New(t)
	env := map[string]string{"RB_A": "x y", "RB_B": "it's $HOME \"q\"\nnext `id` back\\slash \\' '\\", "RB_EMPTY": ""}
	want := env["RB_A"] + "|" + env["RB_B"] + "|" + env["RB_EMPTY"] + "|"
	script := `printf '%s|%s|%s|' "$RB_A" "$RB_B" "$RB_EMPTY"`
	if r := run(t, tr, transport.Command{Shell: script, Env: env}); r.Stdout != want {
		t.Errorf("shell env: got %q, want %q", r.Stdout, want)
	}
	argv := transport.Command{Argv: []string{"sh", "-c", script}, Env: env}
	if r := run(t, tr, argv); r.Stdout != want {
		t.Errorf("argv env: got %q, want %q", r.Stdout, want)
	}
	if !h.Sudo {
		return
	}
	become := transport.Command{Shell: script, Env: env, Become: true}
	if r := run(t, tr, become); r.Stdout != want {
		t.Errorf("become env: got %q, want %q (stderr %q)", r.Stdout, want, r.Stderr)
	}
	if _, err := tr.Run(context.Background(), transport.Command{Shell: "true", Env: map[string]string{"BAD-NAME": "x"}}); err == nil {
		t.Error("env name BAD-NAME accepted")
	}
}

func testArgvQuoting(t *testing.T, h Harness) {
	tr, _ := h.New(t)
	var want strings.Builder
	for _, a := range awkward {
		want.WriteString("[" + a + "]\n")
	}
	argv := append([]string{"printf", `[%s]\n`}, awkward...)
	if r := run(t, tr, transport.Command{Argv: argv}); r.Stdout != want.String() {
		t.Errorf("argv printf:\n got %q\nwant %q", r.Stdout, want.String())
	}
	if h.Sudo {
		if r := run(t, tr, transport.Command{Argv: argv, Become: true}); r.Stdout != want.String() {
			t.Errorf("become argv printf:\n got %q\nwant %q (stderr %q)", r.Stdout, want.String(), r.Stderr)
		}
	}
	// A shell script is passed as written: its own quoting is the shell's.
	script := `x='a  b'; printf '[%s]' "$x" 'single "q"' "double 'q'"`
	if r := run(t, tr, sh(script)); r.Stdout != `[a  b][single "q"][double 'q']` {
		t.Errorf("script quoting: got %q", r.Stdout)
	}
}

func testSensitive(t *testing.T, h Harness) {
	tr, _ := h.New(t)
	cmd := transport.Command{Shell: "secret='s3cr3t value'; echo \"got $secret\"; exit 5", Sensitive: true}
	r := run(t, tr, cmd)
	if r.Stdout != "got s3cr3t value\n" || r.ExitCode != 5 {
		t.Errorf("sensitive: stdout %q exit %d", r.Stdout, r.ExitCode)
	}
	r = run(t, tr, transport.Command{Argv: []string{"printf", "%s|", "a b", "it's"}, Sensitive: true, Env: map[string]string{"X": "1"}})
	if r.Stdout != "a b|it's|" {
		t.Errorf("sensitive argv: stdout %q", r.Stdout)
	}
	// A command of the script that reads stdin must not eat the script.
	r = run(t, tr, transport.Command{Shell: "cat\necho after", Sensitive: true})
	if r.Stdout != "after\n" {
		t.Errorf("sensitive script with a reader of stdin: stdout %q", r.Stdout)
	}
	if h.Sudo {
		cmd.Become = true
		if r := run(t, tr, cmd); r.Stdout != "got s3cr3t value\n" || r.ExitCode != 5 {
			t.Errorf("sensitive become: stdout %q exit %d stderr %q", r.Stdout, r.ExitCode, r.Stderr)
		}
	}
	if _, err := tr.Run(context.Background(), transport.Command{Shell: "cat", Sensitive: true, Stdin: strings.NewReader("x")}); err == nil {
		t.Error("sensitive command with Stdin accepted")
	}
}

func testBecome(t *testing.T, h Harness) {
	if !h.Sudo {
		t.Skip("the host offers no passwordless sudo")
	}
	tr, _ := h.New(t)
	if r := run(t, tr, transport.Command{Shell: "id -u", Become: true}); strings.TrimSpace(r.Stdout) != "0" {
		t.Errorf("become root: id -u = %q (stderr %q)", r.Stdout, r.Stderr)
	}
	if r := run(t, tr, transport.Command{Argv: []string{"id", "-un"}, Become: true, BecomeUser: "nobody"}); strings.TrimSpace(r.Stdout) != "nobody" {
		t.Errorf("become nobody: id -un = %q (stderr %q)", r.Stdout, r.Stderr)
	}
	r := run(t, tr, transport.Command{Shell: "cat; exit 6", Become: true, Stdin: strings.NewReader("to root\n")})
	if r.Stdout != "to root\n" || r.ExitCode != 6 {
		t.Errorf("become stdin: stdout %q exit %d stderr %q", r.Stdout, r.ExitCode, r.Stderr)
	}
	// The command's environment travels on standard input too; what the
	// command reads there is its own, and nothing else.
	env := map[string]string{"A": "a"}
	r = run(t, tr, transport.Command{Shell: `cat; echo "$A"`, Become: true, Env: env, Stdin: strings.NewReader("to root\n")})
	if r.Stdout != "to root\na\n" {
		t.Errorf("become env and stdin: stdout %q exit %d stderr %q", r.Stdout, r.ExitCode, r.Stderr)
	}
	r = run(t, tr, transport.Command{Shell: `cat; echo "$A"`, Become: true, Env: env})
	if r.Stdout != "a\n" {
		t.Errorf("become env without stdin: stdout %q exit %d stderr %q", r.Stdout, r.ExitCode, r.Stderr)
	}
}

func testInvalidCommand(t *testing.T, h Harness) {
	tr, _ := h.New(t)
	for _, cmd := range []transport.Command{
		{},
		{Shell: "true", Argv: []string{"true"}},
		{Shell: "echo a\x00b"},
		{Shell: "true", Become: true, BecomeUser: "-u root"},
	} {
		if _, err := tr.Run(context.Background(), cmd); err == nil {
			t.Errorf("Run(%+v) accepted", cmd)
		}
	}
}

func testConcurrent(t *testing.T, h Harness) {
	tr, _ := h.New(t)
	const n = 24
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := fmt.Sprintf("input-%d", i)
			r, err := tryRun(context.Background(), tr, transport.Command{
				Shell: `printf '%s:' "$N"; cat; exit "$N"`, Env: map[string]string{"N": strconv.Itoa(i)},
				Stdin: strings.NewReader(in),
			})
			switch {
			case err != nil:
				errs <- err
			case r.Stdout != fmt.Sprintf("%d:%s", i, in) || r.ExitCode != i:
				errs <- fmt.Errorf("command %d: stdout %q exit %d", i, r.Stdout, r.ExitCode)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func testClose(t *testing.T, h Harness) {
	tr, _ := h.New(t)
	run(t, tr, sh("true"))
	if err := tr.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := tr.Run(context.Background(), sh("true")); err == nil {
		t.Error("Run after Close succeeded")
	}
	if _, err := tr.Stat(context.Background(), "/"); err == nil {
		t.Error("Stat after Close succeeded")
	}
}

// isCtxErr reports whether err says ctx ended as want.
func isCtxErr(err, want error) bool { return err != nil && errors.Is(err, want) }
