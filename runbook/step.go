package runbook

import (
	"fmt"
	"reflect"
	"sort"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/runbookhq/runbook/runbook/diag"
)

// StepSpec is the kind-specific part of a step (`shell: ...`, `apt: {...}`).
// Each step kind registers a constructor with RegisterKind; the value it
// returns is decoded from the YAML (fields by `yaml` tag, or by its own
// DecodeYAML) and then validated.
//
// String fields are templates: the engine renders every `{{ }}` in them
// before the step runs. Fields tagged `expr:"true"` hold expressions instead
// and are left as written. Fields tagged `shell:"true"` reach a shell; a param
// interpolated there without quote() draws a warning.
type StepSpec interface {
	// Validate checks the decoded fields; report problems with c.
	Validate(c *Check)
}

// Check collects the problems a StepSpec finds, at the step's position.
type Check struct {
	d    *Decoder
	node *yaml.Node
}

// Errorf records an error at the kind's value, or at its key field when
// field names one that is present.
func (c *Check) Errorf(field string, format string, args ...any) {
	n := c.node
	if field != "" {
		if f := FieldNode(c.node, field); f != nil {
			n = f
		}
	}
	c.d.Errorf(n, format, args...)
}

var (
	kindsMu sync.RWMutex
	kinds   = map[string]func() StepSpec{}
)

// RegisterKind makes a step kind known to the loader. newSpec returns a
// pointer to a fresh spec value. It panics on a duplicate name.
func RegisterKind(name string, newSpec func() StepSpec) {
	kindsMu.Lock()
	defer kindsMu.Unlock()
	if _, dup := kinds[name]; dup {
		panic("runbook: step kind registered twice: " + name)
	}
	kinds[name] = newSpec
}

// KindNames lists the registered step kinds, sorted.
func KindNames() []string {
	kindsMu.RLock()
	defer kindsMu.RUnlock()
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// NewSpec returns a fresh spec of kind, or nil when the kind is unknown.
func NewSpec(kind string) StepSpec {
	kindsMu.RLock()
	f := kinds[kind]
	kindsMu.RUnlock()
	if f == nil {
		return nil
	}
	return f()
}

// Step is one step: common fields, exactly one kind, or a `use:` of a module
// (expanded at load time into the module's steps).
type Step struct {
	Name         string            `yaml:"name" desc:"Name shown in output, the journal and reports."`
	When         string            `yaml:"when" expr:"true" desc:"Expression; the step runs only when it is true."`
	Register     string            `yaml:"register" desc:"Name under which later steps see this step's result (.stdout, .stderr, .rc, .changed, .failed)."`
	Become       *bool             `yaml:"become" desc:"Run through sudo (default: the runbook's become)."`
	BecomeUser   string            `yaml:"become_user" desc:"User to become (default root)."`
	DelegateTo   string            `yaml:"delegate_to" desc:"Run on this inventory host instead (e.g. kubectl on the control plane); host still names the target."`
	Local        bool              `yaml:"local" desc:"Run on the controller."`
	RunOnce      bool              `yaml:"run_once" desc:"Run once per batch (on its first host); every host of the batch gets the result."`
	Timeout      Duration          `yaml:"timeout" tmpl:"true" desc:"Timeout of one attempt (default: the runbook's)."`
	Retries      int               `yaml:"retries" tmpl:"true" desc:"Further attempts after a failure, or while until is false."`
	Delay        Duration          `yaml:"delay" tmpl:"true" desc:"Wait between attempts (default 5s)."`
	Until        string            `yaml:"until" expr:"true" desc:"Expression over the result (as its register name, or result); retry until it is true."`
	IgnoreErrors bool              `yaml:"ignore_errors" desc:"A failure is recorded but does not fail the host."`
	ChangedWhen  string            `yaml:"changed_when" expr:"true" desc:"Expression deciding whether the step changed something."`
	FailedWhen   string            `yaml:"failed_when" expr:"true" desc:"Expression deciding whether the step failed (instead of rc != 0)."`
	NoLog        bool              `yaml:"no_log" desc:"Keep the output out of the journal, the terminal and reports."`
	Env          map[string]string `yaml:"env" desc:"Environment variables for the command."`
	Use          string            `yaml:"use" desc:"A module file (relative to this file) whose steps are included here."`
	With         map[string]any    `yaml:"with" desc:"Values of the module's params."`
	Loop         *Loop             `yaml:"loop" desc:"Run the step once per item of this list, or of the list an expression gives; the step sees the item as item (or loop_var:) and its position as loop_index."`
	LoopVar      string            `yaml:"loop_var" desc:"Name of the loop's item (default item)."`
	Notify       StringList        `yaml:"notify" desc:"Handlers to queue when this step reports changed; they run once per host after the step list."`
	Block        []*Step           `yaml:"block" desc:"Steps run as one block: a failure skips the rest of it and runs rescue:."`
	Rescue       []*Step           `yaml:"rescue" desc:"Steps run when a step of block: fails; when they succeed the host carries on, and the failure stays recorded, marked rescued."`
	Always       []*Step           `yaml:"always" desc:"Steps run after block: and rescue:, whatever happened."`

	// Templates are the count and duration fields written as {{ }} over
	// params and vars, by yaml name; the engine resolves them per host.
	Templates map[string]*yaml.Node `yaml:"-"`

	// Kind is the step kind's name; Spec its decoded value.
	Kind string     `yaml:"-"`
	Spec StepSpec   `yaml:"-"`
	Node *yaml.Node `yaml:"-"`
	// File is the file the step was written in (the runbook or a module).
	File string `yaml:"-"`
	// Scope is set on steps that came from a module: it binds the module's
	// params.
	Scope *ModuleScope `yaml:"-"`
}

// ModuleScope binds the params of one `use:` of a module.
type ModuleScope struct {
	Module string         // module path as written
	File   string         // module file path
	Params ParamList      // the module's declared params
	With   map[string]any // values given with `with:` (templates, rendered in the caller's scope)
	Parent *ModuleScope   // the scope the use: was written in, nil at the runbook level
	Node   *yaml.Node     // the use: step
}

// Title is the step's display name: its name, else its kind and a summary.
func (s *Step) Title() string {
	if s.Name != "" {
		return s.Name
	}
	return s.Kind
}

var commonStepKeys = func() []string {
	var names []string
	for _, f := range structFields(reflect.TypeFor[Step]()) {
		names = append(names, f.name)
	}
	return names
}()

// DecodeYAML implements YAMLDecoder: the common fields, then exactly one kind
// key (or use:, or block:).
func (s *Step) DecodeYAML(d *Decoder, n *yaml.Node) {
	s.Node, s.File = n, d.File
	if n.Kind != yaml.MappingNode {
		d.Errorf(n, "a step must be a mapping with one step kind, e.g. `- shell: uptime`; got %s", describe(n))
		return
	}
	fields := map[string]fieldInfo{}
	for _, f := range structFields(reflect.TypeFor[Step]()) {
		fields[f.name] = f
	}
	v := valueOf(s)
	var kindKeys []*yaml.Node
	unknown := false
	for _, kv := range d.Pairs(n) {
		key := kv.Key.Value
		if f, ok := fields[key]; ok {
			if !d.keepTemplate(kv.Value, f, v) {
				d.decode(kv.Value, v.FieldByIndex(f.index))
			}
			continue
		}
		spec := NewSpec(key)
		if spec == nil {
			candidates := append(append([]string{}, commonStepKeys...), KindNames()...)
			d.Errorf(kv.Key, "unknown step key %q%s", key, diag.Suggest(key, candidates))
			unknown = true
			continue
		}
		kindKeys = append(kindKeys, kv.Key)
		if s.Spec != nil {
			continue
		}
		s.Kind, s.Spec = key, spec
		before := d.Errs.Len()
		d.decode(kv.Value, reflect.ValueOf(spec).Elem())
		if d.Errs.Len() == before {
			spec.Validate(&Check{d: d, node: Resolve(kv.Value)})
		}
	}
	if FieldNode(n, "block") != nil && s.Block == nil {
		s.Block = []*Step{} // written, if empty: still a block
	}
	switch {
	case s.IsBlock() && len(kindKeys) > 0:
		d.Errorf(kindKeys[0], "a block has no step kind of its own: put the %s step under block:", kindKeys[0].Value)
	case s.IsBlock() && s.Use != "":
		d.Errorf(FieldNode(n, "use"), "a block cannot use: a module; put the use: step under block:")
	case s.IsBlock():
		checkBlock(d, s, n)
	case FieldNode(n, "rescue") != nil || FieldNode(n, "always") != nil:
		k := "rescue"
		if FieldNode(n, "rescue") == nil {
			k = "always"
		}
		d.Errorf(FieldNode(n, k), "%s: belongs to a block: write the steps it guards under block: beside it", k)
	case len(kindKeys) > 1:
		names := make([]string, len(kindKeys))
		for i, k := range kindKeys {
			names[i] = k.Value
		}
		d.Errorf(kindKeys[1], "a step has exactly one kind, this one has %d: %v", len(kindKeys), names)
	case len(kindKeys) == 1 && s.Use != "":
		d.Errorf(kindKeys[0], "a step with use: cannot also be a %s step", s.Kind)
	case len(kindKeys) == 0 && s.Use == "" && !unknown:
		d.Errorf(n, "step has no kind: add one of %v, or use: a module", KindNames())
	}
	if s.Use == "" && s.With != nil {
		d.Errorf(FieldNode(n, "with"), "with: is only for use: steps")
	}
}

// String is for debugging.
func (s *Step) String() string { return fmt.Sprintf("%s step %q", s.Kind, s.Name) }
