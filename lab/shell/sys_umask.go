package shell

import (
	"fmt"
	"io/fs"
	"strings"
	"sync/atomic"
)

// defaultUmask is the file mode creation mask a command starts with, as in
// an Ubuntu 22.04 root login (login.defs UMASK 022).
const defaultUmask = 0o022

// shellUmask is the umask of one command run. mvdan.cc/sh has no umask of
// its own, so the lab keeps one per run: `umask 077` applies to every file
// the run creates afterwards (redirections and utilities alike). Unlike
// bash, a subshell shares its parent's mask.
type shellUmask struct{ v atomic.Uint32 }

func newShellUmask() *shellUmask {
	u := &shellUmask{}
	u.v.Store(defaultUmask)
	return u
}

func (u *shellUmask) get() fs.FileMode { return fs.FileMode(u.v.Load()) & fs.ModePerm }

func (u *shellUmask) set(m fs.FileMode) { u.v.Store(uint32(m & fs.ModePerm)) }

// umaskBuiltin is bash's `umask [-p] [-S] [MODE]`.
func umaskBuiltin(c *Call) int {
	const usage = "umask [-p] [-S] [mode]"
	if c.umask == nil {
		c.umask = newShellUmask()
	}
	symbolic, reusable := false, false
	args := c.Args[1:]
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && args[0] != "-" {
		if args[0] == "--" {
			args = args[1:]
			break
		}
		for _, r := range args[0][1:] {
			switch r {
			case 'S':
				symbolic = true
			case 'p':
				reusable = true
			default:
				fmt.Fprintf(c.Stderr, "bash: umask: -%c: invalid option\numask: usage: %s\n", r, usage)
				return 2
			}
		}
		args = args[1:]
	}
	if len(args) == 0 {
		mask := c.umask.get()
		text := fmt.Sprintf("%04o", uint32(mask))
		if symbolic {
			text = symbolicUmask(mask)
		}
		if reusable {
			if symbolic {
				text = "-S " + text
			}
			text = "umask " + text
		}
		fmt.Fprintln(c.Stdout, text)
		return 0
	}
	spec := args[0]
	if spec[0] >= '0' && spec[0] <= '7' {
		var v uint32
		for _, r := range spec {
			if r < '0' || r > '7' || v > 0o777 {
				fmt.Fprintf(c.Stderr, "bash: umask: %s: octal number out of range\n", spec)
				return 1
			}
			v = v*8 + uint32(r-'0')
		}
		if v > 0o777 {
			fmt.Fprintf(c.Stderr, "bash: umask: %s: octal number out of range\n", spec)
			return 1
		}
		c.umask.set(fs.FileMode(v))
		return 0
	}
	// A symbolic mode says which permissions new files keep: apply it to
	// the permissions the mask allows, and mask the rest.
	allowed, err := parseMode(spec, 0o777&^c.umask.get(), true)
	if err != nil || strings.ContainsAny(spec, "Xst") {
		fmt.Fprintf(c.Stderr, "bash: umask: `%s': invalid symbolic mode operator\n", spec)
		return 1
	}
	c.umask.set(0o777 &^ allowed.Perm())
	return 0
}

// symbolicUmask shows mask as umask -S does: u=rwx,g=rx,o=rx.
func symbolicUmask(mask fs.FileMode) string {
	allowed := 0o777 &^ uint32(mask)
	var parts []string
	for i, who := range []string{"u", "g", "o"} {
		bits := allowed >> (6 - 3*i) & 7
		s := who + "="
		for j, l := range "rwx" {
			if bits&(4>>j) != 0 {
				s += string(l)
			}
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ",")
}
