package inventory

import (
	"fmt"
	"net"

	"github.com/runbookhq/runbook/runbook/diag"
)

// maxHosts bounds the hosts of one inventory, so that a few bytes of ranges
// cannot exhaust memory (a variable for the same reason as maxRangeHosts).
var maxHosts = 200000

// builder collects groups, hosts and variables while a file is read, and
// resolves them into an Inventory at the end.
type builder struct {
	file       string
	transports []string // Options.Transports
	errs       diag.List
	warnings   []*diag.Error
	hosts      []*hostDef
	hostByName map[string]*hostDef
	groups     map[string]*groupDef
	groupOrder []string
	tooMany    bool
	suggested  int
}

// maxSuggestions bounds the "did you mean" hints of one inventory: each
// compares a name with every candidate, and a broken file may have many.
const maxSuggestions = 50

// suggest is diag.Suggest, until maxSuggestions hints have been given.
func (b *builder) suggest(word string, candidates []string) string {
	if b.suggested >= maxSuggestions {
		return ""
	}
	b.suggested++
	return diag.Suggest(word, candidates)
}

type groupDef struct {
	name     string
	at       pos  // first definition, or first reference if never defined
	declared bool // defined, not only referenced (matters for INI)
	hosts    []*hostDef
	hostSet  map[string]bool
	children []childRef
	parents  []string
	vars     []map[string]any // inline sources, lowest first
	fileVars []map[string]any // group_vars/ files, lowest first
}

type childRef struct {
	name string
	at   pos
}

type hostDef struct {
	name     string
	at       pos
	groups   []string // direct groups
	vars     []map[string]any
	fileVars []map[string]any
}

func newBuilder(file string, opts Options) *builder {
	b := &builder{
		file:       file,
		transports: opts.Transports,
		hostByName: map[string]*hostDef{},
		groups:     map[string]*groupDef{},
	}
	b.group("all", pos{}).declared = true
	b.group("ungrouped", pos{}).declared = true
	return b
}

// group returns the group called name, creating it (undeclared) if needed.
func (b *builder) group(name string, at pos) *groupDef {
	g := b.groups[name]
	if g == nil {
		g = &groupDef{name: name, at: at, hostSet: map[string]bool{}}
		b.groups[name] = g
		b.groupOrder = append(b.groupOrder, name)
	}
	return g
}

// declare marks a group as defined at at.
func (b *builder) declare(name string, at pos) *groupDef {
	g := b.group(name, at)
	if !g.declared {
		g.declared = true
		g.at = at
	}
	return g
}

// host returns the host called name, creating it at at if needed; it
// returns nil once the inventory holds too many hosts.
func (b *builder) host(name string, at pos) *hostDef {
	if h := b.hostByName[name]; h != nil {
		return h
	}
	if len(b.hosts) >= maxHosts {
		if !b.tooMany {
			b.tooMany = true
			b.errs.Add(at.errorf("the inventory defines more than %d hosts", maxHosts))
		}
		return nil
	}
	if bad := unsafeHostName(name); bad != "" {
		b.errs.Add(at.errorf("host name %q: %s; a host name is printed and used in paths and commands, so it may hold letters, digits, '.', '-' and '_' only (name the host simply and give its address with address: or ansible_host=)", name, bad))
	}
	h := &hostDef{name: name, at: at}
	b.hosts = append(b.hosts, h)
	b.hostByName[name] = h
	return h
}

func (b *builder) addHost(g *groupDef, h *hostDef) {
	if g.hostSet[h.name] {
		return
	}
	g.hostSet[h.name] = true
	g.hosts = append(g.hosts, h)
	h.groups = append(h.groups, g.name)
}

// addChild makes child a child group of parent.
func (b *builder) addChild(parent, child string, at pos) {
	if child == "all" {
		b.errs.Add(at.errorf("group all cannot be a child of group %q", parent))
		return
	}
	p, c := b.group(parent, at), b.group(child, at)
	for _, x := range p.children {
		if x.name == child {
			return
		}
	}
	p.children = append(p.children, childRef{name: child, at: at})
	c.parents = append(c.parents, parent)
}

// unsafeHostName says what makes name unsafe as a host name, "" when it is
// safe: letters, digits, '.', '-' and '_' (SPEC §11), not "." or "..", or
// an IP address (an IPv6 address's colons are safe in paths and commands,
// and inventories commonly name hosts by address).
func unsafeHostName(name string) string {
	if name == "." || name == ".." {
		return "not a name"
	}
	if ip := net.ParseIP(name); ip != nil {
		return ""
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return fmt.Sprintf("%q is not allowed", r)
		}
	}
	return ""
}
