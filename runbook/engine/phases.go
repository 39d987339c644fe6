package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/journal"
	"github.com/runbookhq/runbook/runbook/transport"
)

// startPhase journals phase_started unless nothing is left to do in it.
func (e *Engine) startPhase(pc *phaseCtx, hosts []string) bool {
	r := pc.record(journal.PhaseStarted)
	r.Hosts = hosts
	return e.emit(r) == nil
}

func (e *Engine) endPhase(pc *phaseCtx) {
	e.emit(pc.record(journal.PhaseFinished))
}

// ensureHost connects to the host (lock and facts in one round trip) and
// checks requires, journaling a failure as the pseudo-step "connect". It
// returns the failure as a stepOutcome.
func (e *Engine) ensureHost(ctx context.Context, hs *hostState, pc *phaseCtx) stepOutcome {
	began := time.Now()
	c, err := e.connectHost(ctx, hs.h)
	if err == nil {
		if err = e.checkRequires(c.facts); err == nil {
			return stepOutcome{}
		}
	}
	var held *LockHeldError
	if errors.As(err, &held) {
		e.abort(held)
		return stepOutcome{interrupted: true}
	}
	status := statusFailed
	if errors.Is(err, transport.ErrUnreachable) {
		status = statusUnreachable
	}
	return e.pseudoStepFailed(hs, pc, "connect", status, err, time.Since(began))
}

// pseudoStepFailed journals a failure that is no step of the runbook (the
// connection, a check before the host's first change) as the pseudo-step
// id, taking the time took, and returns it as a stepOutcome.
func (e *Engine) pseudoStepFailed(hs *hostState, pc *phaseCtx, id, status string, err error, took time.Duration) stepOutcome {
	rec := pc.record(journal.StepStarted)
	rec.Host, rec.StepID, rec.Step, rec.Kind, rec.Attempt = hs.h.Name, id, id, id, 1
	if e.emit(rec) != nil {
		return stepOutcome{interrupted: true}
	}
	rec.Type, rec.Status, rec.Final, rec.Error = journal.StepFinished, status, true, e.rd.String(err.Error())
	rec.DurationMS = took.Milliseconds()
	e.emit(rec)
	return stepOutcome{failed: true, unreachable: status == statusUnreachable, step: id, err: rec.Error}
}

// preChangePhase runs a backup or check phase on every host still in the
// run. A failure halts the run before any change, unless the phase excludes
// failing hosts.
func (e *Engine) preChangePhase(ctx context.Context, pc *phaseCtx, ph *runbook.Phase, hosts []string) {
	var mu sync.Mutex
	var failed []string
	for _, name := range e.phaseTargets[pc.idx-1] {
		if hs := e.hosts[name]; hs.excluded && hs.phaseIdx == pc.idx && !ph.ExcludeFailedHosts {
			failed = append(failed, name) // failed here in an earlier session
		}
	}
	if len(hosts) > 0 && !e.startPhase(pc, hosts) {
		return
	}
	e.forEachHost(hosts, e.concurrency(ph), func(name string) {
		if e.stopping.Load() {
			return // stopping (a signal, a journal that cannot be written): touch no more hosts
		}
		hs := e.hosts[name]
		hs.phase, hs.phaseIdx, hs.phaseKind = ph.Name, pc.idx, ph.Kind
		o := e.ensureHost(ctx, hs, pc)
		if !o.failed && !o.interrupted {
			o = e.runList(ctx, hs, pc, "steps", ph.Steps.Steps)
		}
		if o.interrupted {
			return
		}
		if o.failed {
			outcome := journal.OutcomeFailed
			if o.unreachable {
				outcome = journal.OutcomeUnreachable
			}
			hs.excluded = true
			if ph.ExcludeFailedHosts {
				e.finishHost(hs, outcome, o.step, o.err)
				e.releaseLock(ctx, hs.h)
			} else {
				hs.pending, hs.failedStep, hs.err = outcome, o.step, o.err // journaled when the phase ends
			}
			mu.Lock()
			failed = append(failed, name)
			mu.Unlock()
			return
		}
		if ph.Kind == runbook.KindCheck && ph.SkipHostWhen != "" {
			skip, err := evalBool(ph.SkipHostWhen, e.envFor(hs, nil))
			if err != nil {
				hs.excluded = true
				hs.pending, hs.failedStep, hs.err = journal.OutcomeFailed, "skip_host_when", err.Error()
				mu.Lock()
				failed = append(failed, name)
				mu.Unlock()
				return
			}
			if skip {
				e.finishSkipped(hs, ph.Name+": skip_host_when "+ph.SkipHostWhen)
				e.releaseLock(ctx, hs.h)
			}
		}
	})
	if len(hosts) > 0 {
		e.endPhase(pc)
	}
	if len(failed) == 0 || ph.ExcludeFailedHosts || e.stopping.Load() {
		return
	}
	failed = e.inTargetOrder(failed)
	for _, name := range failed {
		hs := e.hosts[name]
		if hs.pending != "" {
			e.finishHost(hs, hs.pending, hs.failedStep, hs.err)
		}
	}
	e.halt(fmt.Sprintf("%s failed on %s before any change", ph, joinMax(failed, 10)))
}

// finishChanged finishes a host that went through a changing phase and
// that no later phase acts on: upgraded, or rescued when a block rescued a
// failure on it. It releases the host's lock.
func (e *Engine) finishChanged(ctx context.Context, hs *hostState) {
	outcome := journal.OutcomeUpgraded
	if hs.rescued {
		outcome = journal.OutcomeRescued
	}
	e.finishHost(hs, outcome, "", "")
	e.releaseLock(ctx, hs.h)
}

// settle finishes, after changing phase i, every host that changed, has no
// outcome yet and that no later phase acts on (a host a later canary did
// not choose, say). A stopping or halted run leaves them for resume.
func (e *Engine) settle(ctx context.Context, i int) {
	if e.stopping.Load() || e.haltReason() != "" {
		return
	}
	for _, name := range e.targets {
		hs := e.hosts[name]
		if hs.changed && hs.outcome == "" && !e.actsLater(e.walk, i, name) {
			e.finishChanged(ctx, hs)
		}
	}
}

// failedAmong lists the hosts of names whose outcome counts as a failure.
func (e *Engine) failedAmong(names []string) []string {
	var out []string
	for _, n := range names {
		switch e.hosts[n].outcome {
		case journal.OutcomeFailed, journal.OutcomeRolledBack, journal.OutcomeRollbackFailed, journal.OutcomeUnreachable:
			out = append(out, n)
		}
	}
	return out
}

// inTargetOrder returns names in the order of the run's targets, in one
// pass over them (sorting by each name's index in the targets would take
// time in proportion to the square of the fleet).
func (e *Engine) inTargetOrder(names []string) []string {
	in := make(map[string]bool, len(names))
	for _, n := range names {
		in[n] = true
	}
	out := make([]string, 0, len(names))
	for _, n := range e.targets {
		if in[n] {
			out = append(out, n)
		}
	}
	return out
}

// changeHost runs a host's steps then its verify in a canary or batch phase.
// It returns the outcome; a failing host is rolled back per on_failure.
func (e *Engine) changeHost(ctx context.Context, hs *hostState, pc *phaseCtx, ph *runbook.Phase) stepOutcome {
	hs.phase, hs.phaseIdx, hs.phaseKind = ph.Name, pc.idx, ph.Kind
	o := e.ensureHost(ctx, hs, pc)
	if o.failed || o.interrupted {
		if o.failed {
			e.hostFailed(ctx, hs, o, false)
		}
		return o
	}
	if !hs.changed {
		var rollback []*runbook.Step
		if e.hasRollback() {
			rollback = e.rb.Rollback.Steps.Steps
		}
		if err := e.checkHostDelegates(hs, ph.Steps.Steps, ph.Verify.Steps, rollback); err != nil {
			o = e.pseudoStepFailed(hs, pc, "delegate_to", statusFailed, err, 0)
			if o.failed {
				e.hostFailed(ctx, hs, o, false)
			}
			return o
		}
		hs.changed = true
		hs.seq = e.seq.Add(1)
	}
	o = e.runList(ctx, hs, pc, "steps", ph.Steps.Steps)
	if !o.failed && !o.interrupted {
		o = e.runList(ctx, hs, pc, "verify", ph.Verify.Steps)
	}
	if o.failed {
		e.hostFailed(ctx, hs, o, true)
	}
	return o
}

// hostFailed settles a failed host per on_failure: roll it back
// (rollback_host, rollback_all) or leave it as it is (halt). An unreachable
// host cannot be rolled back.
func (e *Engine) hostFailed(ctx context.Context, hs *hostState, o stepOutcome, changed bool) {
	switch {
	case o.unreachable:
		e.finishHost(hs, journal.OutcomeUnreachable, o.step, o.err)
		return
	case !changed || e.rb.OnFailure == runbook.Halt || !e.hasRollback() || e.opts.DryRun: // a dry run changed nothing to undo
		e.finishHost(hs, journal.OutcomeFailed, o.step, o.err)
	default:
		e.rollbackHost(ctx, hs, o.step, o.err)
	}
	e.releaseLock(ctx, hs.h)
}

func (e *Engine) hasRollback() bool {
	return e.rb.Rollback != nil && len(e.rb.Rollback.Steps.Steps) > 0
}

// rollbackHost runs the rollback steps on the host and records the outcome.
func (e *Engine) rollbackHost(ctx context.Context, hs *hostState, failedStep, errText string) {
	pc := &phaseCtx{idx: 0, key: "rollback", name: "rollback", kind: "rollback"}
	if !e.startPhase(pc, []string{hs.h.Name}) {
		return
	}
	// Rollback runs even while the run is stopping: a half-changed host is
	// worse than a late exit. Only a hard interrupt (ctx) cuts it.
	saved := e.stopping.Load()
	o := e.runListIn(ctx, hs, pc, pc.key+".steps", e.rb.Rollback.Steps.Steps, true)
	e.stopping.Store(saved || e.stopping.Load())
	if o.interrupted {
		return
	}
	if o.failed {
		msg := fmt.Sprintf("%s; rollback failed at %s: %s", errText, o.step, o.err)
		if errText == "" {
			msg = fmt.Sprintf("rollback failed at %s: %s", o.step, o.err)
		}
		e.finishHost(hs, journal.OutcomeRollbackFailed, failedStep, msg)
		return
	}
	e.finishHost(hs, journal.OutcomeRolledBack, failedStep, errText)
}

// runHosts changes hosts with the phase's concurrency and reports the ones
// that failed. With finish, a host that went through its steps and verify
// and that no later phase acts on is finished (upgraded, lock released) at
// once in its own flow, so that its release overlaps the other hosts' work
// instead of queueing behind the whole batch; while the run is stopping it
// is left for resume.
func (e *Engine) runHosts(ctx context.Context, pc *phaseCtx, ph *runbook.Phase, hosts []string, finish bool) (failed []string) {
	var mu sync.Mutex
	e.forEachHost(hosts, e.concurrency(ph), func(name string) {
		if e.stopping.Load() {
			return
		}
		hs := e.hosts[name]
		o := e.changeHost(ctx, hs, pc, ph)
		switch {
		case o.failed:
			mu.Lock()
			failed = append(failed, name)
			mu.Unlock()
		case finish && !o.interrupted && hs.outcome == "" && !e.stopping.Load() && !e.actsLater(e.walk, pc.idx-1, name):
			e.finishChanged(ctx, hs)
		}
	})
	return failed
}

// canaryPhase changes the canary hosts alone; any failure halts the run.
// Then soak, verify again, and ask for approval.
func (e *Engine) canaryPhase(ctx context.Context, pc *phaseCtx, ph *runbook.Phase, chosen []string) {
	if len(e.unfinished(chosen)) > 0 {
		if !e.startPhase(pc, chosen) {
			return
		}
		pc.once = newOnceTable()
		failed := e.runHosts(ctx, pc, ph, e.unfinished(chosen), false)
		if e.stopping.Load() {
			return
		}
		if len(failed) > 0 {
			e.endPhase(pc)
			e.haltAfterFailure(ctx, fmt.Sprintf("canary %s failed on %s", ph.Name, joinMax(failed, 10)))
			return
		}
		if ph.Soak > 0 {
			if !e.wait(ctx, pc, "soak", ph.Soak.D()) {
				return
			}
			pc.once = newOnceTable()
			var mu sync.Mutex
			var bad []string
			e.forEachHost(e.unfinished(chosen), e.concurrency(ph), func(name string) {
				hs := e.hosts[name]
				o := e.runList(ctx, hs, pc, "soak-verify", ph.Verify.Steps)
				if o.failed {
					e.hostFailed(ctx, hs, o, true)
					mu.Lock()
					bad = append(bad, name)
					mu.Unlock()
				}
			})
			if e.stopping.Load() {
				return
			}
			if len(bad) > 0 {
				e.endPhase(pc)
				e.haltAfterFailure(ctx, fmt.Sprintf("canary %s failed its verify after the %s soak on %s", ph.Name, ph.Soak, joinMax(bad, 10)))
				return
			}
		}
		for _, name := range e.unfinished(chosen) {
			if !e.actsLater(e.walk, pc.idx-1, name) {
				e.finishChanged(ctx, e.hosts[name])
			}
		}
		e.endPhase(pc)
		e.canaryDone(ctx, pc, chosen)
	}
	if bad := e.failedAmong(chosen); len(bad) > 0 {
		// A resumed run: the canary failed in an earlier session.
		e.halt(fmt.Sprintf("canary %s failed on %s", ph.Name, joinMax(bad, 10)))
		return
	}
	// No canary host (every candidate was skipped as already done): there
	// is nothing for an operator to look at, so nothing to approve.
	if ph.Approve != "" && len(chosen) > 0 {
		if _, err := e.approve(ctx, pc, "", ph.Approve); err != nil {
			return
		}
	}
}

// batchPhase changes the remaining hosts in batches of serial. The budget is
// checked at the end of each batch; when exceeded, no new batch starts.
func (e *Engine) batchPhase(ctx context.Context, pc *phaseCtx, ph *runbook.Phase, batches [][]string) {
	started := false
	for bi, batch := range batches {
		todo := e.unfinished(batch)
		if len(todo) == 0 {
			continue
		}
		if e.stopping.Load() || e.haltReason() != "" {
			return
		}
		if n, limit := e.failures(), e.budget(); n > limit {
			e.halt(fmt.Sprintf("failure budget exceeded: %d hosts failed, the budget allows %d; %s batch %d not started", n, limit, ph.Name, bi+1))
			return
		}
		if started && ph.PauseBetween > 0 {
			bpc := *pc
			bpc.batch = bi + 1
			if !e.wait(ctx, &bpc, "pause_between", ph.PauseBetween.D()) {
				return
			}
		}
		started = true
		bpc := *pc
		bpc.batch = bi + 1
		bpc.once = newOnceTable()
		if !e.startPhase(&bpc, batch) {
			return
		}
		failed := e.runHosts(ctx, &bpc, ph, todo, true)
		if e.stopping.Load() {
			return
		}
		for _, name := range todo { // finished in their flows already, normally
			if hs := e.hosts[name]; hs.outcome == "" && hs.changed && !e.actsLater(e.walk, pc.idx-1, name) {
				e.finishChanged(ctx, hs)
			}
		}
		e.endPhase(&bpc)
		if len(failed) > 0 && e.rb.OnFailure == runbook.Halt {
			e.haltAfterFailure(ctx, fmt.Sprintf("%s batch %d failed on %s (on_failure: halt)", ph.Name, bi+1, joinMax(failed, 10)))
			return
		}
		if n, limit := e.failures(), e.budget(); n > limit {
			e.haltAfterFailure(ctx, fmt.Sprintf("failure budget exceeded: %d hosts failed, the budget allows %d (after %s batch %d)", n, limit, ph.Name, bi+1))
			return
		}
	}
}

// haltAfterFailure halts the run; with rollback_all every changed host that
// is not rolled back yet is, newest batch first.
func (e *Engine) haltAfterFailure(ctx context.Context, reason string) {
	e.halt(reason)
	if e.rb.OnFailure != runbook.RollbackAll || !e.hasRollback() || e.opts.DryRun {
		return
	}
	var changed []*hostState
	for _, name := range e.targets {
		hs := e.hosts[name]
		switch {
		case !hs.changed:
		case hs.outcome == journal.OutcomeUpgraded, hs.outcome == journal.OutcomeRescued, hs.outcome == "":
			changed = append(changed, hs)
		}
	}
	sort.SliceStable(changed, func(i, j int) bool { return changed[i].seq > changed[j].seq })
	for _, hs := range changed {
		if ctx.Err() != nil {
			return
		}
		hs.outcome = ""
		pcx := &phaseCtx{key: "rollback"}
		if o := e.ensureHost(ctx, hs, pcx); o.failed || o.interrupted {
			if o.failed {
				e.finishHost(hs, journal.OutcomeRollbackFailed, "", "rollback_all: "+o.err)
			}
			continue
		}
		e.rollbackHost(ctx, hs, "", "rolled back because the run halted: "+reason)
		e.releaseLock(ctx, hs.h)
	}
}

// fleetVerifyPhase runs fleet-wide checks on the hosts of its targets that
// are done or still to change (not those that failed). A failure fails the
// run; nothing is rolled back this late.
func (e *Engine) fleetVerifyPhase(ctx context.Context, pc *phaseCtx, ph *runbook.Phase, hosts []string) {
	if len(hosts) == 0 || !e.startPhase(pc, hosts) {
		return
	}
	pc.once = newOnceTable()
	e.forEachHost(hosts, e.concurrency(ph), func(name string) {
		if e.stopping.Load() {
			return
		}
		hs := e.hosts[name]
		if e.pool.get(name).t == nil {
			if o := e.ensureHost(ctx, hs, pc); o.failed || o.interrupted {
				hs.fleetFailed = o.failed
				return
			}
		}
		o := e.runList(ctx, hs, pc, "steps", ph.Steps.Steps)
		if o.failed {
			hs.fleetFailed = true
			e.emitMessage(name, fmt.Sprintf("fleet verify %q failed at %s: %s", ph.Name, o.step, o.err))
		}
	})
	e.endPhase(pc)
}

// wait journals a soak or pause and sleeps; a resumed run skips a wait it
// finished already. It reports whether the run goes on.
func (e *Engine) wait(ctx context.Context, pc *phaseCtx, what string, d time.Duration) bool {
	key := fmt.Sprintf("%d.%d.%s", pc.idx, pc.batch, what)
	if e.replay.waited(key) {
		return true
	}
	if e.opts.DryRun {
		return e.waitDryRun(pc, what, int64(d.Seconds()))
	}
	r := pc.record(journal.WaitStarted)
	r.Text, r.Seconds, r.StepID = what, int64(d.Seconds()), key
	if e.emit(r) != nil {
		return false
	}
	if !e.sleep(ctx, d) {
		return false
	}
	r.Type = journal.WaitFinished
	return e.emit(r) == nil
}

// approve asks for approval and journals the decision. A refusal or an
// approval that cannot be asked halts the run (exit 3).
func (e *Engine) approve(ctx context.Context, pc *phaseCtx, host, prompt string) (bool, error) {
	key := fmt.Sprintf("%d.%d.%s", pc.idx, pc.batch, strings.TrimSpace(prompt))
	if e.replay.approved(key) {
		return true, nil
	}
	if e.opts.DryRun {
		return e.approveDryRun(pc, host, prompt)
	}
	rec := pc.record(journal.Approval)
	rec.Host, rec.Prompt, rec.StepID, rec.By = host, prompt, key, e.operator
	if e.opts.Approver == nil {
		rec.Decision, rec.Via = "unanswered", "no-tty"
		e.emit(rec)
		err := &ApprovalError{Prompt: prompt, Cause: errors.New("there is no terminal to ask and --yes was not given"), RunID: e.runID}
		e.abort(err)
		return false, err
	}
	ok, via, err := e.opts.Approver.Approve(ctx, prompt)
	rec.Via = via
	switch {
	case err != nil:
		rec.Decision = "unanswered"
		e.emit(rec)
		aerr := &ApprovalError{Prompt: prompt, Cause: err, RunID: e.runID}
		e.abort(aerr)
		return false, aerr
	case !ok:
		rec.Decision = "refused"
		e.emit(rec)
		aerr := &ApprovalError{Prompt: prompt, Refused: true, RunID: e.runID}
		e.abort(aerr)
		return false, aerr
	}
	rec.Decision = "approved"
	if err := e.emit(rec); err != nil {
		return false, err
	}
	return true, nil
}
