package transport_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"unicode/utf8"

	"github.com/runbookhq/runbook/runbook/transport"
)

// shellEcho runs line in /bin/sh and returns what it prints.
func shellEcho(t testing.TB, line string) string {
	t.Helper()
	out, err := exec.Command("/bin/sh", "-c", line).Output()
	if err != nil {
		t.Fatalf("sh -c %q: %v", line, err)
	}
	return string(out)
}

func TestQuoteRoundTrip(t *testing.T) {
	for _, s := range []string{"", "a", "a b", "it's", `"`, "$HOME", "`id`", "\n", "a=b", "-n", "~", "*", "'\\''", "é"} {
		if got := shellEcho(t, "printf %s "+transport.Quote(s)); got != s {
			t.Errorf("Quote(%q) = %s reads back as %q", s, transport.Quote(s), got)
		}
	}
	for s, want := range map[string]string{"plain": "plain", "/usr/bin/x": "/usr/bin/x", "a=b": "'a=b'", "": "''", "it's": `'it'\''s'`} {
		if got := transport.Quote(s); got != want {
			t.Errorf("Quote(%q) = %s, want %s", s, got, want)
		}
	}
}

func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "a b", "it's", "$(id)", "\\", "\n'\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
			t.Skip()
		}
		if got := shellEcho(t, "printf %s "+transport.Quote(s)); got != s {
			t.Fatalf("Quote(%q) = %s reads back as %q", s, transport.Quote(s), got)
		}
	})
}

func TestPrepare(t *testing.T) {
	cases := []struct {
		name string
		cmd  transport.Command
		mode transport.SudoMode
		argv []string
		pw   bool
		in   string
		eval string
	}{
		{"bare argv", transport.Command{Argv: []string{"ls", "-l", "a b"}}, 0, []string{"ls", "-l", "a b"}, false, "",
			"exec ls -l 'a b'"},
		{"shell", transport.Command{Shell: "echo hi"}, 0, []string{"/bin/sh", "-c", "echo hi"}, false, "",
			"exec /bin/sh -c 'echo hi'"},
		{"env", transport.Command{Argv: []string{"env"}, Env: map[string]string{"B": "2", "A": "it's"}}, 0,
			[]string{"/bin/sh", "-c", transport.EnvLauncher, "sh", "env"}, false, "2\nexport A='it'\"'\"'s'\nexport B=2\n",
			"export A='it'\"'\"'s'\nexport B=2\nexec env"},
		{"stdin", transport.Command{Shell: "cat", Stdin: strings.NewReader("")}, 0, []string{"/bin/sh", "-c", "cat"}, false, "", ""},
		{"sensitive", transport.Command{Shell: "echo s3cret", Sensitive: true}, 0,
			[]string{"/bin/sh", "-c", `eval "$(cat)"`}, false, "echo s3cret", ""},
		// runbook's own scripts: a driver evaluates them as they are, a
		// session runs them as any script.
		{"inline", transport.Command{Shell: "L=x; echo $L", Inline: true}, 0, []string{"/bin/sh", "-c", "L=x; echo $L"}, false, "",
			"L=x; echo $L"},
		{"inline with env", transport.Command{Shell: "echo $A", Inline: true, Env: map[string]string{"A": "1"}}, 0,
			[]string{"/bin/sh", "-c", transport.EnvLauncher, "sh", "/bin/sh", "-c", "echo $A"}, false, "1\nexport A=1\n",
			"export A=1\nexec /bin/sh -c 'echo $A'"},
	}
	for _, c := range cases {
		inv, err := transport.Prepare(c.cmd, c.mode)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !reflect.DeepEqual(inv.Argv, c.argv) || inv.Password != c.pw || string(inv.Stdin) != c.in || inv.Eval != c.eval {
			t.Errorf("%s: got %q pw=%v stdin=%q eval=%q; want %q pw=%v stdin=%q eval=%q", c.name,
				inv.Argv, inv.Password, inv.Stdin, inv.Eval, c.argv, c.pw, c.in, c.eval)
		}
	}
	// Become: sudo first, the wrapper, then the command as its arguments.
	inv, err := transport.Prepare(transport.Command{Shell: "id", Become: true, BecomeUser: "postgres"}, transport.SudoNonInteractive)
	if err != nil || !reflect.DeepEqual(inv.Argv[:5], []string{"sudo", "-n", "-u", "postgres", "--"}) ||
		!reflect.DeepEqual(inv.Argv[len(inv.Argv)-3:], []string{"/bin/sh", "-c", "id"}) || inv.Eval != inv.CommandLine() {
		t.Errorf("become: %q, eval %q, %v", inv.Argv, inv.Eval, err)
	}
	// Become with env through a driver: the environment block follows in
	// a here-document, read by the wrapper after sudo.
	inv, err = transport.Prepare(transport.Command{Shell: "id", Become: true, Env: map[string]string{"A": "x\nRBENV0\ny"}}, transport.SudoNonInteractive)
	if want := inv.CommandLine() + " <<'RBENV1'\n" + string(inv.Stdin) + "RBENV1"; err != nil || inv.Eval != want {
		t.Errorf("become with env: eval %q, want %q (%v)", inv.Eval, want, err)
	}
	inv, err = transport.Prepare(transport.Command{Shell: "id", Become: true, Sensitive: true}, transport.SudoPassword)
	if err != nil || !reflect.DeepEqual(inv.Argv[:8], []string{"sudo", "-k", "-S", "-p", "", "-u", "root", "--"}) || !inv.Password ||
		string(inv.Stdin) != "id" || inv.Eval != "" {
		t.Errorf("become with password: %q pw=%v stdin=%q eval=%q, %v", inv.Argv, inv.Password, inv.Stdin, inv.Eval, err)
	}
	if strings.Contains(inv.CommandLine(), "id\n") || !strings.HasPrefix(inv.CommandLine(), "exec sudo -k -S -p '' -u root -- /bin/sh -c ") {
		t.Errorf("CommandLine = %s", inv.CommandLine())
	}
	if inv, _ := transport.Prepare(transport.Command{Shell: "id", Become: true, Inline: true}, transport.SudoNonInteractive); inv.Eval != inv.CommandLine() {
		t.Errorf("an inline script with become is evaluated as %q, want sudo's command line %q", inv.Eval, inv.CommandLine())
	}
	if inv, _ := transport.Prepare(transport.Command{Shell: "id", Become: true}, transport.SudoPassword); inv.Eval != "" {
		t.Errorf("a command that gives sudo its password can go through a driver: eval %q", inv.Eval)
	}
}

// A prepared command does the same whether it runs as a process of its
// own (Argv, with Stdin on standard input) or as a driver evaluates it
// (Eval in a subshell): same output, same exit status, Env exported.
func TestPreparedWaysAgree(t *testing.T) {
	env := map[string]string{"A": "it's $HOME\nnext `id`", "B": "", "C": "x\nRBENV0\n", "PATH": os.Getenv("PATH")}
	for _, cmd := range []transport.Command{
		{Shell: `printf '[%s]' "$A" "$B" "$C" "$0"; exit 3`, Env: env},
		{Shell: `printf '[%s]' "$0" "$#"; cat; exit 4`},
		{Argv: []string{"printf", "[%s]", "a b", "it's", "$HOME", ""}, Env: env},
		{Argv: []string{"sh", "-c", `printf '[%s]' "$A"; kill -TERM $$`}, Env: env},
		{Argv: []string{"runbook-no-such-program"}, Env: env},
	} {
		inv, err := transport.Prepare(cmd, 0)
		if err != nil {
			t.Fatal(err)
		}
		alone := exec.Command(inv.Argv[0], inv.Argv[1:]...)
		alone.Stdin = bytes.NewReader(inv.Stdin)
		driven := exec.Command("/bin/sh", "-c", `(eval "$1") </dev/null & wait $! 2>/dev/null`, "sh", inv.Eval)
		if a, d := outcome(alone), outcome(driven); a != d {
			t.Errorf("%q %q:\n alone:  %s\n driven: %s", cmd.Shell, cmd.Argv, a, d)
		}
	}
}

// outcome runs cmd and describes how it ended, with its output.
func outcome(cmd *exec.Cmd) string {
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
	} else if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
}

// The command line an SSH server's login shell receives runs the same
// program with the same arguments as the argv does.
func TestCommandLineRunsArgv(t *testing.T) {
	args := []string{"printf", "[%s]", "a b", "it's", "$HOME", "", "new\nline", "a=b"}
	inv, err := transport.Prepare(transport.Command{Argv: args}, 0)
	if err != nil {
		t.Fatal(err)
	}
	direct, _ := exec.Command(args[0], args[1:]...).Output()
	if got := shellEcho(t, inv.CommandLine()); got != string(direct) {
		t.Errorf("command line printed %q, argv printed %q", got, direct)
	}
}

func TestValidate(t *testing.T) {
	bad := map[string]transport.Command{
		"empty":          {},
		"both":           {Shell: "x", Argv: []string{"x"}},
		"empty argv0":    {Argv: []string{""}},
		"NUL in shell":   {Shell: "a\x00"},
		"NUL in arg":     {Argv: []string{"a", "b\x00"}},
		"bad env name":   {Shell: "x", Env: map[string]string{"1A": "x"}},
		"env with =":     {Shell: "x", Env: map[string]string{"A=B": "x"}},
		"NUL in env":     {Shell: "x", Env: map[string]string{"A": "\x00"}},
		"option as user": {Shell: "x", Become: true, BecomeUser: "-s"},
		"space in user":  {Shell: "x", Become: true, BecomeUser: "a b"},
		"sensitive in":   {Shell: "x", Sensitive: true, Stdin: strings.NewReader("")},
		"negative time":  {Shell: "x", Timeout: -1},
	}
	for name, cmd := range bad {
		if err := transport.Validate(cmd); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for _, cmd := range []transport.Command{
		{Shell: "x"}, {Argv: []string{"x"}}, {Shell: "x", Become: true, BecomeUser: "www-data"},
		{Shell: "x", Become: true, BecomeUser: "#0"}, {Shell: "x", Env: map[string]string{"_A1": ""}},
	} {
		if err := transport.Validate(cmd); err != nil {
			t.Errorf("Validate(%+v): %v", cmd, err)
		}
	}
}

func TestParseFacts(t *testing.T) {
	out := shellEcho(t, transport.FactsScript)
	f, err := transport.ParseFacts([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if f.Hostname == "" || f.Kernel == "" || f.Arch == "" || f.OSID == "" {
		t.Errorf("facts of this machine: %+v", f)
	}
	f, err = transport.ParseFacts([]byte("hostname=web1\nkernel=5.15.0-91-generic\narch=x86_64\nboot_id=b1\n--- os-release\n" +
		"NAME=\"Ubuntu\"\nVERSION_ID=\"22.04\"\nID=ubuntu\nVERSION_CODENAME='jammy'\nPRETTY_NAME=\"Ubuntu 22.04.3 LTS\"\n"))
	want := transport.Facts{Hostname: "web1", OSID: "ubuntu", OSVersion: "22.04", OSCodename: "jammy", Kernel: "5.15.0-91-generic", Arch: "x86_64", BootID: "b1"}
	if err != nil || f != want {
		t.Errorf("ParseFacts = %+v, %v; want %+v", f, err, want)
	}
	if _, err := transport.ParseFacts(bytes.Repeat([]byte("garbage\n"), 3)); err == nil {
		t.Error("ParseFacts of garbage succeeded")
	}
}

// FuzzEnvArrives: whatever the value of a variable of Env (no NUL), the
// command sees exactly it, run as a process of its own with the
// environment block on standard input, or evaluated as a driver does.
func FuzzEnvArrives(f *testing.F) {
	for _, s := range []string{"", "x y", "it's", "'", "\\", "a\nb\n", "\n", "RBENV0", "$(id) `id` $HOME", "\\'\"\\\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if strings.IndexByte(v, 0) >= 0 {
			t.Skip()
		}
		inv, err := transport.Prepare(transport.Command{Shell: `printf %s "$V"`, Env: map[string]string{"V": v}}, 0)
		if err != nil {
			t.Fatal(err)
		}
		alone := exec.Command(inv.Argv[0], inv.Argv[1:]...)
		alone.Stdin = bytes.NewReader(inv.Stdin)
		if got, err := alone.Output(); err != nil || string(got) != v {
			t.Errorf("with the environment on standard input: %q, %v; want %q", got, err, v)
		}
		driven := exec.Command("/bin/sh", "-c", `(eval "$1") </dev/null`, "sh", inv.Eval)
		if got, err := driven.Output(); err != nil || string(got) != v {
			t.Errorf("evaluated: %q, %v; want %q", got, err, v)
		}
	})
}
