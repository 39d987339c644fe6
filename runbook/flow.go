package runbook

import (
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/runbookhq/runbook/runbook/diag"
)

// Phase orders (SPEC §4a).
const (
	OrderInventory = "inventory"
	OrderReverse   = "reverse"
	OrderSorted    = "sorted"
	OrderShuffle   = "shuffle"
)

// Orders lists the static orders a phase may take.
var Orders = []string{OrderInventory, OrderReverse, OrderSorted, OrderShuffle}

// Names a looped step sees besides the runbook's.
const (
	DefaultLoopVar = "item"
	NameLoopIndex  = "loop_index"
)

// Handler is a step list that steps notify (notify:) and that runs once per
// host after the step list that notified it.
type Handler struct {
	Name  string
	Steps []*Step
	Node  *yaml.Node
}

// HandlerList keeps handlers in the order they were written: the order they
// run in.
type HandlerList []*Handler

// DecodeYAML implements YAMLDecoder.
func (x *HandlerList) DecodeYAML(d *Decoder, n *yaml.Node) {
	if IsNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.Errorf(n, "handlers: expected a mapping of handler name to steps, got %s", describe(n))
		return
	}
	for _, kv := range d.Pairs(n) {
		h := &Handler{Name: kv.Key.Value, Node: kv.Key}
		d.decode(kv.Value, valueOf(&h.Steps))
		*x = append(*x, h)
	}
}

// JSONSchema implements SchemaProvider.
func (*HandlerList) JSONSchema(g *SchemaGen) map[string]any {
	return map[string]any{"type": "object", "description": "Handlers by name: step lists that notify: queues; each runs once per host, in this order, after the step list that queued it.",
		"additionalProperties": g.Of(reflect.TypeFor[[]*Step]())}
}

// Get returns the handler called name, or nil.
func (x HandlerList) Get(name string) *Handler {
	for _, h := range x {
		if h.Name == name {
			return h
		}
	}
	return nil
}

// Index is the position of handler name, -1 when there is none.
func (x HandlerList) Index(name string) int {
	for i, h := range x {
		if h.Name == name {
			return i
		}
	}
	return -1
}

// StringList is one string or a list of them.
type StringList []string

// DecodeYAML implements YAMLDecoder.
func (x *StringList) DecodeYAML(d *Decoder, n *yaml.Node) {
	if n.Kind == yaml.SequenceNode {
		var out []string
		d.decode(n, valueOf(&out))
		*x = out
		return
	}
	if s, ok := d.scalar(n, "a name or a list of names"); ok && s != "" {
		*x = StringList{s}
	}
}

// JSONSchema implements SchemaProvider.
func (*StringList) JSONSchema(*SchemaGen) map[string]any {
	return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "array", "items": map[string]any{"type": "string"}}}}
}

// Loop is a step's loop: a list written in the runbook (its strings are
// templates, rendered per host) or an expression giving one.
type Loop struct {
	Items []any
	Expr  string
	Node  *yaml.Node
}

// DecodeYAML implements YAMLDecoder.
func (x *Loop) DecodeYAML(d *Decoder, n *yaml.Node) {
	x.Node = n
	switch n.Kind {
	case yaml.SequenceNode:
		v, err := DecodeValue(n)
		if err != nil {
			d.Errorf(n, "%s", cleanYAMLError(err))
			return
		}
		x.Items, _ = v.([]any)
		if x.Items == nil {
			x.Items = []any{}
		}
	case yaml.ScalarNode:
		s := strings.TrimSpace(n.Value)
		if inner, ok := wholeTemplate(s); ok {
			s = inner
		}
		if s == "" || n.Tag == "!!null" {
			d.Errorf(n, "loop: give a list, or an expression that gives one (like params.packages)")
			return
		}
		x.Expr = s
	default:
		d.Errorf(n, "loop: expected a list or an expression, got %s", describe(n))
	}
}

// JSONSchema implements SchemaProvider.
func (*Loop) JSONSchema(*SchemaGen) map[string]any {
	return map[string]any{"description": "A list to run the step once per item of, or an expression giving one.",
		"oneOf": []any{map[string]any{"type": "array"}, map[string]any{"type": "string"}}}
}

// wholeTemplate returns the expression of a string that is one {{ }} and
// nothing else.
func wholeTemplate(s string) (string, bool) {
	if !strings.HasPrefix(s, "{{") || !strings.HasSuffix(s, "}}") {
		return "", false
	}
	parts, err := ParseTemplate(s)
	if err != nil || len(parts) != 1 || parts[0].Expr == "" {
		return "", false
	}
	return parts[0].Expr, true
}

// IsBlock reports whether the step is a block (block:, rescue:, always:)
// rather than a step of a kind.
func (s *Step) IsBlock() bool { return s.Block != nil }

// LoopVarName is the name the loop's item goes by.
func (s *Step) LoopVarName() string {
	if s.LoopVar != "" {
		return s.LoopVar
	}
	return DefaultLoopVar
}

// blockKeys are the common step keys a block takes; the others apply to one
// step only.
var blockKeys = map[string]bool{"name": true, "when": true, "become": true, "become_user": true, "block": true, "rescue": true, "always": true}

// checkBlock reports the keys of a block step that do not apply to a block.
func checkBlock(d *Decoder, s *Step, n *yaml.Node) {
	for _, kv := range d.Pairs(n) {
		if !blockKeys[kv.Key.Value] && NewSpec(kv.Key.Value) == nil && FieldNode(n, kv.Key.Value) != nil {
			if _, common := commonStepKeySet[kv.Key.Value]; common {
				d.Errorf(kv.Key, "%s does not apply to a block (a block takes name, when, become, become_user, block, rescue and always)", kv.Key.Value)
			}
		}
	}
	if len(s.Block) == 0 {
		d.Errorf(FieldNode(n, "block"), "block: is empty; give it the steps to run")
	}
}

var commonStepKeySet = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range commonStepKeys {
		m[k] = true
	}
	return m
}()

// Children are the step lists inside a block step: block, rescue, always.
func (s *Step) Children() [][]*Step {
	if !s.IsBlock() {
		return nil
	}
	return [][]*Step{s.Block, s.Rescue, s.Always}
}

// walkSteps calls fn for each step of list and, inside blocks, of their
// lists, depth first.
func walkSteps(list []*Step, fn func(*Step)) {
	for _, s := range list {
		if s == nil {
			continue
		}
		fn(s)
		for _, l := range s.Children() {
			walkSteps(l, fn)
		}
	}
}

// stepNameSuggest is the "did you mean" of an unknown notify target.
func stepNameSuggest(name string, handlers HandlerList) string {
	names := make([]string, len(handlers))
	for i, h := range handlers {
		names[i] = h.Name
	}
	return diag.Suggest(name, names)
}
