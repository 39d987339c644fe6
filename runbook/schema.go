package runbook

import (
	"encoding/json"
	"reflect"
	"strings"
)

// SchemaProvider is implemented by types whose JSON Schema is not what their
// Go shape says (scalar shorthands, counts-or-percentages, ...).
type SchemaProvider interface {
	JSONSchema(g *SchemaGen) map[string]any
}

// SchemaGen builds JSON Schemas from the Go types the loader decodes into,
// so that the schema and the loader cannot drift apart.
type SchemaGen struct {
	defs map[string]any
}

var schemaProviderType = reflect.TypeFor[SchemaProvider]()

// Schema returns the JSON Schema (draft 2020-12) of the runbook format,
// including every registered step kind.
func Schema() ([]byte, error) {
	g := &SchemaGen{defs: map[string]any{}}
	root := g.Of(reflect.TypeFor[Runbook]())
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = "https://github.com/runbookhq/runbook/schema/runbook.json"
	root["title"] = "runbook"
	root["description"] = "A phased upgrade. Expressions (when, until, changed_when, failed_when, order_by, set, assert, loop and every {{ }}) see " +
		strings.Join(BuiltinNames, ", ") + ", the names register: and set: define, and in a loop its item and " + NameLoopIndex + "."
	root["$defs"] = g.defs
	return json.MarshalIndent(root, "", "  ")
}

// ModuleSchema returns the JSON Schema of a module file (params + steps).
func ModuleSchema() ([]byte, error) {
	g := &SchemaGen{defs: map[string]any{}}
	root := g.Of(reflect.TypeFor[Module]())
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$defs"] = g.defs
	return json.MarshalIndent(root, "", "  ")
}

// Ref returns a $ref to the named definition, building it with build the
// first time.
func (g *SchemaGen) Ref(name string, build func() map[string]any) map[string]any {
	if _, ok := g.defs[name]; !ok {
		g.defs[name] = map[string]any{} // placeholder against recursion
		g.defs[name] = build()
	}
	return map[string]any{"$ref": "#/$defs/" + name}
}

// Of returns the schema of Go type t.
func (g *SchemaGen) Of(t reflect.Type) map[string]any {
	if reflect.PointerTo(t).Implements(schemaProviderType) {
		return reflect.New(t).Interface().(SchemaProvider).JSONSchema(g)
	}
	if t.Implements(schemaProviderType) && t.Kind() == reflect.Pointer {
		return reflect.New(t.Elem()).Interface().(SchemaProvider).JSONSchema(g)
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.Of(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int32, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": g.Of(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.Of(t.Elem())}
	case reflect.Struct:
		return g.Struct(t)
	}
	return map[string]any{}
}

// Struct returns the object schema of struct type t from its yaml, desc,
// enum and required tags.
func (g *SchemaGen) Struct(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	for _, f := range structFields(t) {
		sf := t.FieldByIndex(f.index)
		s := g.Of(sf.Type)
		if d := sf.Tag.Get("desc"); d != "" {
			s = withDesc(s, d)
		}
		if e := sf.Tag.Get("enum"); e != "" {
			s["enum"] = strings.Split(e, ",")
		}
		if sf.Tag.Get("expr") == "true" {
			s = withDesc(s, "(expression)")
		}
		if sf.Tag.Get("required") == "true" {
			required = append(required, f.name)
		}
		if f.tmpl {
			s = map[string]any{"anyOf": []any{s, templateSchema}}
			if d := sf.Tag.Get("desc"); d != "" {
				s["description"] = d + " May be a {{ }} template over params and vars."
			}
		}
		props[f.name] = s
	}
	out := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		out["required"] = required
	}
	return out
}

func withDesc(s map[string]any, d string) map[string]any {
	if _, isRef := s["$ref"]; isRef {
		return map[string]any{"allOf": []any{s}, "description": d}
	}
	if old, ok := s["description"].(string); ok && old != "" {
		d = old + " " + d
	}
	s["description"] = d
	return s
}

var sizeSchema = map[string]any{"oneOf": []any{
	map[string]any{"type": "integer", "minimum": 0},
	map[string]any{"type": "string", "pattern": `^\s*[0-9.]+\s*%?\s*$`},
}}

// JSONSchema implements SchemaProvider.
func (*Duration) JSONSchema(*SchemaGen) map[string]any {
	return map[string]any{"type": "string", "pattern": `^([0-9.]+(ns|us|µs|ms|s|m|h))+$`, "description": "A duration like 30s, 10m or 1h30m."}
}

// JSONSchema implements SchemaProvider.
func (*Size) JSONSchema(*SchemaGen) map[string]any {
	return map[string]any{"oneOf": sizeSchema["oneOf"], "description": `A count or a percentage like "25%".`}
}

// JSONSchema implements SchemaProvider.
func (*SizeList) JSONSchema(g *SchemaGen) map[string]any {
	return map[string]any{"oneOf": []any{g.Of(reflect.TypeFor[Size]()), map[string]any{"type": "array", "items": g.Of(reflect.TypeFor[Size]())}}}
}

// JSONSchema implements SchemaProvider.
func (*HostSelector) JSONSchema(g *SchemaGen) map[string]any {
	return map[string]any{"anyOf": []any{g.Of(reflect.TypeFor[Size]()),
		map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": "Host names."},
		map[string]any{"type": "string", "description": "A host pattern."}}}
}

// templateSchema is a count or duration written as a {{ }} template.
var templateSchema = map[string]any{"type": "string", "pattern": `\{\{.*\}\}`, "description": "A {{ }} template over params and vars."}

// JSONSchema implements SchemaProvider.
func (*StepRef) JSONSchema(g *SchemaGen) map[string]any {
	return map[string]any{"oneOf": []any{
		map[string]any{"type": "string", "description": "A procedure name."},
		map[string]any{"type": "array", "items": g.Of(reflect.TypeFor[Step]())},
	}}
}

// JSONSchema implements SchemaProvider.
func (*Procedure) JSONSchema(g *SchemaGen) map[string]any {
	return map[string]any{"type": "array", "items": g.Of(reflect.TypeFor[Step]())}
}

// JSONSchema implements SchemaProvider.
func (*Rollback) JSONSchema(g *SchemaGen) map[string]any {
	return map[string]any{"oneOf": []any{g.Struct(reflect.TypeFor[Rollback]()), g.Of(reflect.TypeFor[StepRef]())}}
}

// JSONSchema implements SchemaProvider.
func (*Phase) JSONSchema(g *SchemaGen) map[string]any {
	return g.Ref("phase", func() map[string]any { return g.Struct(reflect.TypeFor[Phase]()) })
}

// JSONSchema implements SchemaProvider.
func (*ParamList) JSONSchema(g *SchemaGen) map[string]any {
	return map[string]any{"type": "object", "additionalProperties": g.Struct(reflect.TypeFor[Param]())}
}

// JSONSchema implements SchemaProvider.
func (*VarList) JSONSchema(*SchemaGen) map[string]any {
	return map[string]any{"type": "object"}
}

// JSONSchema implements SchemaProvider: the common fields plus exactly one
// step kind (or use:).
func (*Step) JSONSchema(g *SchemaGen) map[string]any {
	return g.Ref("step", func() map[string]any {
		s := g.Struct(reflect.TypeFor[Step]())
		props := s["properties"].(map[string]any)
		var oneOf []any
		for _, k := range KindNames() {
			spec := NewSpec(k)
			props[k] = g.Of(reflect.TypeOf(spec).Elem())
			oneOf = append(oneOf, map[string]any{"required": []string{k}})
		}
		oneOf = append(oneOf, map[string]any{"required": []string{"use"}})
		s["oneOf"] = oneOf
		return s
	})
}
