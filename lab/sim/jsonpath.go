package sim

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// The subset of kubectl's JSONPath templates runbooks use:
// {.a.b}, {.items[*].metadata.name}, {.list[0]}, {['key.with.dots']},
// {.conditions[?(@.type=="Ready")].status}, {range .items[*]}...{end},
// and literal {"\n"} / {'\t'} text.

type jpNode struct {
	text   string   // literal text
	expr   string   // a path expression
	isExpr bool     // expr is set
	body   []jpNode // range body
	isLoop bool
}

// parseJSONPath parses a template.
func parseJSONPath(tmpl string) ([]jpNode, error) {
	nodes, rest, err := parseJPNodes(tmpl, false)
	if err != nil {
		return nil, err
	}
	if rest != "" {
		return nil, fmt.Errorf("unexpected {end}")
	}
	return nodes, nil
}

func parseJPNodes(s string, inRange bool) ([]jpNode, string, error) {
	var out []jpNode
	for s != "" {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			out = append(out, jpNode{text: s})
			return out, "", nil
		}
		if i > 0 {
			out = append(out, jpNode{text: s[:i]})
		}
		j := closingBrace(s[i:])
		if j < 0 {
			return nil, "", fmt.Errorf("unclosed action")
		}
		action := strings.TrimSpace(s[i+1 : i+j])
		s = s[i+j+1:]
		switch {
		case action == "end":
			if !inRange {
				return nil, "", fmt.Errorf("not in range, nothing to end")
			}
			return out, s, nil
		case strings.HasPrefix(action, "range "):
			body, rest, err := parseJPNodes(s, true)
			if err != nil {
				return nil, "", err
			}
			out = append(out, jpNode{expr: strings.TrimSpace(action[6:]), isLoop: true, body: body})
			s = rest
		case strings.HasPrefix(action, `"`) || strings.HasPrefix(action, "'"):
			lit := action[1 : len(action)-1]
			lit = strings.NewReplacer(`\n`, "\n", `\t`, "\t", `\r`, "\r", `\"`, `"`, `\\`, `\`).Replace(lit)
			out = append(out, jpNode{text: lit})
		default:
			out = append(out, jpNode{expr: action, isExpr: true})
		}
	}
	if inRange {
		return nil, "", fmt.Errorf("range without end")
	}
	return out, "", nil
}

func closingBrace(s string) int {
	var quote byte
	for i := 1; i < len(s); i++ {
		switch {
		case quote != 0 && s[i] == '\\':
			i++
		case quote != 0 && s[i] == quote:
			quote = 0
		case quote != 0:
		case s[i] == '"' || s[i] == '\'':
			quote = s[i]
		case s[i] == '}':
			return i
		}
	}
	return -1
}

// execJSONPath renders the template against data (decoded JSON).
func execJSONPath(nodes []jpNode, data any) (string, error) {
	var b strings.Builder
	if err := execJPNodes(&b, nodes, data, data); err != nil {
		return "", err
	}
	return b.String(), nil
}

func execJPNodes(b *strings.Builder, nodes []jpNode, root, cur any) error {
	for _, n := range nodes {
		switch {
		case n.isLoop:
			vals, err := evalJP(n.expr, root, cur)
			if err != nil {
				return err
			}
			for _, v := range vals {
				if err := execJPNodes(b, n.body, root, v); err != nil {
					return err
				}
			}
		case n.isExpr:
			vals, err := evalJP(n.expr, root, cur)
			if err != nil {
				return err
			}
			for i, v := range vals {
				if i > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(jpString(v))
			}
		default:
			b.WriteString(n.text)
		}
	}
	return nil
}

func jpString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	data, _ := json.Marshal(v)
	return string(data)
}

// evalJP evaluates a path expression: the values it selects.
func evalJP(expr string, root, cur any) ([]any, error) {
	expr = strings.TrimSpace(expr)
	vals := []any{cur}
	switch {
	case strings.HasPrefix(expr, "$"):
		vals, expr = []any{root}, expr[1:]
	case strings.HasPrefix(expr, "@"):
		expr = expr[1:]
	}
	for expr != "" {
		switch {
		case strings.HasPrefix(expr, "["):
			end := closingBracket(expr)
			if end < 0 {
				return nil, fmt.Errorf("unterminated [ in %q", expr)
			}
			sel := strings.TrimSpace(expr[1:end])
			expr = expr[end+1:]
			var next []any
			for _, v := range vals {
				r, err := jpIndex(v, sel, root)
				if err != nil {
					return nil, err
				}
				next = append(next, r...)
			}
			vals = next
		case strings.HasPrefix(expr, "."):
			expr = expr[1:]
			j := 0
			for j < len(expr) && expr[j] != '.' && expr[j] != '[' {
				j++
			}
			name := expr[:j]
			expr = expr[j:]
			if name == "" {
				continue
			}
			var next []any
			for _, v := range vals {
				if m, ok := v.(map[string]any); ok {
					if x, ok := m[name]; ok {
						next = append(next, x)
					}
				}
			}
			vals = next
		default:
			return nil, fmt.Errorf("unrecognized identifier %s", expr)
		}
	}
	return vals, nil
}

func closingBracket(s string) int {
	depth := 0
	var quote byte
	for i := 0; i < len(s); i++ {
		switch {
		case quote != 0 && s[i] == '\\':
			i++
		case quote != 0 && s[i] == quote:
			quote = 0
		case quote != 0:
		case s[i] == '"' || s[i] == '\'':
			quote = s[i]
		case s[i] == '[' || s[i] == '(':
			depth++
		case s[i] == ']' || s[i] == ')':
			depth--
			if depth == 0 && s[i] == ']' {
				return i
			}
		}
	}
	return -1
}

// jpIndex applies one [...] selector to a value.
func jpIndex(v any, sel string, root any) ([]any, error) {
	switch {
	case sel == "*":
		switch x := v.(type) {
		case []any:
			return x, nil
		case map[string]any:
			var out []any
			for _, k := range sortedKeys(x) {
				out = append(out, x[k])
			}
			return out, nil
		}
		return nil, nil
	case strings.HasPrefix(sel, "?(") && strings.HasSuffix(sel, ")"):
		arr, _ := v.([]any)
		var out []any
		for _, item := range arr {
			ok, err := jpFilter(strings.TrimSpace(sel[2:len(sel)-1]), root, item)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, item)
			}
		}
		return out, nil
	case strings.HasPrefix(sel, "'") || strings.HasPrefix(sel, `"`):
		key := strings.Trim(sel, `'"`)
		if m, ok := v.(map[string]any); ok {
			if x, ok := m[key]; ok {
				return []any{x}, nil
			}
		}
		return nil, nil
	}
	arr, _ := v.([]any)
	if lo, hi, isSlice := strings.Cut(sel, ":"); isSlice {
		start, end := 0, len(arr)
		if lo != "" {
			start, _ = strconv.Atoi(lo)
		}
		if hi != "" {
			end, _ = strconv.Atoi(hi)
		}
		if start < 0 {
			start += len(arr)
		}
		if end < 0 {
			end += len(arr)
		}
		if start < 0 || end > len(arr) || start > end {
			return nil, nil
		}
		return arr[start:end], nil
	}
	i, err := strconv.Atoi(sel)
	if err != nil {
		return nil, fmt.Errorf("invalid array index %q", sel)
	}
	if i < 0 {
		i += len(arr)
	}
	if i < 0 || i >= len(arr) {
		return nil, fmt.Errorf("array index out of bounds: index %d, length %d", i, len(arr))
	}
	return []any{arr[i]}, nil
}

// jpFilter evaluates a filter such as @.type=="Ready" or @.ready.
func jpFilter(f string, root, item any) (bool, error) {
	for _, op := range []string{"==", "!=", "<=", ">=", "<", ">"} {
		i := strings.Index(f, op)
		if i < 0 {
			continue
		}
		left, err := evalJP(f[:i], root, item)
		if err != nil || len(left) == 0 {
			return false, err
		}
		rhs := strings.TrimSpace(f[i+len(op):])
		var right any
		if strings.HasPrefix(rhs, "@") || strings.HasPrefix(rhs, "$") {
			r, err := evalJP(rhs, root, item)
			if err != nil || len(r) == 0 {
				return false, err
			}
			right = r[0]
		} else if strings.HasPrefix(rhs, `"`) || strings.HasPrefix(rhs, "'") {
			right = strings.Trim(rhs, `"'`)
		} else if n, err := strconv.ParseFloat(rhs, 64); err == nil {
			right = n
		} else {
			right = rhs
		}
		l, r := jpString(left[0]), jpString(right)
		lf, lerr := strconv.ParseFloat(l, 64)
		rf, rerr := strconv.ParseFloat(r, 64)
		numeric := lerr == nil && rerr == nil
		switch op {
		case "==":
			return l == r, nil
		case "!=":
			return l != r, nil
		case "<":
			return numeric && lf < rf || !numeric && l < r, nil
		case ">":
			return numeric && lf > rf || !numeric && l > r, nil
		case "<=":
			return numeric && lf <= rf || !numeric && l <= r, nil
		case ">=":
			return numeric && lf >= rf || !numeric && l >= r, nil
		}
	}
	vals, err := evalJP(f, root, item)
	return len(vals) > 0, err
}
