package steps

import (
	"context"
	"sort"

	"gopkg.in/yaml.v3"

	"github.com/runbookhq/runbook/runbook"
)

func init() { register[Set]("set") }

// Set defines names for later expressions on this host: `set: {name: expr}`.
// Each value is an expression (quote a literal string: 'text').
type Set struct {
	Values map[string]string `expr:"true"`
	order  []string
}

// DecodeYAML implements runbook.YAMLDecoder.
func (s *Set) DecodeYAML(d *runbook.Decoder, n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		d.Errorf(n, "set: takes a mapping of name: expression")
		return
	}
	s.Values = map[string]string{}
	for _, kv := range d.Pairs(n) {
		var v string
		d.Decode(kv.Value, &v)
		s.Values[kv.Key.Value] = v
		s.order = append(s.order, kv.Key.Value)
	}
}

// JSONSchema implements runbook.SchemaProvider.
func (*Set) JSONSchema(*runbook.SchemaGen) map[string]any {
	return map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"},
		"description": "Names and the expressions that give their values."}
}

// Validate implements runbook.StepSpec.
func (s *Set) Validate(c *runbook.Check) {
	if len(s.Values) == 0 {
		c.Errorf("", "set: needs at least one name")
	}
	for _, name := range s.names() {
		if !identifier(name) {
			c.Errorf(name, "set: name %q must be a letter or _ followed by letters, digits or _", name)
		}
		for _, b := range append(runbook.BuiltinNames, runbook.NameResult) {
			if name == b {
				c.Errorf(name, "set: name %q is reserved", name)
			}
		}
	}
}

// Defines implements runbook.Definer.
func (s *Set) Defines() []string { return s.names() }

func (s *Set) names() []string {
	if len(s.order) == len(s.Values) {
		return s.order
	}
	names := make([]string, 0, len(s.Values))
	for k := range s.Values {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Describe implements Kind.
func (s *Set) Describe() string {
	out := "set:"
	for _, n := range s.names() {
		out += " " + n + " = " + s.Values[n] + ";"
	}
	return out[:len(out)-1]
}

// Run implements Kind.
func (s *Set) Run(_ context.Context, x *Exec) Result {
	set := map[string]any{}
	for _, n := range s.names() {
		v, err := x.Eval(s.Values[n])
		if err != nil {
			return Fail("", "set %s: %v", n, err)
		}
		set[n] = v
	}
	return Result{Status: OK, Set: set, Data: map[string]any{"set": set}}
}

func identifier(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || (i > 0 && r >= '0' && r <= '9') {
			continue
		}
		return false
	}
	return true
}
