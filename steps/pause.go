package steps

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/runbookhq/runbook/runbook"
)

func init() { register[Pause]("pause") }

// Pause is an approval gate (`pause: {prompt: "..."}`) or a wait
// (`pause: {duration: 30s}`, or `pause: 30s`). A bare string is always a
// duration, templates included (`pause: "{{ params.wait }}s"`): only the
// prompt: form asks.
type Pause struct {
	Prompt   string `yaml:"prompt" desc:"Question an operator must approve."`
	Duration string `yaml:"duration" desc:"How long to wait, like 30s (may be a {{ }} template)."`
}

// DecodeYAML implements runbook.YAMLDecoder.
func (p *Pause) DecodeYAML(d *runbook.Decoder, n *yaml.Node) {
	if n.Kind == yaml.ScalarNode {
		p.Duration, _ = d.Scalar(n, "a duration, or {prompt: ...} to ask")
		return
	}
	d.DecodeFields(n, p)
}

// JSONSchema implements runbook.SchemaProvider.
func (*Pause) JSONSchema(g *runbook.SchemaGen) map[string]any {
	return scalarOr(g, Pause{}, "A duration (30s); {prompt: ...} asks for approval.")
}

// Validate implements runbook.StepSpec.
func (p *Pause) Validate(c *runbook.Check) {
	if (p.Prompt == "") == (p.Duration == "") {
		c.Errorf("", "pause: give either prompt: (to ask) or a duration (to wait)")
		return
	}
	if _, err := p.wait(); p.Duration != "" && !runbook.HasTemplate(p.Duration) && err != nil {
		c.Errorf("duration", "pause: %v (to ask for approval, write pause: {prompt: ...})", err)
	}
}

// wait is the duration, once any template in it is rendered.
func (p *Pause) wait() (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(p.Duration))
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration like 30s, 10m or 1h30m", p.Duration)
	}
	return d, nil
}

// Describe implements Kind.
func (p *Pause) Describe() string {
	if p.Prompt != "" {
		return fmt.Sprintf("pause: ask %q", p.Prompt)
	}
	return "pause: wait " + p.Duration
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
	d, err := p.wait()
	if err != nil {
		return Fail("", "pause: %v", err)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return Result{Status: OK}
	case <-ctx.Done():
		return Fail("", "pause: %v", ctx.Err())
	}
}
