package shell

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/runbookhq/runbook/internal/ctxio"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

// maxExecDepth bounds programs that run programs (scripts whose interpreter
// is a script, sudo sudo sudo ...).
const maxExecDepth = 64

type execDepthKey struct{}

// Exec runs the program c.Args[0] and returns its exit status: a program of
// c.Machine.Programs (looked up by base name) first, then a utility of this
// package, then a script file of the node (by path, or found in PATH) run by
// the interpreter of its #! line. Anything else exits 127 with
// "lab: NAME is not simulated". Nothing is ever run on the controller.
func Exec(c *Call) int {
	if len(c.Args) == 0 || c.Args[0] == "" {
		fmt.Fprintf(c.Stderr, "lab: empty command\n")
		return 127
	}
	depth, _ := c.Ctx.Value(execDepthKey{}).(int)
	if depth >= maxExecDepth {
		fmt.Fprintf(c.Stderr, "lab: %s: too many nested programs\n", c.Args[0])
		return 126
	}
	c.Ctx = context.WithValue(c.Ctx, execDepthKey{}, depth+1)
	if started := c.Machine.Started; started != nil {
		defer started(c.Args)()
	}
	if c.Env == nil {
		c.Env = func(string) string { return "" }
	}
	if c.Stdin == nil {
		c.Stdin = strings.NewReader("")
	}
	// A read loop ends once the command is cancelled, even on an endless
	// input.
	c.Stdin = ctxio.Reader(c.Ctx, ctxio.Underlying(c.Stdin))
	name := c.Args[0]
	base := path.Base(name)
	if p, ok := c.Machine.Programs[base]; ok && p != nil {
		return p(c)
	}
	if u, ok := utilities[base]; ok {
		return u(c)
	}
	if strings.Contains(name, "/") {
		return runScriptFile(c, join(c.Dir, name))
	}
	if p, ok := findInPath(c.Machine.FS(), c.Dir, c.Env("PATH"), name); ok {
		return runScriptFile(c, p)
	}
	fmt.Fprintf(c.Stderr, "lab: %s is not simulated\n", name)
	return 127
}

// isProgram reports whether name (a base name) runs as a simulated program
// or utility.
func isProgram(m *Machine, name string) bool {
	if _, ok := m.Programs[name]; ok {
		return true
	}
	_, ok := utilities[name]
	return ok
}

// sbinPrograms live in /usr/sbin on Ubuntu; other simulated programs are
// reported in /usr/bin.
var sbinPrograms = map[string]bool{
	"reboot": true, "shutdown": true, "halt": true, "poweroff": true, "sysctl": true,
	"modprobe": true, "ip": true, "iptables": true, "chroot": true,
}

// lookPath finds name as a shell would run it: a file of the node, or a
// simulated program (reported under /usr/bin or /usr/sbin).
func lookPath(m *Machine, dir, pathVar, name string) (string, bool) {
	if strings.Contains(name, "/") {
		p := Clean(dir, name)
		if info, err := m.FS().Stat(p); err == nil && !info.IsDir() {
			return p, true
		}
		return "", false
	}
	if p, ok := findInPath(m.FS(), dir, pathVar, name); ok {
		return p, true
	}
	if isProgram(m, name) {
		if sbinPrograms[name] {
			return "/usr/sbin/" + name, true
		}
		return "/usr/bin/" + name, true
	}
	return "", false
}

// findInPath finds an executable regular file called name in the node's PATH.
func findInPath(fsys *FS, dir, pathVar, name string) (string, bool) {
	if name == "" || name == "." || name == ".." {
		return "", false
	}
	for _, d := range strings.Split(pathVar, ":") {
		if d == "" {
			d = "."
		}
		p := Clean(dir, d+"/"+name)
		info, err := fsys.Stat(p)
		if err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0 {
			return p, true
		}
	}
	return "", false
}

// maxScript bounds the size of a script file the lab reads.
const maxScript = 4 << 20

// runScriptFile runs the node file p as a program: its #! line names the
// interpreter (itself simulated); without one it is a shell script.
func runScriptFile(c *Call, p string) int {
	fsys := c.Machine.FS()
	info, err := fsys.Stat(p)
	if err != nil {
		fmt.Fprintf(c.Stderr, "bash: %s: %s\n", c.Args[0], errText(err))
		return 127
	}
	if info.IsDir() {
		fmt.Fprintf(c.Stderr, "bash: %s: Is a directory\n", c.Args[0])
		return 126
	}
	if info.Mode().Perm()&0o111 == 0 {
		fmt.Fprintf(c.Stderr, "bash: %s: Permission denied\n", c.Args[0])
		return 126
	}
	if info.Size() > maxScript {
		fmt.Fprintf(c.Stderr, "lab: %s: cannot execute binary file\n", c.Args[0])
		return 126
	}
	data, err := fsys.ReadFile(p)
	if err != nil {
		fmt.Fprintf(c.Stderr, "bash: %s: %s\n", c.Args[0], errText(err))
		return 126
	}
	script := string(data)
	argv := []string{"/bin/sh"}
	if line, ok := strings.CutPrefix(script, "#!"); ok {
		line, _, _ = strings.Cut(line, "\n")
		argv = strings.Fields(line)
		if len(argv) == 0 {
			argv = []string{"/bin/sh"}
		}
		if len(argv) > 2 { // Linux passes the rest of the line as one argument
			argv = []string{argv[0], strings.Join(argv[1:], " ")}
		}
	} else if strings.IndexByte(script, 0) >= 0 {
		fmt.Fprintf(c.Stderr, "lab: %s: cannot execute binary file\n", c.Args[0])
		return 126
	}
	sub := *c
	sub.Args = append(append(argv, p), c.Args[1:]...)
	return Exec(&sub)
}

// typeBuiltin is the lab's `type [-t|-p|-P] NAME...`.
func (s *session) typeBuiltin(c *Call, hc interp.HandlerContext) int {
	mode := ""
	args := c.Args[1:]
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && args[0] != "-" {
		switch args[0] {
		case "--":
			args = args[1:]
			goto names
		case "-t", "-p", "-P":
			mode = args[0]
		case "-a", "-f":
		default:
			fmt.Fprintf(c.Stderr, "bash: type: %s: invalid option\ntype: usage: type [-afptP] name [name ...]\n", args[0])
			return 2
		}
		args = args[1:]
	}
names:
	status := 0
	for _, name := range args {
		kind, where := s.classify(c, hc, name)
		switch {
		case kind == "":
			if mode == "" {
				fmt.Fprintf(c.Stderr, "bash: type: %s: not found\n", name)
			}
			status = 1
		case mode == "-t":
			fmt.Fprintln(c.Stdout, kind)
		case mode == "-p" || mode == "-P":
			if kind == "file" {
				fmt.Fprintln(c.Stdout, where)
			} else if mode == "-P" {
				status = 1
			}
		case kind == "file":
			fmt.Fprintf(c.Stdout, "%s is %s\n", name, where)
		case kind == "keyword":
			fmt.Fprintf(c.Stdout, "%s is a shell keyword\n", name)
		case kind == "function":
			fmt.Fprintf(c.Stdout, "%s is a function\n", name)
		default:
			fmt.Fprintf(c.Stdout, "%s is a shell builtin\n", name)
		}
	}
	return status
}

// classify tells what a command name is: keyword, function, builtin, file
// (with its path), or "" when it is not found.
func (s *session) classify(c *Call, hc interp.HandlerContext, name string) (kind, where string) {
	switch {
	case syntax.IsKeyword(name):
		return "keyword", ""
	case s.funcs[name]:
		return "function", ""
	case interp.IsBuiltin(name):
		return "builtin", ""
	}
	if p, ok := lookPath(s.m, hc.Dir, hc.Env.Get("PATH").String(), name); ok {
		return "file", p
	}
	return "", ""
}

// commandV is the lab's `command -v NAME...` (and -V).
func (s *session) commandV(c *Call, hc interp.HandlerContext) int {
	verbose := strings.Contains(c.Args[1], "V")
	status := 0
	for _, name := range c.Args[2:] {
		kind, where := s.classify(c, hc, name)
		switch {
		case kind == "":
			if verbose {
				fmt.Fprintf(c.Stderr, "bash: command: %s: not found\n", name)
			}
			status = 1
		case verbose && kind == "file":
			fmt.Fprintf(c.Stdout, "%s is %s\n", name, where)
		case verbose:
			fmt.Fprintf(c.Stdout, "%s is a shell %s\n", name, kind)
		case kind == "file":
			fmt.Fprintln(c.Stdout, where)
		default:
			fmt.Fprintln(c.Stdout, name)
		}
	}
	return status
}

// pwd is the lab's `pwd [-L|-P]`; -P resolves links inside the node.
func (s *session) pwd(c *Call, hc interp.HandlerContext) int {
	physical := false
	for _, a := range c.Args[1:] {
		switch a {
		case "-L":
			physical = false
		case "-P":
			physical = true
		default:
			fmt.Fprintf(c.Stderr, "bash: pwd: %s: invalid option\npwd: usage: pwd [-LP]\n", a)
			return 2
		}
	}
	dir := hc.Dir
	if physical {
		p, err := s.fs.RealPath(dir)
		if err != nil {
			fmt.Fprintf(c.Stderr, "pwd: %s\n", errText(err))
			return 1
		}
		dir = p
	}
	fmt.Fprintln(c.Stdout, dir)
	return 0
}
