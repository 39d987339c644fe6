package steps

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/transport"
)

func init() { register[Script]("script") }

// Script uploads a local script to a private temporary directory on the
// host, runs it and removes the directory, whatever happened:
// `script: PATH`, or `script: {src: PATH, args: [...]}`. The interpreter
// named by the script's #! line runs it (/bin/sh when it has none), with
// the script's path as its argument, so a temporary directory mounted
// noexec does not stop it. Like shell, it reports changed.
type Script struct {
	Src  string   `yaml:"src" desc:"Local script, relative to the runbook (or module) file." required:"true"`
	Args []string `yaml:"args" desc:"Arguments, each passed as written."`
}

// DecodeYAML implements runbook.YAMLDecoder.
func (s *Script) DecodeYAML(d *runbook.Decoder, n *yaml.Node) {
	if n.Kind == yaml.ScalarNode {
		s.Src, _ = d.Scalar(n, "a script path")
		return
	}
	d.DecodeFields(n, s)
}

// JSONSchema implements runbook.SchemaProvider.
func (*Script) JSONSchema(g *runbook.SchemaGen) map[string]any {
	return scalarOr(g, Script{}, "Local script to upload and run.")
}

// Validate implements runbook.StepSpec.
func (s *Script) Validate(c *runbook.Check) {
	if s.Src == "" {
		c.Errorf("src", "script: needs the path of a local script")
	}
}

// Describe implements Kind.
func (s *Script) Describe() string {
	line := "script: " + s.Src
	for _, a := range s.Args {
		line += " " + runbook.ShellQuote(a)
	}
	return line
}

// Run implements Kind.
func (s *Script) Run(ctx context.Context, x *Exec) Result {
	body, err := os.ReadFile(localPath(x, s.Src))
	if err != nil {
		return Fail("", "script: %v", err)
	}
	st, err := stage(ctx, x, filepath.Base(s.Src), bytes.NewReader(body), 0o700)
	if err != nil {
		return Broken("", fmt.Errorf("script: %w", err))
	}
	defer st.remove(ctx)
	argv := append(interpreter(body), st.path)
	argv = append(argv, s.Args...)
	line := argvLine(argv)
	res, err := x.Run(ctx, transport.Command{Argv: argv})
	if err != nil {
		return Broken(line, err)
	}
	r := Exit(res.ExitCode, Changed, line)
	r.Data = map[string]any{"script": s.Src, "sha256": sha256Hex(body)}
	return r
}

// interpreter returns the program and argument of a script's #! line, or
// /bin/sh when it has none (Linux passes everything after the program as
// one argument, and so does this).
func interpreter(body []byte) []string {
	first, _, _ := bytes.Cut(body, []byte("\n"))
	line, ok := strings.CutPrefix(strings.TrimRight(string(first), "\r"), "#!")
	if !ok {
		return []string{"/bin/sh"}
	}
	line = strings.TrimSpace(line)
	prog, arg := line, ""
	if i := strings.IndexAny(line, " \t"); i >= 0 {
		prog, arg = line[:i], line[i+1:]
	}
	if prog == "" {
		return []string{"/bin/sh"}
	}
	if arg = strings.TrimSpace(arg); arg != "" {
		return []string{prog, arg}
	}
	return []string{prog}
}

// argvLine shows argv as one shell line, for the journal.
func argvLine(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = quote(a)
	}
	return strings.Join(q, " ")
}
