package steps

import (
	"reflect"

	"github.com/runbookhq/runbook/runbook"
)

// scalarOr is the schema of a kind written either as one string or as its
// mapping form.
func scalarOr(g *runbook.SchemaGen, v any, desc string) map[string]any {
	return map[string]any{"oneOf": []any{
		map[string]any{"type": "string", "description": desc},
		g.Struct(reflect.TypeOf(v)),
	}}
}
