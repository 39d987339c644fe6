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
	err         string
}

// runList runs steps in order on the host; it stops at the first step that
// fails the host.
func (e *Engine) runList(ctx context.Context, hs *hostState, pc *phaseCtx, list string, stepList []*runbook.Step) stepOutcome {
	for i, st := range stepList {
		if e.stopping.Load() {
			return stepOutcome{interrupted: true}
		}
		key := pc.key + "." + list + "." + strconv.Itoa(i)
		if o := e.runStep(ctx, hs, pc, key, i, st); o.failed || o.interrupted {
			return o
		}
	}
	return stepOutcome{}
}

// runStep runs one step on the host, or takes its result from the journal
// when a resumed run had finished it already.
func (e *Engine) runStep(ctx context.Context, hs *hostState, pc *phaseCtx, key string, i int, st *runbook.Step) stepOutcome {
	if rec, ok := e.replay.final(hs.h.Name, key); ok {
		e.applyRecord(hs, st, rec)
		return outcomeOf(st, rec)
	}
	if st.RunOnce && pc.once != nil {
		return pc.once.do(ctx, e, hs, pc, key, i, st)
	}
	rec, ok := e.execStep(ctx, hs, pc, key, i, st)
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
	return stepOutcome{failed: true, unreachable: rec.Status == statusUnreachable, step: st.Title(), err: rec.Error}
}

// execStep runs the step's attempts and journals them. It returns the final
// step_finished record, or false when the run was interrupted before the
// step finished (it then has no final record and runs again on resume).
func (e *Engine) execStep(ctx context.Context, hs *hostState, pc *phaseCtx, key string, i int, st *runbook.Step) (journal.Record, bool) {
	base := pc.record(journal.StepStarted)
	env := e.envFor(hs, st)
	base.Host, base.StepID, base.Step, base.Index, base.Kind = hs.h.Name, key, titleIn(st, env), i+1, st.Kind
	finishNow := func(status string, err error) (journal.Record, bool) {
		r := base
		r.Attempt = 1
		if e.emit(r) != nil {
			return r, false
		}
		r.Type, r.Status, r.Final = journal.StepFinished, status, true
		if err != nil {
			r.Error = e.rd.String(err.Error())
		}
		if e.emitLazy(r) != nil {
			return r, false
		}
		e.applyRecord(hs, st, r)
		return r, true
	}
	if st.When != "" {
		ok, err := evalBool(st.When, env)
		if err != nil {
			return finishNow(statusFailed, fmt.Errorf("when: %w", err))
		}
		if !ok {
			return finishNow(statusSkipped, nil)
		}
	}
	r := &runbook.Renderer{Env: env}
	spec, err := runbook.RenderSpec(st.Spec, r)
	if err != nil {
		return finishNow(statusFailed, fmt.Errorf("render: %w", err))
	}
	kind, err := kindOf(&runbook.Step{Kind: st.Kind, Spec: spec})
	if err != nil {
		return finishNow(statusFailed, err)
	}
	stepEnv := map[string]string{}
	for k, v := range st.Env {
		if stepEnv[k], err = r.Render(v); err != nil {
			return finishNow(statusFailed, fmt.Errorf("env %s: %w", k, err))
		}
	}
	base.Command = e.rd.String(kind.Describe())
	t, runsOn, err := e.stepTransport(ctx, hs, st, r)
	if err != nil {
		status := statusFailed
		if errors.Is(err, transport.ErrUnreachable) {
			status = statusUnreachable
		}
		return finishNow(status, err)
	}
	if runsOn != hs.h.Name {
		base.DelegateTo = runsOn
	}
	attempts := st.Retries + 1
	if st.Until != "" && st.Retries == 0 {
		attempts = 4 // as Ansible: until without retries tries 3 more times
	}
	delay := st.Delay.D()
	if delay == 0 {
		delay = 5 * time.Second
	}
	sensitive := false
	if e.rd.hasSecrets() { // no secrets, nothing to look for in the spec
		specJSON, _ := json.Marshal(spec)
		sensitive = e.rd.Contains(string(specJSON))
	}
	for attempt := 1; ; attempt++ {
		if attempt > 1 && !e.sleep(ctx, delay) {
			return journal.Record{}, false
		}
		started := base
		started.Attempt = attempt
		if e.emit(started) != nil {
			return started, false
		}
		var stdout, stderr capture
		x := &steps.Exec{Host: hs.h.Name, RunsOn: runsOn, T: t, Become: e.become(st), BecomeUser: e.becomeUser(st),
			Env: stepEnv, Timeout: e.stepTimeout(st), Sensitive: sensitive, Stdout: &stdout, Stderr: &stderr,
			RunID: e.runID, RunDir: e.runDir, BaseDir: filepath.Dir(st.File),
			Eval:     func(src string) (any, error) { return evalExpr(src, env) },
			Render:   r.Render,
			Snapshot: hs.snapshot, SnapshotCommand: hs.snapshotCommand, Backup: hs.backup,
			Approve: func(ctx context.Context, prompt string) (bool, error) { return e.approve(ctx, pc, hs.h.Name, prompt) },
			Logf:    func(format string, args ...any) { e.emitMessage(hs.h.Name, fmt.Sprintf(format, args...)) },
		}
		stepCtx, cancel := context.WithTimeout(ctx, x.Timeout)
		t0 := time.Now()
		res := kind.Run(stepCtx, x)
		dur := time.Since(t0)
		timedOut := stepCtx.Err() != nil && ctx.Err() == nil
		cancel()
		fin := started
		fin.Type = journal.StepFinished
		fin.DurationMS = dur.Milliseconds()
		fin.RC = res.RC
		if res.Command != "" {
			fin.Command = e.rd.String(res.Command)
		}
		fin.Stdout, fin.StdoutCut = stdout.Text(e.rd)
		fin.Stderr, fin.StderrCut = stderr.Text(e.rd)
		fin.Data = e.recordData(res)
		var approval *ApprovalError
		if ctx.Err() != nil || (res.Status == statusFailed && errors.As(e.aborted(), &approval)) {
			// A hard interrupt cut the step off, or its approval gate was
			// refused or could not be asked: not its result. It runs again
			// on resume.
			fin.Status, fin.Error = statusFailed, "interrupted"
			if approval != nil {
				fin.Error = approval.Error()
			}
			e.emit(fin)
			return fin, false
		}
		status := res.Status
		var stepErr error = res.Err
		switch {
		case res.Err != nil && errors.Is(res.Err, transport.ErrUnreachable):
			status = statusUnreachable
		case timedOut:
			status, stepErr = statusFailed, fmt.Errorf("timed out after %s", x.Timeout)
		case status == "":
			status = statusOK
		}
		result := resultValue(status, res.RC, fin.Stdout, fin.Stderr, fin.Data)
		if st.FailedWhen != "" && status != statusUnreachable && status != statusSkipped {
			failed, err := evalBool(st.FailedWhen, withResult(env, st, result))
			switch {
			case err != nil:
				status, stepErr = statusFailed, fmt.Errorf("failed_when: %w", err)
			case failed && status != statusFailed:
				status, stepErr = statusFailed, fmt.Errorf("failed_when is true: %s", st.FailedWhen)
			case !failed && status == statusFailed:
				status, stepErr = statusChanged, nil
			}
			result = resultValue(status, res.RC, fin.Stdout, fin.Stderr, fin.Data)
		}
		if st.ChangedWhen != "" && (status == statusOK || status == statusChanged) {
			changed, err := evalBool(st.ChangedWhen, withResult(env, st, result))
			switch {
			case err != nil:
				status, stepErr = statusFailed, fmt.Errorf("changed_when: %w", err)
			case changed:
				status = statusChanged
			default:
				status = statusOK
			}
			result = resultValue(status, res.RC, fin.Stdout, fin.Stderr, fin.Data)
		}
		retry := false
		if st.Until != "" && status != statusSkipped {
			done, err := evalBool(st.Until, withResult(env, st, result))
			switch {
			case err != nil:
				status, stepErr = statusFailed, fmt.Errorf("until: %w", err)
			case !done && attempt < attempts:
				retry = true
			case !done:
				status = statusFailed
				stepErr = fmt.Errorf("until %q was still false after %d attempts", st.Until, attempt)
			case status == statusFailed && st.FailedWhen == "":
				// until decides success.
				status, stepErr = statusOK, nil
			}
		} else if (status == statusFailed || status == statusUnreachable) && attempt < attempts {
			retry = true
		}
		fin.Status = status
		if stepErr != nil {
			fin.Error = e.rd.String(stepErr.Error())
		}
		// Later steps see the output (redacted of secrets, as the journal
		// has it); a no_log step's output is kept out of the journal, so a
		// resumed run sees it hidden.
		seen := fin
		if st.NoLog {
			fin.Stdout, fin.Stderr = hideOutput(fin.Stdout), hideOutput(fin.Stderr)
			fin.Data = nil
		}
		if retry && e.stopping.Load() {
			retry = false // stopping: this attempt is the result
		}
		fin.Final = !retry
		if e.emitLazy(fin) != nil {
			return fin, false
		}
		if retry {
			continue
		}
		e.apply(hs, st, status, res.RC, seen, res)
		return fin, true
	}
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
// look the same to expressions.
func normalizeJSON(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return v
	}
	return out
}

// apply makes a finished step's result visible to later steps.
func (e *Engine) apply(hs *hostState, st *runbook.Step, status string, rc *int, fin journal.Record, res steps.Result) {
	if st.Register != "" {
		hs.setName(st.Register, resultValue(status, rc, fin.Stdout, fin.Stderr, fin.Data))
	}
	for k, v := range res.Set {
		hs.setName(k, normalizeJSON(v))
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

// applyRecord makes a journaled step result visible to later steps (resume,
// run_once, skipped steps).
func (e *Engine) applyRecord(hs *hostState, st *runbook.Step, rec journal.Record) {
	if st.Register != "" {
		hs.setName(st.Register, resultValue(rec.Status, rec.RC, rec.Stdout, rec.Stderr, rec.Data))
	}
	if set, ok := rec.Data["set"].(map[string]any); ok {
		for k, v := range set {
			hs.setName(k, v)
		}
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
		ent.rec, ent.ok = e.execStep(ctx, hs, pc, key, i, st)
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
	e.applyRecord(hs, st, rec)
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
	env := hs.namesCopy()
	env[runbook.NameParams] = hs.params
	env[runbook.NameVars] = hs.vars
	env[runbook.NameHost] = hostValue(hs.h)
	env[runbook.NameFacts] = factsValue(e.pool.get(hs.h.Name).facts)
	hs.mu.Lock()
	snaps := make(map[string]any, len(hs.snapshots))
	for k, v := range hs.snapshots {
		snaps[k] = v
	}
	hs.mu.Unlock()
	env[runbook.NameSnapshots] = snaps
	env[runbook.NameRun] = map[string]any{"id": e.runID, "operator": e.operator}
	if st != nil && st.Scope != nil {
		env[runbook.NameParams] = scopeParamsIn(env, st.Scope)
	}
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
