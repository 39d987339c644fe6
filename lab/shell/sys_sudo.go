package shell

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

const sudoUsage = "sudo [-nSEHk] [-p prompt] [-u user] [-g group] [--] command [arg ...]"

// runSudo is sudo: the lab runs everything as root, so sudo checks its
// options, reads the password line with -S (never echoing or keeping it) and
// runs the command.
func runSudo(c *Call) int {
	args := c.Args[1:]
	readPassword := false
	prompt := "[sudo] password for root: "
	target := ""
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		a := args[0]
		args = args[1:]
		if a == "--" {
			break
		}
		if long, ok := strings.CutPrefix(a, "--"); ok {
			name, val, hasVal := strings.Cut(long, "=")
			switch name {
			case "non-interactive", "preserve-env", "set-home", "login", "shell", "reset-timestamp":
			case "stdin":
				readPassword = true
			case "prompt", "user", "group":
				if !hasVal {
					if len(args) == 0 {
						return c.usageErr(sudoUsage, "option '--%s' requires an argument", name)
					}
					val, args = args[0], args[1:]
				}
				if name == "prompt" {
					prompt = val
				}
				if name == "user" {
					if !userExists(c, val) {
						return c.fail("unknown user %s", val)
					}
					target = val
				}
			default:
				return c.usageErr(sudoUsage, "unrecognized option '%s'", a)
			}
			continue
		}
		for i := 1; i < len(a); i++ {
			switch a[i] {
			case 'n', 'E', 'H', 'k', 'i', 's', 'b':
			case 'S':
				readPassword = true
			case 'p', 'u', 'g':
				val := a[i+1:]
				if val == "" {
					if len(args) == 0 {
						return c.usageErr(sudoUsage, "option requires an argument -- '%c'", a[i])
					}
					val, args = args[0], args[1:]
				}
				switch a[i] {
				case 'p':
					prompt = val
				case 'u':
					if !userExists(c, val) {
						return c.fail("unknown user %s", val)
					}
					target = val
				}
				i = len(a)
			default:
				return c.usageErr(sudoUsage, "invalid option -- '%c'", a[i])
			}
		}
	}
	if len(args) == 0 {
		return c.usageErr(sudoUsage, "")
	}
	if readPassword {
		if prompt != "" {
			fmt.Fprint(c.Stderr, prompt)
		}
		if _, err := readByteLine(c.Stdin); err != nil && !errors.Is(err, io.EOF) {
			return c.fail("reading the password: %v", err)
		}
	}
	sub := *c
	sub.Args = args
	if target != "" {
		asUser(&sub, target)
	}
	return Exec(&sub)
}

type userKey struct{}

// asUser makes the call run as user: the lab keeps running everything as
// root, but id, whoami and the USER, LOGNAME and HOME variables tell the
// target user, as `sudo -u` would.
func asUser(c *Call, name string) {
	u := lookupUser(c, name)
	c.Ctx = context.WithValue(c.Ctx, userKey{}, u)
	over := map[string]string{"USER": u.name, "LOGNAME": u.name, "HOME": u.home, "SUDO_USER": currentUser(c).name}
	parentEnv, parentEnviron := c.Env, c.Environ
	c.Env = func(k string) string {
		if v, ok := over[k]; ok {
			return v
		}
		return parentEnv(k)
	}
	c.Environ = func() []string {
		vars := map[string]string{}
		if parentEnviron != nil {
			vars = envMap(parentEnviron())
		}
		for k, v := range over {
			vars[k] = v
		}
		return sortedPairs(vars)
	}
}

// lookupUser finds a user of the node by name or uid (#UID too).
func lookupUser(c *Call, name string) passwdEntry {
	name = strings.TrimPrefix(name, "#")
	if name == "root" || name == "0" {
		return passwdEntry{name: "root", uid: "0", gid: "0", home: "/root"}
	}
	for _, p := range readPasswd(c.fsys()) {
		if p.name == name || p.uid == name {
			return p
		}
	}
	return passwdEntry{name: name, uid: name, gid: name, home: "/"}
}

// currentUser is the user the call runs as (root unless sudo -u said otherwise).
func currentUser(c *Call) passwdEntry {
	if u, ok := c.Ctx.Value(userKey{}).(passwdEntry); ok {
		return u
	}
	return passwdEntry{name: "root", uid: "0", gid: "0", home: "/root"}
}

// readByteLine reads one line a byte at a time, so that what follows it is
// left for the command.
func readByteLine(r io.Reader) (string, error) {
	var b strings.Builder
	var one [1]byte
	for b.Len() < 4096 {
		n, err := r.Read(one[:])
		if n == 1 {
			if one[0] == '\n' {
				return b.String(), nil
			}
			b.WriteByte(one[0])
		}
		if err != nil {
			return b.String(), err
		}
	}
	return b.String(), nil
}

// userExists reports whether name (or #UID) is a user of the node.
func userExists(c *Call, name string) bool {
	if name == "root" || name == "#0" || name == "0" {
		return true
	}
	for _, p := range readPasswd(c.fsys()) {
		if p.name == name || "#"+p.uid == name || p.uid == name {
			return true
		}
	}
	return false
}
