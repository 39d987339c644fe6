package inventory

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/runbookhq/runbook/runbook/diag"
	"gopkg.in/yaml.v3"
)

// varsExtensions are the file names a vars file may have after its group or
// host name; the bare name comes first. A directory of that name is read
// too, every .yml, .yaml and .json file in it (recursively, in lexical
// order).
var varsExtensions = []string{"", ".yml", ".yaml", ".json"}

// loadVarFiles reads group_vars/ and host_vars/ in dir, as Ansible does for
// the directories beside an inventory file.
func (b *builder) loadVarFiles(dir string) {
	b.loadVarsDir(filepath.Join(dir, "group_vars"), "group", b.groupOrder, func(name string, vars map[string]any) {
		g := b.groups[name]
		g.fileVars = append(g.fileVars, vars)
	})
	hostNames := make([]string, len(b.hosts))
	for i, h := range b.hosts {
		hostNames[i] = h.name
	}
	b.loadVarsDir(filepath.Join(dir, "host_vars"), "host", hostNames, func(name string, vars map[string]any) {
		h := b.hostByName[name]
		h.fileVars = append(h.fileVars, vars)
	})
}

// loadVarsDir reads the vars files in dir of each of names (lowest
// precedence first) and warns about the files that match no name: they are
// most often a misspelling, and would silently do nothing. The directory is
// listed once, so a large inventory costs no stat per host.
func (b *builder) loadVarsDir(dir, what string, names []string, add func(name string, vars map[string]any)) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		b.errs.Add(&diag.Error{File: dir, Msg: err.Error()})
		return
	}
	present := make(map[string]bool, len(entries))
	for _, e := range entries {
		present[e.Name()] = true
	}
	known := make(map[string]bool, len(names))
	for _, name := range names {
		known[name] = true
		if !safeFileName(name) {
			continue
		}
		for _, ext := range varsExtensions {
			if present[name+ext] {
				for _, vars := range b.readVarsPath(filepath.Join(dir, name+ext), ext == "") {
					add(name, vars)
				}
			}
		}
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		stem := name
		if !e.IsDir() {
			switch ext := filepath.Ext(name); ext {
			case "":
			case ".yml", ".yaml", ".json":
				stem = strings.TrimSuffix(name, ext)
			default:
				continue
			}
		}
		if !known[stem] {
			at := pos{file: filepath.Join(dir, name)}
			b.warnings = append(b.warnings, at.warnf("no %s named %q in the inventory; this file is not used%s", what, stem, b.suggest(stem, names)))
		}
	}
}

// readVarsPath reads one vars file, or (when dirOK) every vars file of a
// directory.
func (b *builder) readVarsPath(path string, dirOK bool) []map[string]any {
	info, err := os.Stat(path)
	switch {
	case err != nil:
		b.errs.Add(&diag.Error{File: path, Msg: err.Error()})
	case info.IsDir() && dirOK:
		return b.readVarsDir(path)
	case info.Mode().IsRegular():
		if m := b.readVarsFile(path); m != nil {
			return []map[string]any{m}
		}
	}
	return nil
}

func (b *builder) readVarsDir(dir string) []map[string]any {
	var out []map[string]any
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			b.errs.Add(&diag.Error{File: path, Msg: err.Error()})
			return nil
		}
		if path != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(path) {
		case ".yml", ".yaml", ".json":
			if d.Type().IsRegular() || d.Type()&fs.ModeSymlink != 0 {
				if m := b.readVarsFile(path); m != nil {
					out = append(out, m)
				}
			}
		}
		return nil
	})
	if err != nil {
		b.errs.Add(&diag.Error{File: dir, Msg: err.Error()})
	}
	return out
}

// readVarsFile reads one YAML (or JSON) file holding a mapping of variables.
func (b *builder) readVarsFile(path string) map[string]any {
	data, err := os.ReadFile(path)
	if err != nil {
		b.errs.Add(&diag.Error{File: path, Msg: err.Error()})
		return nil
	}
	if bytes.HasPrefix(data, []byte("$ANSIBLE_VAULT;")) {
		b.errs.Add(&diag.Error{File: path, Line: 1, Col: 1, Msg: "Ansible Vault files are not supported; keep secrets out of inventory vars"})
		return nil
	}
	r := newYAMLReader(path, &b.errs)
	root := r.document(data)
	if isNull(root) {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		b.errs.Add(r.at(root).errorf("a vars file must be a mapping of variables, not %s", kind(root)))
		return nil
	}
	return b.normalizeVars(r.vars(root, strconv.Quote(filepath.Base(path))))
}

// safeFileName says whether name can be looked up as a file in a vars
// directory without leaving it.
func safeFileName(name string) bool {
	return name != "" && !strings.ContainsAny(name, `/\`) && !strings.HasPrefix(name, ".")
}
