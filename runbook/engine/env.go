package engine

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/diag"
	"github.com/runbookhq/runbook/runbook/inventory"
	"github.com/runbookhq/runbook/runbook/journal"
	"github.com/runbookhq/runbook/runbook/transport"
)

// Values are the resolved inputs of a run: params and extra vars from -e,
// and the secrets to redact.
type Values struct {
	// Given are the -e values as the operator gave them.
	Given map[string]any
	// Secrets are the values to redact wherever they would be printed or
	// written.
	Secrets []string
}

// ParamError is a problem with the params given to a run (exit 2).
type ParamError struct{ Msg string }

func (e *ParamError) Error() string { return e.Msg }

// CheckGiven checks -e values against the runbook: each must name a param or
// a var of the runbook.
func CheckGiven(rb *runbook.Runbook, given map[string]any) error {
	var known []string
	for _, p := range rb.Params {
		known = append(known, p.Name)
	}
	for _, v := range rb.Vars {
		known = append(known, v.Name)
	}
	keys := slices.Sorted(maps.Keys(given))
	for _, k := range keys {
		if !slices.Contains(known, k) {
			return &ParamError{fmt.Sprintf("-e %s: the runbook has no param or var %q%s", k, k, diag.Suggest(k, known))}
		}
		if err := journal.CheckParamValue(given[k]); err != nil {
			return &ParamError{fmt.Sprintf("-e %s: %v: a run journals its params and must read them back as they were", k, err)}
		}
	}
	for _, p := range rb.Params {
		if err := journal.CheckParamValue(p.Default); err != nil {
			return &ParamError{fmt.Sprintf("param %s: default: %v: a run journals its params and must read them back as they were", p.Name, err)}
		}
	}
	return nil
}

// typedGiven returns given with each -e text that sets a param whose
// default is a bool, a number, a list or a mapping read as that type, as
// YAML reads it (`-e n=5` for `n: {default: 3}` is 5, not "5"; `-e
// pkgs=[a,b]` a list), so that expressions work alike with the default and
// with -e. A text that does not read as the default's type is an error.
func typedGiven(rb *runbook.Runbook, given map[string]any) (map[string]any, error) {
	var out map[string]any
	for _, p := range rb.Params {
		text, ok := given[p.Name].(string)
		if !ok || p.Default == nil {
			continue
		}
		want := scalarKind(p.Default)
		if want == "" {
			continue
		}
		var node yaml.Node
		var v any
		err := yaml.Unmarshal([]byte(text), &node)
		if err == nil && node.Kind != 0 {
			v, err = runbook.DecodeValue(&node)
		}
		if err != nil || (scalarKind(v) != want && !(want == "a float" && scalarKind(v) == "an integer")) {
			return nil, &ParamError{fmt.Sprintf("-e %s=%s: not %s, as the param's default %s is", p.Name, shownParam(p, text), want, shownParam(p, runbook.Stringify(p.Default)))}
		}
		if want == "a float" {
			v = toFloat(v)
		}
		if out == nil {
			out = maps.Clone(given)
		}
		out[p.Name] = v
	}
	if out == nil {
		return given, nil
	}
	return out, nil
}

func shownParam(p *runbook.Param, text string) string {
	if p.Secret {
		return redacted
	}
	return text
}

// scalarKind names the type of a bool, a number, a list or a mapping, ""
// for anything else (text).
func scalarKind(v any) string {
	switch v.(type) {
	case bool:
		return "a bool (true or false)"
	case int, int64, uint64:
		return "an integer"
	case float64:
		return "a float"
	case []any:
		return "a list (like [a, b])"
	case map[string]any:
		return "a mapping (like {k: v})"
	}
	return ""
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	case float64:
		return x
	}
	return 0
}

// resolveParams gives the params of one host: -e, else an inventory var of
// the same name, else the default. Required params and patterns are
// checked.
func resolveParams(decls runbook.ParamList, given map[string]any, invVars map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(decls))
	for _, p := range decls {
		v, ok := given[p.Name]
		if !ok {
			v, ok = invVars[p.Name]
		}
		if !ok && p.Default != nil {
			v, ok = p.Default, true
		}
		if !ok {
			if p.Required {
				return nil, &ParamError{fmt.Sprintf("param %s is required: give it with -e %s=VALUE", p.Name, p.Name)}
			}
			v = nil
		}
		if ok && p.Pattern != "" {
			re, err := regexp.Compile(p.Pattern)
			if err == nil && !re.MatchString(runbook.Stringify(v)) {
				shown := runbook.Stringify(v)
				if p.Secret {
					shown = redacted
				}
				return nil, &ParamError{fmt.Sprintf("param %s: %q does not match %s", p.Name, shown, p.Pattern)}
			}
		}
		out[p.Name] = v
	}
	return out, nil
}

// secretValues lists the values of secret params (given or defaults).
func secretValues(rb *runbook.Runbook, given map[string]any) []string {
	var out []string
	for _, p := range rb.Params {
		if !p.Secret {
			continue
		}
		if v, ok := given[p.Name]; ok {
			out = append(out, runbook.Stringify(v))
		} else if p.Default != nil {
			out = append(out, runbook.Stringify(p.Default))
		}
	}
	return out
}

// hostVars merges vars by precedence: runbook vars, inventory vars (group
// then host, as the inventory resolved them), -e values that name vars.
func hostVars(rb *runbook.Runbook, h *inventory.Host, given map[string]any) map[string]any {
	vars := rb.Vars.Map()
	maps.Copy(vars, h.Vars)
	for _, v := range rb.Vars {
		if g, ok := given[v.Name]; ok {
			vars[v.Name] = g
		}
	}
	return vars
}

// factsValue is how facts look in expressions.
func factsValue(f transport.Facts) map[string]any {
	return map[string]any{
		"hostname": f.Hostname,
		"os":       map[string]any{"id": f.OSID, "version_id": f.OSVersion, "codename": f.OSCodename},
		"kernel":   f.Kernel,
		"arch":     f.Arch,
		"boot_id":  f.BootID,
	}
}

// hostValue is how the host looks in expressions.
func hostValue(h *inventory.Host) map[string]any {
	groups := make([]any, len(h.Groups))
	for i, g := range h.Groups {
		groups[i] = g
	}
	return map[string]any{"name": h.Name, "address": h.Address, "groups": groups, "vars": h.Vars}
}

// resultValue is how a registered step result looks in expressions.
func resultValue(status string, rc *int, stdout, stderr string, data map[string]any) map[string]any {
	v := map[string]any{
		"stdout":  strings.TrimRight(stdout, "\n"),
		"stderr":  strings.TrimRight(stderr, "\n"),
		"status":  status,
		"changed": status == statusChanged,
		"failed":  status == statusFailed || status == statusUnreachable,
		"skipped": status == statusSkipped,
		"rc":      nil,
		"data":    data,
	}
	if rc != nil {
		v["rc"] = *rc
	}
	return v
}
