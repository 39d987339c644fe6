package steps

import (
	"context"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/runbookhq/runbook/runbook"
)

func init() { register[Pause]("pause") }

// Pause is an approval gate (`pause: {prompt: "..."}`) or a wait
// (`pause: {duration: 30s}`, or `pause: 30s`).
type Pause struct {
	Prompt   string           `yaml:"prompt" desc:"Question an operator must approve."`
	Duration runbook.Duration `yaml:"duration" desc:"How long to wait."`
}

// DecodeYAML implements runbook.YAMLDecoder.
func (p *Pause) DecodeYAML(d *runbook.Decoder, n *yaml.Node) {
	if n.Kind == yaml.ScalarNode {
		s, _ := d.Scalar(n, "a duration or a prompt")
		if dur, err := time.ParseDuration(s); err == nil {
			p.Duration = runbook.Duration(dur)
		} else {
			p.Prompt = s
		}
		return
	}
	d.DecodeFields(n, p)
}

// JSONSchema implements runbook.SchemaProvider.
func (*Pause) JSONSchema(g *runbook.SchemaGen) map[string]any {
	return scalarOr(g, Pause{}, "A duration (30s) or a question to approve.")
}

// Validate implements runbook.StepSpec.
func (p *Pause) Validate(c *runbook.Check) {
	if (p.Prompt == "") == (p.Duration == 0) {
		c.Errorf("", "pause: give either prompt: or duration:")
	}
}

// Describe implements Kind.
func (p *Pause) Describe() string {
	if p.Prompt != "" {
		return fmt.Sprintf("pause: ask %q", p.Prompt)
	}
	return "pause: wait " + p.Duration.String()
}

// Run implements Kind.
func (p *Pause) Run(ctx context.Context, x *Exec) Result {
	if p.Prompt != "" {
		ok, err := x.Approve(ctx, p.Prompt)
		if err != nil {
			return Fail("", "pause: %v", err)
		}
		if !ok {
			return Fail("", "pause: not approved: %s", p.Prompt)
		}
		return Result{Status: OK, Data: map[string]any{"approved": true}}
	}
	t := time.NewTimer(p.Duration.D())
	defer t.Stop()
	select {
	case <-t.C:
		return Result{Status: OK}
	case <-ctx.Done():
		return Fail("", "pause: %v", ctx.Err())
	}
}
