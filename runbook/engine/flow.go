package engine

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/inventory"
)

// prepareFlow readies what the phases need before the run: each phase's
// targets, the counts and durations written as templates, and the groups
// expressions see.
func (e *Engine) prepareFlow() error {
	if err := e.resolveRunTemplates(); err != nil {
		return &ParamError{err.Error()}
	}
	all, err := SelectTargets(e.rb, e.inv, "")
	if err != nil {
		return err
	}
	fullNames := make([]string, len(all))
	for i, h := range all {
		fullNames[i] = h.Name
	}
	n := len(e.rb.Phases)
	e.phaseTargets, e.fullPhaseTargets, e.phaseTargetSet = make([][]string, n), make([][]string, n), make([]map[string]bool, n)
	for i, ph := range e.rb.Phases {
		sel, err := e.phaseSelection(ph)
		if err != nil {
			return &ParamError{err.Error()}
		}
		e.phaseTargets[i] = narrow(e.targets, sel)
		e.fullPhaseTargets[i] = narrow(fullNames, sel)
		set := make(map[string]bool, len(e.phaseTargets[i]))
		for _, h := range e.phaseTargets[i] {
			set[h] = true
		}
		e.phaseTargetSet[i] = set
	}
	e.groups = groupsValue(e.inv)
	e.usesHostvars = mentions(e.rb, runbook.NameHostvars)
	return nil
}

// mentions reports whether the runbook's or a module's text holds word:
// hostvars costs a map of the whole inventory to build, so expressions
// get it only where some may read it.
func mentions(rb *runbook.Runbook, word string) bool {
	if bytes.Contains(rb.Source, []byte(word)) {
		return true
	}
	for _, m := range rb.Modules {
		if bytes.Contains(m, []byte(word)) {
			return true
		}
	}
	return false
}

// phaseSelection is the set of hosts a phase's targets: pattern names (nil:
// no pattern, every target).
func (e *Engine) phaseSelection(ph *runbook.Phase) (map[string]bool, error) {
	if ph.Targets == "" {
		return nil, nil
	}
	hosts, err := e.inv.Select(ph.Targets)
	if err != nil {
		at := runbook.FieldNode(ph.Node, "targets")
		return nil, fmt.Errorf("%s:%d:%d: %s: targets %q: %v", e.rb.File, at.Line, at.Column, ph, ph.Targets, err)
	}
	sel := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		sel[h.Name] = true
	}
	return sel, nil
}

// narrow keeps the names in sel (all of them when sel is nil), in order.
func narrow(names []string, sel map[string]bool) []string {
	if sel == nil {
		return slices.Clone(names)
	}
	var out []string
	for _, n := range names {
		if sel[n] {
			out = append(out, n)
		}
	}
	return out
}

// templateEnv is what the {{ }} of a run-level count or duration sees:
// params as given or defaulted, and the runbook's vars.
func (e *Engine) templateEnv() map[string]any {
	params := map[string]any{}
	for _, p := range e.rb.Params {
		if v, ok := e.opts.Given[p.Name]; ok {
			params[p.Name] = v
		} else {
			params[p.Name] = p.Default
		}
	}
	vars := e.rb.Vars.Map()
	for _, v := range e.rb.Vars {
		if g, ok := e.opts.Given[v.Name]; ok {
			vars[v.Name] = g
		}
	}
	return map[string]any{runbook.NameParams: params, runbook.NameVars: vars}
}

// resolveRunTemplates resolves the runbook's and its phases' counts and
// durations written as templates, and renders every step's for every
// target host once, so that a bad value stops the run before it starts.
func (e *Engine) resolveRunTemplates() error {
	render := (&runbook.Renderer{Env: e.templateEnv()}).Render
	var errs []error
	if err := runbook.ResolveTemplates(e.rb, e.rb.File, render); err != nil {
		errs = append(errs, err)
	}
	for _, ph := range e.rb.Phases {
		if err := runbook.ResolveTemplates(ph, e.rb.File, render); err != nil {
			errs = append(errs, err)
		}
	}
	for _, st := range e.rb.AllSteps() {
		if len(st.Templates) == 0 {
			continue
		}
		for _, name := range e.targets {
			if _, err := e.resolveStep(e.hosts[name], st); err != nil {
				errs = append(errs, fmt.Errorf("%w (on host %s)", err, name))
				break
			}
		}
	}
	return errors.Join(errs...)
}

// resolveStep returns st with its templated counts and durations resolved
// for the host (params and vars may differ by host).
func (e *Engine) resolveStep(hs *hostState, st *runbook.Step) (*runbook.Step, error) {
	if len(st.Templates) == 0 {
		return st, nil
	}
	env := map[string]any{runbook.NameParams: hs.params, runbook.NameVars: hs.vars}
	if st.Scope != nil {
		env[runbook.NameParams] = scopeParamsIn(env, st.Scope)
	}
	return runbook.ResolveStep(st, (&runbook.Renderer{Env: env}).Render)
}

// groupsValue is how the inventory's groups look in expressions: each
// group's hosts (its children's included), in inventory order.
func groupsValue(inv *inventory.Inventory) map[string]any {
	out := make(map[string]any, len(inv.GroupOrder))
	for _, g := range inv.GroupOrder {
		hosts, err := inv.Select(g)
		if err != nil {
			continue
		}
		names := make([]any, len(hosts))
		for i, h := range hosts {
			names[i] = h.Name
		}
		out[g] = names
	}
	return out
}

// hostvarsCache is the hostvars expressions see: every inventory host's
// host object and, once gathered, its facts. It is rebuilt only when facts
// arrived since it was built, so that a fleet that uses it pays for it once
// per connection wave rather than once per step.
type hostvarsCache struct {
	mu    sync.Mutex
	gen   int64 // facts generation it was built at
	value map[string]any
}

// hostvarsValue returns hostvars as of now.
func (e *Engine) hostvarsValue() map[string]any {
	gen := e.pool.factsGen.Load()
	c := &e.hostvars
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.value != nil && c.gen == gen {
		return c.value
	}
	v := make(map[string]any, len(e.inv.Hosts))
	for _, h := range e.inv.Hosts {
		entry := map[string]any{"host": hostValue(h)}
		if f, ok := e.pool.knownFacts(h.Name); ok {
			entry["facts"] = factsValue(f)
		}
		v[h.Name] = entry
	}
	c.value, c.gen = v, gen
	return v
}

// evalOrderKeys evaluates every order_by once, for every host of its
// phase, after the check phases and before the first change: an
// expression that fails on a host stops the run before anything changed.
func (e *Engine) evalOrderKeys() error {
	e.orderKeys = map[int]map[string]any{}
	for i, ph := range e.rb.Phases {
		if ph.OrderBy == "" {
			continue
		}
		keys := map[string]any{}
		for _, name := range e.phaseTargets[i] {
			hs := e.hosts[name]
			if hs.outcome != "" || hs.excluded {
				continue
			}
			k, err := evalExpr(ph.OrderBy, e.envFor(hs, nil))
			if err != nil {
				at := runbook.FieldNode(ph.Node, "order_by")
				return fmt.Errorf("%s:%d:%d: %s: order_by failed on %s before any change: %v", e.rb.File, at.Line, at.Column, ph, name, err)
			}
			keys[name] = k
		}
		e.orderKeys[i] = keys
	}
	return nil
}

// orderKey is host's order_by key in phase i.
func (e *Engine) orderKey(i int, host string) (any, bool) {
	k, ok := e.orderKeys[i][host]
	return k, ok
}

// CheckTemplates checks, before any run, what params and vars decide: the
// counts and durations written as templates (a bad value is an error at
// the template's line and column), and every loop: over params and vars
// gives a list. given are -e values; params without one take their
// default. validate -e and plan check this; run checks it per host.
func CheckTemplates(rb *runbook.Runbook, given map[string]any) error {
	e := &Engine{rb: rb, opts: Options{Given: given}}
	env := e.templateEnv()
	render := (&runbook.Renderer{Env: env}).Render
	var errs []error
	if err := runbook.ResolveTemplates(rb, rb.File, render); err != nil {
		errs = append(errs, err)
	}
	for _, ph := range rb.Phases {
		if err := runbook.ResolveTemplates(ph, rb.File, render); err != nil {
			errs = append(errs, err)
		}
	}
	for _, st := range rb.AllSteps() {
		if _, err := runbook.ResolveStep(st, render); err != nil {
			errs = append(errs, err)
		}
		if st.Loop == nil || st.Loop.Expr == "" || !templateReadsOnly("{{ "+st.Loop.Expr+" }}", runbook.TemplateNames) {
			continue
		}
		v, err := evalExpr(st.Loop.Expr, env)
		if _, ok := asList(v); err != nil || !ok {
			what := fmt.Sprintf("%T", v)
			if err != nil {
				what = "an error: " + err.Error()
			}
			errs = append(errs, fmt.Errorf("%s:%d:%d: loop: %q gives %s, not a list", st.File, st.Loop.Node.Line, st.Loop.Node.Column, st.Loop.Expr, what))
		}
	}
	return errors.Join(errs...)
}
