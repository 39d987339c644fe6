package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/inventory"
	"github.com/runbookhq/runbook/runbook/journal"
	"github.com/runbookhq/runbook/runbook/transport"
	"github.com/runbookhq/runbook/steps"
)

// stepOutcome is what a step (or a list of them) left for the host's flow.
type stepOutcome struct {
	failed      bool // the host fails
	unreachable bool // ... because it could not be reached
	interrupted bool // the run is stopping; the host did not finish
	step        string
	stepID      string // the failed step's id
	err         string
}

// runList runs one of a phase's step lists on the host (steps, verify,
// rollback's steps), then the handlers its steps queued. It stops at the
// first step that fails the host; a failed host runs no handler. With
// noStop it goes on while the run is stopping (a rollback).
func (e *Engine) runList(ctx context.Context, hs *hostState, pc *phaseCtx, list string, stepList []*runbook.Step) stepOutcome {
	return e.runListIn(ctx, hs, pc, pc.key+"."+list, stepList, false)
}

func (e *Engine) runListIn(ctx context.Context, hs *hostState, pc *phaseCtx, prefix string, stepList []*runbook.Step, noStop bool) stepOutcome {
	o := e.runSeq(ctx, hs, pc, prefix, stepList, noStop)
	if o.failed || o.interrupted {
		hs.clearQueue()
		return o
	}
	return e.runHandlers(ctx, hs, pc, prefix+".handlers", noStop)
}

// runSeq runs steps in order under the ids prefix.N; it stops at the first
// step that fails the host.
func (e *Engine) runSeq(ctx context.Context, hs *hostState, pc *phaseCtx, prefix string, stepList []*runbook.Step, noStop bool) stepOutcome {
	for i, st := range stepList {
		if (!noStop && e.stopping.Load()) || ctx.Err() != nil || (noStop && e.aborted() != nil) {
			return stepOutcome{interrupted: true}
		}
		key := prefix + "." + strconv.Itoa(i)
		if o := e.runStep(ctx, hs, pc, key, i, st); o.failed || o.interrupted {
			return o
		}
	}
	return stepOutcome{}
}

// runStep runs one step on the host (a block, a loop, a run_once step or a
// plain one), or takes its result from the journal when a resumed run had
// finished it already.
func (e *Engine) runStep(ctx context.Context, hs *hostState, pc *phaseCtx, key string, i int, st *runbook.Step) stepOutcome {
	switch {
	case st.IsBlock():
		return e.runBlock(ctx, hs, pc, key, i, st)
	case st.Loop != nil:
		return e.runLoop(ctx, hs, pc, key, i, st)
	}
	if rec, ok := e.replay.final(hs.h.Name, key); ok {
		e.applyRecord(hs, st, rec, nil)
		return outcomeOf(st, rec)
	}
	if st.RunOnce && pc.once != nil {
		return pc.once.do(ctx, e, hs, pc, key, i, st)
	}
	rec, ok := e.execStep(ctx, hs, pc, key, i, st, nil)
	if !ok {
		return stepOutcome{interrupted: true}
	}
	return outcomeOf(st, rec)
}

func outcomeOf(st *runbook.Step, rec journal.Record) stepOutcome {
	failed := rec.Status == statusFailed || rec.Status == statusUnreachable
	if !failed || st.IgnoreErrors {
		return stepOutcome{}
	}
	return stepOutcome{failed: true, unreachable: rec.Status == statusUnreachable, step: rec.Step, stepID: rec.StepID, err: rec.Error}
}

// preparedStep is a step made ready to run on a host: rendered, with its
// kind, environment and transport.
type preparedStep struct {
	st      *runbook.Step // with its templated counts resolved for the host
	env     map[string]any
	r       *runbook.Renderer
	kind    steps.Kind
	spec    runbook.StepSpec
	stepEnv map[string]string
	t       transport.Transport
	runsOn  string
	predict bool   // a dry run predicts the step rather than run it
	skipWhy string // why a dry run skips it (checkmode.go)
}

// prepare readies st for hs. skip says its when: was false, or why a dry
// run skips it (p.skipWhy); err fails the step before it runs.
func (e *Engine) prepare(ctx context.Context, hs *hostState, pc *phaseCtx, st *runbook.Step, iter *loopIter) (p preparedStep, skip bool, err error) {
	p.env = iter.addTo(e.envFor(hs, st))
	p.predict = e.withheld(pc)
	if p.predict {
		if p.skipWhy = e.unknownBefore(hs, st); p.skipWhy != "" {
			return p, true, nil
		}
	}
	if st.When != "" {
		ok, err := evalBool(st.When, p.env)
		if err != nil {
			return p, false, fmt.Errorf("when: %w", err)
		}
		if !ok {
			return p, true, nil
		}
	}
	if p.predict {
		if p.skipWhy = cannotPredict(st); p.skipWhy == "" {
			p.skipWhy = e.unknownAfterWhen(hs, st)
		}
		if p.skipWhy != "" {
			return p, true, nil
		}
	}
	if p.st, err = e.resolveStep(hs, st); err != nil {
		return p, false, err
	}
	p.st = e.hookStep(hs, p.st)
	p.r = &runbook.Renderer{Env: p.env}
	if p.predict {
		p.r.Placeholder = hs.unknownPlaceholder(&p.skipWhy)
	}
	if p.spec, err = runbook.RenderSpec(st.Spec, p.r); err != nil {
		return p, false, fmt.Errorf("render: %w", err)
	}
	if p.skipWhy != "" {
		return p, true, nil
	}
	if p.kind, err = kindOf(&runbook.Step{Kind: st.Kind, Spec: p.spec}); err != nil {
		return p, false, err
	}
	p.stepEnv = map[string]string{}
	for k, v := range st.Env {
		if p.stepEnv[k], err = p.r.Render(v); err != nil {
			return p, false, fmt.Errorf("env %s: %w", k, err)
		}
	}
	p.t, p.runsOn, err = e.stepTransport(ctx, hs, p.st, p.r)
	return p, false, err
}

// execStep runs the step's attempts and journals them. It returns the final
// step_finished record, or false when the run was interrupted before the
// step finished (it then has no final record and runs again on resume).
func (e *Engine) execStep(ctx context.Context, hs *hostState, pc *phaseCtx, key string, i int, st *runbook.Step, iter *loopIter) (journal.Record, bool) {
	base := pc.record(journal.StepStarted)
	p, skip, err := e.prepare(ctx, hs, pc, st, iter)
	base.Host, base.StepID, base.Step, base.Index, base.Kind = hs.h.Name, key, titleIn(st, p.env), i+1, st.Kind
	base.DryRun = p.predict
	switch {
	case skip && p.skipWhy != "":
		base.Reason = p.skipWhy
		return e.finishNow(hs, st, base, statusSkipped, nil, iter)
	case skip:
		return e.finishNow(hs, st, base, statusSkipped, nil, iter)
	case err != nil:
		status := statusFailed
		if errors.Is(err, transport.ErrUnreachable) {
			status = statusUnreachable
		}
		return e.finishNow(hs, st, base, status, err, iter)
	}
	base.Command = e.rd.String(p.kind.Describe())
	if p.runsOn != hs.h.Name {
		base.DelegateTo = p.runsOn
	}
	delay := p.st.Delay.D()
	if delay == 0 {
		delay = 5 * time.Second
	}
	sensitive := false
	if e.rd.hasSecrets() { // no secrets, nothing to look for in the spec
		specJSON, _ := json.Marshal(p.spec)
		sensitive = e.rd.Contains(string(specJSON))
	}
	for n, of := 1, attemptsOf(p.st); ; n++ {
		if n > 1 && !e.sleep(ctx, delay) {
			return journal.Record{}, false
		}
		started := base
		started.Attempt = n
		if e.emit(started) != nil {
			return started, false
		}
		fin, res, v, ok := e.runAttempt(ctx, hs, pc, p, started, sensitive, n, of)
		if !ok {
			return fin, false
		}
		// Later steps see the output (redacted of secrets, as the journal
		// has it); a no_log step's output is kept out of the journal, so a
		// resumed run sees it hidden.
		seen := fin
		if st.NoLog {
			fin.Stdout, fin.Stderr = hideOutput(fin.Stdout), hideOutput(fin.Stderr)
			fin.Data = nil
		}
		fin.Final = !v.retry
		if fin.Final && e.requeues(hs, st, v.status, fin.StepID, fin.DryRun) {
			fin.Text = cutOffText
		}
		if e.emitLazy(fin) != nil {
			return fin, false
		}
		if v.retry && e.stopping.Load() {
			// Stopping between attempts: the step has no result yet and
			// runs again, from its first attempt, on resume.
			return fin, false
		}
		if v.retry {
			continue
		}
		e.apply(hs, st, v.status, res.RC, seen, res, iter)
		if p.predict && v.status == statusChanged {
			hs.noteWithheld(base.Step)
		}
		if fin.Reason != "" {
			hs.markUnknown(st, base.Step)
		}
		return fin, true
	}
}

// finishNow journals a step that ends before it runs: skipped by when:,
// or failed to render, to find its kind or to reach its host.
func (e *Engine) finishNow(hs *hostState, st *runbook.Step, base journal.Record, status string, err error, iter *loopIter) (journal.Record, bool) {
	r := base
	r.Attempt, r.Reason = 1, ""
	if e.emit(r) != nil {
		return r, false
	}
	r.Type, r.Status, r.Final, r.Reason = journal.StepFinished, status, true, base.Reason
	if err != nil {
		r.Error = e.rd.String(err.Error())
	}
	if e.requeues(hs, st, status, r.StepID, r.DryRun) {
		r.Text = cutOffText
	}
	if e.emitLazy(r) != nil {
		return r, false
	}
	e.applyRecord(hs, st, r, iter)
	return r, true
}

// runAttempt runs one attempt of a prepared step and judges it. ok is false
// when a hard interrupt or a refused approval cut it off: not its result.
func (e *Engine) runAttempt(ctx context.Context, hs *hostState, pc *phaseCtx, p preparedStep, started journal.Record, sensitive bool, n, of int) (fin journal.Record, res steps.Result, v verdict, ok bool) {
	var stdout, stderr capture
	x := &steps.Exec{Host: hs.h.Name, RunsOn: p.runsOn, T: p.t, Local: p.st.Local, Become: e.become(p.st), BecomeUser: e.becomeUser(p.st),
		Env: p.stepEnv, Timeout: e.stepTimeout(p.st), Sensitive: sensitive, Diff: e.opts.Diff, Stdout: &stdout, Stderr: &stderr,
		RunID: e.runID, RunDir: e.runDir, BaseDir: filepath.Dir(p.st.File),
		Eval:     func(src string) (any, error) { return evalExpr(src, p.env) },
		Render:   p.r.Render,
		Snapshot: hs.snapshot, SnapshotCommand: hs.snapshotCommand, Backup: hs.backup,
		Approve: func(ctx context.Context, prompt string) (bool, error) { return e.approve(ctx, pc, hs.h.Name, prompt) },
		Logf:    func(format string, args ...any) { e.emitMessage(hs.h.Name, fmt.Sprintf(format, args...)) },
	}
	stepCtx, cancel := context.WithTimeout(ctx, x.Timeout)
	t0 := time.Now()
	res = p.perform(stepCtx, x)
	dur := time.Since(t0)
	timedOut := stepCtx.Err() != nil && ctx.Err() == nil
	cancel()
	fin = started
	fin.Type = journal.StepFinished
	fin.DurationMS = dur.Milliseconds()
	fin.RC = res.RC
	if res.Command != "" {
		fin.Command = e.rd.String(res.Command)
	}
	fin.Stdout, fin.StdoutCut = stdout.Text(e.rd)
	fin.Stderr, fin.StderrCut = stderr.Text(e.rd)
	fin.Data = e.recordData(res)
	fin.Diff = e.diffText(p.st, res.Diff)
	var approval *ApprovalError
	if ctx.Err() != nil || (res.Status == statusFailed && errors.As(e.aborted(), &approval)) {
		// A hard interrupt cut the step off, or its approval gate was
		// refused or could not be asked: not its result. It runs again on
		// resume.
		fin.Status, fin.Error = statusFailed, "interrupted"
		e.Stop() // nothing after this settles a host as if its step had finished
		if approval != nil {
			fin.Error = approval.Error()
		}
		e.emit(fin)
		return fin, res, v, false
	}
	v = judge(p.st, attempt{status: res.Status, err: res.Err, timedOut: timedOut, timeout: x.Timeout, n: n, of: of},
		func(src, status string) (bool, error) {
			result := resultValue(status, res.RC, fin.Stdout, fin.Stderr, fin.Data)
			return evalBool(src, withResult(p.env, p.st, result))
		})
	if why := hs.uncertain(p, v); why != "" {
		v = verdict{status: statusSkipped}
		fin.Reason = e.rd.String(why)
	}
	fin.Status = v.status
	if v.err != nil {
		fin.Error = e.rd.String(v.err.Error())
	}
	return fin, res, v, true
}

func hideOutput(s string) string {
	if s == "" {
		return ""
	}
	return redacted
}

// recordData is what the journal keeps of a step's result data.
func (e *Engine) recordData(res steps.Result) map[string]any {
	if len(res.Data) == 0 && len(res.Set) == 0 && len(res.Snapshots) == 0 && len(res.SnapshotCommands) == 0 {
		return nil
	}
	d := map[string]any{}
	for k, v := range res.Data {
		d[k] = v
	}
	if len(res.Set) > 0 {
		d["set"] = res.Set
	}
	if len(res.Snapshots) > 0 {
		d["snapshots"] = res.Snapshots
	}
	if len(res.SnapshotCommands) > 0 {
		d["snapshot_commands"] = res.SnapshotCommands
	}
	if v, ok := e.rd.Value(normalizeJSON(d)).(map[string]any); ok {
		return v
	}
	return nil
}

// normalizeJSON round-trips v through JSON so that replayed and live values
// look the same to expressions. Mappings whose keys are not text (expr's
// fromPairs makes them) take their keys as text, as JSON must; a value
// JSON cannot hold at all (a function, a channel) becomes its text.
func normalizeJSON(v any) any {
	v = textKeys(v, 0)
	b, err := json.Marshal(v)
	if err != nil {
		return runbook.Stringify(v)
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return v
	}
	return out
}

// textKeys returns v with every mapping's keys as text.
func textKeys(v any, depth int) any {
	if depth > 100 {
		return v
	}
	switch x := v.(type) {
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[runbook.Stringify(k)] = textKeys(e, depth+1)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = textKeys(e, depth+1)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = textKeys(e, depth+1)
		}
		return out
	}
	return v
}

// apply makes a finished step's result visible to later steps.
func (e *Engine) apply(hs *hostState, st *runbook.Step, status string, rc *int, fin journal.Record, res steps.Result, iter *loopIter) {
	if st.Register != "" && iter == nil { // a loop registers all its results at its end
		hs.setName(st.Register, resultValue(status, rc, fin.Stdout, fin.Stderr, fin.Data))
	}
	if st.Register != "" && (iter == nil || iter.index == 0) {
		hs.forgetUnknown(st.Register)
	}
	if status == statusChanged || e.requeues(hs, st, status, fin.StepID, fin.DryRun) {
		hs.queue(e.rb.Handlers, st.Notify)
	}
	for k, v := range res.Set {
		hs.setName(k, normalizeJSON(v))
		hs.forgetUnknown(k)
	}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	for k, v := range res.Snapshots {
		hs.snapshots[k] = v
	}
	for k, v := range res.SnapshotCommands {
		hs.snapshotCmds[k] = v
	}
	hs.addBackup(fin.Data)
}

// cutOffText says on a step_finished why its handlers run though it did
// not report changed.
const cutOffText = "an earlier attempt was cut off by the controller's end and may have changed the host: the step's notify handlers are queued"

// requeues reports whether the handlers st notifies are queued although it
// did not report changed: an earlier session started it on the host and
// ended without its result, so what that attempt did is unknown (the
// second attempt of "stop kubelet" finds it stopped and reports ok, and
// "start kubelet" must still run).
func (e *Engine) requeues(hs *hostState, st *runbook.Step, status, stepID string, dryRun bool) bool {
	if len(st.Notify) == 0 || dryRun || (status != statusOK && status != statusSkipped) {
		return false
	}
	return e.replay.wasCutOff(hs.h.Name, stepID)
}

// applyRecord makes a journaled step result visible to later steps (resume,
// run_once, skipped steps).
func (e *Engine) applyRecord(hs *hostState, st *runbook.Step, rec journal.Record, iter *loopIter) {
	if st.Register != "" && iter == nil {
		hs.setName(st.Register, resultValue(rec.Status, rec.RC, rec.Stdout, rec.Stderr, rec.Data))
		hs.forgetUnknown(st.Register)
	}
	if rec.Status == statusChanged || e.requeues(hs, st, rec.Status, rec.StepID, rec.DryRun) {
		hs.queue(e.rb.Handlers, st.Notify)
	}
	if set, ok := rec.Data["set"].(map[string]any); ok {
		for k, v := range set {
			hs.setName(k, v)
			hs.forgetUnknown(k)
		}
	}
	switch {
	case rec.DryRun && rec.Status == statusSkipped && rec.Reason != "":
		hs.markUnknown(st, rec.Step)
	case rec.DryRun && rec.Status == statusChanged:
		hs.noteWithheld(rec.Step)
	}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if snaps, ok := rec.Data["snapshots"].(map[string]any); ok {
		for k, v := range snaps {
			hs.snapshots[k] = runbook.Stringify(v)
		}
	}
	if cmds, ok := rec.Data["snapshot_commands"].(map[string]any); ok {
		for k, v := range cmds {
			hs.snapshotCmds[k] = runbook.Stringify(v)
		}
	}
	hs.addBackup(rec.Data)
}

// addBackup remembers what a backup step recorded, for restore. Call with
// hs.mu held.
func (hs *hostState) addBackup(data map[string]any) {
	if name, rec, ok := steps.BackupFromData(data); ok {
		hs.backups[name] = rec
	}
}

func (hs *hostState) snapshot(name string) (string, bool) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	v, ok := hs.snapshots[name]
	return runbook.Stringify(v), ok
}

func (hs *hostState) snapshotCommand(name string) (string, bool) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	v, ok := hs.snapshotCmds[name]
	return v, ok
}

func (hs *hostState) backup(name string) (steps.BackupRecord, bool) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	b, ok := hs.backups[name]
	return b, ok
}

// stepTransport is the transport the step runs through: the host's own,
// the delegate's, or the controller's.
func (e *Engine) stepTransport(ctx context.Context, hs *hostState, st *runbook.Step, r *runbook.Renderer) (transport.Transport, string, error) {
	if st.Local {
		return e.local(), "localhost", nil
	}
	if st.DelegateTo != "" {
		name, err := r.Render(st.DelegateTo)
		if err != nil {
			return nil, "", fmt.Errorf("delegate_to: %w", err)
		}
		dh := e.inventoryHost(name)
		if dh == nil {
			return nil, "", fmt.Errorf("delegate_to: no host %q in the inventory", name)
		}
		if dh.Name == hs.h.Name {
			return e.pool.get(hs.h.Name).t, hs.h.Name, nil
		}
		t, err := e.pool.transport(ctx, dh)
		if err != nil {
			return nil, name, transport.Unreachable(name, fmt.Errorf("delegate_to: %w", err))
		}
		return t, dh.Name, nil
	}
	c := e.pool.get(hs.h.Name)
	if c.t == nil {
		return nil, "", transport.Unreachable(hs.h.Name, errors.New("not connected"))
	}
	return c.t, hs.h.Name, nil
}

// inventoryHost finds an inventory host by name through an index built on
// first use: a delegate_to step looks its host up on every host it runs on,
// and a scan of the inventory each time would cost the square of the fleet.
func (e *Engine) inventoryHost(name string) *inventory.Host {
	e.invIndexOnce.Do(func() {
		e.invIndex = make(map[string]*inventory.Host, len(e.inv.Hosts))
		for _, h := range e.inv.Hosts {
			if _, dup := e.invIndex[h.Name]; !dup { // the first, as Inventory.Host finds
				e.invIndex[h.Name] = h
			}
		}
	})
	return e.invIndex[name]
}

var (
	localOnce sync.Once
	localT    transport.Transport
)

func (e *Engine) local() transport.Transport {
	localOnce.Do(func() { localT = transport.Local() })
	return localT
}

// sleep waits d unless the run stops or ctx ends; it reports whether the
// whole wait passed.
func (e *Engine) sleep(ctx context.Context, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if e.stopping.Load() || ctx.Err() != nil {
			return false
		}
		left := time.Until(deadline)
		if left <= 0 {
			return true
		}
		t := time.NewTimer(min(left, 200*time.Millisecond))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return false
		}
	}
}

// onceTable shares run_once results inside one batch.
type onceTable struct {
	mu sync.Mutex
	m  map[string]*onceEntry
}

type onceEntry struct {
	done   chan struct{}
	runner string
	rec    journal.Record
	ok     bool
}

func newOnceTable() *onceTable { return &onceTable{m: map[string]*onceEntry{}} }

// do runs the step on the first host of the batch to reach it; the others
// wait for its result and take it as theirs.
func (o *onceTable) do(ctx context.Context, e *Engine, hs *hostState, pc *phaseCtx, key string, i int, st *runbook.Step) stepOutcome {
	o.mu.Lock()
	ent, found := o.m[key]
	if !found {
		ent = &onceEntry{done: make(chan struct{}), runner: hs.h.Name}
		o.m[key] = ent
	}
	o.mu.Unlock()
	if !found {
		ent.rec, ent.ok = e.execStep(ctx, hs, pc, key, i, st, nil)
		close(ent.done)
		if !ent.ok {
			return stepOutcome{interrupted: true}
		}
		return outcomeOf(st, ent.rec)
	}
	select {
	case <-ent.done:
	case <-ctx.Done():
		return stepOutcome{interrupted: true}
	}
	if !ent.ok {
		return stepOutcome{interrupted: true}
	}
	rec := ent.rec
	rec.Host = hs.h.Name
	rec.Data = cloneMap(rec.Data)
	if rec.Data == nil {
		rec.Data = map[string]any{}
	}
	rec.Data["run_once_on"] = ent.runner
	started := rec
	started.Type, started.Status, started.Final, started.RC = journal.StepStarted, "", false, nil
	started.Stdout, started.Stderr, started.Error, started.DurationMS, started.Data = "", "", "", 0, nil
	if e.emit(started) != nil || e.emitLazy(rec) != nil {
		return stepOutcome{interrupted: true}
	}
	e.applyRecord(hs, st, rec, nil)
	return outcomeOf(st, rec)
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// evalBool evaluates a condition in env.
func evalBool(src string, env map[string]any) (bool, error) {
	x, err := runbook.CompileExpr(src)
	if err != nil {
		return false, err
	}
	return x.EvalBool(env)
}

func evalExpr(src string, env map[string]any) (any, error) {
	x, err := runbook.CompileExpr(src)
	if err != nil {
		return nil, err
	}
	return x.Eval(env)
}

// withResult adds the step's own result to env, as `result` and under its
// register name.
func withResult(env map[string]any, st *runbook.Step, result map[string]any) map[string]any {
	out := make(map[string]any, len(env)+2)
	for k, v := range env {
		out[k] = v
	}
	out[runbook.NameResult] = result
	if st.Register != "" {
		out[st.Register] = result
	}
	return out
}

// envFor is the expression environment of a step on a host.
func (e *Engine) envFor(hs *hostState, st *runbook.Step) map[string]any {
	facts := e.pool.get(hs.h.Name).facts
	hs.mu.Lock()
	env := make(map[string]any, len(hs.names)+12) // the names and what follows
	for k, v := range hs.names {
		env[k] = v
	}
	env[runbook.NameParams] = hs.params
	env[runbook.NameVars] = hs.vars
	if hs.hostVal == nil {
		hs.hostVal = hostValue(hs.h)
	}
	if hs.factsVal == nil || facts != hs.factsOf {
		hs.factsVal, hs.factsOf = factsValue(facts), facts
	}
	env[runbook.NameHost], env[runbook.NameFacts] = hs.hostVal, hs.factsVal
	snaps := make(map[string]any, len(hs.snapshots))
	for k, v := range hs.snapshots {
		snaps[k] = v
	}
	hs.mu.Unlock()
	env[runbook.NameSnapshots] = snaps
	env[runbook.NameRun] = map[string]any{"id": e.runID, "operator": e.operator}
	env[runbook.NameGroups] = e.groups
	if e.usesHostvars {
		env[runbook.NameHostvars] = e.hostvarsValue()
	}
	if st != nil && st.Scope != nil {
		env[runbook.NameParams] = scopeParamsIn(env, st.Scope)
	}
	addHookEnv(env, hs)
	return env
}

// scopeParamsIn resolves a module's params: its with: values rendered in the
// scope that wrote the use:, else the module's defaults.
func scopeParamsIn(env map[string]any, sc *runbook.ModuleScope) map[string]any {
	outer := env
	if sc.Parent != nil {
		outer = make(map[string]any, len(env))
		for k, v := range env {
			outer[k] = v
		}
		outer[runbook.NameParams] = scopeParamsIn(env, sc.Parent)
	}
	r := &runbook.Renderer{Env: outer}
	params := map[string]any{}
	for _, p := range sc.Params {
		if v, ok := sc.With[p.Name]; ok {
			rv, err := r.RenderValue(v)
			if err != nil {
				rv = v
			}
			params[p.Name] = rv
		} else if p.Default != nil {
			params[p.Name] = p.Default
		} else {
			params[p.Name] = nil
		}
	}
	return params
}

// titleIn is the step's title with its {{ }} rendered in env (as written
// when it does not render).
func titleIn(st *runbook.Step, env map[string]any) string {
	t := st.Title()
	if !runbook.HasTemplate(t) {
		return t
	}
	if s, err := (&runbook.Renderer{Env: env}).Render(t); err == nil {
		return s
	}
	return t
}

// stepTitle is the step's title rendered for hs.
func (e *Engine) stepTitle(hs *hostState, st *runbook.Step) string {
	if !runbook.HasTemplate(st.Title()) {
		return st.Title()
	}
	return titleIn(st, e.envFor(hs, st))
}
