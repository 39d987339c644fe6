// Package runbook is the runbook model: the YAML format of SPEC §4 loaded
// strictly with `file:line:col` errors, its validation, and the expression
// language (expr, with `{{ }}` interpolation) that steps are rendered with.
// It never connects to anything.
package runbook

import (
	"reflect"
	"regexp"
	"sync"

	"gopkg.in/yaml.v3"
)

// Phase kinds.
const (
	KindBackup = "backup"
	KindCheck  = "check"
	KindCanary = "canary"
	KindBatch  = "batch"
	KindVerify = "verify"
)

// PhaseKinds lists the phase kinds in the order a runbook uses them.
var PhaseKinds = []string{KindBackup, KindCheck, KindCanary, KindBatch, KindVerify}

// On-failure policies.
const (
	RollbackHost = "rollback_host"
	RollbackAll  = "rollback_all"
	Halt         = "halt"
)

// Runbook is a loaded runbook.
type Runbook struct {
	Name           string                `yaml:"runbook" desc:"Name of the runbook: lower-case letters, digits and dashes." required:"true"`
	Description    string                `yaml:"description" desc:"What the runbook does, for people."`
	Targets        string                `yaml:"targets" desc:"Host pattern of the hosts to change (groups, names, globs, a:b, a:&b, a:!b)." required:"true"`
	Requires       *Requires             `yaml:"requires" desc:"What every target's facts must show; checked before any change."`
	Params         ParamList             `yaml:"params" desc:"Parameters, set with -e name=value."`
	Vars           VarList               `yaml:"vars" desc:"Variables; inventory vars and -e override them."`
	Concurrency    int                   `yaml:"concurrency" tmpl:"true" desc:"Hosts acting at once inside a batch (default 10)."`
	Become         *bool                 `yaml:"become" desc:"Run steps through sudo by default."`
	BecomeUser     string                `yaml:"become_user" desc:"User to become (default root)."`
	Timeout        Duration              `yaml:"timeout" tmpl:"true" desc:"Default timeout of a step (default 10m)."`
	FailureBudget  Size                  `yaml:"failure_budget" tmpl:"true" desc:"Hosts (count or percentage) that may fail across the whole rollout."`
	OnFailure      string                `yaml:"on_failure" desc:"rollback_host (default), rollback_all or halt." enum:"rollback_host,rollback_all,halt"`
	LockStaleAfter Duration              `yaml:"lock_stale_after" desc:"Age after which another run's host lock may be broken with --break-stale-locks (default 6h)."`
	Procedures     map[string]*Procedure `yaml:"procedures" desc:"Named step lists that phases use by name."`
	Phases         []*Phase              `yaml:"phases" desc:"The phases, in order." required:"true"`
	Rollback       *Rollback             `yaml:"rollback" desc:"Steps that undo the change on one host."`
	Handlers       HandlerList           `yaml:"handlers" desc:"Step lists by name that steps queue with notify:; each runs once per host after the step list that queued it."`
	Hooks          *Hooks                `yaml:"hooks" desc:"Step lists run on the controller at moments of the run (on_start, on_canary_done, on_failure, on_finish), best effort: a failing hook is journaled and warned about, never halts the run."`

	// Templates are the count and duration fields written as {{ }} over
	// params and vars, by yaml name; the engine resolves them before the run.
	Templates map[string]*yaml.Node `yaml:"-"`

	// File is the path the runbook was loaded from.
	File string `yaml:"-"`
	// Source is the file's content, for the journal's checksum and the frozen copy.
	Source []byte `yaml:"-"`
	// Modules maps each module file used (path relative to the runbook's
	// directory) to its content.
	Modules map[string][]byte `yaml:"-"`
}

// Procedure is a named list of steps.
type Procedure struct {
	Steps []*Step
	Node  *yaml.Node
}

// DecodeYAML implements YAMLDecoder.
func (p *Procedure) DecodeYAML(d *Decoder, n *yaml.Node) {
	p.Node = n
	d.decode(n, valueOf(&p.Steps))
}

// Phase is one phase of a runbook.
type Phase struct {
	Name               string       `yaml:"name" desc:"Name shown in output and the journal." required:"true"`
	Kind               string       `yaml:"kind" desc:"backup, check, canary, batch or verify." enum:"backup,check,canary,batch,verify" required:"true"`
	Targets            string       `yaml:"targets" desc:"Host pattern narrowing the runbook's targets for this phase (e.g. control_plane, then workers)."`
	Steps              StepRef      `yaml:"steps" desc:"A procedure name or a list of steps." required:"true"`
	Verify             StepRef      `yaml:"verify" desc:"Steps (or a procedure name) proving a host healthy after its steps."`
	SkipHostWhen       string       `yaml:"skip_host_when" expr:"true" desc:"check phase: expression; hosts where it is true need nothing and are skipped."`
	Hosts              HostSelector `yaml:"hosts" tmpl:"true" desc:"canary phase: a count, a percentage, a list of host names or a host pattern."`
	Soak               Duration     `yaml:"soak" tmpl:"true" desc:"canary phase: wait this long after verify, then verify again."`
	Approve            string       `yaml:"approve" desc:"canary phase: question an operator must approve before the run goes on."`
	Serial             SizeList     `yaml:"serial" tmpl:"true" desc:"batch phase: batch sizes (counts or percentages); the last one repeats."`
	PauseBetween       Duration     `yaml:"pause_between" tmpl:"true" desc:"batch phase: wait between batches."`
	OrderBy            string       `yaml:"order_by" expr:"true" desc:"canary and batch phases: expression giving each host a sort key, evaluated after the check phases (registered values may be used); ties keep inventory order."`
	Order              string       `yaml:"order" desc:"canary and batch phases: inventory (default), reverse, sorted (by name) or shuffle." enum:"inventory,reverse,sorted,shuffle"`
	Concurrency        int          `yaml:"concurrency" tmpl:"true" desc:"Hosts acting at once in this phase (default: the runbook's)."`
	ExcludeFailedHosts bool         `yaml:"exclude_failed_hosts" desc:"backup and check phases: leave failing hosts out instead of halting."`

	// Templates are the count and duration fields written as {{ }} over
	// params and vars, by yaml name; the engine resolves them before the run.
	Templates map[string]*yaml.Node `yaml:"-"`
	Node      *yaml.Node            `yaml:"-"`
}

// Rollback is the per-host undo.
type Rollback struct {
	Steps StepRef `yaml:"steps" desc:"Steps (or a procedure name) that undo the change on one host."`
	Node  *yaml.Node
}

// DecodeYAML implements YAMLDecoder: `rollback:` may be a mapping with
// `steps:`, a list of steps, or a procedure name.
func (r *Rollback) DecodeYAML(d *Decoder, n *yaml.Node) {
	r.Node = n
	if n.Kind == yaml.MappingNode {
		d.decodeStruct(n, valueOf(r))
		return
	}
	r.Steps.DecodeYAML(d, n)
}

// DecodeYAML implements YAMLDecoder, keeping the phase's node.
func (p *Phase) DecodeYAML(d *Decoder, n *yaml.Node) {
	p.Node = n
	d.decodeStruct(n, valueOf(p))
}

// Module is a file of reusable steps, included with `use:`.
type Module struct {
	Description string    `yaml:"description" desc:"What the module does."`
	Params      ParamList `yaml:"params" desc:"Parameters the module takes through with:."`
	Steps       []*Step   `yaml:"steps" desc:"The module's steps." required:"true"`
}

var (
	nameRe  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`) })
	identRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })
)

func valueOf(p any) reflect.Value { return reflect.ValueOf(p).Elem() }
