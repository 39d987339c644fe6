package inventory

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/runbookhq/runbook/runbook/diag"
	"gopkg.in/yaml.v3"
)

// yamlBudget bounds how many mapping entries one file may expand to through
// aliases and merge keys (a "billion laughs" document stays cheap).
const yamlBudget = 1 << 20

// maxMergeDepth bounds nested merge keys (and catches a merge of a mapping
// into itself).
const maxMergeDepth = 64

// yamlReader reads the nodes of one YAML file and reports problems at their
// positions.
type yamlReader struct {
	file   string
	errs   *diag.List
	budget int
	broke  bool
}

func newYAMLReader(file string, errs *diag.List) *yamlReader {
	return &yamlReader{file: file, errs: errs, budget: yamlBudget}
}

var yamlLineErr = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^yaml: line (\d+): (.*)$`) })

// document parses data and returns its root node (nil for an empty
// document). A syntax error is reported and yields nil.
func (r *yamlReader) document(data []byte) (root *yaml.Node) {
	defer func() {
		// yaml.v3 turns its own failures into errors; anything else it
		// panics with is still bad input, never a reason to crash.
		if p := recover(); p != nil {
			r.errs.Add(&diag.Error{File: r.file, Msg: fmt.Sprintf("invalid YAML: %v", p)})
			root = nil
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		r.errs.Add(r.syntaxError(err, data))
		return nil
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		r.errs.Add(r.at(&next).errorf("only one YAML document is allowed"))
		return nil
	} else if !errors.Is(err, io.EOF) {
		r.errs.Add(r.syntaxError(err, data))
		return nil
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		return r.resolve(doc.Content[0])
	}
	return nil
}

var yamlUnknownAnchor = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`) })

func (r *yamlReader) syntaxError(err error, data []byte) *diag.Error {
	msg := err.Error()
	if m := yamlLineErr().FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &diag.Error{File: r.file, Line: line, Msg: oneLine(m[2])}
	}
	e := &diag.Error{File: r.file, Msg: oneLine(strings.TrimPrefix(msg, "yaml: "))}
	if m := yamlUnknownAnchor().FindStringSubmatch(msg); m != nil {
		// yaml.v3 gives no position; the first use of the alias is it.
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			before := data[:i]
			e.Line = bytes.Count(before, []byte("\n")) + 1
			e.Col = utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:]) + 1
		}
	}
	return e
}

func (r *yamlReader) at(n *yaml.Node) pos {
	if n == nil {
		return pos{file: r.file}
	}
	return pos{file: r.file, line: n.Line, col: n.Column}
}

// resolve follows aliases to the node they name.
func (r *yamlReader) resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i > 100 {
			return nil
		}
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// kind names a node's kind for an error message.
func kind(n *yaml.Node) string {
	switch {
	case n == nil || isNull(n):
		return "null"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float" || n.Tag == "!!bool"):
		return n.Value
	default:
		return strconv.Quote(n.Value)
	}
}

// yamlEntry is one key and value of a mapping.
type yamlEntry struct {
	name  string
	key   *yaml.Node
	value *yaml.Node
}

// entries returns the entries of mapping m in order, with merge keys (<<)
// expanded in place (keys written in m win over merged ones). Duplicate and
// non-string keys are reported and left out; what names the keys is `what`
// ("host name", "variable name", ...).
func (r *yamlReader) entries(m *yaml.Node, what string) []yamlEntry {
	return r.mergedEntries(m, what, 0)
}

func (r *yamlReader) mergedEntries(m *yaml.Node, what string, depth int) []yamlEntry {
	if depth > maxMergeDepth {
		r.errs.Add(r.at(m).errorf("merge keys (<<) nested too deeply"))
		return nil
	}
	explicit := map[string]*yaml.Node{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := r.resolve(m.Content[i])
		if isMergeKey(k) || k == nil || k.Kind != yaml.ScalarNode {
			continue
		}
		if first, dup := explicit[k.Value]; dup {
			if depth == 0 {
				r.errs.Add(r.at(k).errorf("duplicate key %q (first at line %d)", k.Value, first.Line))
			}
			continue
		}
		explicit[k.Value] = k
	}
	var out []yamlEntry
	merged := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if !r.spend(m) {
			return out
		}
		k, v := r.resolve(m.Content[i]), m.Content[i+1]
		if isMergeKey(k) {
			for _, src := range r.mergeSources(v) {
				for _, e := range r.mergedEntries(src, what, depth+1) {
					if explicit[e.name] == nil && !merged[e.name] {
						merged[e.name] = true
						out = append(out, e)
					}
				}
			}
			continue
		}
		if k == nil || k.Kind != yaml.ScalarNode {
			if depth == 0 {
				r.errs.Add(r.at(m.Content[i]).errorf("%s must be a string, not %s", what, kind(k)))
			}
			continue
		}
		if explicit[k.Value] != k {
			continue // a duplicate, reported above
		}
		name := k.Value
		if k.Tag == "!!null" {
			name = ""
		}
		out = append(out, yamlEntry{name: name, key: k, value: v})
	}
	return out
}

func isMergeKey(k *yaml.Node) bool {
	return k != nil && k.Kind == yaml.ScalarNode && k.Tag == "!!merge"
}

// mergeSources returns the mappings a merge key's value names: one mapping
// or a list of them (earlier ones win, so they come last).
func (r *yamlReader) mergeSources(v *yaml.Node) []*yaml.Node {
	v = r.resolve(v)
	switch {
	case v != nil && v.Kind == yaml.MappingNode:
		return []*yaml.Node{v}
	case v != nil && v.Kind == yaml.SequenceNode:
		var out []*yaml.Node
		for _, item := range v.Content {
			item = r.resolve(item)
			if item == nil || item.Kind != yaml.MappingNode {
				r.errs.Add(r.at(v).errorf("a merge key (<<) takes mappings, not %s", kind(item)))
				return nil
			}
			out = append(out, item)
		}
		return out
	}
	r.errs.Add(r.at(v).errorf("a merge key (<<) takes a mapping or a list of mappings, not %s", kind(v)))
	return nil
}

// spend uses one unit of the expansion budget; once it is gone the file is
// reported as too complex and reading stops.
func (r *yamlReader) spend(at *yaml.Node) bool {
	if r.budget > 0 {
		r.budget--
		return true
	}
	if !r.broke {
		r.broke = true
		r.errs.Add(r.at(at).errorf("the document expands to too many entries (aliases or merge keys)"))
	}
	return false
}

// prepare walks a value before it is decoded: it charges the budget for
// every node, aliases followed, so that decoding stays cheap; it refuses
// Ansible Vault values; and it keeps dates as the strings they were written
// as (yaml.v3 would make them time.Time). A node that contains itself is
// left for the decoder to report.
func (r *yamlReader) prepare(n *yaml.Node, path map[*yaml.Node]bool) bool {
	if n == nil || path[n] {
		return true
	}
	if !r.spend(n) {
		return false
	}
	switch {
	case n.Tag == "!vault":
		r.errs.Add(r.at(n).errorf("Ansible Vault values (!vault) are not supported; keep secrets out of inventory vars"))
		return false
	case n.Kind == yaml.ScalarNode && n.Tag == "!!timestamp":
		n.Tag = "!!str"
	}
	path[n] = true
	defer delete(path, n)
	if n.Kind == yaml.AliasNode {
		return r.prepare(n.Alias, path)
	}
	for _, c := range n.Content {
		if !r.prepare(c, path) {
			return false
		}
	}
	return true
}

// value decodes a variable's value into plain Go values: maps with string
// keys, []any, string, int, float64, bool, nil (dates stay strings).
func (r *yamlReader) value(n *yaml.Node) (v any, ok bool) {
	defer func() {
		if p := recover(); p != nil {
			r.errs.Add(r.at(n).errorf("invalid value: %v", p))
			v, ok = nil, false
		}
	}()
	if !r.prepare(n, map[*yaml.Node]bool{}) {
		return nil, false
	}
	if err := n.Decode(&v); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		msg = strings.TrimPrefix(msg, "unmarshal errors:\n  ")
		r.errs.Add(r.at(n).errorf("invalid value: %s", msg))
		return nil, false
	}
	return plain(v), true
}

// plain rewrites what yaml.v3 decodes into JSON-like values (string keys).
func plain(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = plain(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = plain(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = plain(e)
		}
		return x
	}
	return v
}

// vars reads a mapping of variables (null is an empty one).
func (r *yamlReader) vars(n *yaml.Node, owner string) []varEntry {
	n = r.resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		r.errs.Add(r.at(n).errorf("vars of %s must be a mapping, not %s", owner, kind(n)))
		return nil
	}
	var out []varEntry
	for _, e := range r.entries(n, "variable name") {
		if e.name == "" {
			r.errs.Add(r.at(e.key).errorf("empty variable name in vars of %s", owner))
			continue
		}
		v, ok := r.value(e.value)
		if !ok {
			continue
		}
		out = append(out, varEntry{key: e.name, keyAt: r.at(e.key), value: v, valueAt: r.at(r.resolve(e.value))})
	}
	return out
}
