package engine

// Run hooks (SPEC §6 "Run-level hooks"): the runbook's hooks: step lists
// run on the controller at four moments of a session: on_start (a run
// starts or is resumed), on_canary_done (a canary phase's hosts passed,
// before its approval), on_failure (the run ends failed or halted) and
// on_finish (it ends, however). They run best effort: a step that fails is
// journaled and warned about, the hook's remaining steps are left out, and
// the run goes on as if the hook had not run. on_failure and on_finish run
// once every host is settled (rolled back, lock released), just before
// run_finished, so that a hook never leaves a host half-done.
//
// A hook's steps run on the controller's pseudo-host: their records have no
// host, phase_kind "hook", step ids hooks.EVENT.N, and, as for local:
// steps, no become unless the step asks. A resume runs its own hooks: the
// replay does not take an earlier session's hook records as done.

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/inventory"
	"github.com/runbookhq/runbook/runbook/journal"
	"github.com/runbookhq/runbook/runbook/report"
)

// hookPhaseKind is the phase_kind of hook step records.
const hookPhaseKind = "hook"

// controllerHost is what a hook's steps read as host.
var controllerHost = map[string]any{"name": "localhost", "address": "127.0.0.1", "groups": []any{}, "vars": map[string]any{}}

// runHook runs the hook for event, if the runbook has one, with what its
// steps read as hook (info adds to the run's own fields).
func (e *Engine) runHook(ctx context.Context, event string, phaseIdx int, info map[string]any) {
	list := e.rb.Hooks.Steps(event)
	var je *JournalError
	if len(list) == 0 || e.opts.CheckOnly || ctx.Err() != nil || errors.As(e.aborted(), &je) {
		return
	}
	hs := e.hookState()
	hs.hook = e.hookValue(event, info)
	pc := &phaseCtx{idx: phaseIdx, key: "hooks." + event, name: event, kind: hookPhaseKind}
	for i, st := range list {
		if ctx.Err() != nil {
			return
		}
		o := e.runStep(ctx, hs, pc, pc.key+"."+strconv.Itoa(i), i, st)
		if o.interrupted {
			return
		}
		if o.failed {
			e.emitMessage("", fmt.Sprintf("warning: hook %s failed at %q: %s; the run goes on", event, o.step, o.err))
			return
		}
	}
}

// hookState is the controller's pseudo-host the hooks run on, made on
// first use. Its params are the run's (an inventory's host vars do not
// reach it, but where a required param comes only from them, the first
// target's).
func (e *Engine) hookState() *hostState {
	if e.hookHS != nil {
		return e.hookHS
	}
	h := &inventory.Host{}
	params, err := resolveParams(e.rb.Params, e.opts.Given, nil)
	if err != nil && len(e.targets) > 0 {
		params = e.hosts[e.targets[0]].params
	}
	e.hookHS = newHostState(h, params, hostVars(e.rb, h, e.opts.Given))
	return e.hookHS
}

// hookStep is st as the hooks run it: on the controller, without become
// unless it asks for it (st itself on a target host).
func (e *Engine) hookStep(hs *hostState, st *runbook.Step) *runbook.Step {
	if hs.hook == nil {
		return st
	}
	c := *st
	c.Local = true
	if c.Become == nil {
		no := false
		c.Become = &no
	}
	return &c
}

// addHookEnv makes a hook's environment: hook, and the controller as host.
func addHookEnv(env map[string]any, hs *hostState) {
	if hs.hook != nil {
		env[runbook.NameHook] = hs.hook
		env[runbook.NameHost] = controllerHost
	}
}

// hookValue is what a hook's steps read as hook at event.
func (e *Engine) hookValue(event string, info map[string]any) map[string]any {
	failed := e.failedHosts()
	list := make([]any, len(failed))
	for i, h := range failed {
		list[i] = h
	}
	counts := map[string]any{}
	for k, n := range e.counts() {
		counts[k] = n
	}
	v := map[string]any{
		"event": event, "run_id": e.runID, "runbook": e.rb.Name, "operator": e.operator, "controller": e.controller,
		"dry_run": e.opts.DryRun, "resumed": e.replay != nil, "status": "running", "reason": "",
		"failed_hosts": list, "counts": counts, "hosts": len(e.targets),
		"report": filepath.Join(e.runDir, report.HTMLFile), "journal": e.j.Path(), "phase": "",
	}
	for k, x := range info {
		v[k] = x
	}
	v["summary"] = hookSummary(v, failed)
	return v
}

// hookSummary is one line about the run for a notification: "crio-upgrade
// run ID halted: canary failed on worker-1 (failed: worker-1)".
func hookSummary(v map[string]any, failed []string) string {
	what := "dry run"
	if v["dry_run"] != true {
		what = "run"
	}
	s := fmt.Sprintf("%s %s %s %s", v["runbook"], what, v["run_id"], v["status"])
	if v["event"] == runbook.HookOnCanaryDone {
		s = fmt.Sprintf("%s %s %s: canary %q passed on %s", v["runbook"], what, v["run_id"], v["phase"], v["canary_hosts"])
	}
	if r, _ := v["reason"].(string); r != "" {
		s += ": " + r
	}
	switch {
	case len(failed) > 10:
		s += fmt.Sprintf(" (failed: %s and %d more)", strings.Join(failed[:10], ", "), len(failed)-10)
	case len(failed) > 0:
		s += " (failed: " + strings.Join(failed, ", ") + ")"
	}
	return strings.ReplaceAll(s, "\n", " ")
}

// failedHosts lists the targets that failed so far: those whose outcome
// counts as a failure, and those that failed the fleet verify.
func (e *Engine) failedHosts() []string {
	var out []string
	for _, name := range e.targets {
		hs := e.hosts[name]
		switch hs.outcome {
		case journal.OutcomeFailed, journal.OutcomeRolledBack, journal.OutcomeRollbackFailed, journal.OutcomeUnreachable:
			out = append(out, name)
		default:
			if hs.fleetFailed {
				out = append(out, name)
			}
		}
	}
	return out
}

// canaryDone runs on_canary_done for canary phase pc, which passed on
// hosts.
func (e *Engine) canaryDone(ctx context.Context, pc *phaseCtx, hosts []string) {
	list := make([]any, len(hosts))
	for i, h := range hosts {
		list[i] = h
	}
	e.runHook(ctx, runbook.HookOnCanaryDone, pc.idx, map[string]any{"phase": pc.name, "canary_hosts": list})
}

// endHooks runs on_failure (when the run failed or halted) and on_finish,
// with the run's status and reason.
func (e *Engine) endHooks(ctx context.Context, res *Result) {
	info := map[string]any{"status": res.Status, "reason": res.Reason}
	if res.Status == journal.RunStatusFailed || res.Status == journal.RunStatusHalted {
		e.runHook(ctx, runbook.HookOnFailure, 0, info)
	}
	e.runHook(ctx, runbook.HookOnFinish, 0, info)
}
