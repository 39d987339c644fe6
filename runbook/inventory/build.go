package inventory

import (
	"slices"
	"sort"
)

// maxGroups bounds the groups of one inventory, and maxResolved the group
// memberships and variables the resolved hosts may hold in all: the cost of
// resolving grows with hosts × groups × variables, which a small file of
// ranges could otherwise make enormous. (Variables so that fuzzing can use
// small limits.)
var (
	maxGroups   = 10000
	maxResolved = 20_000_000
)

// build resolves what was read into an Inventory, or returns every error.
func (b *builder) build() (*Inventory, error) {
	b.reconcile()
	b.checkCycles()
	if len(b.groupOrder) > maxGroups {
		b.errs.Add(pos{file: b.file}.errorf("the inventory defines more than %d groups", maxGroups))
	}
	if err := b.errs.Err(); err != nil {
		return nil, err
	}
	index := make(map[string]int, len(b.groupOrder))
	for i, name := range b.groupOrder {
		index[name] = i
	}
	inv := &Inventory{
		File:       b.file,
		Groups:     make(map[string]*Group, len(b.groups)),
		GroupOrder: slices.Clone(b.groupOrder),
		Warnings:   b.warnings,
	}
	for _, name := range b.groupOrder {
		inv.Groups[name] = b.groups[name].resolve(index)
	}

	// Variables merge in the order of depth (the longest path from all),
	// so that a parent always precedes its children, then of the inventory.
	depth := b.depths()
	rank := make([]int, len(b.groupOrder))
	byDepth := slices.Clone(b.groupOrder)
	sort.SliceStable(byDepth, func(i, j int) bool { return depth[byDepth[i]] < depth[byDepth[j]] })
	for r, name := range byDepth {
		rank[index[name]] = r
	}
	ancestors, ok := b.ancestors(index, byDepth)
	if !ok {
		return nil, b.tooLarge()
	}

	budget := maxResolved
	seen := make([]int, len(b.groupOrder)) // host number + 1 when seen
	var (
		groups  []int            // reused for every host
		sources []map[string]any // reused for every host
	)
	for n, hd := range b.hosts {
		groups, sources = groups[:0], sources[:0]
		add := func(g string) {
			for _, a := range ancestors[index[g]] {
				if seen[a] != n+1 {
					seen[a] = n + 1
					groups = append(groups, a)
				}
			}
		}
		add("all")
		for _, g := range hd.groups {
			add(g)
		}
		slices.Sort(groups)
		h := &Host{Name: hd.name, File: hd.at.file, Line: hd.at.line, Col: hd.at.col, Vars: map[string]any{}}
		h.Groups = make([]string, len(groups))
		for i, g := range groups {
			h.Groups[i] = b.groupOrder[g]
		}
		sort.Slice(groups, func(i, j int) bool { return rank[groups[i]] < rank[groups[j]] })
		for _, g := range groups {
			sources = append(sources, b.groups[b.groupOrder[g]].vars...)
		}
		for _, g := range groups {
			sources = append(sources, b.groups[b.groupOrder[g]].fileVars...)
		}
		sources = append(append(sources, hd.vars...), hd.fileVars...)
		budget -= len(groups)
		for _, src := range sources {
			budget -= len(src)
		}
		if budget < 0 {
			return nil, b.tooLarge()
		}
		for _, src := range sources {
			mergeInto(h.Vars, src)
		}
		resolveHost(h)
		inv.Hosts = append(inv.Hosts, h)
	}
	return inv, nil
}

func (b *builder) tooLarge() error {
	b.errs.Add(pos{file: b.file}.errorf("the inventory is too large to resolve: its hosts' groups and variables come to more than %d entries", maxResolved))
	return b.errs.Err()
}

// resolve turns a group as read into a Group.
func (g *groupDef) resolve(index map[string]int) *Group {
	out := &Group{Name: g.name, Vars: map[string]any{}}
	for _, h := range g.hosts {
		out.Hosts = append(out.Hosts, h.name)
	}
	for _, c := range g.children {
		out.Children = append(out.Children, c.name)
	}
	if g.name == "all" { // explicit and implicit children, in group order
		sort.SliceStable(out.Children, func(i, j int) bool { return index[out.Children[i]] < index[out.Children[j]] })
	}
	for _, src := range g.vars {
		mergeInto(out.Vars, src)
	}
	for _, src := range g.fileVars {
		mergeInto(out.Vars, src)
	}
	return out
}

// resolveHost fills the connection fields of h from its merged variables
// (already checked and typed by normalizeVars).
func resolveHost(h *Host) {
	str := func(name string) string {
		s, _ := h.Vars[name].(string)
		return s
	}
	h.Address = str(VarAddress)
	if h.Address == "" {
		h.Address = h.Name
	}
	h.Port, _ = h.Vars[VarPort].(int)
	h.User = str(VarUser)
	h.IdentityFile = str(VarIdentityFile)
	h.ProxyJump = str(VarProxyJump)
	h.Transport = str(VarTransport)
	if h.Transport == "" {
		h.Transport = TransportSSH
	}
}
