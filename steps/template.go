package steps

import (
	"context"
	"fmt"
	"os"

	"gopkg.in/yaml.v3"

	"github.com/runbookhq/runbook/runbook"
)

func init() { register[Template]("template") }

// Template renders a file with the runbook's {{ }} expressions in the
// host's environment, then puts it on the host as copy does:
// `template: {src or content, dest, mode, owner, group}`. The body (the src
// file or content:) is rendered by the step when it runs, never before, so
// a value may come from an earlier step of the same host.
type Template struct {
	Src     string   `yaml:"src" desc:"Local template file, relative to the runbook (or module) file."`
	Content *RawText `yaml:"content" desc:"The template itself, instead of src."`
	Dest    string   `yaml:"dest" desc:"Path of the file on the host." required:"true"`
	Mode    string   `yaml:"mode" desc:"Permissions in octal, like \"0644\"."`
	Owner   string   `yaml:"owner" desc:"Owner: a user name or uid."`
	Group   string   `yaml:"group" desc:"Group: a group name or gid."`
}

// RawText is text the engine leaves as written: a template body, which
// its step renders itself when it runs.
type RawText struct {
	Text string `yaml:"-"`
}

// DecodeYAML implements runbook.YAMLDecoder.
func (r *RawText) DecodeYAML(d *runbook.Decoder, n *yaml.Node) {
	r.Text, _ = d.Scalar(n, "text")
}

// JSONSchema implements runbook.SchemaProvider.
func (*RawText) JSONSchema(*runbook.SchemaGen) map[string]any {
	return map[string]any{"type": "string"}
}

// Validate implements runbook.StepSpec.
func (t *Template) Validate(c *runbook.Check) {
	validateFileSpec(c, "template", t.Src, t.Content != nil, t.Dest, fileAttrs{t.Mode, t.Owner, t.Group})
	if t.Content != nil {
		if err := checkTemplate(t.Content.Text); err != nil {
			c.Errorf("content", "template: %v", err)
		}
	}
}

// checkTemplate parses s and compiles every expression in it.
func checkTemplate(s string) error {
	parts, err := runbook.ParseTemplate(s)
	if err != nil {
		return err
	}
	for _, p := range parts {
		if p.Expr == "" {
			continue
		}
		if _, err := runbook.CompileExpr(p.Expr); err != nil {
			return err
		}
	}
	return nil
}

// Describe implements Kind.
func (t *Template) Describe() string {
	src := t.Src
	if t.Content != nil {
		src = fmt.Sprintf("content (%d bytes)", len(t.Content.Text))
	}
	return "template: " + src + " -> " + t.Dest + fileAttrs{t.Mode, t.Owner, t.Group}.describe()
}

// Run implements Kind.
func (t *Template) Run(ctx context.Context, x *Exec) Result { return t.put(ctx, x, false) }

// Predict implements Predictor: the template is rendered and compared
// with the host's file, and nothing is written.
func (t *Template) Predict(ctx context.Context, x *Exec) Result { return t.put(ctx, x, true) }

func (t *Template) put(ctx context.Context, x *Exec, check bool) Result {
	body, name := "", "content"
	if t.Content != nil {
		body = t.Content.Text
	} else {
		name = t.Src
		b, err := os.ReadFile(localPath(x, t.Src))
		if err != nil {
			return Fail("", "template: reading src: %v", err)
		}
		body = string(b)
	}
	if x.Render == nil {
		return Fail("", "template: no renderer for %s", name)
	}
	text, err := x.Render(body)
	if err != nil {
		return Fail("", "template: rendering %s: %v", name, err)
	}
	return putFileWith(ctx, x, "template", []byte(text), t.Dest, fileAttrs{t.Mode, t.Owner, t.Group}, writeOpts{check: check})
}
