package shell

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

func init() {
	register(map[string]Program{
		"chmod": runChmod,
		"chown": runChown,
		"chgrp": runChown,
	})
}

// parseMode reads an octal mode or a symbolic one ("u+x,go-w", "a=r", "+x")
// applied to old. dir says the file is a directory (for X).
func parseMode(spec string, old fs.FileMode, dir bool) (fs.FileMode, error) {
	if spec == "" {
		return 0, fmt.Errorf("empty mode")
	}
	if spec[0] >= '0' && spec[0] <= '7' {
		v, err := strconv.ParseUint(spec, 8, 32)
		if err != nil || v > 0o7777 {
			return 0, fmt.Errorf("invalid mode %q", spec)
		}
		return octalToMode(uint32(v)), nil
	}
	mode := modeToOctal(old)
	for _, clause := range strings.Split(spec, ",") {
		i := 0
		var who uint32
		for i < len(clause) && strings.IndexByte("ugoa", clause[i]) >= 0 {
			switch clause[i] {
			case 'u':
				who |= 0o4700
			case 'g':
				who |= 0o2070
			case 'o':
				who |= 0o1007
			case 'a':
				who |= 0o7777
			}
			i++
		}
		if who == 0 {
			who = 0o7777 &^ 0o022 // umask 022 when no "who" is given
		}
		if i >= len(clause) {
			return 0, fmt.Errorf("invalid mode %q", spec)
		}
		for i < len(clause) {
			op := clause[i]
			if op != '+' && op != '-' && op != '=' {
				return 0, fmt.Errorf("invalid mode %q", spec)
			}
			i++
			var bits uint32
			for i < len(clause) && strings.IndexByte("rwxXst", clause[i]) >= 0 {
				switch clause[i] {
				case 'r':
					bits |= 0o444
				case 'w':
					bits |= 0o222
				case 'x':
					bits |= 0o111
				case 'X':
					if dir || mode&0o111 != 0 {
						bits |= 0o111
					}
				case 's':
					bits |= 0o6000
				case 't':
					bits |= 0o1000
				}
				i++
			}
			bits &= who
			switch op {
			case '+':
				mode |= bits
			case '-':
				mode &^= bits
			case '=':
				mode = mode&^(who&0o7777) | bits
			}
		}
	}
	return octalToMode(mode), nil
}

func octalToMode(v uint32) fs.FileMode {
	m := fs.FileMode(v & 0o777)
	if v&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if v&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if v&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}

func modeToOctal(m fs.FileMode) uint32 {
	v := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		v |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		v |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		v |= 0o1000
	}
	return v
}

// runChmod is chmod [-R] [-v] MODE FILE...
func runChmod(c *Call) int {
	const usage = "chmod [-Rv] mode file ..."
	// A symbolic mode such as -x looks like an option; take it as the mode.
	args := c.Args[1:]
	var flags []string
	for len(args) > 0 && args[0] != "-" && args[0] != "--" &&
		(strings.HasPrefix(args[0], "--") || strings.HasPrefix(args[0], "-") && strings.Trim(args[0], "-Rvcf") == "") {
		flags = append(flags, args[0])
		args = args[1:]
	}
	opts, rest, ok := c.parse(append(flags, "--"), optSpec{short: "Rvcf", long: map[string]string{"recursive": "R", "verbose": "v", "changes": "c", "silent": "f", "quiet": "f"}, usage: usage})
	if !ok {
		return 2
	}
	_ = rest
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) < 2 {
		return c.usageErr(usage, "missing operand")
	}
	spec, files := args[0], args[1:]
	if _, err := parseMode(spec, 0, false); err != nil {
		return c.usageErr(usage, "invalid mode: '%s'", spec)
	}
	status := 0
	var apply func(p, shown string, top bool)
	apply = func(p, shown string, top bool) {
		info, err := c.fsys().Lstat(p)
		if err != nil {
			status = c.fail("cannot access '%s': %s", shown, errText(err))
			return
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			if !top {
				return // links met during -R are not followed
			}
			if info, err = c.fsys().Stat(p); err != nil {
				status = c.fail("cannot operate on dangling symlink '%s'", shown)
				return
			}
		}
		mode, _ := parseMode(spec, info.Mode(), info.IsDir())
		if err := c.fsys().Chmod(p, mode); err != nil {
			status = c.fail("changing permissions of '%s': %s", shown, errText(err))
			return
		}
		if opts.has("v") {
			fmt.Fprintf(c.Stdout, "mode of '%s' changed to %04o\n", shown, modeToOctal(mode))
		}
		if opts.has("R") && info.IsDir() {
			entries, err := c.fsys().ReadDir(p)
			if err != nil {
				status = c.fileErr(shown, err)
				return
			}
			for _, e := range entries {
				apply(path.Join(p, e.Name()), path.Join(shown, e.Name()), false)
			}
		}
	}
	for _, f := range files {
		apply(c.abs(f), f, true)
	}
	return status
}

// groupExists reports whether name is a group of the node's /etc/group.
func groupExists(c *Call, name string) bool {
	if name == "root" || name == "0" {
		return true
	}
	data, err := c.fsys().ReadFile("/etc/group")
	if err != nil {
		return false
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) >= 3 && (f[0] == name || f[2] == name) {
			return true
		}
	}
	return false
}

// runChown is chown [-R] OWNER[:GROUP] FILE... and chgrp [-R] GROUP FILE...
// The lab runs as root and keeps no owners: the users and groups are
// checked against the node's /etc/passwd and /etc/group and the files must
// exist; nothing else changes.
func runChown(c *Call) int {
	usage := c.name() + " [-Rhv] owner[:group] file ..."
	if c.name() == "chgrp" {
		usage = "chgrp [-Rhv] group file ..."
	}
	opts, args, ok := c.parse(c.Args[1:], optSpec{short: "RhvfcHLP", long: map[string]string{"recursive": "R", "no-dereference": "h", "verbose": "v", "silent": "f", "quiet": "f", "reference": "ref:"}, usage: usage})
	if !ok {
		return 2
	}
	if opts.has("ref") {
		args = append([]string{"root:root"}, args...)
	}
	if len(args) < 2 {
		return c.usageErr(usage, "missing operand")
	}
	spec, files := args[0], args[1:]
	user, group := spec, ""
	if c.name() == "chgrp" {
		user, group = "", spec
	} else if u, g, ok := strings.Cut(spec, ":"); ok {
		user, group = u, g
	} else if u, g, ok := strings.Cut(spec, "."); ok && !userExists(c, spec) {
		user, group = u, g
	}
	if user != "" && !userExists(c, user) {
		return c.fail("invalid user: '%s'", spec)
	}
	if group != "" && !groupExists(c, group) {
		return c.fail("invalid group: '%s'", spec)
	}
	status := 0
	for _, f := range files {
		if _, err := c.fsys().Lstat(c.abs(f)); err != nil {
			status = c.fail("cannot access '%s': %s", f, errText(err))
		}
	}
	return status
}
