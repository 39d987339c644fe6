package engine

// Dry runs (run --check) and diffs (run --diff), SPEC §6.
//
// A dry run walks the phases with the same code as a run (walk, prepare,
// execStep, runAttempt) with every change withheld:
//
//   - no host lock is taken: the hello only gathers facts, as for
//     plan --check;
//   - the steps of check phases run as in a run: they are read-only by
//     contract (plan --check runs them too), and what they register
//     decides which hosts a run would skip;
//   - every other step is predicted: a kind that implements
//     steps.Predictor says what it would do ("changed" is "would
//     change"); any other kind is skipped with the reason that it cannot
//     predict, and what it would register is unknown: a later step whose
//     when:, until:, changed_when:, failed_when:, loop: or templates read
//     an unknown value is skipped with that reason rather than evaluated
//     over a value no host gave;
//   - a prediction reads the host as it is, not as the changes withheld
//     before it would have left it (a package not yet in the lists of a
//     repository a step before would add): once a step on the host would
//     change it, or was skipped unrun, a predicted failure of a kind that
//     reads the host is uncertain, and is skipped with that reason and the
//     failure it predicted; what it would register is unknown;
//   - approvals are not asked (journaled as skipped), soaks and pauses are
//     not waited, and a host that would fail is not rolled back: nothing
//     changed on it.
//
// The journal says so: run_started, run_resumed and every predicted
// step_finished carry dry_run, and a dry run resumes only as a dry run.

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/journal"
	"github.com/runbookhq/runbook/steps"
)

// readOnly reports whether the run takes no lock and changes nothing:
// plan --check or a dry run.
func (e *Engine) readOnly() bool { return e.opts.CheckOnly || e.opts.DryRun }

// withheld reports whether the steps of pc are predicted rather than run:
// in a dry run, every step but those of check phases.
func (e *Engine) withheld(pc *phaseCtx) bool {
	return e.opts.DryRun && pc.kind != runbook.KindCheck
}

// perform runs the prepared step, or predicts it in a dry run.
func (p *preparedStep) perform(ctx context.Context, x *steps.Exec) steps.Result {
	if !p.predict {
		return p.kind.Run(ctx, x)
	}
	pr, ok := p.kind.(steps.Predictor)
	if !ok { // prepare skips these; a kind that cannot predict never runs
		return steps.Result{Status: steps.Skipped}
	}
	return pr.Predict(ctx, x)
}

// cannotPredict is why a dry run skips st, or "" when its kind predicts.
func cannotPredict(st *runbook.Step) string {
	k, ok := st.Spec.(steps.Kind)
	if ok && steps.CanPredict(k) {
		return ""
	}
	if st.Kind == "pause" {
		return "dry run: a pause neither waits nor asks for approval"
	}
	return fmt.Sprintf("dry run: %s cannot predict its effect", st.Kind)
}

// unknownBefore is why a dry run skips st on hs before evaluating it: its
// when: reads a value the dry run does not know ("" when none).
func (e *Engine) unknownBefore(hs *hostState, st *runbook.Step) string {
	return hs.unknownIn(exprNames(st.When), nil, "when")
}

// unknownAfterWhen is why a dry run skips st on hs once its when: held:
// its until:, changed_when:, failed_when:, expression fields (assert's
// that:, set's values), env or delegate_to read a value
// the dry run does not know ("" when none). Its own result (result, its
// register name) is known by the time these read it.
func (e *Engine) unknownAfterWhen(hs *hostState, st *runbook.Step) string {
	own := []string{runbook.NameResult, st.Register}
	for _, f := range []struct{ key, src string }{{"until", st.Until}, {"changed_when", st.ChangedWhen}, {"failed_when", st.FailedWhen}} {
		if why := hs.unknownIn(exprNames(f.src), own, f.key); why != "" {
			return why
		}
	}
	for _, src := range runbook.SpecExprs(st.Spec) {
		if why := hs.unknownIn(exprNames(src), nil, st.Kind+" "+strconv.Quote(src)); why != "" {
			return why
		}
	}
	if why := hs.unknownIn(templateNames(st.DelegateTo), nil, "delegate_to"); why != "" {
		return why
	}
	for k, v := range st.Env {
		if why := hs.unknownIn(templateNames(v), nil, "env "+k); why != "" {
			return why
		}
	}
	return ""
}

// leavesHostAsIs are the kinds that cannot predict but change nothing a
// later step reads: skipping them withholds no change (a backup writes
// only its own archive).
var leavesHostAsIs = map[string]bool{"pause": true, "snapshot": true, "compare": true, "wait_for": true, "fetch": true, "backup": true}

// noteWithheld records that the step titled title withheld a change on hs
// (it would change the host, or was skipped without being run), unless an
// earlier one did.
func (hs *hostState) noteWithheld(title string) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.withheldBy == "" {
		hs.withheldBy = title
	}
}

// uncertain is why a dry run does not believe a predicted failure (or an
// until: still false) of p on hs: a step before it withheld a change the
// prediction could not see ("" when none did, or p reads no host).
func (hs *hostState) uncertain(p preparedStep, v verdict) string {
	if !p.predict || (v.status != statusFailed && !v.retry) || steps.PredictsFromNames(p.kind) {
		return ""
	}
	hs.mu.Lock()
	by := hs.withheldBy
	hs.mu.Unlock()
	if by == "" {
		return ""
	}
	predicted := "would fail"
	switch {
	case v.err != nil:
		predicted += ": " + v.err.Error()
	case v.retry && p.st != nil && p.st.Until != "":
		predicted = fmt.Sprintf("until %q would be false", p.st.Until)
	}
	return fmt.Sprintf("dry run: cannot predict: %s as the host is now, but step %q before it would change the host first", predicted, by)
}

// unknownPlaceholder makes a renderer write <unknown: NAME> for an
// expression that reads an unknown value, and note why in *why.
func (hs *hostState) unknownPlaceholder(why *string) func(x *runbook.Expr) (string, bool) {
	return func(x *runbook.Expr) (string, bool) {
		w := hs.unknownIn(x.Names(), nil, "{{ "+x.Source+" }}")
		if w == "" {
			return "", false
		}
		if *why == "" {
			*why = w
		}
		return "<unknown: " + x.Source + ">", true
	}
}

// unknownLoop is why a dry run skips a looped step: its items read a value
// the dry run does not know.
func (e *Engine) unknownLoop(hs *hostState, pc *phaseCtx, st *runbook.Step) string {
	if !e.withheld(pc) {
		return ""
	}
	if st.Loop.Expr != "" {
		return hs.unknownIn(exprNames(st.Loop.Expr), nil, "loop")
	}
	var why string
	r := &runbook.Renderer{Env: e.envFor(hs, st), Placeholder: hs.unknownPlaceholder(&why)}
	r.RenderValue(st.Loop.Items)
	return why
}

// markUnknown records that what st would define on hs (its register, its
// set: names, those of the steps inside it) is unknown to this dry run,
// because of why it was skipped; and that, unless its kind leaves the host
// as it is, it may have withheld a change.
func (hs *hostState) markUnknown(st *runbook.Step, title string) {
	if !leavesHostAsIs[st.Kind] {
		hs.noteWithheld(title)
	}
	why := fmt.Sprintf("set by step %q, which this dry run skipped", title)
	var names []string
	var add func(s *runbook.Step)
	add = func(s *runbook.Step) {
		if s.Register != "" {
			names = append(names, s.Register)
		}
		if d, ok := s.Spec.(runbook.Definer); ok {
			names = append(names, d.Defines()...)
		}
		for _, list := range s.Children() {
			for _, c := range list {
				add(c)
			}
		}
	}
	add(st)
	if len(names) == 0 {
		return
	}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.unknown == nil {
		hs.unknown = map[string]string{}
	}
	for _, n := range names {
		hs.unknown[n] = why
	}
}

// forgetUnknown says names now hold values a step gave.
func (hs *hostState) forgetUnknown(names ...string) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	for _, n := range names {
		delete(hs.unknown, n)
	}
}

// unknownIn is why an expression of field that reads names cannot be
// evaluated: the first of them (but those of except) that is unknown.
func (hs *hostState) unknownIn(names, except []string, field string) string {
	if len(names) == 0 {
		return ""
	}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	for _, n := range names {
		why, ok := hs.unknown[n]
		if ok && !containsString(except, n) {
			return fmt.Sprintf("dry run: unknown value: %s reads %s, %s", field, n, why)
		}
	}
	return ""
}

// exprNames are the top-level names expression src reads (none when it
// does not compile: evaluating it reports that).
func exprNames(src string) []string {
	if src == "" {
		return nil
	}
	x, err := runbook.CompileExpr(src)
	if err != nil {
		return nil
	}
	return x.Names()
}

// templateNames are the top-level names the {{ }} of s read.
func templateNames(s string) []string {
	if !runbook.HasTemplate(s) {
		return nil
	}
	parts, err := runbook.ParseTemplate(s)
	if err != nil {
		return nil
	}
	var names []string
	for _, p := range parts {
		names = append(names, exprNames(p.Expr)...)
	}
	return names
}

// diffText is what the journal keeps of a step's diff: redacted, and for a
// no_log step only the names of the files that differ.
func (e *Engine) diffText(st *runbook.Step, d string) string {
	if d == "" {
		return ""
	}
	if !st.NoLog {
		return e.rd.String(d)
	}
	var files []string
	from := ""
	for _, line := range strings.Split(d, "\n") {
		if name, ok := strings.CutPrefix(line, "--- "); ok {
			from = strings.TrimSuffix(name, " (before)")
		} else if name, ok := strings.CutPrefix(line, "+++ "); ok {
			if name = strings.TrimSuffix(name, " (after)"); name == "/dev/null" {
				name = from
			}
			files = append(files, name)
		}
	}
	return e.rd.String(fmt.Sprintf("# no_log: %s differs; the diff is not shown\n", strings.Join(files, ", ")))
}

// approveDryRun journals an approval a dry run does not ask for.
func (e *Engine) approveDryRun(pc *phaseCtx, host, prompt string) (bool, error) {
	rec := pc.record(journal.Approval)
	rec.Host, rec.Prompt, rec.By, rec.Decision, rec.Via = host, prompt, e.operator, "skipped", "dry run"
	rec.StepID = fmt.Sprintf("%d.%d.%s", pc.idx, pc.batch, strings.TrimSpace(prompt))
	rec.DryRun = true
	return true, e.emit(rec)
}

// waitDryRun notes a soak or pause a dry run does not wait.
func (e *Engine) waitDryRun(pc *phaseCtx, what string, seconds int64) bool {
	return e.emit(journal.Record{Type: journal.Message, Phase: pc.name, PhaseIndex: pc.idx, PhaseKind: pc.kind, Batch: pc.batch,
		Text: fmt.Sprintf("%s %ds: not waited in a dry run", what, seconds), DryRun: true}) == nil
}
