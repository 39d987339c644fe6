package sim

import (
	"fmt"
	"sort"
	"strings"
)

// aptOp is one apt-get run that changes packages; it may take two
// transactions when apt asks for confirmation.
type aptOp struct {
	verb       string
	pkgs       []string
	cl         *cmdline
	confirmed  bool // the operator answered yes
	needPrompt bool // set by the first transaction
}

// aptAction is one package change apt plans.
type aptAction struct {
	name   string
	from   string // installed version, "" when new
	to     string // target version, "" for removal
	kind   string // install | upgrade | downgrade | reinstall | remove
	held   bool
	pkg    debPackage
	origin string
}

// aptChange plans and applies install, remove, purge and upgrade.
func (p *pctx) aptChange(op *aptOp) int {
	cl := op.cl
	assumeYes := cl.has("y", "yes", "assume-yes", "force-yes")
	entries, err := readDpkgStatus(p.root)
	if err != nil {
		p.eprintf("E: %v\n", err)
		return 100
	}
	avail := readLists(p.root)
	if !op.confirmed {
		p.printf("Reading package lists...\nBuilding dependency tree...\nReading state information...\n")
	}
	var actions []aptAction
	var errs []string
	var notes []string
	keptBack := []string{}
	purge := op.verb == "purge" || op.verb == "autopurge" || cl.has("purge")
	switch op.verb {
	case "install", "reinstall":
		for _, arg := range op.pkgs {
			a, note, err := planInstall(arg, entries, avail, op.verb == "reinstall" || cl.has("reinstall"))
			switch {
			case err != "":
				errs = append(errs, err)
			case note != "":
				notes = append(notes, note)
			default:
				actions = append(actions, a)
			}
		}
	case "remove", "purge":
		for _, arg := range op.pkgs {
			name := strings.TrimSuffix(arg, "-")
			e := findDpkg(entries, name)
			switch {
			case e == nil && len(avail[name]) == 0:
				errs = append(errs, fmt.Sprintf("E: Unable to locate package %s", name))
			case e == nil || !e.installed() && !(purge && e.State == "config-files"):
				notes = append(notes, fmt.Sprintf("Package '%s' is not installed, so not removed", name))
			default:
				actions = append(actions, aptAction{name: name, from: e.Version, kind: "remove", held: e.held()})
			}
		}
	case "upgrade", "dist-upgrade", "full-upgrade":
		for _, e := range entries {
			if !e.installed() || len(avail[e.Package]) == 0 {
				continue
			}
			best := avail[e.Package][0]
			if compareDebVersions(best.pkg.Version, e.Version) <= 0 {
				continue
			}
			if e.held() {
				keptBack = append(keptBack, e.Package)
				continue
			}
			actions = append(actions, aptAction{name: e.Package, from: e.Version, to: best.pkg.Version, kind: "upgrade", pkg: best.pkg, origin: best.origin})
		}
	}
	if len(errs) > 0 {
		for _, e := range errs {
			p.eprintf("%s\n", e)
		}
		return 100
	}
	if !op.confirmed {
		for _, nt := range notes {
			p.printf("%s\n", nt)
		}
		p.printPlan(actions, keptBack, entries, avail, purge)
	}
	if len(actions) == 0 {
		return 0
	}
	held, downgraded, removing := false, false, false
	for _, a := range actions {
		held = held || a.held
		downgraded = downgraded || a.kind == "downgrade"
		removing = removing || a.kind == "remove"
	}
	if held && !cl.has("allow-change-held-packages") && assumeYes {
		p.eprintf("E: Held packages were changed and -y was used without --allow-change-held-packages.\n")
		return 100
	}
	if downgraded && !cl.has("allow-downgrades") && assumeYes && !cl.has("force-yes") {
		p.eprintf("E: Packages were downgraded and -y was used without --allow-downgrades.\n")
		return 100
	}
	upgradeVerb := op.verb == "upgrade" || op.verb == "dist-upgrade" || op.verb == "full-upgrade"
	if (held || downgraded || removing || upgradeVerb) && !assumeYes && !op.confirmed {
		p.printf("Do you want to continue? [Y/n] ")
		op.needPrompt = true
		return 0
	}
	if cl.has("s", "simulate", "dry-run", "just-print", "no-act") {
		p.printf("NOTE: This is only a simulation!\n      apt-get needs root privileges for real execution.\n      Keep also in mind that locking is deactivated,\n      so don't depend on the relevance to the real current situation!\n")
		for _, a := range actions {
			if a.kind == "remove" {
				p.printf("Remv %s [%s]\n", a.name, a.from)
				continue
			}
			p.printf("Inst %s [%s] (%s %s [amd64])\n", a.name, a.from, a.to, strings.TrimSuffix(a.origin, "  Packages"))
		}
		for _, a := range actions {
			if a.kind != "remove" {
				p.printf("Conf %s (%s %s [amd64])\n", a.name, a.to, strings.TrimSuffix(a.origin, "  Packages"))
			}
		}
		return 0
	}
	return p.applyActions(actions, entries, purge, cl.has("d", "download-only"))
}

// planInstall plans `install NAME[=VERSION]`: an action, or a note (nothing
// to do), or an apt error.
func planInstall(arg string, entries []*dpkgEntry, avail map[string][]availableVersion, reinstall bool) (aptAction, string, string) {
	name, version, explicit := strings.Cut(arg, "=")
	if i := strings.IndexByte(name, '/'); i >= 0 {
		name = name[:i]
	}
	cur := findDpkg(entries, name)
	installed := cur != nil && cur.installed()
	versions := avail[name]
	if len(versions) == 0 && !installed {
		return aptAction{}, "", fmt.Sprintf("E: Unable to locate package %s", name)
	}
	var target availableVersion
	found := false
	if explicit {
		for _, v := range versions {
			if v.pkg.Version == version {
				target, found = v, true
			}
		}
		if !found && !(installed && cur.Version == version) {
			return aptAction{}, "", fmt.Sprintf("E: Version '%s' for '%s' was not found", version, name)
		}
	} else if len(versions) > 0 {
		target, found = versions[0], true
		if installed && compareDebVersions(cur.Version, target.pkg.Version) > 0 {
			found = false
		}
	}
	if !found {
		// the installed version is what is wanted
		if reinstall {
			return aptAction{}, "", fmt.Sprintf("E: Internal Error, No file name for %s:amd64", name)
		}
		return aptAction{}, fmt.Sprintf("%s is already the newest version (%s).", name, cur.Version), ""
	}
	a := aptAction{name: name, to: target.pkg.Version, pkg: target.pkg, origin: target.origin}
	switch {
	case !installed:
		a.kind = "install"
	case cur.Version == a.to && !reinstall:
		return aptAction{}, fmt.Sprintf("%s is already the newest version (%s).", name, cur.Version), ""
	case cur.Version == a.to:
		a.kind, a.from = "reinstall", cur.Version
	case compareDebVersions(a.to, cur.Version) > 0:
		a.kind, a.from = "upgrade", cur.Version
	default:
		a.kind, a.from = "downgrade", cur.Version
	}
	a.held = cur != nil && cur.held() && a.kind != "reinstall"
	return a, "", ""
}

// printPlan prints what apt is about to do.
func (p *pctx) printPlan(actions []aptAction, keptBack []string, entries []*dpkgEntry, avail map[string][]availableVersion, purge bool) {
	list := func(title string, names []string) {
		if len(names) == 0 {
			return
		}
		sort.Strings(names)
		p.printf("%s\n  %s\n", title, strings.Join(names, " "))
	}
	var heldNames, newNames, upNames, downNames, rmNames []string
	var size, delta int64
	for _, a := range actions {
		if a.held {
			heldNames = append(heldNames, a.name)
		}
		switch a.kind {
		case "install":
			newNames = append(newNames, a.name)
		case "upgrade":
			upNames = append(upNames, a.name)
		case "downgrade":
			downNames = append(downNames, a.name)
		case "remove":
			n := a.name
			if purge {
				n += "*"
			}
			rmNames = append(rmNames, n)
		}
		if a.kind != "remove" {
			size += a.pkg.Size
			delta += a.pkg.InstalledSize
		}
		if old, ok := archivePackage(a.name, a.from); ok {
			delta -= old.InstalledSize
		}
	}
	list("The following packages have been kept back:", keptBack)
	list("The following held packages will be changed:", heldNames)
	list("The following packages will be REMOVED:", rmNames)
	list("The following NEW packages will be installed:", newNames)
	list("The following packages will be upgraded:", upNames)
	list("The following packages will be DOWNGRADED:", downNames)
	notUpgraded := len(keptBack)
	planned := map[string]bool{}
	for _, a := range actions {
		planned[a.name] = true
	}
	for _, e := range entries {
		if e.installed() && !planned[e.Package] && !contains(keptBack, e.Package) && len(avail[e.Package]) > 0 &&
			compareDebVersions(avail[e.Package][0].pkg.Version, e.Version) > 0 {
			notUpgraded++
		}
	}
	summary := fmt.Sprintf("%d upgraded, %d newly installed, ", len(upNames), len(newNames))
	if len(downNames) > 0 {
		summary += fmt.Sprintf("%d downgraded, ", len(downNames))
	}
	if n := countKind(actions, "reinstall"); n > 0 {
		summary += fmt.Sprintf("%d reinstalled, ", n)
	}
	p.printf("%s%d to remove and %d not upgraded.\n", summary, len(rmNames), notUpgraded)
	if len(actions) == 0 {
		return
	}
	if size > 0 {
		p.printf("Need to get %s of archives.\n", humanBytes(size))
	}
	switch {
	case delta > 0:
		p.printf("After this operation, %s of additional disk space will be used.\n", humanBytes(delta*1000))
	case delta < 0:
		p.printf("After this operation, %s disk space will be freed.\n", humanBytes(-delta*1000))
	}
}

func countKind(actions []aptAction, kind string) int {
	n := 0
	for _, a := range actions {
		if a.kind == kind {
			n++
		}
	}
	return n
}
