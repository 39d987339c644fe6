package inventory

import (
	"fmt"

	"github.com/runbookhq/runbook/runbook/diag"
	"gopkg.in/yaml.v3"
)

// maxGroupDepth bounds the nesting of children (and so the recursion).
const maxGroupDepth = 200

var groupKeys = []string{"hosts", "vars", "children"}

// yamlInventory reads Ansible's YAML inventory shape:
//
//	all:
//	  vars: {...}
//	  hosts: {name: {vars...}, ...}
//	  children: {group: {hosts, vars, children}, ...}
//
// Every top-level key is a group ("all" or another one).
type yamlInventory struct {
	*yamlReader
	b *builder
	// seen records the (group, body) pairs already read, so a body reached
	// again through an alias is read once.
	seen map[groupBody]bool
}

type groupBody struct {
	name string
	body *yaml.Node
}

func parseYAML(b *builder, data []byte) {
	p := &yamlInventory{yamlReader: newYAMLReader(b.file, &b.errs), b: b, seen: map[groupBody]bool{}}
	root := p.document(data)
	if isNull(root) {
		return
	}
	if root.Kind != yaml.MappingNode {
		p.errs.Add(p.at(root).errorf("an inventory must be a mapping of groups (all: {hosts, vars, children}), not %s", kind(root)))
		return
	}
	for _, e := range p.entries(root, "group name") {
		p.group(e, "", 0)
	}
}

// group reads one group definition; parent is "" for a top-level group.
func (p *yamlInventory) group(e yamlEntry, parent string, depth int) {
	at := p.at(e.key)
	if err := checkGroupName(e.name); err != nil {
		p.errs.Add(at.errorf("%v", err))
		return
	}
	g := p.b.declare(e.name, at)
	if parent != "" {
		p.b.addChild(parent, e.name, at)
	}
	body := p.resolve(e.value)
	if isNull(body) {
		return
	}
	if p.seen[groupBody{e.name, body}] {
		return
	}
	p.seen[groupBody{e.name, body}] = true
	if depth > maxGroupDepth {
		p.errs.Add(at.errorf("groups nested more than %d deep", maxGroupDepth))
		return
	}
	if body.Kind != yaml.MappingNode {
		p.errs.Add(p.at(body).errorf("group %q must be a mapping with hosts, vars or children, not %s", e.name, kind(body)))
		return
	}
	for _, f := range p.entries(body, "key") {
		switch f.name {
		case "hosts":
			p.hosts(g, f.value)
		case "vars":
			g.vars = append(g.vars, p.b.normalizeVars(p.vars(f.value, fmt.Sprintf("group %q", e.name))))
		case "children":
			p.children(g, f.value, depth)
		default:
			p.errs.Add(p.at(f.key).errorf("unknown key %q in group %q: expected hosts, vars or children%s", f.name, e.name, diag.Suggest(f.name, groupKeys)))
		}
	}
}

func (p *yamlInventory) children(g *groupDef, n *yaml.Node, depth int) {
	n = p.resolve(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		p.errs.Add(p.at(n).errorf("children of group %q must be a mapping of group names, not %s", g.name, kind(n)))
		return
	}
	for _, c := range p.entries(n, "group name") {
		p.group(c, g.name, depth+1)
	}
}

func (p *yamlInventory) hosts(g *groupDef, n *yaml.Node) {
	n = p.resolve(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		hint := ""
		if n.Kind == yaml.SequenceNode {
			hint = " (write each host as a key: `web1:` rather than `- web1`)"
		}
		p.errs.Add(p.at(n).errorf("hosts of group %q must be a mapping of host names, not %s%s", g.name, kind(n), hint))
		return
	}
	for _, e := range p.entries(n, "host name") {
		at := p.at(e.key)
		names, port, err := expandHostPattern(e.name)
		if err != nil {
			p.errs.Add(at.errorf("%v", err))
			continue
		}
		vars := p.b.normalizeVars(p.vars(e.value, fmt.Sprintf("host %q", e.name)))
		for _, name := range names {
			h := p.b.host(name, at)
			if h == nil {
				return
			}
			p.b.addHost(g, h)
			if port != 0 {
				h.vars = append(h.vars, map[string]any{VarPort: port})
			}
			h.vars = append(h.vars, vars)
		}
	}
}
