package sim

import (
	"fmt"
	"sort"
	"strings"

	"github.com/runbookhq/runbook/lab/shell"
)

// aptCacheProgram simulates apt-cache policy, madison and show.
func (w *World) aptCacheProgram(c *shell.Call) int {
	cl, err := newFlagSpec("q,quiet,n,names-only,o:,option:,a,all-versions,no-all-versions").parse(c.Args[1:])
	if err != nil {
		fmt.Fprintf(c.Stderr, "E: Command line option %s is not understood\n", strings.TrimPrefix(err.Error(), "unknown flag: "))
		return 100
	}
	if len(cl.args) == 0 {
		fmt.Fprintf(c.Stderr, "E: No operation specified\n")
		return 100
	}
	verb, pkgs := cl.args[0], cl.args[1:]
	return w.read(c, func(p *pctx) int {
		entries, err := readDpkgStatus(p.root)
		if err != nil {
			p.eprintf("E: %v\n", err)
			return 100
		}
		avail := readLists(p.root)
		switch verb {
		case "policy":
			return p.aptPolicy(pkgs, entries, avail)
		case "madison":
			for _, name := range pkgs {
				for _, v := range avail[name] {
					p.printf("%10s | %s | %s\n", name, v.pkg.Version, v.origin)
				}
			}
			return 0
		case "show":
			code := 0
			for _, name := range pkgs {
				vs := avail[name]
				if len(vs) == 0 {
					p.eprintf("E: No packages found\n")
					code = 100
					continue
				}
				for _, v := range vs {
					p.printf("Package: %s\nVersion: %s\nPriority: optional\nSection: %s\nMaintainer: %s\nInstalled-Size: %d\nDownload-Size: %s\nAPT-Sources: %s\nDescription: %s\n\n",
						name, v.pkg.Version, v.pkg.Section, v.pkg.Maintainer, v.pkg.InstalledSize, humanBytes(v.pkg.Size), strings.TrimSuffix(v.origin, "  Packages")+" Packages", v.pkg.Description)
				}
			}
			return code
		case "search":
			var names []string
			for name := range avail {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				if len(pkgs) == 0 || strings.Contains(name, pkgs[0]) {
					p.printf("%s - %s\n", name, avail[name][0].pkg.Description)
				}
			}
			return 0
		case "pkgnames":
			for name := range avail {
				p.printf("%s\n", name)
			}
			return 0
		}
		p.eprintf("E: Invalid operation %s\n", verb)
		return 100
	})
}

// aptPolicy prints apt-cache policy for the packages.
func (p *pctx) aptPolicy(pkgs []string, entries []*dpkgEntry, avail map[string][]availableVersion) int {
	if len(pkgs) == 0 {
		p.printf("Package files:\n 100 /var/lib/dpkg/status\n     release a=now\n")
		sources, _ := readSources(p.root)
		for _, s := range sources {
			if kind, _ := s.classify(); kind == repoLab && rootFileExists(p.root, s.listsFile()) {
				p.printf(" 500 %s Packages\n     release o=obs://build.opensuse.org/isv:kubernetes,c=\n", s.display())
			}
		}
		p.printf("Pinned packages:\n")
		return 0
	}
	for _, name := range pkgs {
		e := findDpkg(entries, name)
		installed := ""
		if e != nil && e.installed() {
			installed = e.Version
		}
		vs := avail[name]
		if len(vs) == 0 && installed == "" {
			if e == nil {
				continue // apt-cache policy prints nothing for unknown packages
			}
		}
		candidate := "(none)"
		if len(vs) > 0 {
			candidate = vs[0].pkg.Version
		}
		if installed != "" && (len(vs) == 0 || compareDebVersions(installed, vs[0].pkg.Version) > 0) {
			candidate = installed
		}
		inst := installed
		if inst == "" {
			inst = "(none)"
		}
		p.printf("%s:\n  Installed: %s\n  Candidate: %s\n  Version table:\n", name, inst, candidate)
		type row struct {
			version string
			origins []string
			prio    int
		}
		var rows []*row
		find := func(v string) *row {
			for _, r := range rows {
				if r.version == v {
					return r
				}
			}
			r := &row{version: v}
			rows = append(rows, r)
			return r
		}
		for _, v := range vs {
			r := find(v.pkg.Version)
			r.origins = append(r.origins, "500 "+v.origin)
			r.prio = 500
		}
		if installed != "" {
			r := find(installed)
			r.origins = append(r.origins, "100 /var/lib/dpkg/status")
			if r.prio == 0 {
				r.prio = 100
			}
		}
		sort.SliceStable(rows, func(i, j int) bool { return compareDebVersions(rows[i].version, rows[j].version) > 0 })
		for _, r := range rows {
			mark := "    "
			if r.version == installed {
				mark = " ***"
			}
			p.printf("%s %s %d\n", mark, r.version, r.prio)
			for _, o := range r.origins {
				p.printf("        %s\n", o)
			}
		}
	}
	return 0
}

var aptMarkFlags = newFlagSpec("h,help,v,version,q,qq,quiet,y,yes,s,simulate,dry-run,just-print,no-act,f:,file:,o:,option:,c:,config-file:")

// aptMarkProgram simulates apt-mark hold, unhold and showhold.
func (w *World) aptMarkProgram(c *shell.Call) int {
	cl, err := aptMarkFlags.parse(c.Args[1:])
	if err != nil {
		fmt.Fprintf(c.Stderr, "E: Command line option %s is not understood in combination with the other options\n", strings.TrimPrefix(err.Error(), "unknown flag: "))
		return 100
	}
	args := cl.args
	if len(args) == 0 {
		fmt.Fprintf(c.Stderr, "E: No operation specified\n")
		return 100
	}
	verb, pkgs := args[0], args[1:]
	return w.run(c, func(p *pctx) int {
		entries, err := readDpkgStatus(p.root)
		if err != nil {
			p.eprintf("E: %v\n", err)
			return 100
		}
		avail := readLists(p.root)
		switch verb {
		case "showhold", "showholds":
			var held []string
			for _, e := range entries {
				if e.held() {
					held = append(held, e.Package)
				}
			}
			sort.Strings(held)
			for _, h := range held {
				p.printf("%s\n", h)
			}
			return 0
		case "hold", "unhold":
			if len(pkgs) == 0 {
				p.eprintf("E: No packages found\n")
				return 100
			}
			changed := false
			for _, name := range pkgs {
				e := findDpkg(entries, name)
				if e == nil {
					if len(avail[name]) == 0 {
						p.eprintf("E: Unable to locate package %s\n", name)
						return 100
					}
					e = &dpkgEntry{Package: name, Want: "install", State: "not-installed"}
					entries = append(entries, e)
				}
				switch {
				case verb == "hold" && e.held():
					p.printf("%s was already set on hold.\n", name)
				case verb == "hold":
					e.Want = "hold"
					changed = true
					p.printf("%s set on hold.\n", name)
				case !e.held():
					p.printf("%s was already not on hold.\n", name)
				default:
					e.Want = "install"
					changed = true
					p.printf("Canceled hold on %s.\n", name)
				}
			}
			if changed {
				if err := writeDpkgStatus(p.root, entries); err != nil {
					p.eprintf("E: %v\n", err)
					return 100
				}
			}
			return 0
		case "showmanual", "showauto", "manual", "auto", "minimize-manual":
			return 0
		}
		p.eprintf("E: Invalid operation %s\n", verb)
		return 100
	})
}
