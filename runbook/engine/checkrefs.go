package engine

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/inventory"
)

// staticNames are the names whose values are known before a run connects
// anywhere: a template that reads only these renders the same before the
// run as during it.
var staticNames = []string{runbook.NameParams, runbook.NameVars, runbook.NameHost, runbook.NameRun}

// maxRefErrors bounds the errors CheckReferences lists: one wrong
// delegate_to is wrong on every host.
const maxRefErrors = 20

// CheckReferences checks what a runbook needs of an inventory, before
// anything runs: the targets select hosts, canary hosts named are among
// them, and every delegate_to names an inventory host, rendered for each
// target host where it depends only on params, vars and the host itself.
// given are the -e values (nil for validate without them: templates that
// need a param without a default are left to the run). Errors name the
// runbook file, line and column.
func CheckReferences(rb *runbook.Runbook, inv *inventory.Inventory, invFile string, given map[string]any) error {
	hosts, err := SelectTargets(rb, inv, "")
	if err != nil {
		return fmt.Errorf("%s: %v", rb.File, err)
	}
	var errs []error
	add := func(err error) bool {
		if len(errs) < maxRefErrors {
			errs = append(errs, err)
		}
		return len(errs) < maxRefErrors
	}
	names := map[string]bool{}
	for _, h := range hosts {
		names[h.Name] = true
	}
	for _, ph := range rb.Phases {
		for _, err := range checkPhaseTargets(rb, ph, inv, invFile, names) {
			add(err)
		}
	}
	for _, st := range rb.AllSteps() {
		if st.DelegateTo == "" {
			continue
		}
		at := runbook.FieldNode(st.Node, "delegate_to")
		if !runbook.HasTemplate(st.DelegateTo) {
			if inv.Host(st.DelegateTo) == nil && !add(fmt.Errorf("%s:%d:%d: delegate_to: no host %q in %s", st.File, at.Line, at.Column, st.DelegateTo, invFile)) {
				break
			}
			continue
		}
		if !templateReadsOnly(st.DelegateTo, staticNames) {
			continue // checked on each host before its first change
		}
		for _, h := range hosts {
			params, err := resolveParams(rb.Params, given, h.Vars)
			if err != nil {
				break // a required param not given (validate): the run checks it
			}
			hs := newHostState(h, params, hostVars(rb, h, given))
			env := staticEnv(hs, st)
			name, err := (&runbook.Renderer{Env: env}).Render(st.DelegateTo)
			if err != nil {
				add(fmt.Errorf("%s:%d:%d: delegate_to %q on host %s: %v", st.File, at.Line, at.Column, st.DelegateTo, h.Name, err))
				break
			}
			if runbook.HasTemplate(name) {
				break // a module's with: that reads run-time values
			}
			if inv.Host(name) == nil {
				add(fmt.Errorf("%s:%d:%d: delegate_to %q is %q on host %s: no such host in %s", st.File, at.Line, at.Column, st.DelegateTo, name, h.Name, invFile))
				break
			}
		}
	}
	return errors.Join(errs...)
}

// staticEnv is the part of a host's expression environment that is known
// before the run: params (a module's, in its scope), vars, the host.
func staticEnv(hs *hostState, st *runbook.Step) map[string]any {
	env := map[string]any{
		runbook.NameParams: hs.params,
		runbook.NameVars:   hs.vars,
		runbook.NameHost:   hostValue(hs.h),
		runbook.NameRun:    map[string]any{"id": "", "operator": ""},
	}
	if st.Scope != nil {
		env[runbook.NameParams] = scopeParamsIn(env, st.Scope)
	}
	return env
}

// templateReadsOnly reports whether every expression of template s reads
// only the given names.
func templateReadsOnly(s string, names []string) bool {
	parts, err := runbook.ParseTemplate(s)
	if err != nil {
		return false
	}
	for _, p := range parts {
		if p.Expr == "" {
			continue
		}
		used, err := runbook.ExprNames(p.Expr)
		if err != nil {
			return false
		}
		for _, n := range used {
			if !slices.Contains(names, n) {
				return false
			}
		}
	}
	return true
}

// checkHostDelegates renders, before a host's first change, the delegate_to
// of every step it may run in lists whose values are known by now (facts,
// what the check phases registered); one that names no inventory host fails
// the host before anything on it changed. A template that reads a value not
// registered yet is left to its step.
func (e *Engine) checkHostDelegates(hs *hostState, lists ...[]*runbook.Step) error {
	for _, list := range lists {
		for _, st := range list {
			if !runbook.HasTemplate(st.DelegateTo) {
				continue
			}
			env := e.envFor(hs, st)
			if !templateReadsOnly(st.DelegateTo, slices.Collect(maps.Keys(env))) {
				continue
			}
			name, err := (&runbook.Renderer{Env: env}).Render(st.DelegateTo)
			if err != nil || runbook.HasTemplate(name) {
				continue // a value registered later in the list: the step says
			}
			if e.inventoryHost(name) == nil {
				return fmt.Errorf("%s:%d: delegate_to %q is %q: no such host in the inventory", st.File, st.Node.Line, st.DelegateTo, name)
			}
		}
	}
	return nil
}

func phaseTargetsText(rb *runbook.Runbook, ph *runbook.Phase) string {
	if ph.Targets != "" {
		return ph.Targets
	}
	return rb.Targets
}

// checkPhaseTargets checks a phase's targets: pattern and its canary hosts
// against the inventory; names are the runbook's targets.
func checkPhaseTargets(rb *runbook.Runbook, ph *runbook.Phase, inv *inventory.Inventory, invFile string, names map[string]bool) []error {
	var errs []error
	phaseNames := names
	if ph.Targets != "" {
		at := runbook.FieldNode(ph.Node, "targets")
		sel, err := inv.Select(ph.Targets)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d:%d: targets %q: %v", rb.File, at.Line, at.Column, ph.Targets, err))
			return errs
		}
		phaseNames = map[string]bool{}
		for _, h := range sel {
			if names[h.Name] {
				phaseNames[h.Name] = true
			}
		}
		if len(phaseNames) == 0 {
			errs = append(errs, fmt.Errorf("%s:%d:%d: targets %q matches no host of the runbook's targets %q in %s", rb.File, at.Line, at.Column, ph.Targets, rb.Targets, invFile))
			return errs
		}
	}
	for _, n := range ph.Hosts.Names {
		if !phaseNames[n] {
			errs = append(errs, fmt.Errorf("%s:%d:%d: canary host %s is not among the phase's targets %q", rb.File, ph.Hosts.Node.Line, ph.Hosts.Node.Column, n, phaseTargetsText(rb, ph)))
		}
	}
	if ph.Hosts.Pattern != "" {
		sel, err := inv.Select(ph.Hosts.Pattern)
		matched := 0
		for _, h := range sel {
			if phaseNames[h.Name] {
				matched++
			}
		}
		if err != nil || matched == 0 {
			why := "matches no host of the phase's targets"
			if err != nil {
				why = err.Error()
			}
			errs = append(errs, fmt.Errorf("%s:%d:%d: canary hosts %q: %s %q", rb.File, ph.Hosts.Node.Line, ph.Hosts.Node.Column, ph.Hosts.Pattern, why, phaseTargetsText(rb, ph)))
		}
	}
	return errs
}
