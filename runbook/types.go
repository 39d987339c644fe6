package runbook

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a time.Duration written as Go writes it: 30s, 10m, 1h30m.
type Duration time.Duration

// DecodeYAML implements YAMLDecoder.
func (x *Duration) DecodeYAML(d *Decoder, n *yaml.Node) {
	s, ok := d.scalar(n, "a duration")
	if !ok || s == "" {
		return
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		d.Errorf(n, "bad duration %q: write it like 30s, 10m or 1h30m", s)
		return
	}
	*x = Duration(v)
}

// D returns the value as a time.Duration.
func (x Duration) D() time.Duration { return time.Duration(x) }

func (x Duration) String() string { return time.Duration(x).String() }

// Size is a count of hosts or a percentage of them ("25%").
type Size struct {
	Count   int
	Percent float64 // 0 < Percent <= 100 when set
	IsPct   bool
}

// DecodeYAML implements YAMLDecoder.
func (x *Size) DecodeYAML(d *Decoder, n *yaml.Node) {
	s, ok := d.scalar(n, `a count or a percentage like "25%"`)
	if !ok {
		return
	}
	v, err := ParseSize(s)
	if err != nil {
		d.Errorf(n, "%v", err)
		return
	}
	*x = v
}

// ParseSize parses "3" or "25%".
func ParseSize(s string) (Size, error) {
	s = strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || f <= 0 || f > 100 {
			return Size{}, fmt.Errorf("bad percentage %q: use a number above 0 and at most 100, like \"25%%\"", s)
		}
		return Size{Percent: f, IsPct: true}, nil
	}
	i, err := strconv.Atoi(s)
	if err != nil || i < 0 {
		return Size{}, fmt.Errorf("bad size %q: use a count like 2 or a percentage like \"25%%\"", s)
	}
	return Size{Count: i}, nil
}

// Of resolves the size against a total: percentages round up, and are at
// least 1 when total is not 0.
func (x Size) Of(total int) int {
	if !x.IsPct {
		return x.Count
	}
	n := int(math.Ceil(x.Percent * float64(total) / 100))
	if n < 1 && total > 0 {
		n = 1
	}
	return n
}

func (x Size) String() string {
	if x.IsPct {
		return strconv.FormatFloat(x.Percent, 'f', -1, 64) + "%"
	}
	return strconv.Itoa(x.Count)
}

// SizeList is `serial`: one size or a list of them; the last one repeats.
type SizeList []Size

// DecodeYAML implements YAMLDecoder.
func (x *SizeList) DecodeYAML(d *Decoder, n *yaml.Node) {
	if n.Kind == yaml.SequenceNode {
		var out []Size
		for _, c := range n.Content {
			var s Size
			before := d.Errs.Len()
			s.DecodeYAML(d, Resolve(c))
			if d.Errs.Len() == before && !s.IsPct && s.Count == 0 {
				d.Errorf(c, "a batch size must be at least 1")
			}
			out = append(out, s)
		}
		*x = out
		return
	}
	var s Size
	before := d.Errs.Len()
	s.DecodeYAML(d, n)
	if d.Errs.Len() == before && !s.IsPct && s.Count == 0 {
		d.Errorf(n, "a batch size must be at least 1")
	}
	*x = SizeList{s}
}

// HostSelector picks canary hosts: a count, a percentage, names, or a host
// pattern (SPEC §5).
type HostSelector struct {
	Size    *Size
	Names   []string
	Pattern string
	Node    *yaml.Node
}

// DecodeYAML implements YAMLDecoder: a list is names; a scalar that reads
// as a count or a percentage is a size, and any other a pattern.
func (x *HostSelector) DecodeYAML(d *Decoder, n *yaml.Node) {
	x.Node = n
	if n.Kind == yaml.SequenceNode {
		d.decode(n, valueOf(&x.Names))
		return
	}
	text, ok := d.scalar(n, "a count, a percentage, names or a pattern")
	if !ok {
		return
	}
	text = strings.TrimSpace(text)
	if looksLikeSize(text) {
		var s Size
		s.DecodeYAML(d, n)
		x.Size = &s
		return
	}
	x.Pattern = text
}

// looksLikeSize reports whether s is meant as a count or a percentage: a
// number, signed or not, with or without %.
func looksLikeSize(s string) bool {
	s = strings.TrimSuffix(strings.TrimSpace(s), "%")
	s = strings.TrimLeft(s, "+-")
	if s == "" {
		return true
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// StepRef is where a phase gets its steps: a procedure name or a list.
type StepRef struct {
	Procedure string
	Steps     []*Step
	Node      *yaml.Node
	set       bool
}

// DecodeYAML implements YAMLDecoder.
func (x *StepRef) DecodeYAML(d *Decoder, n *yaml.Node) {
	x.Node, x.set = n, true
	if n.Kind == yaml.ScalarNode {
		x.Procedure = n.Value
		return
	}
	d.decode(n, valueOf(&x.Steps))
}

// IsSet reports whether the key was given.
func (x *StepRef) IsSet() bool { return x.set }

// Param declares one runbook parameter.
type Param struct {
	Name        string     `yaml:"-"`
	Description string     `yaml:"description" desc:"What the parameter is for."`
	Required    bool       `yaml:"required" desc:"The run refuses to start without it."`
	Default     any        `yaml:"default" desc:"Value when none is given."`
	Pattern     string     `yaml:"pattern" desc:"Regular expression the value must match."`
	Secret      bool       `yaml:"secret" desc:"Redacted everywhere it would be printed or written."`
	Node        *yaml.Node `yaml:"-"`
}

// ParamList keeps params in the order they were written.
type ParamList []*Param

// DecodeYAML implements YAMLDecoder.
func (x *ParamList) DecodeYAML(d *Decoder, n *yaml.Node) {
	if IsNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.Errorf(n, "params: expected a mapping of name to declaration, got %s", describe(n))
		return
	}
	for _, kv := range d.Pairs(n) {
		p := &Param{Name: kv.Key.Value, Node: kv.Key}
		if !identRe().MatchString(p.Name) {
			d.Errorf(kv.Key, "param name %q must be a letter or _ followed by letters, digits or _", p.Name)
		}
		d.decode(kv.Value, valueOf(p))
		*x = append(*x, p)
	}
}

// Get returns the param called name, or nil.
func (x ParamList) Get(name string) *Param {
	for _, p := range x {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Var is one runbook variable.
type Var struct {
	Name  string
	Value any
	Node  *yaml.Node
}

// VarList keeps vars in the order they were written.
type VarList []Var

// DecodeYAML implements YAMLDecoder.
func (x *VarList) DecodeYAML(d *Decoder, n *yaml.Node) {
	if IsNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.Errorf(n, "vars: expected a mapping, got %s", describe(n))
		return
	}
	for _, kv := range d.Pairs(n) {
		var v any
		d.decode(kv.Value, valueOf(&v))
		*x = append(*x, Var{Name: kv.Key.Value, Value: v, Node: kv.Key})
	}
}

// Map returns the vars as a map.
func (x VarList) Map() map[string]any {
	m := make(map[string]any, len(x))
	for _, v := range x {
		m[v.Name] = v.Value
	}
	return m
}

// Requires is what a host's facts must show before anything changes.
type Requires struct {
	OS      string `yaml:"os" desc:"facts.os.id, e.g. ubuntu"`
	Version string `yaml:"version" desc:"facts.os.version_id, e.g. \"22.04\""`
	Arch    string `yaml:"arch" desc:"facts.arch, e.g. x86_64"`
}
