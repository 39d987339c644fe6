package sim

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"sync"

	"github.com/runbookhq/runbook/lab/shell"
)

var dpkgFieldRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\$\{([^};]+)(?:;(-?\d+))?\}`) })

// dpkgFormat expands a dpkg-query --showformat string for an entry.
func dpkgFormat(format string, e *dpkgEntry) string {
	format = strings.NewReplacer(`\n`, "\n", `\t`, "\t", `\\`, `\`).Replace(format)
	return dpkgFieldRE().ReplaceAllStringFunc(format, func(m string) string {
		sub := dpkgFieldRE().FindStringSubmatch(m)
		var v string
		switch sub[1] {
		case "Package":
			v = e.Package
		case "binary:Package":
			v = e.Package
		case "Version":
			v = e.Version
		case "Status":
			v = e.status()
		case "db:Status-Abbrev":
			v = statusAbbrev(e)
		case "db:Status-Want":
			v = e.Want
		case "db:Status-Status":
			v = e.State
		case "Architecture":
			v = e.Architecture
		case "Installed-Size":
			v = e.InstalledSize
		case "Maintainer":
			v = e.Maintainer
		case "Section":
			v = e.Section
		case "Priority":
			v = e.Priority
		case "Description", "binary:Summary":
			v, _, _ = strings.Cut(e.Description, "\n")
		}
		if sub[2] != "" {
			var width int
			fmt.Sscan(sub[2], &width)
			if width < 0 {
				v = fmt.Sprintf("%-*s", -width, v)
			} else {
				v = fmt.Sprintf("%*s", width, v)
			}
		}
		return v
	})
}

// statusAbbrev is dpkg -l's two/three-letter status ("ii ", "hi ", "iF ").
func statusAbbrev(e *dpkgEntry) string {
	want := map[string]string{"install": "i", "hold": "h", "deinstall": "r", "purge": "p"}[e.Want]
	state := map[string]string{"installed": "i", "half-configured": "F", "unpacked": "U", "config-files": "c", "not-installed": "n"}[e.State]
	return want + state + " "
}

// matchEntries returns the entries whose name matches any of the patterns
// (shell globs), or every entry when there is no pattern.
func matchEntries(entries []*dpkgEntry, patterns []string) ([]*dpkgEntry, []string) {
	if len(patterns) == 0 {
		return entries, nil
	}
	var out []*dpkgEntry
	var missing []string
	for _, pat := range patterns {
		found := false
		for _, e := range entries {
			if ok, _ := path.Match(pat, e.Package); ok {
				out = append(out, e)
				found = true
			}
		}
		if !found {
			missing = append(missing, pat)
		}
	}
	return out, missing
}

// dpkgQueryProgram simulates dpkg-query -W, -s and -l.
func (w *World) dpkgQueryProgram(c *shell.Call) int {
	cl, err := newFlagSpec("W,show,f:,showformat:,s,status,l,list,L,listfiles").parse(c.Args[1:])
	if err != nil {
		fmt.Fprintf(c.Stderr, "dpkg-query: error: %v\n", err)
		return 2
	}
	return w.read(c, func(p *pctx) int {
		entries, err := readDpkgStatus(p.root)
		if err != nil {
			p.eprintf("dpkg-query: error: %v\n", err)
			return 2
		}
		switch {
		case cl.has("s", "status"):
			return p.dpkgStatus(entries, cl.args, "dpkg-query")
		case cl.has("l", "list"):
			return p.dpkgList(entries, cl.args, "dpkg-query")
		case cl.has("L", "listfiles"):
			for _, name := range cl.args {
				for _, f := range filesOf(name) {
					p.printf("%s\n", f.path)
				}
			}
			return 0
		}
		format, ok := cl.value("f", "showformat")
		if !ok {
			format = "${binary:Package}\t${Version}\n"
		}
		matched, missing := matchEntries(entries, cl.args)
		for _, e := range matched {
			p.printf("%s", dpkgFormat(format, e))
		}
		for _, m := range missing {
			p.eprintf("dpkg-query: no packages found matching %s\n", m)
		}
		if len(missing) > 0 {
			return 1
		}
		return 0
	})
}

func (p *pctx) dpkgStatus(entries []*dpkgEntry, names []string, prog string) int {
	code := 0
	for i, name := range names {
		e := findDpkg(entries, name)
		if e == nil {
			p.eprintf("%s: package '%s' is not installed and no information is available\n", prog, name)
			code = 1
			continue
		}
		if i > 0 {
			p.printf("\n")
		}
		p.printf("Package: %s\nStatus: %s\nPriority: %s\nSection: %s\nInstalled-Size: %s\nMaintainer: %s\nArchitecture: %s\nVersion: %s\nDescription: %s\n",
			e.Package, e.status(), e.Priority, e.Section, e.InstalledSize, e.Maintainer, e.Architecture, e.Version, e.Description)
	}
	return code
}

func (p *pctx) dpkgList(entries []*dpkgEntry, patterns []string, prog string) int {
	matched, missing := matchEntries(entries, patterns)
	if len(matched) > 0 {
		p.printf("Desired=Unknown/Install/Remove/Purge/Hold\n| Status=Not/Inst/Conf-files/Unpacked/halF-conf/Half-inst/trig-aWait/Trig-pend\n|/ Err?=(none)/Reinst-required (Status,Err: uppercase=bad)\n")
		p.printf("||/ %-20s %-24s %-12s %s\n", "Name", "Version", "Architecture", "Description")
		p.printf("+++-%s-%s-%s-%s\n", strings.Repeat("=", 20), strings.Repeat("=", 24), strings.Repeat("=", 12), strings.Repeat("=", 40))
		for _, e := range matched {
			desc, _, _ := strings.Cut(e.Description, "\n")
			p.printf("%s %-20s %-24s %-12s %s\n", statusAbbrev(e), e.Package, e.Version, e.Architecture, desc)
		}
	}
	for _, m := range missing {
		p.eprintf("%s: no packages found matching %s\n", prog, m)
	}
	if len(missing) > 0 {
		return 1
	}
	return 0
}

// dpkgProgram simulates dpkg -l, -s, --get-selections and --configure -a.
func (w *World) dpkgProgram(c *shell.Call) int {
	cl, err := newFlagSpec("l,list,s,status,L,listfiles,get-selections,configure,a,pending,audit,C,force-confold,force-confdef,version").parse(c.Args[1:])
	if err != nil {
		fmt.Fprintf(c.Stderr, "dpkg: error: %v\n\nType dpkg --help for help about installing and deinstalling packages [*];\n", err)
		return 2
	}
	return w.run(c, func(p *pctx) int {
		entries, err := readDpkgStatus(p.root)
		if err != nil {
			p.eprintf("dpkg: error: %v\n", err)
			return 2
		}
		switch {
		case cl.has("version"):
			p.printf("Debian 'dpkg' package management program version 1.21.1 (amd64).\n")
		case cl.has("l", "list"):
			return p.dpkgList(entries, cl.args, "dpkg-query")
		case cl.has("s", "status"):
			return p.dpkgStatus(entries, cl.args, "dpkg-query")
		case cl.has("L", "listfiles"):
			for _, name := range cl.args {
				for _, f := range filesOf(name) {
					p.printf("%s\n", f.path)
				}
			}
		case cl.has("get-selections"):
			matched, _ := matchEntries(entries, cl.args)
			for _, e := range matched {
				p.printf("%-48s%s\n", e.Package, e.Want)
			}
		case cl.has("configure"):
			return p.dpkgConfigurePending(entries)
		case cl.has("audit", "C"):
			for _, e := range entries {
				if e.State == "half-configured" || e.State == "unpacked" {
					p.printf("The following packages are only half configured, probably due to problems\nconfiguring them the first time.  The configuration should be retried using\ndpkg --configure <package> or the configure menu option in dselect:\n %-20s %s\n", e.Package, e.Description)
				}
			}
		default:
			p.eprintf("dpkg: error: need an action option\n\nType dpkg --help for help about installing and deinstalling packages [*];\n")
			return 2
		}
		return 0
	})
}

// dpkgConfigurePending configures half-configured packages again.
func (p *pctx) dpkgConfigurePending(entries []*dpkgEntry) int {
	code := 0
	var changed []string
	for _, e := range entries {
		if e.State != "half-configured" && e.State != "unpacked" {
			continue
		}
		p.printf("Setting up %s (%s) ...\n", e.Package, e.Version)
		if e.Package == "cri-o" && p.n.faults.AptInstallFails && e.Version != p.n.InitialCrio {
			p.eprintf("dpkg: error processing package cri-o (--configure):\n installed cri-o package post-installation script subprocess returned error exit status 1\nErrors were encountered while processing:\n cri-o\n")
			code = 1
			continue
		}
		e.State = "installed"
		changed = append(changed, e.Package)
	}
	if len(changed) > 0 {
		if err := writeDpkgStatus(p.root, entries); err != nil {
			p.eprintf("dpkg: error: %v\n", err)
			return 2
		}
	}
	for _, name := range changed {
		if d := unitOfPackage(name); d != nil && p.n.active(d.Name) {
			p.tx.restartUnit(p.n, p.root, d)
		}
	}
	return code
}
