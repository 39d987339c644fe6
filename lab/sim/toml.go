package sim

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// tomlTable is a TOML table that keeps its keys in order: the subset of TOML
// CRI-O configuration files use (tables, dotted and quoted keys, strings,
// booleans, numbers, arrays). No TOML module is among the project's
// dependencies, hence this small reader.
type tomlTable struct {
	keys   []string
	values map[string]any // string, bool, int64, float64, []any
	subs   map[string]*tomlTable
	order  []string // of subs
}

func newTOMLTable() *tomlTable {
	return &tomlTable{values: map[string]any{}, subs: map[string]*tomlTable{}}
}

// sub returns the named sub-table, creating it.
func (t *tomlTable) sub(name string) *tomlTable {
	if s := t.subs[name]; s != nil {
		return s
	}
	s := newTOMLTable()
	t.subs[name] = s
	t.order = append(t.order, name)
	return s
}

// set sets a key of the table, keeping the first position of the key.
func (t *tomlTable) set(key string, v any) {
	if _, ok := t.values[key]; !ok {
		t.keys = append(t.keys, key)
	}
	t.values[key] = v
}

// lookup follows a dotted path of tables to a value.
func (t *tomlTable) lookup(path ...string) (any, bool) {
	cur := t
	for _, p := range path[:len(path)-1] {
		cur = cur.subs[p]
		if cur == nil {
			return nil, false
		}
	}
	v, ok := cur.values[path[len(path)-1]]
	return v, ok
}

// table follows a dotted path of tables.
func (t *tomlTable) table(path ...string) *tomlTable {
	cur := t
	for _, p := range path {
		cur = cur.subs[p]
		if cur == nil {
			return nil
		}
	}
	return cur
}

// merge applies o over t: keys of o replace those of t, tables merge.
func (t *tomlTable) merge(o *tomlTable) {
	for _, k := range o.keys {
		t.set(k, o.values[k])
	}
	for _, name := range o.order {
		t.sub(name).merge(o.subs[name])
	}
}

// parseTOML reads a TOML document into dst (merging into what dst holds).
func parseTOML(src string, dst *tomlTable) error {
	cur := dst
	lines := strings.Split(src, "\n")
	for i := 0; i < len(lines); i++ {
		lineNo := i + 1
		line := strings.TrimSpace(stripTOMLComment(lines[i]))
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "[[") {
			return fmt.Errorf("line %d: arrays of tables are not supported by the lab", lineNo)
		}
		if strings.HasPrefix(line, "[") {
			if !strings.HasSuffix(line, "]") {
				return fmt.Errorf("line %d: expected ']' at end of table header", lineNo)
			}
			path, err := parseTOMLKey(strings.TrimSpace(line[1 : len(line)-1]))
			if err != nil {
				return fmt.Errorf("line %d: %w", lineNo, err)
			}
			cur = dst
			for _, p := range path {
				cur = cur.sub(p)
			}
			continue
		}
		eq := indexOutsideQuotes(line, '=')
		if eq < 0 {
			return fmt.Errorf("line %d: expected key = value", lineNo)
		}
		path, err := parseTOMLKey(strings.TrimSpace(line[:eq]))
		if err != nil {
			return fmt.Errorf("line %d: %w", lineNo, err)
		}
		raw := strings.TrimSpace(line[eq+1:])
		// a multi-line array continues until its brackets balance
		for strings.HasPrefix(raw, "[") && !bracketsBalanced(raw) && i+1 < len(lines) {
			i++
			raw += " " + strings.TrimSpace(stripTOMLComment(lines[i]))
		}
		v, rest, err := parseTOMLValue(raw)
		if err != nil {
			return fmt.Errorf("line %d: %w", lineNo, err)
		}
		if strings.TrimSpace(rest) != "" {
			return fmt.Errorf("line %d: unexpected %q after value", lineNo, strings.TrimSpace(rest))
		}
		t := cur
		for _, p := range path[:len(path)-1] {
			t = t.sub(p)
		}
		t.set(path[len(path)-1], v)
	}
	return nil
}

// stripTOMLComment removes a # comment that is not inside a string.
func stripTOMLComment(s string) string {
	if i := indexOutsideQuotes(s, '#'); i >= 0 {
		return s[:i]
	}
	return s
}

// indexOutsideQuotes finds c outside "..." and '...' strings.
func indexOutsideQuotes(s string, c byte) int {
	var quote byte
	for i := 0; i < len(s); i++ {
		switch {
		case quote == '"' && s[i] == '\\':
			i++
		case quote != 0 && s[i] == quote:
			quote = 0
		case quote != 0:
		case s[i] == '"' || s[i] == '\'':
			quote = s[i]
		case s[i] == c:
			return i
		}
	}
	return -1
}

func bracketsBalanced(s string) bool {
	depth := 0
	var quote byte
	for i := 0; i < len(s); i++ {
		switch {
		case quote == '"' && s[i] == '\\':
			i++
		case quote != 0 && s[i] == quote:
			quote = 0
		case quote != 0:
		case s[i] == '"' || s[i] == '\'':
			quote = s[i]
		case s[i] == '[':
			depth++
		case s[i] == ']':
			depth--
		}
	}
	return depth <= 0
}

// parseTOMLKey splits a (dotted, possibly quoted) key.
func parseTOMLKey(s string) ([]string, error) {
	var out []string
	for {
		s = strings.TrimSpace(s)
		if s == "" {
			return nil, fmt.Errorf("empty key")
		}
		var part string
		switch s[0] {
		case '"', '\'':
			v, rest, err := parseTOMLString(s)
			if err != nil {
				return nil, err
			}
			part, s = v, rest
		default:
			j := 0
			for j < len(s) && (isBareKeyChar(s[j])) {
				j++
			}
			if j == 0 {
				return nil, fmt.Errorf("invalid key %q", s)
			}
			part, s = s[:j], s[j:]
		}
		out = append(out, part)
		s = strings.TrimSpace(s)
		if s == "" {
			return out, nil
		}
		if s[0] != '.' {
			return nil, fmt.Errorf("invalid key: unexpected %q", s)
		}
		s = s[1:]
	}
}

func isBareKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// parseTOMLValue reads one value at the start of s.
func parseTOMLValue(s string) (any, string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, "", fmt.Errorf("missing value")
	}
	switch {
	case strings.HasPrefix(s, `"""`) || strings.HasPrefix(s, `'''`):
		return nil, "", fmt.Errorf("multi-line strings are not supported by the lab")
	case s[0] == '"' || s[0] == '\'':
		return parseTOMLString(s)
	case s[0] == '[':
		var arr []any
		s = strings.TrimSpace(s[1:])
		for {
			if s == "" {
				return nil, "", fmt.Errorf("unterminated array")
			}
			if s[0] == ']' {
				return arr, s[1:], nil
			}
			v, rest, err := parseTOMLValue(s)
			if err != nil {
				return nil, "", err
			}
			arr = append(arr, v)
			s = strings.TrimSpace(rest)
			if strings.HasPrefix(s, ",") {
				s = strings.TrimSpace(s[1:])
			} else if !strings.HasPrefix(s, "]") {
				return nil, "", fmt.Errorf("expected ',' or ']' in array")
			}
		}
	case strings.HasPrefix(s, "true"):
		return true, s[4:], nil
	case strings.HasPrefix(s, "false"):
		return false, s[5:], nil
	}
	j := 0
	for j < len(s) && strings.IndexByte("+-0123456789_.eExob", s[j]) >= 0 {
		j++
	}
	num := strings.ReplaceAll(s[:j], "_", "")
	if n, err := strconv.ParseInt(num, 0, 64); err == nil {
		return n, s[j:], nil
	}
	if f, err := strconv.ParseFloat(num, 64); err == nil {
		return f, s[j:], nil
	}
	return nil, "", fmt.Errorf("invalid value %q", s)
}

// parseTOMLString reads a basic ("...") or literal ('...') string.
func parseTOMLString(s string) (string, string, error) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == q:
			return b.String(), s[i+1:], nil
		case c == '\\' && q == '"' && i+1 < len(s):
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '"', '\\':
				b.WriteByte(s[i])
			case 'u', 'U':
				n := 4
				if s[i] == 'U' {
					n = 8
				}
				if i+n >= len(s) {
					return "", "", fmt.Errorf("bad escape in string")
				}
				r, err := strconv.ParseUint(s[i+1:i+1+n], 16, 32)
				if err != nil {
					return "", "", fmt.Errorf("bad escape in string")
				}
				b.WriteRune(rune(r))
				i += n
			default:
				return "", "", fmt.Errorf("bad escape \\%c in string", s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", "", fmt.Errorf("unterminated string")
}

// encodeTOML writes the table the way CRI-O prints its configuration:
// keys first, then sub-tables, each level indented by two spaces.
func encodeTOML(t *tomlTable) string {
	var b strings.Builder
	for _, k := range t.keys {
		fmt.Fprintf(&b, "%s = %s\n", tomlKey(k), tomlValue(t.values[k]))
	}
	for _, name := range t.order {
		encodeTOMLTable(&b, []string{name}, t.subs[name], 0)
	}
	return b.String()
}

func encodeTOMLTable(b *strings.Builder, path []string, t *tomlTable, depth int) {
	indent := strings.Repeat("  ", depth)
	keys := make([]string, len(path))
	for i, p := range path {
		keys[i] = tomlKey(p)
	}
	fmt.Fprintf(b, "%s[%s]\n", indent, strings.Join(keys, "."))
	for _, k := range t.keys {
		fmt.Fprintf(b, "%s  %s = %s\n", indent, tomlKey(k), tomlValue(t.values[k]))
	}
	names := append([]string(nil), t.order...)
	if depth >= 2 { // map-like tables (runtimes, workloads) print sorted
		sort.Strings(names)
	}
	for _, name := range names {
		encodeTOMLTable(b, append(append([]string(nil), path...), name), t.subs[name], depth+1)
	}
}

func tomlKey(k string) string {
	for i := 0; i < len(k); i++ {
		if !isBareKeyChar(k[i]) {
			return strconv.Quote(k)
		}
	}
	if k == "" {
		return `""`
	}
	return k
}

func tomlValue(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = tomlValue(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return `""`
}
