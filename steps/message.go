package steps

import (
	"context"
	"errors"

	"gopkg.in/yaml.v3"

	"github.com/runbookhq/runbook/runbook"
)

func init() {
	register[Log]("log")
	register[FailStep]("fail")
}

// Log writes a message to the run's output and the journal: `log: MSG`.
type Log struct{ Msg string }

// DecodeYAML implements runbook.YAMLDecoder.
func (l *Log) DecodeYAML(d *runbook.Decoder, n *yaml.Node) { l.Msg, _ = d.Scalar(n, "a message") }

// JSONSchema implements runbook.SchemaProvider.
func (*Log) JSONSchema(*runbook.SchemaGen) map[string]any {
	return map[string]any{"type": "string", "description": "Message to show and record."}
}

// Validate implements runbook.StepSpec.
func (l *Log) Validate(c *runbook.Check) {
	if l.Msg == "" {
		c.Errorf("", "log: needs a message")
	}
}

// Describe implements Kind.
func (l *Log) Describe() string { return "log: " + l.Msg }

// Run implements Kind.
func (l *Log) Run(_ context.Context, x *Exec) Result {
	if x.Logf != nil {
		x.Logf("%s", l.Msg)
	}
	return Result{Status: OK, Data: map[string]any{"message": l.Msg}}
}

// FailStep fails the host with a message: `fail: MSG` (usually with when:).
type FailStep struct{ Msg string }

// DecodeYAML implements runbook.YAMLDecoder.
func (f *FailStep) DecodeYAML(d *runbook.Decoder, n *yaml.Node) { f.Msg, _ = d.Scalar(n, "a message") }

// JSONSchema implements runbook.SchemaProvider.
func (*FailStep) JSONSchema(*runbook.SchemaGen) map[string]any {
	return map[string]any{"type": "string", "description": "Why the host fails."}
}

// Validate implements runbook.StepSpec.
func (f *FailStep) Validate(c *runbook.Check) {
	if f.Msg == "" {
		c.Errorf("", "fail: needs a message saying why")
	}
}

// Describe implements Kind.
func (f *FailStep) Describe() string { return "fail: " + f.Msg }

// Run implements Kind.
func (f *FailStep) Run(context.Context, *Exec) Result {
	return Result{Status: Failed, Err: errors.New(f.Msg)}
}
