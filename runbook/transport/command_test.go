package transport_test

import (
	"bytes"
	"os/exec"
	"reflect"
	"strings"
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
	}{
		{"bare argv", transport.Command{Argv: []string{"ls", "-l", "a b"}}, 0, []string{"ls", "-l", "a b"}, false, ""},
		{"shell", transport.Command{Shell: "echo hi"}, 0, []string{"/bin/sh", "-c", "echo hi"}, false, ""},
		{"env", transport.Command{Argv: []string{"env"}, Env: map[string]string{"B": "2", "A": "it's"}}, 0,
			[]string{"/bin/sh", "-c", "export A='it'\\''s'\nexport B=2\nexec env"}, false, ""},
		{"sensitive", transport.Command{Shell: "echo s3cret", Sensitive: true}, 0,
			[]string{"/bin/sh", "-c", `eval "$(cat)"`}, false, "echo s3cret"},
	}
	for _, c := range cases {
		inv, err := transport.Prepare(c.cmd, c.mode)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !reflect.DeepEqual(inv.Argv, c.argv) || inv.Password != c.pw || string(inv.Stdin) != c.in {
			t.Errorf("%s: got %q pw=%v stdin=%q; want %q pw=%v stdin=%q", c.name, inv.Argv, inv.Password, inv.Stdin, c.argv, c.pw, c.in)
		}
	}
	// Become: sudo first, the wrapper, then the script as its argument.
	inv, err := transport.Prepare(transport.Command{Shell: "id", Become: true, BecomeUser: "postgres"}, transport.SudoNonInteractive)
	if err != nil || !reflect.DeepEqual(inv.Argv[:5], []string{"sudo", "-n", "-u", "postgres", "--"}) || inv.Argv[len(inv.Argv)-1] != "id" {
		t.Errorf("become: %q, %v", inv.Argv, err)
	}
	inv, err = transport.Prepare(transport.Command{Shell: "id", Become: true, Sensitive: true}, transport.SudoPassword)
	if err != nil || !reflect.DeepEqual(inv.Argv[:8], []string{"sudo", "-k", "-S", "-p", "", "-u", "root", "--"}) || !inv.Password || string(inv.Stdin) != "id" {
		t.Errorf("become with password: %q pw=%v stdin=%q, %v", inv.Argv, inv.Password, inv.Stdin, err)
	}
	if strings.Contains(inv.CommandLine(), "id\n") || !strings.HasPrefix(inv.CommandLine(), "exec sudo -k -S -p '' -u root -- /bin/sh -c ") {
		t.Errorf("CommandLine = %s", inv.CommandLine())
	}
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
