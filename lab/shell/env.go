package shell

import (
	"bufio"
	"bytes"
	"maps"
	"slices"
	"strings"

	"mvdan.cc/sh/v3/expand"
)

// noFifoDir is the interpreter's temporary directory. mvdan.cc/sh opens files
// in it without the open handler (for process substitution FIFOs); a name
// holding a NUL byte can never be opened on the controller, so that path is
// closed for good.
const noFifoDir = "/\x00lab-no-fifo"

// defaultEnv is the environment of a root login on a lab node, completed by
// Machine.Env and the caller's variables.
var defaultEnv = map[string]string{
	"PATH":    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME":    "/root",
	"USER":    "root",
	"LOGNAME": "root",
	"SHELL":   "/bin/bash",
	"LANG":    "C.UTF-8",
}

// nodeEnv is the environment an interpreter starts from: exported
// variables, the shell variables of a root user, and ~user lookups answered
// from the node's /etc/passwd (never the controller's user database).
type nodeEnv struct {
	vars     map[string]string
	fs       *FS
	resetTmp bool
}

func newNodeEnv(fsys *FS, layers ...map[string]string) *nodeEnv {
	vars := make(map[string]string, len(defaultEnv)+8)
	for _, l := range layers {
		maps.Copy(vars, l)
	}
	return &nodeEnv{vars: vars, fs: fsys}
}

var rootIDs = map[string]bool{"UID": true, "EUID": true, "GID": true}

// Get implements expand.Environ.
func (e *nodeEnv) Get(name string) expand.Variable {
	if name == "TMPDIR" && e.resetTmp {
		return expand.Variable{Set: true, Kind: expand.String, Str: noFifoDir}
	}
	if user, ok := strings.CutPrefix(name, "HOME "); ok {
		home, found := lookupHome(e.fs, user)
		if !found {
			home = "~" + user // left as written, as bash does
		}
		return expand.Variable{Set: true, Kind: expand.String, Str: home}
	}
	if rootIDs[name] {
		return expand.Variable{Set: true, ReadOnly: true, Kind: expand.String, Str: "0"}
	}
	if v, ok := e.vars[name]; ok {
		return expand.Variable{Set: true, Exported: true, Kind: expand.String, Str: v}
	}
	if name == "HOME" {
		// Unset, but set for the interpreter: it would otherwise fill in
		// the controller's home directory.
		return expand.Variable{Set: true, Kind: expand.String}
	}
	return expand.Variable{}
}

// Each implements expand.Environ.
func (e *nodeEnv) Each(fn func(name string, vr expand.Variable) bool) {
	for _, name := range slices.Sorted(maps.Keys(e.vars)) {
		if !fn(name, e.Get(name)) {
			return
		}
	}
	for _, name := range []string{"EUID", "GID", "UID"} {
		if !fn(name, e.Get(name)) {
			return
		}
	}
}

// passwdEntry is one line of a node's /etc/passwd.
type passwdEntry struct {
	name, uid, gid, home string
}

// readPasswd reads the node's /etc/passwd.
func readPasswd(fsys *FS) []passwdEntry {
	if fsys == nil {
		return nil
	}
	data, err := fsys.ReadFile("/etc/passwd")
	if err != nil {
		return nil
	}
	var out []passwdEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 6 || strings.HasPrefix(f[0], "#") {
			continue
		}
		out = append(out, passwdEntry{name: f[0], uid: f[2], gid: f[3], home: f[5]})
	}
	return out
}

func lookupHome(fsys *FS, user string) (string, bool) {
	if user == "root" {
		return "/root", true
	}
	for _, p := range readPasswd(fsys) {
		if p.name == user {
			return p.home, true
		}
	}
	return "", false
}

// exported lists the exported variables of env as NAME=value, sorted.
func exported(env expand.Environ) []string {
	seen := map[string]string{}
	env.Each(func(name string, vr expand.Variable) bool {
		if vr.Exported && vr.IsSet() {
			seen[name] = vr.String()
		} else {
			delete(seen, name)
		}
		return true
	})
	out := make([]string, 0, len(seen))
	for _, k := range slices.Sorted(maps.Keys(seen)) {
		out = append(out, k+"="+seen[k])
	}
	return out
}

// envMap turns NAME=value pairs into a map; later pairs win.
func envMap(pairs []string) map[string]string {
	m := make(map[string]string, len(pairs))
	for _, p := range pairs {
		if k, v, ok := strings.Cut(p, "="); ok && k != "" {
			m[k] = v
		}
	}
	return m
}

// sortedPairs lists vars as NAME=value, sorted by name.
func sortedPairs(vars map[string]string) []string {
	out := make([]string, 0, len(vars))
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		out = append(out, k+"="+vars[k])
	}
	return out
}
