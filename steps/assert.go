package steps

import (
	"context"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/runbookhq/runbook/runbook"
)

func init() { register[Assert]("assert") }

// Assert fails the host unless every expression holds:
// `assert: {that: [expr, ...], fail_msg: text}` (`that:` may be one string).
type Assert struct {
	That    Exprs  `yaml:"that" expr:"true" desc:"Expressions that must all be true." required:"true"`
	FailMsg string `yaml:"fail_msg" desc:"Message when one is false."`
}

// Exprs is one expression or a list of them.
type Exprs []string

// DecodeYAML implements runbook.YAMLDecoder.
func (e *Exprs) DecodeYAML(d *runbook.Decoder, n *yaml.Node) {
	if n.Kind == yaml.ScalarNode {
		s, _ := d.Scalar(n, "an expression")
		*e = Exprs{s}
		return
	}
	var list []string
	d.Decode(n, &list)
	*e = list
}

// JSONSchema implements runbook.SchemaProvider.
func (*Exprs) JSONSchema(*runbook.SchemaGen) map[string]any {
	return map[string]any{"oneOf": []any{map[string]any{"type": "string"},
		map[string]any{"type": "array", "items": map[string]any{"type": "string"}}}}
}

// Validate implements runbook.StepSpec.
func (a *Assert) Validate(c *runbook.Check) {
	if len(a.That) == 0 {
		c.Errorf("that", "assert: needs that: with at least one expression")
	}
}

// Describe implements Kind.
func (a *Assert) Describe() string { return "assert: " + strings.Join(a.That, " && ") }

// Run implements Kind.
func (a *Assert) Run(_ context.Context, x *Exec) Result {
	for _, src := range a.That {
		v, err := x.Eval(src)
		if err != nil {
			return Fail("", "assert: %v", err)
		}
		if b, ok := v.(bool); !ok || !b {
			msg := a.FailMsg
			if msg == "" {
				msg = fmt.Sprintf("assertion failed: %s (got %s)", src, runbook.Stringify(v))
			}
			return Result{Status: Failed, Err: fmt.Errorf("%s", msg), Data: map[string]any{"failed_assertion": src}}
		}
	}
	return Result{Status: OK}
}
