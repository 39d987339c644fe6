package steps

import (
	"context"
	"fmt"
	"strings"

	"github.com/aymanbagabas/go-udiff"
	"gopkg.in/yaml.v3"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/transport"
)

func init() { register[Compare]("compare") }

// maxDiffLines bounds the diff a failed compare shows in its message (the
// data keeps up to 64 KiB of it).
const maxDiffLines = 60

// Compare runs a snapshot's command again and compares the output with the
// snapshot taken earlier on this host: `compare: NAME` or `compare:
// {snapshot, expect: unchanged|changed, shell}`. When the expectation does
// not hold it fails, with a unified diff of the two outputs for unchanged.
// shell: runs another command instead of the snapshot's. It reports ok.
type Compare struct {
	Snapshot string `yaml:"snapshot" desc:"Name of the snapshot to compare with." required:"true"`
	Expect   string `yaml:"expect" desc:"unchanged (default) or changed." enum:"unchanged,changed"`
	Shell    string `yaml:"shell" shell:"true" desc:"Command to run instead of the snapshot's own."`
}

// DecodeYAML implements runbook.YAMLDecoder.
func (c *Compare) DecodeYAML(d *runbook.Decoder, n *yaml.Node) {
	if n.Kind == yaml.ScalarNode {
		c.Snapshot, _ = d.Scalar(n, "a snapshot name")
		return
	}
	d.DecodeFields(n, c)
}

// JSONSchema implements runbook.SchemaProvider.
func (*Compare) JSONSchema(g *runbook.SchemaGen) map[string]any {
	return scalarOr(g, Compare{}, "Name of the snapshot that must be unchanged.")
}

// Validate implements runbook.StepSpec.
func (c *Compare) Validate(ch *runbook.Check) {
	if c.Snapshot == "" {
		ch.Errorf("", "compare: needs the name of a snapshot")
	} else if !identifier(c.Snapshot) {
		ch.Errorf("snapshot", "compare: snapshot name %q must be a letter or _ followed by letters, digits or _", c.Snapshot)
	}
	switch c.Expect {
	case "", "unchanged", "changed":
	default:
		ch.Errorf("expect", "compare: expect %q: use unchanged or changed", c.Expect)
	}
}

func (c *Compare) expect() string {
	if c.Expect == "" {
		return "unchanged"
	}
	return c.Expect
}

// Describe implements Kind.
func (c *Compare) Describe() string {
	s := "compare: snapshot " + c.Snapshot + " " + c.expect()
	if c.Shell != "" {
		s += " (with " + c.Shell + ")"
	}
	return s
}

// Run implements Kind.
func (c *Compare) Run(ctx context.Context, x *Exec) Result {
	if x.Snapshot == nil {
		return Fail("", "compare: no snapshots are known to this run")
	}
	before, ok := x.Snapshot(c.Snapshot)
	if !ok {
		return Fail("", "compare: no snapshot %q was taken on %s", c.Snapshot, x.Host)
	}
	cmd := c.Shell
	if cmd == "" && x.SnapshotCommand != nil {
		cmd, _ = x.SnapshotCommand(c.Snapshot)
	}
	if cmd == "" {
		return Fail("", "compare: the command of snapshot %q is not known; give shell:", c.Snapshot)
	}
	after, _, rc, over, err := x.capture(ctx, transport.Command{Shell: cmd}, maxSnapshot)
	if err != nil {
		return Broken(cmd, fmt.Errorf("compare %s: %w", c.Snapshot, err))
	}
	r := Exit(rc, OK, cmd)
	changed := after != before
	r.Data = map[string]any{"snapshot": c.Snapshot, "expect": c.expect(), "changed": changed}
	switch {
	case r.Err != nil:
		r.Err = fmt.Errorf("compare %s: %w", c.Snapshot, r.Err)
	case over:
		r.Status, r.Err = Failed, fmt.Errorf("compare %s: the output is longer than %d MiB", c.Snapshot, maxSnapshot>>20)
	case changed && c.expect() == "unchanged":
		d := udiff.Unified("snapshot "+c.Snapshot, "now", before, after)
		r.Data["diff"] = capText(d, 64<<10)
		r.Status, r.Err = Failed, fmt.Errorf("compare %s: the output changed: %s\n%s", c.Snapshot, changedSummary(before, after), headLines(d, maxDiffLines))
	case !changed && c.expect() == "changed":
		r.Status, r.Err = Failed, fmt.Errorf("compare %s: the output did not change (%d lines)", c.Snapshot, strings.Count(after, "\n"))
	}
	return r
}

// maxSummaryKeys bounds the keys changedSummary names.
const maxSummaryKeys = 5

// changedSummary names, on one line, what changed between two outputs: the
// first word of each line that is only in one of them (for a snapshot of
// "NAME VALUE..." lines, the names), so that a report showing only the
// first line of the error still says what changed.
func changedSummary(before, after string) string {
	count := map[string]int{}
	for _, l := range strings.Split(before, "\n") {
		count[l]++
	}
	for _, l := range strings.Split(after, "\n") {
		count[l]--
	}
	var keys []string
	seen := map[string]bool{}
	add := func(text string, sign int) {
		for _, l := range strings.Split(text, "\n") {
			if count[l]*sign <= 0 {
				continue
			}
			count[l] -= sign
			f := strings.Fields(l)
			if len(f) == 0 || seen[f[0]] {
				continue
			}
			seen[f[0]] = true
			keys = append(keys, f[0])
		}
	}
	add(before, 1)
	add(after, -1)
	switch {
	case len(keys) == 0:
		return "whitespace only"
	case len(keys) > maxSummaryKeys:
		return strings.Join(keys[:maxSummaryKeys], ", ") + fmt.Sprintf(" and %d more", len(keys)-maxSummaryKeys)
	}
	return strings.Join(keys, ", ")
}

// headLines keeps the first n lines of s, saying how many it left out.
func headLines(s string, n int) string {
	lines := strings.SplitAfter(strings.TrimSuffix(s, "\n"), "\n")
	if len(lines) <= n {
		return strings.TrimSuffix(s, "\n")
	}
	return strings.Join(lines[:n], "") + fmt.Sprintf("... (%d more lines)", len(lines)-n)
}

// capText keeps the first max bytes of s.
func capText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return s[:max] + "\n... (cut)"
}
