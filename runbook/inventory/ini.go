package inventory

import (
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/runbookhq/runbook/runbook/diag"
)

// sectionLine matches what is meant as a section header: `[name]`,
// `[name:vars]`, `[name:children]`, with an optional trailing comment.
var sectionLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\[([^:\]]*)(?::([^\]]*))?\]\s*(?:[#;].*)?$`) })

var sectionKinds = []string{"vars", "children"}

// iniParser reads Ansible's INI inventory format:
//
//	host1 key=value            # before any section: ungrouped
//	[group]                    # hosts, each `pattern key=value ...`
//	[group:vars]               # key=value lines
//	[group:children]           # group names
type iniParser struct {
	b     *builder
	kind  string // "", "vars" or "children"
	group *groupDef
	// varRefs are [g:vars] sections and childRefs are [g:children] entries
	// naming groups that must be defined somewhere in the file.
	varRefs   []childRef
	childRefs []iniChildRef
}

type iniChildRef struct {
	parent string
	childRef
}

func parseINI(b *builder, data []byte) {
	p := &iniParser{b: b, group: b.groups["ungrouped"]}
	text := strings.TrimPrefix(string(data), "\ufeff")
	for i, line := range strings.Split(text, "\n") {
		p.line(i+1, strings.TrimRight(line, "\r"))
	}
	for _, r := range p.varRefs {
		if !b.groups[r.name].declared {
			b.errs.Add(r.at.errorf("[%s:vars] is for a group that is never defined%s", r.name, p.suggestGroup(r.name)))
		}
	}
	for _, r := range p.childRefs {
		if !b.groups[r.name].declared {
			b.errs.Add(r.at.errorf("group %q in [%s:children] is never defined%s", r.name, r.parent, p.suggestGroup(r.name)))
		}
	}
}

func (p *iniParser) suggestGroup(name string) string {
	if p.b.suggested >= maxSuggestions {
		return ""
	}
	var declared []string
	for _, g := range p.b.groupOrder {
		if p.b.groups[g].declared && g != name {
			declared = append(declared, g)
		}
	}
	return p.b.suggest(name, declared)
}

func (p *iniParser) line(n int, raw string) {
	text := strings.TrimLeft(raw, " \t")
	col := 1 + utf8.RuneCountInString(raw[:len(raw)-len(text)])
	text = strings.TrimRight(text, " \t")
	at := pos{file: p.b.file, line: n, col: col}
	if text == "" || text[0] == '#' || text[0] == ';' {
		return
	}
	if m := sectionLine().FindStringSubmatchIndex(text); m != nil {
		kind := ""
		if m[4] >= 0 {
			kind = text[m[4]:m[5]]
		}
		p.header(at, text[m[2]:m[3]], kind, m[4] >= 0)
		return
	}
	if text[0] == '[' && !strings.Contains(text, "]:") {
		p.b.errs.Add(at.errorf("invalid section header %q: expected [group], [group:vars] or [group:children]", text))
		return
	}
	switch p.kind {
	case "vars":
		p.varLine(at, text)
	case "children":
		p.childLine(at, text)
	default:
		p.hostLine(at, text)
	}
}

func (p *iniParser) header(at pos, name, kind string, hasKind bool) {
	if err := checkGroupName(name); err != nil {
		p.b.errs.Add(at.errorf("%v", err))
		p.kind, p.group = "skip", nil
		return
	}
	switch {
	case !hasKind:
		p.kind, p.group = "", p.b.declare(name, at)
	case kind == "children":
		p.kind, p.group = "children", p.b.declare(name, at)
	case kind == "vars":
		p.kind, p.group = "vars", p.b.group(name, at)
		p.varRefs = append(p.varRefs, childRef{name: name, at: at})
	default:
		p.b.errs.Add(at.errorf("unknown section type %q for group %q: expected vars or children%s", kind, name, diag.Suggest(kind, sectionKinds)))
		p.kind, p.group = "skip", nil
	}
}

func (p *iniParser) hostLine(at pos, text string) {
	if p.group == nil {
		return // inside a section whose header was wrong
	}
	toks, err := tokenize(text, at.col)
	if err != nil {
		p.b.errs.Add(errorAt(at, err))
		return
	}
	if len(toks) == 0 {
		return
	}
	hostAt := pos{file: at.file, line: at.line, col: toks[0].col}
	if strings.Contains(toks[0].text, "=") {
		p.b.errs.Add(hostAt.errorf("expected a host name, got %q (variables go after the host name, or in a [%s:vars] section)", toks[0].text, p.group.name))
		return
	}
	names, port, err := expandHostPattern(toks[0].text)
	if err != nil {
		p.b.errs.Add(hostAt.errorf("%v", err))
		return
	}
	var entries []varEntry
	for _, t := range toks[1:] {
		e, ok := p.assignment(at, t)
		if ok {
			entries = append(entries, e)
		}
	}
	vars := p.b.normalizeVars(entries)
	for _, name := range names {
		h := p.b.host(name, hostAt)
		if h == nil {
			return
		}
		p.b.addHost(p.group, h)
		if port != 0 {
			h.vars = append(h.vars, map[string]any{VarPort: port})
		}
		h.vars = append(h.vars, vars)
	}
}

// assignment reads one `key=value` token of a host line.
func (p *iniParser) assignment(line pos, t iniToken) (varEntry, bool) {
	at := pos{file: line.file, line: line.line, col: t.col}
	k, v, ok := strings.Cut(t.text, "=")
	if !ok || k == "" {
		p.b.errs.Add(at.errorf("expected key=value after the host name, got %q", t.text))
		return varEntry{}, false
	}
	valueAt := at
	valueAt.col += utf8.RuneCountInString(k) + 1
	return varEntry{key: k, keyAt: at, value: iniValue(v, t.quoted), valueAt: valueAt}, true
}

// varLine reads `key=value` in a [group:vars] section. As in Ansible, the
// value is the rest of the line, unless it is one quoted string; a comment
// after whitespace is dropped.
func (p *iniParser) varLine(at pos, text string) {
	k, v, ok := strings.Cut(text, "=")
	key := strings.TrimSpace(k)
	if !ok || key == "" || strings.ContainsAny(key, " \t") {
		p.b.errs.Add(at.errorf("expected key=value in [%s:vars], got %q", p.group.name, text))
		return
	}
	valueCol := at.col + utf8.RuneCountInString(k) + 1
	trimmed := strings.TrimLeft(v, " \t")
	valueCol += utf8.RuneCountInString(v) - utf8.RuneCountInString(trimmed)
	toks, err := tokenize(trimmed, valueCol)
	if err != nil {
		p.b.errs.Add(errorAt(at, err))
		return
	}
	var value any
	switch {
	case len(toks) == 0:
		value = ""
	case len(toks) == 1:
		value = iniValue(toks[0].text, toks[0].quoted)
	default:
		value = iniValue(strings.TrimSpace(trimmed[:toks[len(toks)-1].end]), false)
	}
	e := varEntry{key: key, keyAt: at, value: value, valueAt: pos{file: at.file, line: at.line, col: valueCol}}
	p.group.vars = append(p.group.vars, p.b.normalizeVars([]varEntry{e}))
}

func (p *iniParser) childLine(at pos, text string) {
	toks, err := tokenize(text, at.col)
	if err != nil {
		p.b.errs.Add(errorAt(at, err))
		return
	}
	if len(toks) == 0 {
		return
	}
	if len(toks) > 1 {
		p.b.errs.Add(pos{file: at.file, line: at.line, col: toks[1].col}.errorf("unexpected %q after the group name in [%s:children]", toks[1].text, p.group.name))
		return
	}
	name := toks[0].text
	if err := checkGroupName(name); err != nil {
		p.b.errs.Add(at.errorf("%v", err))
		return
	}
	p.b.addChild(p.group.name, name, at)
	p.childRefs = append(p.childRefs, iniChildRef{parent: p.group.name, childRef: childRef{name: name, at: at}})
}
