package transport

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// SudoMode says how a Become command reaches its target user.
type SudoMode int

const (
	// SudoNonInteractive runs `sudo -n`: sudo fails rather than ask for a
	// password.
	SudoNonInteractive SudoMode = iota
	// SudoPassword runs `sudo -k -S -p ''`: sudo reads the password from the
	// first line of standard input, which the transport writes before
	// anything else. -k makes sudo ask even when it holds cached
	// credentials, so the password line is always consumed by sudo and never
	// reaches the command.
	SudoPassword
)

// envReader reads the environment block (envBlock) from standard input
// into $e. read takes one byte at a time from a pipe, so nothing after the
// block is consumed: the rest of standard input is the command's. A block
// cut short runs nothing.
const envReader = `IFS= read -r n; e=
while [ "$n" -gt 0 ] 2>/dev/null && IFS= read -r l; do e="$e$l
"; n=$((n-1)); done
[ "$n" = 0 ] || { echo "runbook: the command's environment did not arrive whole" >&2; exit 125; }
`

// envLauncher runs the command in "$@" with the environment block read
// from standard input exported. The exec is evaluated with the exports,
// as a driver evaluates it (Invocation.Eval), so that a shell's message
// about it (a program not found) reads the same either way.
const envLauncher = envReader + `eval "${e}exec \"\$@\""`

// becomeTrap is the start of what sudo runs: a TERM relayed by sudo
// interrupts the wrapper's wait for the command (started in the
// background, "$@") at once; the trap then signals the whole process
// group, which the user who signalled sudo could not (the group runs as
// the become user), waits for the command to end, and leaves a watchdog
// that sends KILL to whatever still runs two seconds later. The command
// keeps the wrapper's standard input (an asynchronous command would
// otherwise read /dev/null), and the wrapper exits with its status.
const becomeTrap = `trap 'trap "" TERM INT HUP; kill -TERM 0 2>/dev/null; (sleep 2; kill -KILL 0 2>/dev/null) </dev/null >/dev/null 2>&1 & wait "$c"; exit 143' TERM INT HUP
exec 3<&0
`

// becomeWrapper runs "$@" as becomeTrap says; becomeEnvWrapper first reads
// the environment block from standard input, and exports it in the
// command's subshell only, so that the wrapper itself (its trap's sleep,
// say) runs in sudo's clean environment.
const (
	becomeWrapper = becomeTrap + `"$@" <&3 3<&- &
c=$!
wait "$c"`
	becomeEnvWrapper = envReader + becomeTrap + `(eval "${e}exec \"\$@\"") <&3 3<&- &
c=$!
wait "$c"`
)

// sensitiveLauncher reads the whole script from standard input, then runs
// it. Unlike `sh -s`, no command of the script can read the rest of the
// script as its own input.
const sensitiveLauncher = `eval "$(cat)"`

// Invocation is a Command turned into what a POSIX host executes.
type Invocation struct {
	// Argv is the program and its arguments, for a process of its own (an
	// SSH session's, a local one).
	Argv []string
	// Password says sudo expects the become password, followed by a
	// newline, as the first bytes of standard input.
	Password bool
	// Stdin goes to standard input after the password line and before
	// Command.Stdin: the environment block, or the script of a Sensitive
	// command.
	Stdin []byte
	// Eval is shell code that runs the command when a POSIX sh evaluates
	// it in a subshell whose standard input is /dev/null, as a driver does:
	// it exports Env there, in no command line, and ends by replacing the
	// subshell with the command (exec), so that a command costs one fork
	// and one exec. Empty when the command needs a standard input of its
	// own (Command.Stdin, Sensitive, a sudo password).
	Eval string
}

// CommandLine returns Argv as one line for the login shell of an SSH
// server, each word quoted where it needs to be, after `exec` so that the
// login shell makes way for the program rather than fork it (dash, a
// common login shell, does not do that on its own).
func (inv Invocation) CommandLine() string { return execLine(inv.Argv) }

func execLine(argv []string) string {
	var b strings.Builder
	b.WriteString("exec")
	for _, w := range argv {
		b.WriteByte(' ')
		b.WriteString(Quote(w))
	}
	return b.String()
}

// Prepare checks cmd and builds its Invocation. Env never appears in a
// command line: its values travel on standard input (the environment
// block), or in Eval, and are exported after sudo, so that sudo's
// env_reset cannot strip them. A Sensitive command's script travels on
// standard input so that it appears in no process list either.
func Prepare(cmd Command, mode SudoMode) (Invocation, error) {
	if err := Validate(cmd); err != nil {
		return Invocation{}, err
	}
	if cmd.Sensitive {
		return prepareSensitive(cmd, mode), nil
	}
	prog := cmd.Argv
	if cmd.Shell != "" {
		prog = []string{"/bin/sh", "-c", cmd.Shell}
	}
	exports := exportLines(cmd.Env)
	env := envBlock(exports)
	var inv Invocation
	if !cmd.Become {
		inv.Argv = slices.Clone(prog)
		if env != "" {
			inv.Argv = append([]string{"/bin/sh", "-c", envLauncher, "sh"}, prog...)
			inv.Stdin = []byte(env)
		}
		switch {
		case cmd.Stdin != nil:
		case cmd.Inline && cmd.Shell != "" && env == "":
			inv.Eval = cmd.Shell
		default:
			inv.Eval = exports + execLine(prog)
		}
		return inv, nil
	}
	wrapper := becomeWrapper
	if env != "" {
		wrapper = becomeEnvWrapper
		inv.Stdin = []byte(env)
	}
	inv.Argv = append(sudoArgv(cmd.BecomeUser, mode), "/bin/sh", "-c", wrapper, "sh")
	inv.Argv = append(inv.Argv, prog...)
	inv.Password = mode == SudoPassword
	if cmd.Stdin == nil && !inv.Password {
		inv.Eval = execLine(inv.Argv)
		if env != "" {
			delim := hereDocDelimiter(env)
			inv.Eval += " <<'" + delim + "'\n" + env + delim
		}
	}
	return inv, nil
}

// prepareSensitive builds the Invocation of a Sensitive command: the
// script, its exports first, on standard input.
func prepareSensitive(cmd Command, mode SudoMode) Invocation {
	inv := Invocation{Argv: []string{"/bin/sh", "-c", sensitiveLauncher}, Stdin: []byte(sensitiveScript(cmd))}
	if cmd.Become {
		inv.Argv = append(append(sudoArgv(cmd.BecomeUser, mode), "/bin/sh", "-c", becomeWrapper, "sh"), inv.Argv...)
		inv.Password = mode == SudoPassword
	}
	return inv
}

// sudoArgv is sudo's part of a become command line, up to the command.
func sudoArgv(user string, mode SudoMode) []string {
	if user == "" {
		user = "root"
	}
	if mode == SudoPassword {
		return []string{"sudo", "-k", "-S", "-p", "", "-u", user, "--"}
	}
	return []string{"sudo", "-n", "-u", user, "--"}
}

// exportLines is an export command per variable of env, sorted by name,
// each ended by a newline (a value's own newlines stay in its quotes).
// A single quote in a value is written "'"'"'" rather than with a
// backslash: the lab's shell (mvdan.cc/sh) keeps the backslash of an
// assignment that eval reads, and these lines are evaluated.
func exportLines(env map[string]string) string {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		v := Quote(env[k])
		if strings.ContainsRune(env[k], '\'') {
			v = "'" + strings.ReplaceAll(env[k], "'", `'"'"'`) + "'"
		}
		fmt.Fprintf(&b, "export %s=%s\n", k, v)
	}
	return b.String()
}

// envBlock is what envReader reads: the number of lines of exports, then
// exports. Empty when there is nothing to export.
func envBlock(exports string) string {
	if exports == "" {
		return ""
	}
	return strconv.Itoa(strings.Count(exports, "\n")) + "\n" + exports
}

// hereDocDelimiter returns a here-document delimiter that is no line of
// text.
func hereDocDelimiter(text string) string {
	lines := strings.Split(text, "\n")
	for i := 0; ; i++ {
		d := "RBENV" + strconv.Itoa(i)
		if !slices.Contains(lines, d) {
			return d
		}
	}
}

// sensitiveScript returns the POSIX shell script a Sensitive cmd stands
// for: its exports, then cmd.Shell, or cmd.Argv quoted word by word and
// run with exec.
func sensitiveScript(cmd Command) string {
	if cmd.Shell != "" {
		return exportLines(cmd.Env) + cmd.Shell
	}
	return exportLines(cmd.Env) + execLine(cmd.Argv)
}

// Validate reports what is wrong with cmd, if anything: exactly one of
// Shell and Argv, environment names a shell accepts, no NUL byte anywhere
// (it cannot cross an exec), a plausible become user, no Stdin on a
// Sensitive command.
func Validate(cmd Command) error {
	switch {
	case cmd.Shell == "" && len(cmd.Argv) == 0:
		return errors.New("command: neither shell nor argv is set")
	case cmd.Shell != "" && len(cmd.Argv) > 0:
		return errors.New("command: both shell and argv are set")
	case len(cmd.Argv) > 0 && cmd.Argv[0] == "":
		return errors.New("command: argv[0] is empty")
	case cmd.Sensitive && cmd.Stdin != nil:
		return errors.New("command: a sensitive command takes its script on stdin, so Stdin must be nil")
	case cmd.Timeout < 0:
		return fmt.Errorf("command: negative timeout %v", cmd.Timeout)
	}
	if strings.IndexByte(cmd.Shell, 0) >= 0 {
		return errors.New("command: shell script contains a NUL byte")
	}
	for i, a := range cmd.Argv {
		if strings.IndexByte(a, 0) >= 0 {
			return fmt.Errorf("command: argv[%d] contains a NUL byte", i)
		}
	}
	for k, v := range cmd.Env {
		if !isEnvName(k) {
			return fmt.Errorf("command: env name %q is not a valid shell variable name", k)
		}
		if strings.IndexByte(v, 0) >= 0 {
			return fmt.Errorf("command: env %s contains a NUL byte", k)
		}
	}
	if cmd.Become && cmd.BecomeUser != "" && !isUserName(cmd.BecomeUser) {
		return fmt.Errorf("command: become user %q is not a valid user name", cmd.BecomeUser)
	}
	return nil
}

// Quote returns s quoted for a POSIX shell so that it reads back as exactly
// one word, s. Words made only of characters no shell treats specially are
// returned as they are.
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	if strings.IndexFunc(s, needsQuoting) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func needsQuoting(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return false
	}
	return !strings.ContainsRune("-_./:@%+,", r)
}

func isEnvName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// isUserName accepts what useradd accepts, roughly, plus #UID, which sudo
// takes for a numeric user id.
func isUserName(s string) bool {
	if s == "" || s[0] == '-' || len(s) > 64 {
		return false
	}
	for i, r := range s {
		ok := r == '_' || r == '-' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			(r == '#' && i == 0) || (r == '$' && i == len(s)-1)
		if !ok {
			return false
		}
	}
	return true
}

// FactsScript prints a host's facts in one round trip: key=value lines,
// then a marker line and the os-release file as it is. ParseFacts reads the
// output. It uses only POSIX sh, printf, cat, hostname and uname.
const FactsScript = `printf 'hostname=%s\n' "$(hostname 2>/dev/null || cat /proc/sys/kernel/hostname 2>/dev/null)"
printf 'kernel=%s\n' "$(uname -r 2>/dev/null)"
printf 'arch=%s\n' "$(uname -m 2>/dev/null)"
printf 'boot_id=%s\n' "$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)"
echo '` + osReleaseMarker + `'
cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release 2>/dev/null || true
`

const osReleaseMarker = "--- os-release"

// ParseFacts reads the output of FactsScript. A host that reports no
// hostname or no kernel is an error: the script did not run as meant.
func ParseFacts(out []byte) (Facts, error) {
	var f Facts
	inOSRelease := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if line == osReleaseMarker {
			inOSRelease = true
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		if !inOSRelease {
			switch k {
			case "hostname":
				f.Hostname = strings.TrimSpace(v)
			case "kernel":
				f.Kernel = strings.TrimSpace(v)
			case "arch":
				f.Arch = strings.TrimSpace(v)
			case "boot_id":
				f.BootID = strings.TrimSpace(v)
			}
			continue
		}
		switch strings.TrimSpace(k) {
		case "ID":
			f.OSID = osReleaseValue(v)
		case "VERSION_ID":
			f.OSVersion = osReleaseValue(v)
		case "VERSION_CODENAME":
			f.OSCodename = osReleaseValue(v)
		}
	}
	if err := sc.Err(); err != nil {
		return f, fmt.Errorf("facts: reading output: %w", err)
	}
	if f.Hostname == "" || f.Kernel == "" {
		return f, fmt.Errorf("facts: output lacks hostname or kernel: %q", truncate(out, 200))
	}
	return f, nil
}

// osReleaseValue unquotes a value of os-release(5): shell-like, in double
// or single quotes or bare.
func osReleaseValue(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		if u, err := strconv.Unquote(v); err == nil {
			return u
		}
		return v[1 : len(v)-1]
	}
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return v[1 : len(v)-1]
	}
	return v
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
