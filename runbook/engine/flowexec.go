package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/journal"
)

// loopIter is one iteration of a looped step: the names it adds.
type loopIter struct {
	name  string
	item  any
	index int
}

// addTo returns env with the iteration's names (env itself without one).
func (it *loopIter) addTo(env map[string]any) map[string]any {
	if it == nil {
		return env
	}
	env[it.name] = it.item
	env[runbook.NameLoopIndex] = it.index
	return env
}

// runLoop runs a looped step once per item, each iteration journaled under
// KEY[N]. The items are evaluated once and journaled (loop_items), so that
// a resume goes over the same list and continues at the first iteration
// without a final result. It stops at the first iteration that fails the
// host. register gets {results, changed, failed, skipped}.
func (e *Engine) runLoop(ctx context.Context, hs *hostState, pc *phaseCtx, key string, i int, st *runbook.Step) stepOutcome {
	var items []any
	var err error
	why := e.unknownLoop(hs, pc, st)
	if why == "" {
		items, err = e.loopItems(hs, st, key)
	}
	if err != nil || why != "" {
		base := pc.record(journal.StepStarted)
		base.Host, base.StepID, base.Step, base.Index, base.Kind = hs.h.Name, key, st.Title(), i+1, st.Kind
		status := statusFailed
		base.DryRun = e.withheld(pc)
		if why != "" {
			status, base.Reason = statusSkipped, why
			hs.markUnknown(st, st.Title())
		}
		rec, ok := e.finishNow(hs, st, base, status, err, nil)
		if !ok {
			return stepOutcome{interrupted: true}
		}
		return outcomeOf(st, rec)
	}
	results := make([]any, 0, len(items))
	agg := map[string]any{"changed": false, "failed": false, "skipped": len(items) > 0}
	var out stepOutcome
	for j, item := range items {
		if e.stopping.Load() || ctx.Err() != nil {
			return stepOutcome{interrupted: true}
		}
		iter := &loopIter{name: st.LoopVarName(), item: item, index: j}
		ik := key + "[" + strconv.Itoa(j) + "]"
		rec, ok := e.replay.final(hs.h.Name, ik)
		if ok {
			e.applyRecord(hs, st, rec, iter)
		} else if rec, ok = e.execStep(ctx, hs, pc, ik, i, st, iter); !ok {
			return stepOutcome{interrupted: true}
		}
		r := resultValue(rec.Status, rec.RC, rec.Stdout, rec.Stderr, rec.Data)
		r[iter.name] = item
		results = append(results, r)
		agg["changed"] = agg["changed"].(bool) || r["changed"].(bool)
		agg["failed"] = agg["failed"].(bool) || r["failed"].(bool)
		agg["skipped"] = agg["skipped"].(bool) && r["skipped"].(bool)
		if out = outcomeOf(st, rec); out.failed {
			break
		}
	}
	if st.Register != "" {
		agg["results"] = results
		hs.setName(st.Register, agg)
	}
	return out
}

// loopItems are the items of a looped step on hs: those journaled by an
// earlier session, else evaluated now and journaled.
func (e *Engine) loopItems(hs *hostState, st *runbook.Step, key string) ([]any, error) {
	if e.replay != nil {
		if items, ok := e.replay.loopItems[hs.h.Name+"\x00"+key]; ok {
			return items, nil
		}
	}
	env := e.envFor(hs, st)
	var v any
	var err error
	if st.Loop.Expr != "" {
		v, err = evalExpr(st.Loop.Expr, env)
		if err != nil {
			return nil, fmt.Errorf("loop: %w", err)
		}
	} else if v, err = (&runbook.Renderer{Env: env}).RenderValue(st.Loop.Items); err != nil {
		return nil, fmt.Errorf("loop: %w", err)
	}
	items, ok := asList(v)
	if !ok {
		return nil, fmt.Errorf("loop: %s gives %T, not a list", loopSource(st), v)
	}
	items, _ = normalizeJSON(items).([]any) // as they read back on resume
	if items == nil {
		items = []any{}
	}
	// Items that hold a secret are not journaled: a resume evaluates them
	// again rather than run over "********".
	if b, _ := json.Marshal(items); !e.rd.Contains(string(b)) {
		rec := journal.Record{Type: journal.LoopItems, Host: hs.h.Name, StepID: key, Data: map[string]any{"items": items}}
		if err := e.emitLazy(rec); err != nil {
			return nil, err
		}
	}
	return items, nil
}

func loopSource(st *runbook.Step) string {
	if st.Loop.Expr != "" {
		return fmt.Sprintf("%q", st.Loop.Expr)
	}
	return "the list"
}

// asList returns v's elements when it is a list of any kind.
func asList(v any) ([]any, bool) {
	if v == nil {
		return nil, false
	}
	if l, ok := v.([]any); ok {
		return l, true
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return nil, false
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, true
}

// runBlock runs a block: its steps; when one fails the host, the rest of
// them are skipped and rescue runs; always runs whatever happened (but not
// when the run stops). A failure rescue makes up for stays journaled as
// failed and is marked rescued (step_rescued), and the host's outcome says
// rescued; a failure rescue does not make up for fails the host.
func (e *Engine) runBlock(ctx context.Context, hs *hostState, pc *phaseCtx, key string, i int, st *runbook.Step) stepOutcome {
	if st.When != "" {
		ok, err := evalBool(st.When, e.envFor(hs, st))
		why := ""
		if e.withheld(pc) {
			why = e.unknownBefore(hs, st)
		}
		if err != nil || !ok || why != "" {
			base := pc.record(journal.StepStarted)
			base.Host, base.StepID, base.Step, base.Index, base.Kind = hs.h.Name, key, st.Title(), i+1, "block"
			base.DryRun = e.withheld(pc)
			status := statusSkipped
			switch {
			case why != "":
				base.Reason, err = why, nil
				hs.markUnknown(st, st.Title())
			case err != nil:
				status, err = statusFailed, fmt.Errorf("when: %w", err)
			}
			if rec, done := e.replay.final(hs.h.Name, key); done {
				return outcomeOf(st, rec)
			}
			rec, ok := e.finishNow(hs, st, base, status, err, nil)
			if !ok {
				return stepOutcome{interrupted: true}
			}
			return outcomeOf(st, rec)
		}
	}
	o := e.runSeq(ctx, hs, pc, key+".block", st.Block, false)
	if o.failed && !o.unreachable && len(st.Rescue) > 0 {
		r := e.runSeq(ctx, hs, pc, key+".rescue", st.Rescue, false)
		switch {
		case r.interrupted:
			return r
		case r.failed:
			o = r
		default:
			if !e.markRescued(hs, pc, o, st) {
				return stepOutcome{interrupted: true}
			}
			o = stepOutcome{}
		}
	}
	if o.interrupted || len(st.Always) == 0 {
		return o
	}
	a := e.runSeq(ctx, hs, pc, key+".always", st.Always, false)
	if a.interrupted || (a.failed && !o.failed) {
		return a
	}
	return o
}

// markRescued journals that a rescue made up for failed step o (once:
// a resume that replays the block does not journal it again).
func (e *Engine) markRescued(hs *hostState, pc *phaseCtx, o stepOutcome, block *runbook.Step) bool {
	hs.rescued = true
	if e.replay != nil && e.replay.rescued[hs.h.Name+"\x00"+o.stepID] {
		return true
	}
	r := pc.record(journal.StepRescued)
	r.Host, r.StepID, r.Step, r.Error = hs.h.Name, o.stepID, o.step, o.err
	r.Text = "rescued by the rescue steps of block " + strconv.Quote(block.Title())
	return e.emit(r) == nil
}

// queue queues the handlers names for the host (they run after the
// current step list).
func (hs *hostState) queue(handlers runbook.HandlerList, names []string) {
	if len(names) == 0 {
		return
	}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	for _, n := range names {
		if i := handlers.Index(n); i >= 0 {
			if hs.queued == nil {
				hs.queued = map[int]bool{}
			}
			hs.queued[i] = true
		}
	}
}

func (hs *hostState) clearQueue() {
	hs.mu.Lock()
	hs.queued = nil
	hs.mu.Unlock()
}

// takeQueued reports whether handler i is queued, and unqueues it.
func (hs *hostState) takeQueued(i int) bool {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	q := hs.queued[i]
	delete(hs.queued, i)
	return q
}

// runHandlers runs the handlers the host has queued, once each, in the
// order handlers: lists them, under the ids PREFIX.N.STEP; a handler that
// fails fails the host, and the rest do not run.
func (e *Engine) runHandlers(ctx context.Context, hs *hostState, pc *phaseCtx, prefix string, noStop bool) stepOutcome {
	for i, h := range e.rb.Handlers {
		if !hs.takeQueued(i) {
			continue
		}
		if o := e.runSeq(ctx, hs, pc, prefix+"."+strconv.Itoa(i), h.Steps, noStop); o.failed || o.interrupted {
			hs.clearQueue()
			return o
		}
	}
	return stepOutcome{}
}
