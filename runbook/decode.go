package runbook

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/runbookhq/runbook/runbook/diag"
)

// Decoder decodes yaml.v3 nodes into Go values strictly: a key that no field
// names is an error with a "did you mean" hint, a value of the wrong shape is
// an error at its position, and decoding goes on after an error so that one
// run reports every problem of a file. Struct fields are matched by their
// `yaml` tag. Types that need their own rules implement YAMLDecoder.
type Decoder struct {
	File string
	Errs *diag.List
	// depth guards against alias bombs and runaway recursion.
	depth int
}

// YAMLDecoder is implemented by types that decode themselves.
type YAMLDecoder interface {
	DecodeYAML(d *Decoder, n *yaml.Node)
}

// Errorf records an error at n.
func (d *Decoder) Errorf(n *yaml.Node, format string, args ...any) {
	d.Errs.Addf(d.File, n, format, args...)
}

// Warnf records a warning at n.
func (d *Decoder) Warnf(n *yaml.Node, format string, args ...any) {
	d.Errs.Warnf(d.File, n, format, args...)
}

const maxDepth = 200

// Resolve follows aliases and unwraps a document node.
func Resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && i < 100; i++ {
		switch n.Kind {
		case yaml.AliasNode:
			n = n.Alias
		case yaml.DocumentNode:
			if len(n.Content) == 0 {
				return nil
			}
			n = n.Content[0]
		default:
			return n
		}
	}
	return n
}

// IsNull reports whether n is absent or an explicit null.
func IsNull(n *yaml.Node) bool {
	n = Resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// KeyValue is one entry of a mapping, merge keys (`<<: *anchor`) expanded.
type KeyValue struct {
	Key   *yaml.Node
	Value *yaml.Node
}

// Pairs returns the entries of mapping node n, expanding YAML merge keys so
// that anchors work as users expect: explicit keys win over merged ones.
func (d *Decoder) Pairs(n *yaml.Node) []KeyValue {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var own, merged []KeyValue
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Tag == "!!merge" || (k.Value == "<<" && k.Style == 0 && k.Tag != "!!str") {
			for _, src := range mergeSources(v) {
				if src.Kind != yaml.MappingNode {
					d.Errorf(v, "merge key `<<` needs a mapping or a list of mappings")
					continue
				}
				d.depth++
				if d.depth < maxDepth {
					merged = append(merged, d.Pairs(src)...)
				}
				d.depth--
			}
			continue
		}
		if seen[k.Value] {
			d.Errorf(k, "key %q appears twice", k.Value)
			continue
		}
		seen[k.Value] = true
		own = append(own, KeyValue{k, v})
	}
	for _, kv := range merged {
		if !seen[kv.Key.Value] {
			seen[kv.Key.Value] = true
			own = append(own, kv)
		}
	}
	return own
}

func mergeSources(v *yaml.Node) []*yaml.Node {
	v = Resolve(v)
	if v == nil {
		return nil
	}
	if v.Kind == yaml.SequenceNode {
		var out []*yaml.Node
		for _, c := range v.Content {
			if r := Resolve(c); r != nil {
				out = append(out, r)
			}
		}
		return out
	}
	return []*yaml.Node{v}
}

// Decode decodes n into the value pointed to by out.
func (d *Decoder) Decode(n *yaml.Node, out any) {
	v := reflect.ValueOf(out)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		panic("runbook: Decode needs a non-nil pointer")
	}
	d.decode(n, v.Elem())
}

var yamlDecoderType = reflect.TypeFor[YAMLDecoder]()

func (d *Decoder) decode(n *yaml.Node, v reflect.Value) {
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > maxDepth {
		d.Errorf(n, "document nested too deeply")
		return
	}
	n = Resolve(n)
	if n == nil {
		return
	}
	if v.CanAddr() && v.Addr().Type().Implements(yamlDecoderType) {
		if v.Kind() == reflect.Pointer && v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v.Addr().Interface().(YAMLDecoder).DecodeYAML(d, n)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if IsNull(n) {
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem())
	case reflect.Interface:
		x, err := DecodeValue(n)
		if err != nil {
			d.Errorf(n, "%s", cleanYAMLError(err))
			return
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
	case reflect.Struct:
		d.decodeStruct(n, v)
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int64, reflect.Int32, reflect.Float64:
		d.decodeScalar(n, v)
	case reflect.Slice:
		d.decodeSlice(n, v)
	case reflect.Map:
		d.decodeMap(n, v)
	default:
		panic(fmt.Sprintf("runbook: cannot decode into %s", v.Type()))
	}
}

// decodeScalar decodes n into a string, bool, integer or float64.
func (d *Decoder) decodeScalar(n *yaml.Node, v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		if s, ok := d.scalar(n, "a string"); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		if s, ok := d.scalar(n, "true or false"); ok {
			b, err := strconv.ParseBool(s)
			if err != nil || (n.Tag != "!!bool" && n.Tag != "!!str") {
				d.Errorf(n, "expected true or false, got %q", s)
				return
			}
			v.SetBool(b)
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		if s, ok := d.scalar(n, "a whole number"); ok {
			i, err := strconv.ParseInt(s, 0, 64)
			if err != nil {
				d.Errorf(n, "expected a whole number, got %q", s)
				return
			}
			v.SetInt(i)
		}
	case reflect.Float64:
		if s, ok := d.scalar(n, "a number"); ok {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				d.Errorf(n, "expected a number, got %q", s)
				return
			}
			v.SetFloat(f)
		}
	}
}

// decodeSlice decodes a sequence node into a slice; null leaves it empty.
func (d *Decoder) decodeSlice(n *yaml.Node, v reflect.Value) {
	if IsNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.Errorf(n, "expected a list, got %s", describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, c := range n.Content {
		d.decode(c, s.Index(i))
	}
	v.Set(s)
}

// decodeMap decodes a mapping node into a map with string keys; null
// leaves it empty.
func (d *Decoder) decodeMap(n *yaml.Node, v reflect.Value) {
	if IsNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.Errorf(n, "expected a mapping, got %s", describe(n))
		return
	}
	if v.Type().Key().Kind() != reflect.String {
		panic("runbook: map keys must be strings")
	}
	m := reflect.MakeMap(v.Type())
	for _, kv := range d.Pairs(n) {
		ev := reflect.New(v.Type().Elem()).Elem()
		d.decode(kv.Value, ev)
		m.SetMapIndex(reflect.ValueOf(kv.Key.Value).Convert(v.Type().Key()), ev)
	}
	v.Set(m)
}

// scalar returns the text of scalar node n, or records an error naming what
// was expected.
func (d *Decoder) scalar(n *yaml.Node, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.Errorf(n, "expected %s, got %s", want, describe(n))
		return "", false
	}
	if n.Tag == "!!null" {
		return "", true
	}
	return n.Value, true
}

// describe names the shape of a node for error messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

// fieldInfo describes one decodable struct field.
type fieldInfo struct {
	name  string
	index []int
	tmpl  bool // may be a {{ }} template over params and vars (Templates)
}

// structFields lists the fields of t that have a yaml name, embedded structs
// flattened.
func structFields(t reflect.Type) []fieldInfo {
	var out []fieldInfo
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			for _, sub := range structFields(f.Type) {
				sub.index = append([]int{i}, sub.index...)
				out = append(out, sub)
			}
			continue
		}
		if name == "" {
			continue
		}
		out = append(out, fieldInfo{name: name, index: []int{i}, tmpl: f.Tag.Get("tmpl") == "true"})
	}
	return out
}

func (d *Decoder) decodeStruct(n *yaml.Node, v reflect.Value) {
	if IsNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.Errorf(n, "expected a mapping, got %s", describe(n))
		return
	}
	fields := structFields(v.Type())
	byName := make(map[string]fieldInfo, len(fields))
	names := make([]string, 0, len(fields))
	for _, f := range fields {
		byName[f.name] = f
		names = append(names, f.name)
	}
	for _, kv := range d.Pairs(n) {
		f, ok := byName[kv.Key.Value]
		if !ok {
			d.Errorf(kv.Key, "unknown key %q%s", kv.Key.Value, diag.Suggest(kv.Key.Value, names))
			continue
		}
		if !d.keepTemplate(kv.Value, f, v) {
			d.decode(kv.Value, v.FieldByIndex(f.index))
		}
	}
}

// FieldNode returns the value node of key in mapping n, or nil.
func FieldNode(n *yaml.Node, key string) *yaml.Node {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// cleanYAMLError strips yaml.v3's "yaml: line N:" prefix, since our errors
// carry the position themselves.
func cleanYAMLError(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "yaml: ")
	if strings.HasPrefix(s, "line ") {
		if i := strings.Index(s, ": "); i > 0 {
			s = s[i+2:]
		}
	}
	return s
}

// DecodeFields decodes mapping n into the struct out points to, field by
// field, without calling out's own DecodeYAML (for types whose DecodeYAML
// handles a shorthand and falls back to the mapping form).
func (d *Decoder) DecodeFields(n *yaml.Node, out any) {
	d.decodeStruct(Resolve(n), reflect.ValueOf(out).Elem())
}

// Scalar returns the text of scalar node n, or records an error saying what
// was expected.
func (d *Decoder) Scalar(n *yaml.Node, want string) (string, bool) {
	return d.scalar(Resolve(n), want)
}

// DecodeValue decodes n into plain Go values as YAML types them, except
// that a timestamp stays the text written: a value that is journaled
// (params) must read back as it was, and a date in a runbook or a vars file
// is meant as the text an operator wrote, not as a time in some zone.
func DecodeValue(n *yaml.Node) (any, error) {
	if hasTimestamp(n) {
		n = textTimestamps(n)
	}
	var x any
	err := n.Decode(&x)
	return x, err
}

func hasTimestamp(n *yaml.Node) bool {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!timestamp" {
		return true
	}
	return slices.ContainsFunc(n.Content, hasTimestamp)
}

// textTimestamps returns a copy of n whose timestamps are tagged as text.
func textTimestamps(n *yaml.Node) *yaml.Node {
	c := *n
	if c.Kind == yaml.ScalarNode && c.ShortTag() == "!!timestamp" {
		c.Tag = "!!str"
	}
	if len(n.Content) > 0 {
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, k := range n.Content {
			c.Content[i] = textTimestamps(k)
		}
	}
	return &c
}
