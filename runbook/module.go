package runbook

import (
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"

	"github.com/runbookhq/runbook/runbook/diag"
)

// IsModule reports whether data reads as a module (params: and steps: at
// the top) rather than a runbook (runbook:, targets:, phases:).
func IsModule(data []byte) bool {
	var top map[string]yaml.Node
	if yaml.Unmarshal(data, &top) != nil {
		return false
	}
	_, steps := top["steps"]
	_, name := top["runbook"]
	_, phases := top["phases"]
	return steps && !name && !phases
}

// LoadModule reads, decodes and validates the module at path on its own,
// as `use:` would include it: its params, its steps (with the modules they
// use) and the names its expressions read. The error lists every problem
// found, one `file:line:col: message` per line.
func LoadModule(path string) (*Module, Warnings, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, unwrapPathError(err))
	}
	errs := &diag.List{}
	m := &Module{}
	root, ok := parseYAML(path, data, errs)
	if !ok || IsNull(root) {
		if ok {
			errs.Add(&diag.Error{File: path, Line: 1, Col: 1, Msg: "empty module: it needs at least `steps:`"})
		}
		return m, errs.Warnings(), errs.Err()
	}
	(&Decoder{File: path, Errs: errs}).Decode(root, m)
	if len(m.Steps) == 0 {
		errs.Addf(path, Resolve(root), "module has no steps")
	}
	rb := &Runbook{File: path, Source: data, Modules: map[string][]byte{}}
	l := &loader{rb: rb, root: root, errs: errs, readFile: os.ReadFile, loading: map[string]bool{path: true}}
	scope := &ModuleScope{Module: filepath.Base(path), File: path, Params: m.Params, Node: Resolve(root)}
	m.Steps = l.expand(m.Steps, path, scope)
	v := &validator{rb: rb, errs: errs, defined: map[string]bool{}, seen: map[*Step]bool{}}
	for _, p := range m.Params {
		v.paramDecl(p)
	}
	for _, s := range m.Steps {
		v.collectDefs(s)
	}
	v.stepList(m.Steps)
	return m, errs.Warnings(), errs.Err()
}
