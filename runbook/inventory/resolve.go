package inventory

import "strings"

// reconcile applies Ansible's rules for the implicit groups: every group
// without a parent is a child of all, and a host in no group but all is in
// ungrouped (and only such a host).
func (b *builder) reconcile() {
	all, ungrouped := b.groups["all"], b.groups["ungrouped"]
	for _, name := range b.groupOrder {
		if g := b.groups[name]; name != "all" && len(g.parents) == 0 {
			all.children = append(all.children, childRef{name: name})
			g.parents = append(g.parents, "all")
		}
	}
	// Rebuilt in one pass: removing hosts one by one would be quadratic.
	ungrouped.hosts, ungrouped.hostSet = nil, map[string]bool{}
	for _, h := range b.hosts {
		direct := h.groups[:0]
		for _, g := range h.groups {
			if g != "ungrouped" {
				direct = append(direct, g)
			}
		}
		h.groups = direct
		others := 0
		for _, g := range h.groups {
			if g != "all" {
				others++
			}
		}
		if others == 0 {
			b.addHost(ungrouped, h)
		}
		if b.groups[h.name] != nil {
			b.warnings = append(b.warnings, h.at.warnf("%q is both a host and a group; patterns name the group", h.name))
		}
	}
}

// checkCycles reports every cycle of child groups, at the reference that
// closes it.
func (b *builder) checkCycles() {
	const (
		white = iota
		grey
		black
	)
	color := make(map[string]int, len(b.groups))
	var stack []string
	var visit func(name string)
	visit = func(name string) {
		color[name] = grey
		stack = append(stack, name)
		for _, c := range b.groups[name].children {
			switch color[c.name] {
			case grey:
				i := len(stack) - 1
				for stack[i] != c.name {
					i--
				}
				path := append(append([]string{}, stack[i:]...), c.name)
				b.errs.Add(c.at.errorf("group cycle: %s", strings.Join(path, " -> ")))
			case white:
				visit(c.name)
			}
		}
		stack = stack[:len(stack)-1]
		color[name] = black
	}
	for _, name := range b.groupOrder {
		if color[name] == white {
			visit(name)
		}
	}
}

// depths returns each group's longest distance from all. The child graph
// must be free of cycles.
func (b *builder) depths() map[string]int {
	depth := make(map[string]int, len(b.groups))
	var of func(name string) int
	of = func(name string) int {
		if d, ok := depth[name]; ok {
			return d
		}
		d := 0
		for _, p := range b.groups[name].parents {
			d = max(d, of(p)+1)
		}
		depth[name] = d
		return d
	}
	for _, name := range b.groupOrder {
		of(name)
	}
	return depth
}

// ancestors returns, for each group (by index), the indexes of the group
// itself and of every group above it. byDepth lists parents before their
// children. ok is false when the lists grow beyond maxResolved entries.
func (b *builder) ancestors(index map[string]int, byDepth []string) (anc [][]int, ok bool) {
	anc = make([][]int, len(b.groupOrder))
	seen := make([]int, len(b.groupOrder)) // group index + 1 when seen
	total := 0
	for _, name := range byDepth {
		g := index[name]
		seen[g] = g + 1
		list := []int{g}
		for _, p := range b.groups[name].parents {
			for _, a := range anc[index[p]] {
				if seen[a] != g+1 {
					seen[a] = g + 1
					list = append(list, a)
				}
			}
		}
		if total += len(list); total > maxResolved {
			return nil, false
		}
		anc[g] = list
	}
	return anc, true
}
