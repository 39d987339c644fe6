package runbook

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/runbookhq/runbook/runbook/diag"
)

// Warnings are problems that do not stop a runbook from loading.
type Warnings []*diag.Error

// Load reads, decodes and validates the runbook at path, with the modules it
// uses. The error lists every problem found, one `file:line:col: message` per
// line.
func Load(path string) (*Runbook, Warnings, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, unwrapPathError(err))
	}
	return Parse(path, data, os.ReadFile)
}

// ReadFileFunc reads a module file.
type ReadFileFunc func(path string) ([]byte, error)

// Parse loads a runbook from data; path names it in errors and locates its
// modules, which readFile reads (nil: modules are an error).
func Parse(path string, data []byte, readFile ReadFileFunc) (*Runbook, Warnings, error) {
	errs := &diag.List{}
	rb := &Runbook{File: path, Source: data, Modules: map[string][]byte{}}
	root, ok := parseYAML(path, data, errs)
	if ok {
		if IsNull(root) {
			errs.Add(&diag.Error{File: path, Line: 1, Col: 1, Msg: "empty runbook: it needs at least `runbook:`, `targets:` and `phases:`"})
		} else {
			d := &Decoder{File: path, Errs: errs}
			d.Decode(root, rb)
			l := &loader{rb: rb, root: root, errs: errs, readFile: readFile, loading: map[string]bool{}}
			l.expandAll()
			validate(rb, Resolve(root), errs)
		}
	}
	return rb, errs.Warnings(), errs.Err()
}

// parseYAML parses one YAML document, turning yaml.v3's syntax errors into
// positioned ones.
func parseYAML(path string, data []byte, errs *diag.List) (*yaml.Node, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, true
		}
		errs.Add(syntaxError(path, data, err))
		return nil, false
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		errs.Add(&diag.Error{File: path, Line: extra.Line, Col: extra.Column, Msg: "a second YAML document (after ---): a file holds one"})
		return nil, false
	}
	if n := Resolve(&doc); n != nil && n.Kind != yaml.MappingNode {
		errs.Addf(path, n, "expected a mapping at the top (runbook:, targets:, phases:, ...), got %s", describe(n))
		return nil, false
	}
	return &doc, true
}

var yamlLineRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^yaml: line (\d+): (.*)$`) })

// syntaxError positions a yaml.v3 syntax error: yaml.v3 gives only the line,
// so the column is that of the line's first non-blank character.
func syntaxError(path string, data []byte, err error) error {
	msg := err.Error()
	m := yamlLineRe().FindStringSubmatch(msg)
	if m == nil {
		return &diag.Error{File: path, Line: 1, Col: 1, Msg: "YAML: " + strings.TrimPrefix(msg, "yaml: ")}
	}
	line, _ := strconv.Atoi(m[1])
	col := 1
	lines := strings.Split(string(data), "\n")
	// yaml.v3 names the line where the enclosing block began; the line at
	// fault is the first one without which the document still parses.
	if k, msg := firstBadLine(lines); k > line {
		line, m[2] = k, msg
	}
	if line >= 1 && line <= len(lines) {
		col = len(lines[line-1]) - len(strings.TrimLeft(lines[line-1], " \t")) + 1
	}
	hint := ""
	if strings.Contains(m[2], "mapping values are not allowed") || strings.Contains(m[2], "did not find expected") || strings.Contains(m[2], "found character that cannot start") {
		hint = " (check the indentation of this line and the one before)"
	}
	if strings.Contains(m[2], "found character that cannot start any token") && strings.Contains(lines[min(max(line-1, 0), len(lines)-1)], "\t") {
		hint = " (YAML does not allow tabs for indentation)"
	}
	return &diag.Error{File: path, Line: line, Col: col, Msg: "YAML syntax: " + m[2] + hint}
}

// firstBadLine returns the 1-based number of the first line whose prefix of
// the document no longer parses, and the error there (a binary search: a
// prefix that fails almost always stays failing as lines are added).
func firstBadLine(lines []string) (int, string) {
	fails := func(k int) (bool, string) {
		var n yaml.Node
		err := yaml.Unmarshal([]byte(strings.Join(lines[:k], "\n")), &n)
		if err == nil {
			return false, ""
		}
		if m := yamlLineRe().FindStringSubmatch(err.Error()); m != nil {
			return true, m[2]
		}
		return true, strings.TrimPrefix(err.Error(), "yaml: ")
	}
	lo, hi := 1, len(lines)
	if bad, _ := fails(hi); !bad {
		return 0, ""
	}
	for lo < hi {
		mid := (lo + hi) / 2
		if bad, _ := fails(mid); bad {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	_, msg := fails(lo)
	return lo, msg
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// loader expands `use:` steps into module steps and resolves procedure
// references.
type loader struct {
	rb       *Runbook
	errs     *diag.List
	readFile ReadFileFunc
	loading  map[string]bool // modules being expanded, for cycles
	root     *yaml.Node      // the runbook's document, for positions
}

func (l *loader) expandAll() {
	rb := l.rb
	for name, p := range rb.Procedures {
		if p == nil { // `name:` with nothing after it
			l.errs.Addf(rb.File, FieldNode(FieldNode(l.root, "procedures"), name), "procedure %q has no steps", name)
			rb.Procedures[name] = &Procedure{}
			continue
		}
		p.Steps = l.expand(p.Steps, rb.File, nil)
	}
	for _, ph := range rb.Phases {
		if ph == nil {
			continue
		}
		l.resolveRef(&ph.Steps)
		l.resolveRef(&ph.Verify)
	}
	if rb.Rollback != nil {
		l.resolveRef(&rb.Rollback.Steps)
	}
	for _, h := range rb.Handlers {
		h.Steps = l.expand(h.Steps, rb.File, nil)
	}
	for _, h := range rb.Hooks.Lists() {
		if h.Ref.IsSet() {
			l.resolveRef(h.Ref)
		}
	}
}

// resolveRef expands inline steps or looks up the named procedure.
func (l *loader) resolveRef(ref *StepRef) {
	if ref.Procedure == "" {
		ref.Steps = l.expand(ref.Steps, l.rb.File, nil)
		return
	}
	p, ok := l.rb.Procedures[ref.Procedure]
	if !ok {
		names := make([]string, 0, len(l.rb.Procedures))
		for n := range l.rb.Procedures {
			names = append(names, n)
		}
		l.errs.Addf(l.rb.File, ref.Node, "unknown procedure %q%s", ref.Procedure, diag.Suggest(ref.Procedure, names))
		return
	}
	ref.Steps = p.Steps
}

// expand replaces each use: step of steps with the module's steps.
func (l *loader) expand(steps []*Step, file string, scope *ModuleScope) []*Step {
	var out []*Step
	for _, s := range steps {
		if s == nil {
			continue
		}
		if s.Scope == nil {
			s.Scope = scope
		}
		if s.IsBlock() {
			s.Block = l.expand(s.Block, file, scope)
			s.Rescue = l.expand(s.Rescue, file, scope)
			s.Always = l.expand(s.Always, file, scope)
			inheritBlock(s)
		}
		if s.Use == "" {
			out = append(out, s)
			continue
		}
		out = append(out, l.useModule(s, file, scope)...)
	}
	return out
}

func (l *loader) useModule(s *Step, file string, scope *ModuleScope) []*Step {
	useNode := FieldNode(s.Node, "use")
	if l.readFile == nil {
		l.errs.Addf(file, useNode, "use: modules cannot be read here")
		return nil
	}
	if filepath.IsAbs(s.Use) {
		l.errs.Addf(file, useNode, "use: takes a path relative to %s, not an absolute one", filepath.Base(file))
		return nil
	}
	path := filepath.Join(filepath.Dir(file), s.Use)
	if l.loading[path] {
		l.errs.Addf(file, useNode, "module %s uses itself (directly or through another module)", s.Use)
		return nil
	}
	data, err := l.readFile(path)
	if err != nil {
		l.errs.Addf(file, useNode, "module %s: %v", s.Use, unwrapPathError(err))
		return nil
	}
	if rel, err := filepath.Rel(filepath.Dir(l.rb.File), path); err == nil {
		l.rb.Modules[rel] = data
	}
	root, ok := parseYAML(path, data, l.errs)
	if !ok {
		return nil
	}
	var m Module
	d := &Decoder{File: path, Errs: l.errs}
	d.Decode(root, &m)
	if len(m.Steps) == 0 {
		l.errs.Addf(path, Resolve(root), "module has no steps")
	}
	// Check with: against the module's params.
	for k := range s.With {
		if m.Params.Get(k) == nil {
			names := make([]string, len(m.Params))
			for i, p := range m.Params {
				names[i] = p.Name
			}
			l.errs.Addf(file, FieldNode(FieldNode(s.Node, "with"), k), "module %s has no param %q%s", s.Use, k, diag.Suggest(k, names))
		}
	}
	for _, p := range m.Params {
		if _, given := s.With[p.Name]; !given && p.Required && p.Default == nil {
			l.errs.Addf(file, useNode, "module %s needs param %q: add it under with:", s.Use, p.Name)
		}
	}
	inner := &ModuleScope{Module: s.Use, File: path, Params: m.Params, With: s.With, Parent: scope, Node: s.Node}
	l.loading[path] = true
	steps := l.expand(m.Steps, path, inner)
	delete(l.loading, path)
	// Common fields of the use: step apply to every included step where the
	// module's step leaves them unset.
	for _, st := range steps {
		inheritUse(st, s)
	}
	return steps
}

// inheritUse applies the common fields of a use: step to an included step.
func inheritUse(st, use *Step) {
	if use.When != "" {
		if st.When == "" {
			st.When = use.When
		} else {
			st.When = "(" + use.When + ") && (" + st.When + ")"
		}
	}
	if st.Become == nil {
		st.Become = use.Become
	}
	if st.BecomeUser == "" {
		st.BecomeUser = use.BecomeUser
	}
	if st.DelegateTo == "" {
		st.DelegateTo = use.DelegateTo
	}
	if st.Timeout == 0 {
		st.Timeout = use.Timeout
	}
	st.Local = st.Local || use.Local
	st.RunOnce = st.RunOnce || use.RunOnce
	st.IgnoreErrors = st.IgnoreErrors || use.IgnoreErrors
	st.NoLog = st.NoLog || use.NoLog
	if len(use.Env) > 0 {
		env := map[string]string{}
		for k, v := range use.Env {
			env[k] = v
		}
		for k, v := range st.Env {
			env[k] = v
		}
		st.Env = env
	}
	if st.Name != "" && use.Name != "" {
		st.Name = use.Name + ": " + st.Name
	}
}

// inheritBlock gives a block's become: and become_user: to its steps that
// leave them unset (its when: is evaluated once, for the whole block).
func inheritBlock(b *Step) {
	walkSteps(b.Block, func(st *Step) { inheritBecome(st, b) })
	walkSteps(b.Rescue, func(st *Step) { inheritBecome(st, b) })
	walkSteps(b.Always, func(st *Step) { inheritBecome(st, b) })
}

func inheritBecome(st, b *Step) {
	if st.Become == nil {
		st.Become = b.Become
	}
	if st.BecomeUser == "" {
		st.BecomeUser = b.BecomeUser
	}
}
