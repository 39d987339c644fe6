package steps

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/steps/internal/tomledit"
)

func init() { register[TOML]("toml") }

// TOML edits a TOML file on the host (CRI-O's and containerd's
// configuration): `toml: {path, set: {KEY: VALUE}, unset: [KEY], create,
// mode, owner, group}`. Keys are dotted as TOML writes them,
// `crio.runtime.default_runtime` or `crio.runtime.runtimes."my.rt".path`.
// The file's other keys, tables, comments and layout stay as they were
// (steps/internal/tomledit); a file that does not parse fails the step
// with its line and column and is left untouched. The file is written in
// one rename, and only when a value changed. unset goes first, then set
// in key order. A value that comes from {{ }} is a string: write numbers
// and booleans as YAML values.
type TOML struct {
	Path   string         `yaml:"path" desc:"The TOML file on the host." required:"true"`
	Set    map[string]any `yaml:"set" desc:"Keys to set (dotted, e.g. crio.runtime.default_runtime) and their values; a mapping value sets each of its keys."`
	Unset  []string       `yaml:"unset" desc:"Keys, or whole tables, to remove."`
	Create bool           `yaml:"create" desc:"Make the file when it is missing (default false: a missing file fails the step)."`
	Mode   string         `yaml:"mode" desc:"Permissions in octal, like \"0644\" (default: kept; 0644 for a new file)."`
	Owner  string         `yaml:"owner" desc:"Owner: a user name or uid."`
	Group  string         `yaml:"group" desc:"Group: a group name or gid."`
}

// Validate implements runbook.StepSpec.
func (t *TOML) Validate(c *runbook.Check) {
	validateEditPath(c, "toml", t.Path, fileAttrs{t.Mode, t.Owner, t.Group})
	if len(t.Set) == 0 && len(t.Unset) == 0 {
		c.Errorf("", "toml: give set: (keys and values) or unset: (keys)")
	}
	for _, k := range t.sortedSet() {
		if _, err := tomledit.ParseKey(k); err != nil {
			c.Errorf("set", "toml: set: %v", err)
		}
		if t.Set[k] == nil {
			c.Errorf("set", "toml: set: %s has no value (unset: removes a key)", k)
		}
	}
	for _, k := range t.Unset {
		if runbook.HasTemplate(k) {
			continue
		}
		if _, err := tomledit.ParseKey(k); err != nil {
			c.Errorf("unset", "toml: unset: %v", err)
		}
		if _, both := t.Set[k]; both {
			c.Errorf("unset", "toml: %s is both set and unset", k)
		}
	}
}

// validateEditPath checks the path and attributes of a kind that edits a
// file, at load time (values holding {{ }} are checked once rendered).
func validateEditPath(c *runbook.Check, kind, p string, a fileAttrs) {
	if p == "" {
		c.Errorf("", "%s: needs path: (the file on the host)", kind)
	} else if !runbook.HasTemplate(p) {
		if err := checkDest(p); err != nil {
			c.Errorf("path", "%s: %s", kind, strings.Replace(err.Error(), "dest", "path", 1))
		}
	}
	if a.Mode != "" && !runbook.HasTemplate(a.Mode) {
		if _, err := parseMode(a.Mode); err != nil {
			c.Errorf("mode", "%s: %v", kind, err)
		}
	}
}

func (t *TOML) sortedSet() []string {
	keys := make([]string, 0, len(t.Set))
	for k := range t.Set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Describe implements Kind.
func (t *TOML) Describe() string {
	var parts []string
	for _, k := range t.sortedSet() {
		parts = append(parts, k+" = "+runbook.Stringify(t.Set[k]))
	}
	if len(t.Unset) > 0 {
		parts = append(parts, "unset "+strings.Join(t.Unset, ", "))
	}
	return "toml: " + t.Path + ": " + strings.Join(parts, "; ") + fileAttrs{t.Mode, t.Owner, t.Group}.describe()
}

// Run implements Kind.
func (t *TOML) Run(ctx context.Context, x *Exec) Result { return t.edit().apply(ctx, x, false) }

// Predict implements Predictor.
func (t *TOML) Predict(ctx context.Context, x *Exec) Result { return t.edit().apply(ctx, x, true) }

func (t *TOML) edit() fileEdit {
	return fileEdit{kind: "toml", path: t.Path, create: t.Create, attrs: fileAttrs{t.Mode, t.Owner, t.Group},
		edit: func(old []byte, _ bool) ([]byte, error) {
			doc, err := tomledit.Parse(old)
			var perr *tomledit.ParseError
			if errors.As(err, &perr) {
				return nil, fmt.Errorf("%s:%d:%d: %s (the file is left as it was)", t.Path, perr.Line, perr.Col, perr.Msg)
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %v", t.Path, err)
			}
			for _, k := range t.Unset {
				key, err := tomledit.ParseKey(k)
				if err == nil {
					_, err = doc.Unset(key)
				}
				if err != nil {
					return nil, fmt.Errorf("%s: unset %v", t.Path, err)
				}
			}
			for _, k := range t.sortedSet() {
				key, err := tomledit.ParseKey(k)
				if err == nil {
					_, err = doc.Set(key, t.Set[k])
				}
				if err != nil {
					return nil, fmt.Errorf("%s: set %v", t.Path, err)
				}
			}
			return doc.Bytes(), nil
		}}
}
