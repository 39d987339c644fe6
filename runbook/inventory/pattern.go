package inventory

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/runbookhq/runbook/runbook/diag"
)

// Select returns the hosts a host pattern names, in inventory order, each
// once. The pattern is Ansible's: terms separated by `:` or `,`; a term is
// `all` or `*`, a group or host name, a glob (`worker-*`, `web?`), a host
// range (`worker-[1:3]`), a subscript of what a term selects (`workers[0]`,
// `workers[1:3]`, `workers[-1]`), or `~regex` (anchored at the start, like
// Python's re.match). A term prefixed with `&` intersects and `!` excludes;
// as in Ansible the plain terms are joined first, then the intersections
// applied, then the exclusions, whatever their order in the pattern, and a
// pattern of only `&` and `!` terms starts from all. A term that matches no
// host or group is an error (an empty group is not).
func (inv *Inventory) Select(pattern string) ([]*Host, error) {
	set, err := newMatcher(inv).eval(pattern)
	if err != nil {
		return nil, err
	}
	out := []*Host{}
	for i, in := range set {
		if in {
			out = append(out, inv.Hosts[i])
		}
	}
	return out, nil
}

// Limit narrows hosts (a selection, e.g. a runbook's targets) to those the
// pattern also names, as --limit does. The order of hosts is kept. Names in
// the pattern are checked against the whole inventory, so naming a host
// that exists but is not in hosts is not an error; it just selects nothing.
func (inv *Inventory) Limit(hosts []*Host, pattern string) ([]*Host, error) {
	sel, err := inv.Select(pattern)
	if err != nil {
		return nil, err
	}
	keep := make(map[*Host]bool, len(sel))
	for _, h := range sel {
		keep[h] = true
	}
	out := []*Host{}
	for _, h := range hosts {
		if keep[h] {
			out = append(out, h)
			delete(keep, h) // once each
		}
	}
	return out, nil
}

// matcher evaluates patterns against one inventory.
type matcher struct {
	inv     *Inventory
	pattern string
	members map[string][]int // group -> host indexes, in inventory order
	hosts   map[string]int
	names   []string // hosts and groups, for suggestions
}

func newMatcher(inv *Inventory) *matcher {
	m := &matcher{inv: inv, members: map[string][]int{}, hosts: map[string]int{}}
	for name := range inv.Groups {
		m.members[name] = nil
	}
	for i, h := range inv.Hosts {
		if _, dup := m.hosts[h.Name]; !dup {
			m.hosts[h.Name] = i
		}
		for _, g := range h.Groups {
			m.members[g] = append(m.members[g], i)
		}
	}
	for _, h := range inv.Hosts {
		m.names = append(m.names, h.Name)
	}
	m.names = append(m.names, inv.GroupOrder...)
	return m
}

func (m *matcher) eval(pattern string) ([]bool, error) {
	m.pattern = pattern
	terms := splitPattern(pattern)
	if len(terms) == 0 {
		return nil, fmt.Errorf("empty host pattern %q", pattern)
	}
	var plain, and, not []string
	for _, t := range terms {
		switch t[0] {
		case '&':
			and = append(and, t[1:])
		case '!':
			not = append(not, t[1:])
		default:
			plain = append(plain, t)
		}
	}
	if len(plain) == 0 {
		plain = []string{"all"}
	}
	var errs diag.List
	match := func(t string) []int {
		idx, err := m.term(strings.TrimSpace(t))
		errs.Add(err)
		return idx
	}
	set := make([]bool, len(m.inv.Hosts))
	for _, t := range plain {
		for _, i := range match(t) {
			set[i] = true
		}
	}
	for _, t := range and {
		in := make([]bool, len(set))
		for _, i := range match(t) {
			in[i] = true
		}
		for i := range set {
			set[i] = set[i] && in[i]
		}
	}
	for _, t := range not {
		for _, i := range match(t) {
			set[i] = false
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return set, nil
}

// splitPattern splits a pattern into terms at commas, and at colons outside
// brackets (a pattern that is one IPv6 address is one term).
func splitPattern(p string) []string {
	var out []string
	for _, piece := range strings.Split(p, ",") {
		piece = strings.TrimSpace(piece)
		if net.ParseIP(strings.TrimLeft(piece, "&!")) != nil {
			out = append(out, piece)
			continue
		}
		depth, start := 0, 0
		for i := 0; i < len(piece); i++ {
			switch piece[i] {
			case '[':
				depth++
			case ']':
				if depth > 0 {
					depth--
				}
			case ':':
				if depth == 0 {
					out = append(out, strings.TrimSpace(piece[start:i]))
					start = i + 1
				}
			}
		}
		out = append(out, strings.TrimSpace(piece[start:]))
	}
	terms := out[:0]
	for _, t := range out {
		if t != "" {
			terms = append(terms, t)
		}
	}
	return terms
}

// subscript matches `base[i]`, `base[i:j]` and `base[i:]`.
var subscript = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(.+)\[(?:(-?[0-9]+)|([0-9]+):([0-9]*))\]$`) })

// term returns the hosts one term names, in inventory order.
func (m *matcher) term(t string) ([]int, error) {
	if t == "" {
		return nil, fmt.Errorf("host pattern %q: empty term", m.pattern)
	}
	if t[0] == '~' {
		return m.regex(t)
	}
	if s := subscript().FindStringSubmatch(t); s != nil {
		if idx, ok := m.match(s[1]); ok {
			return m.subscript(t, idx, s[2], s[3], s[4])
		}
	}
	if strings.ContainsAny(t, "[]") {
		if names, err := expandRanges(t); err == nil && (len(names) > 1 || names[0] != t) {
			var idx []int
			for _, n := range names {
				found, _ := m.match(n)
				idx = append(idx, found...)
			}
			if len(idx) == 0 {
				return nil, fmt.Errorf("host pattern %q: no host or group matches %q", m.pattern, t)
			}
			return idx, nil
		}
	}
	if idx, ok := m.match(t); ok {
		return idx, nil
	}
	hint := ""
	if !strings.ContainsAny(t, "*?[") {
		hint = diag.Suggest(t, m.names)
	}
	return nil, fmt.Errorf("host pattern %q: no host or group matches %q%s", m.pattern, t, hint)
}

// match resolves a name or glob; ok reports whether it named anything (an
// existing empty group counts).
func (m *matcher) match(t string) (idx []int, ok bool) {
	if t == "all" || t == "*" {
		idx = make([]int, len(m.inv.Hosts))
		for i := range idx {
			idx[i] = i
		}
		return idx, true
	}
	if members, ok := m.members[t]; ok {
		return members, true
	}
	if i, ok := m.hosts[t]; ok {
		return []int{i}, true
	}
	if !strings.ContainsAny(t, "*?[") {
		return nil, false
	}
	re, err := globRegexp(t)
	if err != nil {
		return nil, false
	}
	idx = m.matching(re.MatchString)
	return idx, len(idx) > 0
}

// matching returns the hosts whose name, or one of whose groups, satisfies
// ok, in inventory order. The implicit groups all and ungrouped are left
// out (unlike Ansible, where `a*` selects every host through all).
func (m *matcher) matching(ok func(string) bool) []int {
	var idx []int
	for i, h := range m.inv.Hosts {
		if ok(h.Name) {
			idx = append(idx, i)
			continue
		}
		for _, g := range h.Groups {
			if g != "all" && g != "ungrouped" && ok(g) {
				idx = append(idx, i)
				break
			}
		}
	}
	return idx
}

func (m *matcher) regex(t string) ([]int, error) {
	re, err := regexp.Compile(`^(?:` + t[1:] + `)`)
	if err != nil {
		return nil, fmt.Errorf("host pattern %q: invalid regular expression %q: %v", m.pattern, t[1:], err)
	}
	idx := m.matching(re.MatchString)
	if len(idx) == 0 {
		return nil, fmt.Errorf("host pattern %q: no host or group matches %q", m.pattern, t)
	}
	return idx, nil
}

// subscript applies `[i]` (negative counts from the end) or the inclusive
// `[i:j]` / `[i:]` to the hosts a term selected.
func (m *matcher) subscript(t string, idx []int, single, from, to string) ([]int, error) {
	if single != "" {
		i, err := strconv.Atoi(single)
		if i < 0 {
			i += len(idx)
		}
		if err != nil || i < 0 || i >= len(idx) {
			return nil, fmt.Errorf("host pattern %q: %q is out of range (%d hosts)", m.pattern, t, len(idx))
		}
		return idx[i : i+1], nil
	}
	i, err1 := strconv.Atoi(from)
	j, err2 := len(idx)-1, error(nil)
	if to != "" {
		j, err2 = strconv.Atoi(to)
	}
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("host pattern %q: %q is out of range (%d hosts)", m.pattern, t, len(idx))
	}
	j = min(j, len(idx)-1)
	if i > j {
		return nil, nil
	}
	return idx[i : j+1], nil
}
