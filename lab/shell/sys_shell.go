package shell

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"mvdan.cc/sh/v3/interp"
)

func init() {
	register(map[string]Program{
		"sh":      runShell,
		"dash":    runShell,
		"bash":    runShell,
		"true":    func(*Call) int { return 0 },
		"false":   func(*Call) int { return 1 },
		"echo":    builtinUtility,
		"printf":  builtinUtility,
		"test":    builtinUtility,
		"[":       builtinUtility,
		"sudo":    runSudo,
		"env":     runEnv,
		"timeout": runTimeout,
		"which":   runWhich,
	})
}

// maxStdinScript bounds a script read from standard input.
const maxStdinScript = 16 << 20

// nested runs script in a new interpreter on the same machine, with the
// caller's directory, exported environment and streams.
func nested(c *Call, script string, opts ...Option) int {
	env := map[string]string{}
	if c.Environ != nil {
		env = envMap(c.Environ())
		opts = append([]Option{func(rc *runConfig) { rc.fullEnv = true }}, opts...)
	} else {
		for _, k := range []string{"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "TERM"} {
			if v := c.env(k); v != "" {
				env[k] = v
			}
		}
	}
	opts = append([]Option{WithDir(c.Dir), WithEnv(env), func(rc *runConfig) { rc.umask = c.umask }}, opts...)
	return Run(c.Ctx, c.Machine, script, c.Stdin, c.Stdout, c.Stderr, opts...)
}

// builtinUtility runs echo, printf, test and [ as programs (through sudo,
// env, xargs, ...) with the interpreter's own builtins.
func builtinUtility(c *Call) int {
	return nested(c, c.name()+` "$@"`, WithName(c.name()), WithParams(c.Args[1:]...))
}

// runShell is sh, dash and bash: -c SCRIPT [NAME ARGS...], -s [ARGS...],
// FILE [ARGS...], or a script on standard input. Shell options (-e, -u, -x,
// -o NAME, ...) are passed on to the interpreter.
func runShell(c *Call) int {
	name := c.name()
	var flags []string
	var command *string
	fromStdin := false
	args := c.Args[1:]
	for len(args) > 0 {
		a := args[0]
		if a == "--" || a == "-" {
			args = args[1:]
			break
		}
		if len(a) < 2 || (a[0] != '-' && a[0] != '+') {
			break
		}
		args = args[1:]
		if a == "-o" || a == "+o" {
			if len(args) == 0 {
				return c.usageErr(name+" [-eux] [-o option] [-c command [name [arg ...]] | -s [arg ...] | file [arg ...]]", "%s: option requires an argument", a)
			}
			flags = append(flags, a, args[0])
			args = args[1:]
			continue
		}
		if strings.HasPrefix(a, "--") { // --login, --noprofile, --norc, --posix
			continue
		}
		for _, ch := range a[1:] {
			switch ch {
			case 'c':
				if len(args) == 0 {
					fmt.Fprintf(c.Stderr, "%s: -c: option requires an argument\n", name)
					return 2
				}
				s := args[0]
				command = &s
				args = args[1:]
			case 's':
				fromStdin = true
			case 'l', 'i', 'p':
			case 'e', 'u', 'x', 'f', 'n', 'a', 'C', 'v':
				if ch == 'v' {
					continue // verbose input echo is not simulated
				}
				flags = append(flags, string(a[0])+string(ch))
			default:
				fmt.Fprintf(c.Stderr, "%s: %c%c: invalid option\n", name, a[0], ch)
				return 2
			}
		}
	}
	var opts []Option
	var script string
	switch {
	case command != nil:
		script = *command
		if len(args) > 0 {
			opts = append(opts, WithName(args[0]), WithParams(args[1:]...))
		} else {
			opts = append(opts, WithName(name), WithParams())
		}
	case !fromStdin && len(args) > 0:
		p := c.abs(args[0])
		info, err := c.fsys().Stat(p)
		if err == nil && info.Size() > maxScript {
			return c.fail("%s: file too large", args[0])
		}
		data, err := c.fsys().ReadFile(p)
		if err != nil {
			fmt.Fprintf(c.Stderr, "%s: %s: %s\n", name, args[0], errText(err))
			return 127
		}
		script = string(data)
		opts = append(opts, WithName(args[0]), WithParams(args[1:]...))
	default:
		data, err := readAll(io.LimitReader(c.Stdin, maxStdinScript))
		if err != nil {
			return c.fail("reading the script from stdin: %v", err)
		}
		script = string(data)
		opts = append(opts, WithName(name), WithParams(args...))
	}
	if len(flags) > 0 {
		opts = append(opts, withFlags(flags))
	}
	return nested(c, script, opts...)
}

// withFlags sets shell options (-e, -o pipefail, ...) for the run.
func withFlags(flags []string) Option {
	return func(c *runConfig) { c.flags = append(c.flags, flags...) }
}

// applyFlags returns the interpreter option for the configured shell flags.
func (c runConfig) shellFlags() []interp.RunnerOption {
	if len(c.flags) == 0 {
		return nil
	}
	return []interp.RunnerOption{interp.Params(c.flags...)}
}

const envUsage = "env [-i] [-u name] [name=value]... [command [arg ...]]"

// runEnv is env: print the environment, or run a command in a changed one.
func runEnv(c *Call) int {
	args := c.Args[1:]
	var vars map[string]string
	if c.Environ != nil {
		vars = envMap(c.Environ())
	} else {
		vars = map[string]string{}
	}
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && args[0] != "-" {
		a := args[0]
		args = args[1:]
		switch {
		case a == "--":
			goto assignments
		case a == "-i" || a == "--ignore-environment":
			vars = map[string]string{}
		case a == "-u" || a == "--unset":
			if len(args) == 0 {
				return c.usageErr(envUsage, "option requires an argument -- 'u'")
			}
			delete(vars, args[0])
			args = args[1:]
		case strings.HasPrefix(a, "-u"):
			delete(vars, a[2:])
		default:
			return c.usageErr(envUsage, "invalid option -- '%s'", strings.TrimLeft(a, "-"))
		}
	}
assignments:
	if len(args) > 0 && args[0] == "-" {
		vars = map[string]string{}
		args = args[1:]
	}
	for len(args) > 0 && strings.Contains(args[0], "=") && !strings.HasPrefix(args[0], "=") {
		k, v, _ := strings.Cut(args[0], "=")
		vars[k] = v
		args = args[1:]
	}
	if len(args) == 0 {
		for _, kv := range sortedPairs(vars) {
			fmt.Fprintln(c.Stdout, kv)
		}
		return 0
	}
	sub := *c
	sub.Args = args
	sub.Env = func(name string) string { return vars[name] }
	sub.Environ = func() []string { return sortedPairs(vars) }
	code := Exec(&sub)
	return code
}

const timeoutUsage = "timeout [-s signal] [-k duration] [--preserve-status] [--foreground] duration command [arg ...]"

// runTimeout is timeout: run a command with a deadline; 124 when it expires.
func runTimeout(c *Call) int {
	opts, rest, ok := c.parse(c.Args[1:], optSpec{
		short: "s:k:v",
		long:  map[string]string{"signal": "s", "kill-after": "k", "preserve-status": "preserve-status", "foreground": "foreground", "verbose": "v"},
		posix: true, usage: timeoutUsage,
	})
	if !ok {
		return 125
	}
	if len(rest) < 2 {
		c.usageErr(timeoutUsage, "missing operand")
		return 125
	}
	d, err := parseDuration(rest[0])
	if err != nil {
		c.errf("invalid time interval '%s'", rest[0])
		return 125
	}
	ctx := c.Ctx
	var cancel context.CancelFunc
	if d > 0 {
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	sub := *c
	sub.Ctx = ctx
	sub.Args = rest[1:]
	code := Exec(&sub)
	if d > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) && c.Ctx.Err() == nil {
		if opts.has("preserve-status") {
			return 128 + 15
		}
		return 124
	}
	return code
}

// parseDuration reads a sleep/timeout duration: a number with an optional
// s, m, h or d suffix ("infinity" is a very long time).
func parseDuration(s string) (time.Duration, error) {
	if s == "infinity" || s == "inf" {
		return 1<<63 - 1, nil
	}
	unit := time.Second
	switch {
	case strings.HasSuffix(s, "s"):
		s = s[:len(s)-1]
	case strings.HasSuffix(s, "m"):
		s, unit = s[:len(s)-1], time.Minute
	case strings.HasSuffix(s, "h"):
		s, unit = s[:len(s)-1], time.Hour
	case strings.HasSuffix(s, "d"):
		s, unit = s[:len(s)-1], 24*time.Hour
	}
	var f float64
	if _, err := fmt.Sscanf(s, "%g", &f); err != nil || f < 0 || strings.ContainsAny(s, " \t") {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	if f*float64(unit) > float64(1<<62) {
		return 1<<63 - 1, nil
	}
	return time.Duration(f * float64(unit)), nil
}

// runWhich is which: print where each command would be found.
func runWhich(c *Call) int {
	all := false
	status := 0
	names := c.Args[1:]
	if len(names) > 0 && names[0] == "-a" {
		all, names = true, names[1:]
	}
	_ = all
	if len(names) == 0 {
		return 1
	}
	for _, n := range names {
		p, ok := lookPath(c.Machine, c.Dir, c.env("PATH"), n)
		if !ok {
			status = 1
			continue
		}
		fmt.Fprintln(c.Stdout, p)
	}
	return status
}

// readAllLines reads r split into lines without their newlines; a last line
// without a newline counts.
func readAllLines(r io.Reader) ([]string, error) {
	var out []string
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := readLine(br)
		if line != "" {
			out = append(out, strings.TrimSuffix(line, "\n"))
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
	}
}
