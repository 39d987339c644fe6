package runbook

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/runbookhq/runbook/runbook/diag"
)

// TemplateNames are the names a count or duration field's {{ }} may read:
// what is known before the run connects anywhere.
var TemplateNames = []string{NameParams, NameVars}

// keepTemplate stores the value node of a tmpl field written with {{ }} in
// the owner's Templates map, to be resolved by ResolveTemplates once params
// and vars are known; it reports whether it did.
func (d *Decoder) keepTemplate(n *yaml.Node, f fieldInfo, owner reflect.Value) bool {
	n = Resolve(n)
	if !f.tmpl || n == nil || !nodeHasTemplate(n) {
		return false
	}
	t := owner.FieldByName("Templates")
	if !t.IsValid() {
		return false
	}
	if t.IsNil() {
		t.Set(reflect.ValueOf(map[string]*yaml.Node{}))
	}
	t.SetMapIndex(reflect.ValueOf(f.name), reflect.ValueOf(n))
	return true
}

func nodeHasTemplate(n *yaml.Node) bool {
	switch n.Kind {
	case yaml.ScalarNode:
		return HasTemplate(n.Value)
	case yaml.SequenceNode:
		return slices.ContainsFunc(n.Content, func(c *yaml.Node) bool { return c.Kind == yaml.ScalarNode && HasTemplate(c.Value) })
	}
	return false
}

// templatesOf returns the Templates map of the struct owner points to.
func templatesOf(owner any) map[string]*yaml.Node {
	v := reflect.ValueOf(owner).Elem().FieldByName("Templates")
	if !v.IsValid() || v.IsNil() {
		return nil
	}
	return v.Interface().(map[string]*yaml.Node)
}

// TemplatedFields lists the yaml names of owner's fields written as {{ }},
// sorted.
func TemplatedFields(owner any) []string {
	m := templatesOf(owner)
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ResolveTemplates renders each of owner's templated count and duration
// fields (a *Runbook, *Phase or *Step) with render and decodes the text into
// the field, as if it had been written so. Errors name file, line and
// column of the template and what it gave.
func ResolveTemplates(owner any, file string, render func(string) (string, error)) error {
	tmpls := templatesOf(owner)
	if len(tmpls) == 0 {
		return nil
	}
	v := reflect.ValueOf(owner).Elem()
	fields := map[string]fieldInfo{}
	for _, f := range structFields(v.Type()) {
		fields[f.name] = f
	}
	errs := &diag.List{}
	d := &Decoder{File: file, Errs: errs}
	for _, name := range TemplatedFields(owner) {
		n := tmpls[name]
		rendered, err := renderNode(n, render)
		if err != nil {
			errs.Addf(file, n, "%s: %v", name, err)
			continue
		}
		field := v.FieldByIndex(fields[name].index)
		field.Set(reflect.Zero(field.Type()))
		before := errs.Len()
		d.decode(rendered, field)
		if errs.Len() > before {
			errs.Addf(file, n, "%s: %s gave %s", name, nodeText(n), nodeText(rendered))
		}
	}
	return errs.Err()
}

// renderNode returns a copy of n with every scalar rendered.
func renderNode(n *yaml.Node, render func(string) (string, error)) (*yaml.Node, error) {
	c := *n
	switch n.Kind {
	case yaml.ScalarNode:
		s, err := render(n.Value)
		if err != nil {
			return nil, err
		}
		c.Value, c.Tag, c.Style = strings.TrimSpace(s), "", 0
	case yaml.SequenceNode:
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, e := range n.Content {
			r, err := renderNode(e, render)
			if err != nil {
				return nil, err
			}
			c.Content[i] = r
		}
	}
	return &c, nil
}

func nodeText(n *yaml.Node) string {
	if n.Kind == yaml.SequenceNode {
		parts := make([]string, len(n.Content))
		for i, c := range n.Content {
			parts[i] = c.Value
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return n.Value
}

// checkTemplateNames reports a templated field whose {{ }} reads anything
// but params and vars.
func (v *validator) checkTemplates(owner any, file string, step *Step) {
	tmpls := templatesOf(owner)
	for _, name := range TemplatedFields(owner) {
		n := tmpls[name]
		texts := []string{n.Value}
		if n.Kind == yaml.SequenceNode {
			texts = texts[:0]
			for _, c := range n.Content {
				texts = append(texts, c.Value)
			}
		}
		for _, text := range texts {
			parts, err := ParseTemplate(text)
			if err != nil {
				v.errs.Addf(file, n, "%s: %v", name, err)
				continue
			}
			for _, p := range parts {
				if p.Expr == "" {
					continue
				}
				names, err := ExprNames(p.Expr)
				if err != nil {
					v.errs.Addf(file, n, "%s: %v", name, err)
					continue
				}
				for _, used := range names {
					if !slices.Contains(TemplateNames, used) {
						v.errs.Addf(file, n, "%s: {{ %s }} reads %s; a count or a duration is known before the run, so its {{ }} may read only params and vars", name, p.Expr, used)
					}
				}
				v.expr(n, p.Expr, step, nil)
			}
		}
	}
}

// ResolveStep returns st with its templated fields resolved by render: st
// itself when it has none, else a copy.
func ResolveStep(st *Step, render func(string) (string, error)) (*Step, error) {
	if len(st.Templates) == 0 {
		return st, nil
	}
	c := *st
	if err := ResolveTemplates(&c, st.File, render); err != nil {
		return nil, err
	}
	return &c, nil
}

// String is for messages.
func (x HostSelector) String() string {
	switch {
	case x.Pattern != "":
		return x.Pattern
	case x.Size != nil:
		return x.Size.String()
	}
	return fmt.Sprint(x.Names)
}
