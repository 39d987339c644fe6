package runbook

import "gopkg.in/yaml.v3"

// Run hook moments (SPEC §6 "Run-level hooks").
const (
	HookOnStart      = "on_start"
	HookOnCanaryDone = "on_canary_done"
	HookOnFailure    = "on_failure"
	HookOnFinish     = "on_finish"
)

// NameHook is what the steps of a hook read about the run at that moment
// (event, run_id, status, failed_hosts, report, ...).
const NameHook = "hook"

// Hooks are step lists run on the controller at moments of a run: a
// notification, a ticket. They are best effort: a failing hook is
// journaled and warned about, and the run goes on as if it had not run.
type Hooks struct {
	OnStart      StepRef    `yaml:"on_start" desc:"Steps run on the controller when the run starts (and when it is resumed)."`
	OnCanaryDone StepRef    `yaml:"on_canary_done" desc:"Steps run on the controller when a canary phase's hosts passed their steps, verify and soak, before its approval."`
	OnFailure    StepRef    `yaml:"on_failure" desc:"Steps run on the controller when the run ends failed or halted; hook.failed_hosts names the hosts."`
	OnFinish     StepRef    `yaml:"on_finish" desc:"Steps run on the controller whenever the run ends, after on_failure; hook.status is how it ended."`
	Node         *yaml.Node `yaml:"-"`
}

// DecodeYAML implements YAMLDecoder, keeping the node for messages.
func (h *Hooks) DecodeYAML(d *Decoder, n *yaml.Node) {
	h.Node = n
	d.decodeStruct(n, valueOf(h))
}

// HookList is one hook's moment and its steps.
type HookList struct {
	Event string
	Ref   *StepRef
}

// Lists returns every hook's steps, in the order of a run's moments (nil
// when h is nil).
func (h *Hooks) Lists() []HookList {
	if h == nil {
		return nil
	}
	return []HookList{{HookOnStart, &h.OnStart}, {HookOnCanaryDone, &h.OnCanaryDone},
		{HookOnFailure, &h.OnFailure}, {HookOnFinish, &h.OnFinish}}
}

// Steps returns the steps of the hook for event (nil when there are none).
func (h *Hooks) Steps(event string) []*Step {
	for _, l := range h.Lists() {
		if l.Event == event {
			return l.Ref.Steps
		}
	}
	return nil
}

// hooks checks the hooks' steps: they run on the controller, so
// delegate_to does not apply; only they may read hook.
func (v *validator) hooks() {
	for _, l := range v.rb.Hooks.Lists() {
		walkSteps(l.Ref.Steps, func(s *Step) {
			if s.DelegateTo != "" {
				v.stepErr(s, FieldNode(s.Node, "delegate_to"), "hooks.%s: a hook's steps run on the controller; delegate_to does not apply", l.Event)
			}
		})
		v.stepList(l.Ref.Steps)
	}
}
