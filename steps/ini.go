package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/steps/internal/iniedit"
)

func init() { register[INI]("ini") }

// INI sets or removes one option of an INI file on the host, as Ansible's
// ini_file does: `ini: {path, section, option, value, state,
// no_extra_spaces, create, mode, owner, group}`. The option's line is
// rewritten in place (a later duplicate of it goes), a new option goes
// after the last option of its section, a new section at the end; every
// other line stays as it was (steps/internal/iniedit). Without section,
// the option is one of those before the first section. state: absent
// removes the option, or without option the whole section; state: present
// without option makes sure the section exists. A file that does not
// parse fails the step with its line and is left untouched.
type INI struct {
	Path          string  `yaml:"path" desc:"The INI file on the host." required:"true"`
	Section       string  `yaml:"section" desc:"Section name; omitted for the options before the first section."`
	Option        string  `yaml:"option" desc:"Option name; without it, state: absent removes the section."`
	Value         *string `yaml:"value" desc:"The option's value (state: present)."`
	State         string  `yaml:"state" desc:"present (default) or absent." enum:"present,absent"`
	NoExtraSpaces bool    `yaml:"no_extra_spaces" desc:"Write option=value rather than option = value."`
	Create        bool    `yaml:"create" desc:"Make the file when it is missing (default false: a missing file fails the step)."`
	Mode          string  `yaml:"mode" desc:"Permissions in octal, like \"0644\" (default: kept; 0644 for a new file)."`
	Owner         string  `yaml:"owner" desc:"Owner: a user name or uid."`
	Group         string  `yaml:"group" desc:"Group: a group name or gid."`
}

// Validate implements runbook.StepSpec.
func (n *INI) Validate(c *runbook.Check) {
	validateEditPath(c, "ini", n.Path, fileAttrs{n.Mode, n.Owner, n.Group})
	switch n.State {
	case "", "present":
		if n.Option != "" && n.Value == nil {
			c.Errorf("", "ini: needs value: for option %s (state: absent removes it)", n.Option)
		}
		if n.Option == "" && n.Section == "" {
			c.Errorf("", "ini: needs option: and value:, or section:")
		}
	case "absent":
		if n.Value != nil {
			c.Errorf("value", "ini: state: absent takes no value")
		}
		if n.Option == "" && n.Section == "" {
			c.Errorf("", "ini: state: absent needs option: or section: (what to remove)")
		}
	default:
		c.Errorf("state", "ini: state %q: use present or absent", n.State)
	}
	if n.Value != nil && n.Option == "" {
		c.Errorf("value", "ini: value: goes with option:")
	}
	for _, f := range []struct{ name, v string }{{"section", n.Section}, {"option", n.Option}} {
		if !runbook.HasTemplate(f.v) {
			if err := checkININame(f.name, f.v); err != nil {
				c.Errorf(f.name, "ini: %v", err)
			}
		}
	}
	if n.Value != nil && strings.ContainsAny(*n.Value, "\r\n") {
		c.Errorf("value", "ini: value: one line only")
	}
}

// checkININame reports a section or option name that would not read back
// as itself.
func checkININame(what, s string) error {
	switch {
	case s == "":
		return nil
	case s != strings.TrimSpace(s):
		return fmt.Errorf("%s %q: no blanks around the name", what, s)
	case strings.ContainsAny(s, "\r\n[]"), what == "option" && strings.ContainsAny(s, "=:"), s[0] == '#', s[0] == ';':
		return fmt.Errorf("%s %q: a name holds no newline, brackets, '=' or ':', and does not start with '#' or ';'", what, s)
	}
	return nil
}

// Describe implements Kind.
func (n *INI) Describe() string {
	where := n.Path
	if n.Section != "" {
		where += " [" + n.Section + "]"
	}
	switch {
	case n.State == "absent" && n.Option == "":
		return "ini: remove " + where
	case n.State == "absent":
		return "ini: " + where + " remove " + n.Option
	case n.Option == "":
		return "ini: " + where + " exists"
	}
	return "ini: " + where + " " + n.Option + " = " + *n.Value + fileAttrs{n.Mode, n.Owner, n.Group}.describe()
}

// Run implements Kind.
func (n *INI) Run(ctx context.Context, x *Exec) Result { return n.fileEdit().apply(ctx, x, false) }

// Predict implements Predictor.
func (n *INI) Predict(ctx context.Context, x *Exec) Result { return n.fileEdit().apply(ctx, x, true) }

func (n *INI) fileEdit() fileEdit {
	return fileEdit{kind: "ini", path: n.Path, create: n.Create, attrs: fileAttrs{n.Mode, n.Owner, n.Group}, edit: n.edit}
}

func (n *INI) edit(old []byte, _ bool) ([]byte, error) {
	for _, f := range []struct{ name, v string }{{"section", n.Section}, {"option", n.Option}} {
		if err := checkININame(f.name, f.v); err != nil {
			return nil, err
		}
	}
	doc, err := iniedit.Parse(old)
	var perr *iniedit.ParseError
	if errors.As(err, &perr) {
		return nil, fmt.Errorf("%s:%d: %s (the file is left as it was)", n.Path, perr.Line, perr.Msg)
	}
	if err != nil {
		return nil, err
	}
	switch {
	case n.State == "absent" && n.Option == "":
		doc.RemoveSection(n.Section)
	case n.State == "absent":
		doc.Unset(n.Section, n.Option)
	case n.Option == "":
		doc.AddSection(n.Section)
	default:
		if n.Value == nil || strings.ContainsAny(*n.Value, "\r\n") {
			return nil, fmt.Errorf("value: one line needed for option %s", n.Option)
		}
		doc.Set(n.Section, n.Option, strings.TrimSpace(*n.Value), n.NoExtraSpaces)
	}
	return doc.Bytes(), nil
}
