package engine

import (
	"fmt"
	"strings"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/journal"
)

// Plan is what a run would do, computed without connecting to anything: the
// same phase walk and rendering code as a run, with values known only at
// run time shown as placeholders.
type Plan struct {
	Runbook     string            `json:"runbook"`
	Description string            `json:"description,omitempty"`
	Targets     string            `json:"targets"`
	Limit       string            `json:"limit,omitempty"`
	Hosts       []string          `json:"hosts"`
	Skipped     []string          `json:"skipped,omitempty"` // by plan --check
	Params      map[string]string `json:"params,omitempty"`
	OnFailure   string            `json:"on_failure"`
	Budget      string            `json:"failure_budget"`
	Phases      []PlanPhase       `json:"phases"`
	Rollback    []PlanStep        `json:"rollback,omitempty"`
	Handlers    []PlanHandler     `json:"handlers,omitempty"`
}

// PlanPhase is one phase of a plan.
type PlanPhase struct {
	Name    string     `json:"name"`
	Kind    string     `json:"kind"`
	Targets string     `json:"targets,omitempty"` // the phase's own targets: pattern
	Order   string     `json:"order,omitempty"`
	Hosts   []string   `json:"hosts"`
	Batches [][]string `json:"batches,omitempty"`
	Notes   []string   `json:"notes,omitempty"`
	Steps   []PlanStep `json:"steps"`
	Verify  []PlanStep `json:"verify,omitempty"`
}

// PlanStep is one step, rendered for every host it runs on; hosts for which
// it renders the same share one entry. A block has its lists instead.
type PlanStep struct {
	Name     string       `json:"name"`
	Kind     string       `json:"kind"`
	When     string       `json:"when,omitempty"`
	Flags    []string     `json:"flags,omitempty"`
	Loop     string       `json:"loop,omitempty"`   // what the step loops over, where known
	Notify   []string     `json:"notify,omitempty"` // handlers it may queue
	Rendered []PlanRender `json:"rendered,omitempty"`
	Block    []PlanStep   `json:"block,omitempty"`
	Rescue   []PlanStep   `json:"rescue,omitempty"`
	Always   []PlanStep   `json:"always,omitempty"`
}

// PlanRender is a step's text for some hosts.
type PlanRender struct {
	Hosts []string `json:"hosts"`
	Text  string   `json:"text"`
}

// PlanHandler is a handler: the steps notify: may queue.
type PlanHandler struct {
	Name  string     `json:"name"`
	Steps []PlanStep `json:"steps"`
}

// MakePlan plans the engine's run through the phase walk a run takes, with
// every host assumed to succeed. skipped are hosts plan --check found
// needing nothing (nil without --check).
func (e *Engine) MakePlan(skipped []string) (*Plan, error) {
	rb := e.rb
	p := &Plan{Runbook: rb.Name, Description: rb.Description, Targets: rb.Targets, Limit: e.opts.Limit,
		Hosts: e.targets, Skipped: skipped, Params: e.planParams(), OnFailure: onFailure(rb),
		Budget: rb.FailureBudget.String()}
	origin := runtimeNames(rb)
	e.plannedSkip = make(map[string]bool, len(skipped))
	for _, h := range skipped {
		e.plannedSkip[h] = true
	}
	w := newWalk(e, func(h string) bool { return !e.plannedSkip[h] })
	w.sortKey = e.planOrderKey
	var everyone []string // the hosts a rollback may run on
	for i, ph := range rb.Phases {
		kind := kindOfPhase(ph)
		a, err := kind.assign(w, i, ph)
		if err != nil {
			return nil, fmt.Errorf("phase %d %q: %w", i+1, ph.Name, err)
		}
		hosts := a.hosts
		if ph.Kind == runbook.KindCheck || ph.Kind == runbook.KindBackup && !checkedFirst(rb.Phases, i) {
			hosts = e.phaseTargets[i] // a check runs on the hosts it may skip, too
		}
		pp := PlanPhase{Name: ph.Name, Kind: ph.Kind, Targets: ph.Targets, Order: orderText(ph), Hosts: hosts,
			Batches: a.batches, Notes: append(append(checkedFirstNote(rb.Phases, i), kind.notes(ph)...), a.notes...)}
		if ph.Kind == runbook.KindCanary || ph.Kind == runbook.KindBatch {
			everyone = append(everyone, hosts...)
			if ph.OrderBy != "" && len(hosts) > 0 {
				if _, known := e.planOrderKey(i, hosts[0]); !known {
					pp.Notes = append(pp.Notes, "order_by reads values known after the check phases: shown here in inventory order")
				}
			}
		}
		if pp.Hosts == nil {
			pp.Hosts = []string{}
		}
		pp.Steps = e.planSteps(ph.Steps.Steps, hosts, origin)
		pp.Verify = e.planSteps(ph.Verify.Steps, hosts, origin)
		p.Phases = append(p.Phases, pp)
	}
	if rb.Rollback != nil {
		p.Rollback = e.planSteps(rb.Rollback.Steps.Steps, e.inTargetOrder(everyone), origin)
	}
	for _, h := range rb.Handlers {
		p.Handlers = append(p.Handlers, PlanHandler{Name: h.Name, Steps: e.planSteps(h.Steps, e.inTargetOrder(everyone), origin)})
	}
	return p, nil
}

// planParams are the params as a plan shows them.
func (e *Engine) planParams() map[string]string {
	out := map[string]string{}
	for _, prm := range e.rb.Params {
		v, given := e.opts.Given[prm.Name]
		if !given {
			v = prm.Default
		}
		switch {
		case v == nil:
			out[prm.Name] = "<unset>"
		case prm.Secret:
			out[prm.Name] = redacted
		default:
			out[prm.Name] = e.rd.String(runbook.Stringify(v))
		}
	}
	return out
}

// orderText says how a phase orders its hosts, for a plan.
func orderText(ph *runbook.Phase) string {
	switch {
	case ph.OrderBy != "":
		return "order_by " + ph.OrderBy
	case ph.Order != "" && ph.Order != runbook.OrderInventory:
		return ph.Order
	}
	return ""
}

// planOrderKey is a host's order_by key where a plan can know it (the
// expression reads nothing registered at run time); otherwise the plan
// keeps inventory order and its phase notes say so.
func (e *Engine) planOrderKey(i int, host string) (any, bool) {
	k, err := evalExpr(e.rb.Phases[i].OrderBy, e.envFor(e.hosts[host], nil))
	if err != nil {
		return nil, false
	}
	return k, true
}

func onFailure(rb *runbook.Runbook) string {
	if rb.OnFailure == "" {
		return runbook.RollbackHost
	}
	return rb.OnFailure
}

// runtimeNames maps each name a step defines (register:, set:) to the step
// that defines it.
func runtimeNames(rb *runbook.Runbook) map[string]string {
	m := map[string]string{}
	for _, s := range rb.AllSteps() {
		if s.Register != "" {
			m[s.Register] = s.Title()
		}
		if d, ok := s.Spec.(runbook.Definer); ok {
			for _, n := range d.Defines() {
				m[n] = s.Title()
			}
		}
	}
	return m
}

// planSteps renders steps for each host.
func (e *Engine) planSteps(list []*runbook.Step, hosts []string, origin map[string]string) []PlanStep {
	out := []PlanStep{}
	for _, st := range list {
		ps := PlanStep{Name: e.planTitle(hosts, st), Kind: st.Kind, When: st.When, Flags: stepFlags(st), Notify: st.Notify}
		if st.IsBlock() {
			ps.Kind = "block"
			ps.Block = e.planSteps(st.Block, hosts, origin)
			ps.Rescue = e.planSteps(st.Rescue, hosts, origin)
			ps.Always = e.planSteps(st.Always, hosts, origin)
			out = append(out, ps)
			continue
		}
		if st.Loop != nil {
			ps.Loop = loopText(st)
		}
		for _, h := range hosts {
			text := e.planRender(e.hosts[h], st, origin)
			if n := len(ps.Rendered); n > 0 && ps.Rendered[n-1].Text == text {
				ps.Rendered[n-1].Hosts = append(ps.Rendered[n-1].Hosts, h)
				continue
			}
			ps.Rendered = append(ps.Rendered, PlanRender{Hosts: []string{h}, Text: text})
		}
		out = append(out, ps)
	}
	return out
}

// planTitle is a step's name as a plan shows it: rendered for the first
// host (or with the params alone when the phase has no host), a loop's
// item shown as <item>.
func (e *Engine) planTitle(hosts []string, st *runbook.Step) string {
	t := st.Title()
	if !runbook.HasTemplate(t) {
		return t
	}
	env := e.templateEnv()
	if len(hosts) > 0 {
		env = e.envFor(e.hosts[hosts[0]], st)
	}
	if st.Loop != nil {
		env = (&loopIter{name: st.LoopVarName(), item: "<item>"}).addTo(env)
	}
	return titleIn(st, env)
}

func loopText(st *runbook.Step) string {
	if st.Loop.Expr != "" {
		return st.Loop.Expr
	}
	return runbook.Stringify(st.Loop.Items)
}

func stepFlags(st *runbook.Step) []string {
	var f []string
	if st.Local {
		f = append(f, "local")
	}
	if st.RunOnce {
		f = append(f, "run_once")
	}
	if st.Become != nil {
		f = append(f, fmt.Sprintf("become %v", *st.Become))
	}
	if st.Retries > 0 || st.Until != "" {
		f = append(f, fmt.Sprintf("retries %d", st.Retries))
	}
	if st.Until != "" {
		f = append(f, "until "+st.Until)
	}
	if st.IgnoreErrors {
		f = append(f, "ignore_errors")
	}
	if st.NoLog {
		f = append(f, "no_log")
	}
	return f
}

// planRender renders one step for one host, the way a run would, with
// run-time values as placeholders; a looped step once per item, where the
// items are known before the run.
func (e *Engine) planRender(hs *hostState, st *runbook.Step, origin map[string]string) string {
	if st.Loop == nil {
		return e.planRenderOnce(hs, st, origin, nil)
	}
	items, err := e.planLoopItems(hs, st)
	if err != nil {
		return fmt.Sprintf("loop over %s (known at run time): %s", loopText(st), e.planRenderOnce(hs, st, origin, &loopIter{name: st.LoopVarName(), item: "<item>"}))
	}
	lines := make([]string, len(items))
	for j, item := range items {
		lines[j] = fmt.Sprintf("[%d] %s", j, e.planRenderOnce(hs, st, origin, &loopIter{name: st.LoopVarName(), item: item, index: j}))
	}
	return strings.Join(lines, "\n")
}

// planLoopItems evaluates a loop's items as a run would, without run-time
// values (they fail).
func (e *Engine) planLoopItems(hs *hostState, st *runbook.Step) ([]any, error) {
	env := e.envFor(hs, st)
	var v any
	var err error
	if st.Loop.Expr != "" {
		v, err = evalExpr(st.Loop.Expr, env)
	} else {
		v, err = (&runbook.Renderer{Env: env}).RenderValue(st.Loop.Items)
	}
	if err != nil {
		return nil, err
	}
	items, ok := asList(v)
	if !ok {
		return nil, fmt.Errorf("not a list")
	}
	return items, nil
}

func (e *Engine) planRenderOnce(hs *hostState, st *runbook.Step, origin map[string]string, iter *loopIter) string {
	env := iter.addTo(e.envFor(hs, st))
	env[runbook.NameRun] = map[string]any{"id": "<run id>", "operator": e.operator}
	r := &runbook.Renderer{Env: env, Placeholder: func(x *runbook.Expr) (string, bool) {
		for _, n := range x.Names() {
			if from, ok := origin[n]; ok {
				return "<from step " + from + ">", true
			}
			if n == runbook.NameFacts || n == runbook.NameSnapshots {
				return "<" + x.Source + ">", true
			}
		}
		return "", false
	}}
	spec, err := runbook.RenderSpec(st.Spec, r)
	if err != nil {
		return fmt.Sprintf("%s: cannot render: %v", st.Kind, err)
	}
	k, err := kindOf(&runbook.Step{Kind: st.Kind, Spec: spec})
	if err != nil {
		return err.Error()
	}
	text := e.rd.String(k.Describe())
	if st.DelegateTo != "" {
		if d, err := r.Render(st.DelegateTo); err == nil {
			text += "  (on " + d + ")"
		}
	}
	return text
}

// PlanSkipped is used by plan --check: the hosts the check phase skipped.
func PlanSkipped(recs []journal.Record) []string {
	var out []string
	for _, r := range recs {
		if r.Type == journal.HostFinished && r.Outcome == journal.OutcomeSkipped {
			out = append(out, r.Host)
		}
	}
	return out
}
