package sim

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// tomlTable is a TOML table that keeps its keys in the order the files
// define them, so that the configuration prints as crio prints it.
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

// parseTOML reads a TOML document into dst (merging into what dst holds),
// with BurntSushi/toml, the reader crio itself uses. Arrays of tables and
// dates, which no CRI-O setting the lab knows takes, are refused.
func parseTOML(src string, dst *tomlTable) error {
	var doc map[string]any
	md, err := toml.Decode(src, &doc)
	if err != nil {
		return err
	}
	for _, key := range md.Keys() {
		switch md.Type(key...) {
		case "Hash":
			t := dst
			for _, p := range key {
				t = t.sub(p)
			}
			continue
		case "ArrayHash":
			return fmt.Errorf("%s: arrays of tables are not supported by the lab", key)
		}
		v, ok := tomlLookup(doc, key)
		if !ok {
			continue // inside a value already refused or set
		}
		if err := checkTOMLValue(v); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		t := dst
		for _, p := range key[:len(key)-1] {
			t = t.sub(p)
		}
		t.set(key[len(key)-1], v)
	}
	return nil
}

// tomlLookup follows key through the tables of a decoded document.
func tomlLookup(doc map[string]any, key toml.Key) (any, bool) {
	var v any = doc
	for _, p := range key {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[p]; !ok {
			return nil, false
		}
	}
	return v, true
}

// checkTOMLValue accepts what the table holds and encodeTOML prints:
// strings, booleans, numbers and arrays of them.
func checkTOMLValue(v any) error {
	switch x := v.(type) {
	case string, bool, int64, float64:
		return nil
	case []any:
		for _, e := range x {
			if err := checkTOMLValue(e); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("a value of type %T is not supported by the lab", v)
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

// isBareKeyChar is a character TOML allows in a key without quotes.
func isBareKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}
