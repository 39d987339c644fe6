package steps

import (
	"context"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/transport"
)

func init() { register[Command]("command") }

// Command runs a program without a shell: `command: [argv...]`; each
// argument arrives as written, whatever it contains.
type Command struct {
	Argv []string
}

// DecodeYAML implements runbook.YAMLDecoder.
func (c *Command) DecodeYAML(d *runbook.Decoder, n *yaml.Node) {
	if n.Kind != yaml.SequenceNode {
		d.Errorf(n, "command: takes a list of arguments, like [systemctl, is-active, crio]; use shell: for a command line")
		return
	}
	d.Decode(n, &c.Argv)
}

// JSONSchema implements runbook.SchemaProvider.
func (*Command) JSONSchema(*runbook.SchemaGen) map[string]any {
	return map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "minItems": 1,
		"description": "Program and arguments, run without a shell."}
}

// Validate implements runbook.StepSpec.
func (c *Command) Validate(ch *runbook.Check) {
	if len(c.Argv) == 0 || c.Argv[0] == "" {
		ch.Errorf("", "command: needs at least the program")
	}
}

// Describe implements Kind.
func (c *Command) Describe() string { return "command: " + c.line() }

func (c *Command) line() string {
	q := make([]string, len(c.Argv))
	for i, a := range c.Argv {
		q[i] = runbook.ShellQuote(a)
	}
	return strings.Join(q, " ")
}

// Run implements Kind.
func (c *Command) Run(ctx context.Context, x *Exec) Result {
	res, err := x.Run(ctx, transport.Command{Argv: c.Argv})
	if err != nil {
		return Broken(c.line(), err)
	}
	return Exit(res.ExitCode, Changed, c.line())
}
