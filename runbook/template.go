package runbook

import (
	"fmt"
	"reflect"
	"strings"
)

// TemplatePart is a piece of a string with {{ }}: literal text, or an
// expression.
type TemplatePart struct {
	Text string
	Expr string // set for an expression part
}

// ParseTemplate splits s into literal text and {{ expr }} parts.
func ParseTemplate(s string) ([]TemplatePart, error) {
	var parts []TemplatePart
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			if s != "" {
				parts = append(parts, TemplatePart{Text: s})
			}
			return parts, nil
		}
		if i > 0 {
			parts = append(parts, TemplatePart{Text: s[:i]})
		}
		j := strings.Index(s[i+2:], "}}")
		if j < 0 {
			return nil, fmt.Errorf("unclosed {{ in %q", s)
		}
		src := strings.TrimSpace(s[i+2 : i+2+j])
		if src == "" {
			return nil, fmt.Errorf("empty {{ }} in %q", s)
		}
		parts = append(parts, TemplatePart{Expr: src})
		s = s[i+2+j+2:]
	}
}

// HasTemplate reports whether s contains {{.
func HasTemplate(s string) bool { return strings.Contains(s, "{{") }

// Renderer renders templates against one environment.
type Renderer struct {
	Env map[string]any
	// Placeholder, when set, is asked about every expression first; when it
	// returns ok, its text is inserted instead of evaluating (plan uses it for
	// values known only at run time).
	Placeholder func(e *Expr) (text string, ok bool)
}

// Render replaces every {{ expr }} in s with the expression's value.
func (r *Renderer) Render(s string) (string, error) {
	if !HasTemplate(s) {
		return s, nil
	}
	parts, err := ParseTemplate(s)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Expr == "" {
			b.WriteString(p.Text)
			continue
		}
		e, err := CompileExpr(p.Expr)
		if err != nil {
			return "", err
		}
		if r.Placeholder != nil {
			if text, ok := r.Placeholder(e); ok {
				b.WriteString(text)
				continue
			}
		}
		v, err := e.Eval(r.Env)
		if err != nil {
			return "", err
		}
		b.WriteString(Stringify(v))
	}
	return b.String(), nil
}

// RenderValue renders the strings inside v (a string, or lists and maps of
// them as decoded from YAML) and returns the result.
func (r *Renderer) RenderValue(v any) (any, error) {
	switch x := v.(type) {
	case string:
		return r.Render(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			rv, err := r.RenderValue(e)
			if err != nil {
				return nil, err
			}
			out[i] = rv
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			rv, err := r.RenderValue(e)
			if err != nil {
				return nil, err
			}
			out[k] = rv
		}
		return out, nil
	}
	return v, nil
}

// RenderSpec returns a copy of spec with every template string rendered.
// Fields tagged expr:"true" are copied as written.
func RenderSpec(spec StepSpec, r *Renderer) (StepSpec, error) {
	src := reflect.ValueOf(spec)
	dst := reflect.New(src.Elem().Type())
	if err := renderInto(dst.Elem(), src.Elem(), r, ""); err != nil {
		return nil, err
	}
	return dst.Interface().(StepSpec), nil
}

func renderInto(dst, src reflect.Value, r *Renderer, field string) error {
	switch src.Kind() {
	case reflect.String:
		s, err := r.Render(src.String())
		if err != nil {
			if field != "" {
				return fmt.Errorf("%s: %w", field, err)
			}
			return err
		}
		dst.SetString(s)
	case reflect.Struct:
		t := src.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if f.Tag.Get("expr") == "true" || name == "-" {
				dst.Field(i).Set(src.Field(i))
				continue
			}
			if err := renderInto(dst.Field(i), src.Field(i), r, name); err != nil {
				return err
			}
		}
	case reflect.Pointer:
		if src.IsNil() {
			return nil
		}
		p := reflect.New(src.Type().Elem())
		if err := renderInto(p.Elem(), src.Elem(), r, field); err != nil {
			return err
		}
		dst.Set(p)
	case reflect.Slice:
		if src.IsNil() {
			return nil
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := 0; i < src.Len(); i++ {
			if err := renderInto(s.Index(i), src.Index(i), r, field); err != nil {
				return err
			}
		}
		dst.Set(s)
	case reflect.Map:
		if src.IsNil() {
			return nil
		}
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		iter := src.MapRange()
		for iter.Next() {
			v := reflect.New(src.Type().Elem()).Elem()
			if err := renderInto(v, iter.Value(), r, field); err != nil {
				return err
			}
			m.SetMapIndex(iter.Key(), v)
		}
		dst.Set(m)
	case reflect.Interface:
		if src.IsNil() {
			return nil
		}
		v, err := r.RenderValue(src.Interface())
		if err != nil {
			return err
		}
		if v != nil {
			dst.Set(reflect.ValueOf(v))
		}
	default:
		dst.Set(src)
	}
	return nil
}

// SpecExprs lists the expressions of spec's expression fields
// (expr:"true", such as assert's that: and set's values), which its kind
// evaluates as it runs.
func SpecExprs(spec StepSpec) []string {
	var out []string
	specStrings(reflect.ValueOf(spec), false, false, func(s string, isExpr, _ bool) {
		if isExpr {
			out = append(out, s)
		}
	})
	return out
}

// specStrings calls fn with every string of spec and whether it is an
// expression field (expr:"true") and whether it reaches a shell
// (shell:"true"), for validation.
func specStrings(v reflect.Value, isExpr, isShell bool, fn func(s string, isExpr, isShell bool)) {
	switch v.Kind() {
	case reflect.String:
		fn(v.String(), isExpr, isShell)
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			specStrings(v.Elem(), isExpr, isShell, fn)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			specStrings(v.Field(i), f.Tag.Get("expr") == "true", f.Tag.Get("shell") == "true", fn)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			specStrings(v.Index(i), isExpr, isShell, fn)
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			specStrings(iter.Value(), isExpr, isShell, fn)
		}
	}
}
