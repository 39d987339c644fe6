package engine

import (
	"fmt"
	"strings"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/journal"
)

// Plan is what a run would do, computed without connecting to anything: the
// same batching and rendering code as a run, with values known only at run
// time shown as placeholders.
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
}

// PlanPhase is one phase of a plan.
type PlanPhase struct {
	Name    string     `json:"name"`
	Kind    string     `json:"kind"`
	Hosts   []string   `json:"hosts"`
	Batches [][]string `json:"batches,omitempty"`
	Notes   []string   `json:"notes,omitempty"`
	Steps   []PlanStep `json:"steps"`
	Verify  []PlanStep `json:"verify,omitempty"`
}

// PlanStep is one step, rendered for every host it runs on; hosts for which
// it renders the same share one entry.
type PlanStep struct {
	Name     string       `json:"name"`
	Kind     string       `json:"kind"`
	When     string       `json:"when,omitempty"`
	Flags    []string     `json:"flags,omitempty"`
	Rendered []PlanRender `json:"rendered"`
}

// PlanRender is a step's text for some hosts.
type PlanRender struct {
	Hosts []string `json:"hosts"`
	Text  string   `json:"text"`
}

// MakePlan plans the engine's run. skipped are hosts plan --check found
// needing nothing (nil without --check).
func (e *Engine) MakePlan(skipped []string) (*Plan, error) {
	rb := e.rb
	p := &Plan{Runbook: rb.Name, Description: rb.Description, Targets: rb.Targets, Limit: e.opts.Limit,
		Hosts: e.targets, Skipped: skipped, Params: map[string]string{}, OnFailure: onFailure(rb),
		Budget: rb.FailureBudget.String()}
	for _, prm := range rb.Params {
		v, given := e.opts.Given[prm.Name]
		if !given {
			v = prm.Default
		}
		switch {
		case v == nil:
			p.Params[prm.Name] = "<unset>"
		case prm.Secret:
			p.Params[prm.Name] = redacted
		default:
			p.Params[prm.Name] = e.rd.String(runbook.Stringify(v))
		}
	}
	origin := runtimeNames(rb)
	isSkipped := make(map[string]bool, len(skipped))
	for _, h := range skipped {
		isSkipped[h] = true
	}
	var candidates []string
	for _, h := range e.targets {
		if !isSkipped[h] {
			candidates = append(candidates, h)
		}
	}
	assigned := map[string]bool{}
	for i, ph := range rb.Phases {
		pp := PlanPhase{Name: ph.Name, Kind: ph.Kind}
		var hosts []string
		switch ph.Kind {
		case runbook.KindBackup, runbook.KindCheck:
			hosts = e.targets
			if ph.SkipHostWhen != "" {
				pp.Notes = append(pp.Notes, "skip hosts where: "+ph.SkipHostWhen)
			}
			if ph.ExcludeFailedHosts {
				pp.Notes = append(pp.Notes, "hosts that fail are left out; the others go on")
			} else {
				pp.Notes = append(pp.Notes, "any failure halts the run before any change")
			}
		case runbook.KindCanary:
			var eligible []string
			for _, h := range candidates {
				if !assigned[h] {
					eligible = append(eligible, h)
				}
			}
			chosen, err := canaryHosts(ph, eligible)
			if err != nil {
				return nil, fmt.Errorf("phase %d %q: %w", i+1, ph.Name, err)
			}
			for _, h := range chosen {
				assigned[h] = true
			}
			hosts = chosen
			pp.Batches = [][]string{chosen}
			pp.Notes = append(pp.Notes, "any failure halts the run")
			if ph.Soak > 0 {
				pp.Notes = append(pp.Notes, fmt.Sprintf("soak %s, then verify again", ph.Soak))
			}
			if ph.Approve != "" {
				pp.Notes = append(pp.Notes, fmt.Sprintf("ask for approval: %q", ph.Approve))
			}
		case runbook.KindBatch:
			for _, h := range candidates {
				if !assigned[h] {
					hosts = append(hosts, h)
					assigned[h] = true
				}
			}
			pp.Batches = Batches(ph.Serial, hosts)
			if len(ph.Serial) > 0 {
				sizes := make([]string, len(ph.Serial))
				for j, s := range ph.Serial {
					sizes[j] = s.String()
				}
				pp.Notes = append(pp.Notes, "serial ["+strings.Join(sizes, ", ")+"]")
			}
			if ph.PauseBetween > 0 {
				pp.Notes = append(pp.Notes, fmt.Sprintf("pause %s between batches", ph.PauseBetween))
			}
		case runbook.KindVerify:
			hosts = candidates
			if len(skipped) > 0 {
				hosts = e.targets
			}
		}
		pp.Hosts = hosts
		if pp.Hosts == nil {
			pp.Hosts = []string{}
		}
		pp.Steps = e.planSteps(ph.Steps.Steps, hosts, origin)
		pp.Verify = e.planSteps(ph.Verify.Steps, hosts, origin)
		p.Phases = append(p.Phases, pp)
	}
	if rb.Rollback != nil {
		p.Rollback = e.planSteps(rb.Rollback.Steps.Steps, candidates, origin)
	}
	return p, nil
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
		ps := PlanStep{Name: st.Title(), Kind: st.Kind, When: st.When, Flags: stepFlags(st)}
		if len(hosts) > 0 {
			ps.Name = e.stepTitle(e.hosts[hosts[0]], st)
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
// run-time values as placeholders.
func (e *Engine) planRender(hs *hostState, st *runbook.Step, origin map[string]string) string {
	env := e.envFor(hs, st)
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
