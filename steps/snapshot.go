package steps

import (
	"context"
	"fmt"
	"strings"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/transport"
)

func init() { register[Snapshot]("snapshot") }

// maxSnapshot is the most output a snapshot keeps; more fails the step
// rather than compare a cut-off output later.
const maxSnapshot = 4 << 20

// Snapshot runs a command and records its output on this host as
// snapshots.NAME, with the command itself, which compare runs again:
// `snapshot: {name, shell}`. A command that exits non-zero records
// nothing and fails the step. It reports ok.
type Snapshot struct {
	Name  string `yaml:"name" desc:"Name of the snapshot: snapshots.NAME in expressions." required:"true"`
	Shell string `yaml:"shell" shell:"true" desc:"Command whose output is recorded." required:"true"`
}

// Validate implements runbook.StepSpec.
func (s *Snapshot) Validate(c *runbook.Check) {
	if s.Name == "" {
		c.Errorf("", "snapshot: needs name:")
	} else if !identifier(s.Name) {
		c.Errorf("name", "snapshot: name %q must be a letter or _ followed by letters, digits or _", s.Name)
	}
	if s.Shell == "" {
		c.Errorf("", "snapshot: needs shell: (the command whose output is recorded)")
	}
}

// Describe implements Kind.
func (s *Snapshot) Describe() string { return "snapshot: " + s.Name + " = " + s.Shell }

// Run implements Kind.
func (s *Snapshot) Run(ctx context.Context, x *Exec) Result {
	out, _, rc, over, err := x.capture(ctx, transport.Command{Shell: s.Shell}, maxSnapshot)
	if err != nil {
		return Broken(s.Shell, fmt.Errorf("snapshot %s: %w", s.Name, err))
	}
	r := Exit(rc, OK, s.Shell)
	r.Data = map[string]any{"snapshot": s.Name, "lines": strings.Count(out, "\n"), "sha256": sha256Hex([]byte(out))}
	switch {
	case r.Err != nil:
		r.Err = fmt.Errorf("snapshot %s: %w", s.Name, r.Err)
	case over:
		r.Status, r.Err = Failed, fmt.Errorf("snapshot %s: the output is longer than %d MiB", s.Name, maxSnapshot>>20)
	default:
		r.Snapshots = map[string]string{s.Name: out}
		r.SnapshotCommands = map[string]string{s.Name: s.Shell}
	}
	return r
}
