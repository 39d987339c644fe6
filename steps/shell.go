package steps

import (
	"context"

	"gopkg.in/yaml.v3"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/transport"
)

func init() { register[Shell]("shell") }

// Shell runs a script with /bin/sh -c on the host: `shell: CMD`, or
// `shell: {cmd: CMD, chdir: DIR}`.
type Shell struct {
	Cmd   string `yaml:"cmd" shell:"true" desc:"The script." required:"true"`
	Chdir string `yaml:"chdir" desc:"Directory to run it in."`
}

// DecodeYAML implements runbook.YAMLDecoder.
func (s *Shell) DecodeYAML(d *runbook.Decoder, n *yaml.Node) {
	if n.Kind == yaml.ScalarNode {
		s.Cmd, _ = d.Scalar(n, "a command")
		return
	}
	d.DecodeFields(n, s)
}

// JSONSchema implements runbook.SchemaProvider.
func (*Shell) JSONSchema(g *runbook.SchemaGen) map[string]any {
	return scalarOr(g, Shell{}, "The script, run by /bin/sh -c.")
}

// Validate implements runbook.StepSpec.
func (s *Shell) Validate(c *runbook.Check) {
	if s.Cmd == "" {
		c.Errorf("cmd", "shell: needs a command")
	}
}

// Describe implements Kind.
func (s *Shell) Describe() string { return "shell: " + s.script() }

func (s *Shell) script() string {
	if s.Chdir != "" {
		return "cd " + runbook.ShellQuote(s.Chdir) + " && " + s.Cmd
	}
	return s.Cmd
}

// Run implements Kind.
func (s *Shell) Run(ctx context.Context, x *Exec) Result {
	script := s.script()
	res, err := x.Run(ctx, transport.Command{Shell: script})
	if err != nil {
		return Broken(script, err)
	}
	return Exit(res.ExitCode, Changed, script)
}
