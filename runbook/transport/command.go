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

// becomeWrapper is what sudo runs: it starts the script ($1) in the
// background and waits for it, so that a TERM relayed by sudo interrupts the
// wait at once; the trap then signals the whole process group, which the
// user who signalled sudo could not (the group runs as the become user),
// waits for the script to end, and leaves a watchdog that sends KILL to
// whatever still runs two seconds later. The script keeps the wrapper's
// standard input (an asynchronous command would otherwise read /dev/null),
// and the wrapper exits with the script's status.
const becomeWrapper = `trap 'trap "" TERM INT HUP; kill -TERM 0 2>/dev/null; (sleep 2; kill -KILL 0 2>/dev/null) </dev/null >/dev/null 2>&1 & wait "$c"; exit 143' TERM INT HUP
exec 3<&0
/bin/sh -c "$1" sh <&3 3<&- &
c=$!
wait "$c"`

// sensitiveLauncher reads the whole script from standard input, then runs
// it. Unlike `sh -s`, no command of the script can read the rest of the
// script as its own input.
const sensitiveLauncher = `eval "$(cat)"`

// Invocation is a Command turned into what a POSIX host executes.
type Invocation struct {
	// Argv is the program and its arguments.
	Argv []string
	// Password says sudo expects the become password, followed by a
	// newline, as the first bytes of standard input.
	Password bool
	// Stdin goes to standard input after the password line and before
	// Command.Stdin: the script of a Sensitive command.
	Stdin []byte
}

// CommandLine returns Argv as one line for the login shell of an SSH
// server, each word quoted where it needs to be, after `exec` so that the
// login shell makes way for the program rather than fork it (dash, a
// common login shell, does not do that on its own).
func (inv Invocation) CommandLine() string {
	var b strings.Builder
	b.WriteString("exec")
	for _, w := range inv.Argv {
		b.WriteByte(' ')
		b.WriteString(Quote(w))
	}
	return b.String()
}

// Prepare checks cmd and builds its Invocation. Env is exported inside the
// script, after sudo, so that sudo's env_reset cannot strip it; a
// Sensitive command's script travels on standard input so that it appears
// in no process list.
func Prepare(cmd Command, mode SudoMode) (Invocation, error) {
	if err := Validate(cmd); err != nil {
		return Invocation{}, err
	}
	var inv Invocation
	needShell := cmd.Shell != "" || len(cmd.Env) > 0 || cmd.Become || cmd.Sensitive
	if !needShell {
		// A bare argv runs as written, without a shell on our side.
		inv.Argv = slices.Clone(cmd.Argv)
		return inv, nil
	}
	script := Script(cmd)
	shell := []string{"/bin/sh", "-c", script}
	if cmd.Sensitive {
		shell = []string{"/bin/sh", "-c", sensitiveLauncher}
		inv.Stdin = []byte(script)
	}
	if !cmd.Become {
		inv.Argv = shell
		return inv, nil
	}
	user := cmd.BecomeUser
	if user == "" {
		user = "root"
	}
	shell = []string{"/bin/sh", "-c", becomeWrapper, "sh", shell[2]}
	switch mode {
	case SudoPassword:
		inv.Argv = append([]string{"sudo", "-k", "-S", "-p", "", "-u", user, "--"}, shell...)
		inv.Password = true
	default:
		inv.Argv = append([]string{"sudo", "-n", "-u", user, "--"}, shell...)
	}
	return inv, nil
}

// Script returns the POSIX shell script cmd stands for: an export per Env
// variable (sorted by name), then cmd.Shell, or cmd.Argv quoted word by word
// and run with exec. It does not validate cmd; Prepare does.
func Script(cmd Command) string {
	var b strings.Builder
	keys := make([]string, 0, len(cmd.Env))
	for k := range cmd.Env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "export %s=%s\n", k, Quote(cmd.Env[k]))
	}
	if cmd.Shell != "" {
		b.WriteString(cmd.Shell)
		return b.String()
	}
	b.WriteString("exec")
	for _, a := range cmd.Argv {
		b.WriteByte(' ')
		b.WriteString(Quote(a))
	}
	return b.String()
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
