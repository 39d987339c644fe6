package runbook

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"

	"gopkg.in/yaml.v3"

	"github.com/runbookhq/runbook/runbook/diag"
)

// Definer is implemented by step specs that define top-level names for later
// expressions (the `set` kind).
type Definer interface {
	Defines() []string
}

type validator struct {
	rb   *Runbook
	errs *diag.List
	// names defined by register: and set: anywhere in the runbook.
	defined map[string]bool
	seen    map[*Step]bool
	// inHandler are the steps of handlers (which may not notify).
	inHandler map[*Step]bool
	// inHook are the steps of hooks (which may read hook).
	inHook map[*Step]bool
}

func validate(rb *Runbook, root *yaml.Node, errs *diag.List) {
	v := &validator{rb: rb, errs: errs, defined: map[string]bool{}, seen: map[*Step]bool{}, inHandler: map[*Step]bool{}, inHook: map[*Step]bool{}}
	v.top(root)
	v.params()
	for _, s := range rb.AllSteps() {
		v.collectDefs(s)
	}
	for _, h := range rb.Handlers {
		if len(h.Steps) == 0 {
			v.errorf(h.Node, "handler %q has no steps", h.Name)
		}
		walkSteps(h.Steps, func(s *Step) { v.inHandler[s] = true })
	}
	for _, l := range rb.Hooks.Lists() {
		walkSteps(l.Ref.Steps, func(s *Step) { v.inHook[s] = true })
	}
	for i, ph := range rb.Phases {
		v.phase(i, ph)
	}
	if rb.Rollback != nil {
		v.stepList(rb.Rollback.Steps.Steps)
	}
	for _, p := range rb.Procedures {
		v.stepList(p.Steps)
	}
	for _, h := range rb.Handlers {
		v.stepList(h.Steps)
	}
	v.hooks()
}

func (v *validator) errorf(n *yaml.Node, format string, args ...any) {
	v.errs.Addf(v.rb.File, n, format, args...)
}

func (v *validator) top(root *yaml.Node) {
	rb := v.rb
	if rb.Name == "" {
		v.errorf(root, "missing runbook: (its name, like crio-upgrade)")
	} else if !nameRe().MatchString(rb.Name) {
		v.errorf(FieldNode(root, "runbook"), "runbook name %q: use lower-case letters, digits and dashes", rb.Name)
	}
	if rb.Targets == "" {
		v.errorf(root, "missing targets: (a host pattern such as kube_nodes or worker-*)")
	}
	if len(rb.Phases) == 0 {
		v.errorf(root, "missing phases: a runbook needs at least one phase")
	}
	if rb.Concurrency < 0 {
		v.errorf(FieldNode(root, "concurrency"), "concurrency must be 1 or more")
	}
	v.checkTemplates(rb, rb.File, nil)
	switch rb.OnFailure {
	case "", RollbackHost, RollbackAll, Halt:
	default:
		v.errorf(FieldNode(root, "on_failure"), "on_failure %q: use rollback_host, rollback_all or halt%s",
			rb.OnFailure, diag.Suggest(rb.OnFailure, []string{RollbackHost, RollbackAll, Halt}))
	}
	if (rb.OnFailure == RollbackAll) && (rb.Rollback == nil || len(rb.Rollback.Steps.Steps) == 0) {
		v.errorf(FieldNode(root, "on_failure"), "on_failure: rollback_all needs a rollback: section")
	}
	if rb.Requires != nil && rb.Requires.OS == "" && rb.Requires.Version == "" && rb.Requires.Arch == "" {
		v.errorf(FieldNode(root, "requires"), "requires: is empty; give os, version or arch")
	}
}

func (v *validator) params() {
	for _, p := range v.rb.Params {
		v.paramDecl(p)
	}
}

func (v *validator) paramDecl(p *Param) {
	if slices.Contains(BuiltinNames, p.Name) {
		v.errs.Addf(v.rb.File, p.Node, "param name %q is reserved", p.Name)
	}
	if p.Pattern == "" {
		return
	}
	re, err := regexp.Compile(p.Pattern)
	if err != nil {
		v.errs.Addf(v.rb.File, p.Node, "param %s: bad pattern: %v", p.Name, err)
		return
	}
	if p.Default != nil && !re.MatchString(Stringify(p.Default)) {
		v.errs.Addf(v.rb.File, p.Node, "param %s: default %q does not match its pattern %s", p.Name, Stringify(p.Default), p.Pattern)
	}
}

func (v *validator) collectDefs(s *Step) {
	if s.Register != "" {
		v.defined[s.Register] = true
	}
	if d, ok := s.Spec.(Definer); ok {
		for _, n := range d.Defines() {
			v.defined[n] = true
		}
	}
}

// phaseFields says which optional phase fields each kind takes.
var phaseFields = map[string][]string{
	KindBackup: {"targets", "exclude_failed_hosts", "concurrency"},
	KindCheck:  {"targets", "skip_host_when", "exclude_failed_hosts", "concurrency"},
	KindCanary: {"targets", "hosts", "verify", "soak", "approve", "order_by", "order", "concurrency"},
	KindBatch:  {"targets", "serial", "verify", "pause_between", "order_by", "order", "concurrency"},
	KindVerify: {"targets", "concurrency"},
}

var phaseFieldSet = func() map[string]bool {
	m := map[string]bool{}
	for _, fields := range phaseFields {
		for _, f := range fields {
			m[f] = true
		}
	}
	return m
}()

// phaseOrder: backup and check phases come before any change; canary,
// batch and verify phases follow in any order (control plane, then
// workers).
var phaseOrder = map[string]int{KindBackup: 0, KindCheck: 0, KindCanary: 1, KindBatch: 1, KindVerify: 1}

func (v *validator) phase(i int, ph *Phase) {
	if ph == nil {
		return
	}
	n := ph.Node
	if ph.Name == "" {
		v.errorf(n, "phase %d has no name:", i+1)
	}
	allowed, ok := phaseFields[ph.Kind]
	if !ok {
		if ph.Kind == "" {
			v.errorf(n, "phase %q has no kind: (one of %v)", ph.Name, PhaseKinds)
		} else {
			v.errorf(FieldNode(n, "kind"), "unknown phase kind %q: use one of %v%s", ph.Kind, PhaseKinds, diag.Suggest(ph.Kind, PhaseKinds))
		}
		v.stepList(ph.Steps.Steps)
		v.stepList(ph.Verify.Steps)
		return
	}
	for _, kv := range (&Decoder{Errs: &diag.List{}}).Pairs(n) {
		switch kv.Key.Value {
		case "name", "kind", "steps":
			continue
		}
		if _, known := phaseFieldSet[kv.Key.Value]; known && !slices.Contains(allowed, kv.Key.Value) {
			v.errorf(kv.Key, "%s does not apply to a %s phase", kv.Key.Value, ph.Kind)
		}
	}
	if !ph.Steps.IsSet() {
		v.errorf(n, "phase %q has no steps:", ph.Name)
	}
	if i > 0 {
		prev := v.rb.Phases[i-1]
		if prev != nil && phaseOrder[ph.Kind] < phaseOrder[prev.Kind] {
			v.errorf(FieldNode(n, "kind"), "a %s phase cannot come after a %s phase: backup and check phases come before any change, then canary, batch and verify phases", ph.Kind, prev.Kind)
		}
	}
	if ph.Kind == KindCanary && ph.Hosts.Node == nil && ph.Templates["hosts"] == nil {
		v.errorf(n, "canary phase %q needs hosts: (a count, a percentage, names or a pattern)", ph.Name)
	}
	if ph.Order != "" && !slices.Contains(Orders, ph.Order) {
		v.errorf(FieldNode(n, "order"), "order %q: use one of %v%s", ph.Order, Orders, diag.Suggest(ph.Order, Orders))
	}
	if ph.OrderBy != "" {
		if ph.Order != "" && ph.Order != OrderInventory {
			v.errorf(FieldNode(n, "order"), "order: %s and order_by: together: order_by sorts the hosts, ties keep inventory order", ph.Order)
		}
		v.expr(FieldNode(n, "order_by"), ph.OrderBy, nil, nil)
	}
	v.checkTemplates(ph, v.rb.File, nil)
	if ph.Kind == KindCanary && ph.Hosts.Size != nil && !ph.Hosts.Size.IsPct && ph.Hosts.Size.Count < 1 {
		v.errorf(ph.Hosts.Node, "a canary needs at least 1 host")
	}
	if ph.Concurrency < 0 {
		v.errorf(FieldNode(n, "concurrency"), "concurrency must be 1 or more")
	}
	if ph.SkipHostWhen != "" {
		v.expr(FieldNode(n, "skip_host_when"), ph.SkipHostWhen, nil, nil)
	}
	v.stepList(ph.Steps.Steps)
	v.stepList(ph.Verify.Steps)
}

func (v *validator) stepList(steps []*Step) {
	walkSteps(steps, func(s *Step) {
		if !v.seen[s] {
			v.seen[s] = true
			v.step(s)
		}
	})
}

func (v *validator) stepErr(s *Step, n *yaml.Node, format string, args ...any) {
	if n == nil {
		n = s.Node
	}
	v.errs.Addf(s.File, n, format, args...)
}

func (v *validator) step(s *Step) {
	if s.Register != "" {
		switch {
		case !identRe().MatchString(s.Register):
			v.stepErr(s, FieldNode(s.Node, "register"), "register name %q must be a letter or _ followed by letters, digits or _", s.Register)
		case slices.Contains(BuiltinNames, s.Register) || s.Register == NameResult:
			v.stepErr(s, FieldNode(s.Node, "register"), "register name %q is reserved", s.Register)
		}
	}
	if s.Retries < 0 {
		v.stepErr(s, FieldNode(s.Node, "retries"), "retries must be 0 or more")
	}
	if s.Local && s.DelegateTo != "" {
		v.stepErr(s, FieldNode(s.Node, "local"), "a step is either local: or delegate_to:, not both")
	}
	v.flow(s)
	for _, f := range []struct {
		key, src string
		result   bool
	}{{"when", s.When, false}, {"until", s.Until, true}, {"changed_when", s.ChangedWhen, true}, {"failed_when", s.FailedWhen, true}} {
		if f.src == "" {
			continue
		}
		var extra []string
		if f.result {
			extra = []string{NameResult}
		}
		v.expr(keyNode(s, f.key), f.src, s, extra)
	}
	for k, val := range s.Env {
		v.template(FieldNode(FieldNode(s.Node, "env"), k), val, s, false)
	}
	v.template(FieldNode(s.Node, "delegate_to"), s.DelegateTo, s, false)
	v.checkTemplates(s, stepFile(v.rb, s), s)
	if s.Scope != nil {
		for k, val := range s.Scope.With {
			v.withValue(FieldNode(FieldNode(s.Scope.Node, "with"), k), val, s.Scope)
		}
	}
	if s.Spec != nil {
		kindNode := FieldNode(s.Node, s.Kind)
		specStrings(reflect.ValueOf(s.Spec), false, false, func(str string, isExpr, isShell bool) {
			if isExpr {
				v.expr(kindNode, str, s, nil)
			} else {
				v.template(kindNode, str, s, isShell)
			}
		})
	}
}

// keyNode is the value node of key in the step, or the step itself.
func keyNode(s *Step, key string) *yaml.Node {
	if n := FieldNode(s.Node, key); n != nil {
		return n
	}
	return s.Node
}

// withValue checks the templates of a use:'s with: value in the scope the
// use: was written in.
func (v *validator) withValue(n *yaml.Node, val any, scope *ModuleScope) {
	file := v.rb.File
	if scope.Parent != nil {
		file = scope.Parent.File
	}
	outer := &Step{Scope: scope.Parent, File: file, Node: scope.Node}
	switch x := val.(type) {
	case string:
		v.template(n, x, outer, false)
	case []any:
		for _, e := range x {
			v.withValue(n, e, scope)
		}
	case map[string]any:
		for _, e := range x {
			v.withValue(n, e, scope)
		}
	}
}

func (v *validator) template(n *yaml.Node, s string, step *Step, isShell bool) {
	if !HasTemplate(s) {
		return
	}
	parts, err := ParseTemplate(s)
	if err != nil {
		v.stepErr(step, n, "%v", err)
		return
	}
	for _, p := range parts {
		if p.Expr == "" {
			continue
		}
		if !v.expr(n, p.Expr, step, nil) {
			continue
		}
		if isShell && !isQuoted(p.Expr) {
			if refs := ParamRefs(p.Expr); len(refs) > 0 {
				e := diag.At(stepFile(v.rb, step), n, "param %s reaches a shell unquoted in {{ %s }}: write {{ quote(%s) }} unless it is meant to be shell code", refs[0], p.Expr, p.Expr)
				e.Warning = true
				v.errs.Add(e)
			}
		}
	}
}

func stepFile(rb *Runbook, s *Step) string {
	if s != nil && s.File != "" {
		return s.File
	}
	return rb.File
}

// expr compiles src and checks the names it reads; it reports whether src
// compiled.
func (v *validator) expr(n *yaml.Node, src string, step *Step, extra []string) bool {
	file := stepFile(v.rb, step)
	e, err := CompileExpr(src)
	if err != nil {
		v.errs.Addf(file, n, "%v", err)
		return false
	}
	known := append(append([]string{}, BuiltinNames...), extra...)
	for name := range v.defined {
		known = append(known, name)
	}
	if step != nil && step.Loop != nil {
		known = append(known, step.LoopVarName(), NameLoopIndex)
	}
	if step != nil && v.inHook[step] {
		known = append(known, NameHook)
	}
	sort.Strings(known)
	for _, name := range e.Names() {
		if name == NameHook && !slices.Contains(known, name) {
			v.errs.Addf(file, n, "%s is defined only in the steps of hooks: (in %q)", NameHook, src)
		} else if !slices.Contains(known, name) {
			v.errs.Addf(file, n, "undefined name %q in %q%s (names: params, vars, host, facts, snapshots, run, and register:/set: names)",
				name, src, diag.Suggest(name, known))
		}
	}
	var scope *ModuleScope
	if step != nil {
		scope = step.Scope
	}
	for _, ref := range ParamRefs(src) {
		params, where := v.rb.Params, "runbook"
		if scope != nil {
			params, where = scope.Params, "module "+scope.Module
		}
		if params.Get(ref) == nil {
			names := make([]string, len(params))
			for i, p := range params {
				names[i] = p.Name
			}
			v.errs.Addf(file, n, "param %q is not declared in the %s's params:%s", ref, where, diag.Suggest(ref, names))
		}
	}
	return true
}

// AllSteps returns every step of the runbook once: procedures, phases,
// rollback and handlers, with the steps inside blocks after their block.
func (rb *Runbook) AllSteps() []*Step {
	seen := map[*Step]bool{}
	var out []*Step
	add := func(steps []*Step) {
		walkSteps(steps, func(s *Step) {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		})
	}
	names := make([]string, 0, len(rb.Procedures))
	for n := range rb.Procedures {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if rb.Procedures[n] != nil {
			add(rb.Procedures[n].Steps)
		}
	}
	for _, ph := range rb.Phases {
		if ph != nil {
			add(ph.Steps.Steps)
			add(ph.Verify.Steps)
		}
	}
	if rb.Rollback != nil {
		add(rb.Rollback.Steps.Steps)
	}
	for _, h := range rb.Handlers {
		add(h.Steps)
	}
	for _, h := range rb.Hooks.Lists() {
		add(h.Ref.Steps)
	}
	return out
}

// String describes a phase for messages.
func (ph *Phase) String() string { return fmt.Sprintf("%s phase %q", ph.Kind, ph.Name) }

// flow checks a step's loop:, notify: and what a block allows.
func (v *validator) flow(s *Step) {
	file := stepFile(v.rb, s)
	for _, name := range s.Notify {
		if v.rb.Handlers.Get(name) == nil {
			v.errs.Addf(file, FieldNode(s.Node, "notify"), "notify: no handler %q under handlers:%s", name, stepNameSuggest(name, v.rb.Handlers))
		}
	}
	if len(s.Notify) > 0 && v.inHandler[s] {
		v.errs.Addf(file, FieldNode(s.Node, "notify"), "a handler's step cannot notify: handlers run once, after the step list that queued them; put what it would queue in the handler itself")
	}
	if s.LoopVar != "" {
		switch {
		case s.Loop == nil:
			v.errs.Addf(file, FieldNode(s.Node, "loop_var"), "loop_var: names the item of a loop:, and this step has none")
		case !identRe().MatchString(s.LoopVar) || slices.Contains(BuiltinNames, s.LoopVar) || s.LoopVar == NameLoopIndex:
			v.errs.Addf(file, FieldNode(s.Node, "loop_var"), "loop_var %q must be a letter or _ followed by letters, digits or _, and not a name runbook defines", s.LoopVar)
		}
	}
	if s.Loop == nil {
		return
	}
	if s.IsBlock() {
		v.errs.Addf(file, s.Loop.Node, "loop: does not apply to a block; loop over the steps inside it")
		return
	}
	if s.RunOnce {
		v.errs.Addf(file, FieldNode(s.Node, "run_once"), "run_once and loop: together are not supported: loop over the items inside one run_once step's command, or drop run_once")
	}
	if s.Loop.Expr != "" {
		if !v.expr(s.Loop.Node, s.Loop.Expr, &Step{File: s.File, Scope: s.Scope}, nil) {
			return
		}
		if e, err := CompileExpr(s.Loop.Expr); err == nil && len(e.Names()) == 0 {
			// A constant: what it gives is known now.
			if x, err := e.Eval(map[string]any{}); err != nil || !isList(x) {
				v.errs.Addf(file, s.Loop.Node, "loop: %q gives %s, not a list", s.Loop.Expr, describeValue(x, err))
			}
		}
		return
	}
	var items func(x any)
	items = func(x any) {
		switch y := x.(type) {
		case string:
			v.template(s.Loop.Node, y, &Step{File: s.File, Scope: s.Scope}, false)
		case []any:
			for _, e := range y {
				items(e)
			}
		case map[string]any:
			for _, e := range y {
				items(e)
			}
		}
	}
	items(s.Loop.Items)
}

// isList reports whether x is a list a loop can run over.
func isList(x any) bool {
	if x == nil {
		return false
	}
	k := reflect.TypeOf(x).Kind()
	return k == reflect.Slice || k == reflect.Array
}

func describeValue(x any, err error) string {
	if err != nil {
		return "an error (" + err.Error() + ")"
	}
	if x == nil {
		return "nothing"
	}
	return fmt.Sprintf("%T %v", x, x)
}
