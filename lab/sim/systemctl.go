package sim

import (
	"fmt"
	"strings"
	"time"

	"github.com/runbookhq/runbook/lab/shell"
)

var systemctlFlags = newFlagSpec("q,quiet,no-pager,no-block,p:,property:,value,now,l,full,plain,no-legend,a,all,t:,type:,state:,system,f,force,no-ask-password,n:,lines:,o:,output:,show-types")

// systemctlProgram simulates systemctl for the lab's units.
func (w *World) systemctlProgram(c *shell.Call) int {
	cl, err := systemctlFlags.parse(c.Args[1:])
	if err != nil {
		fmt.Fprintf(c.Stderr, "systemctl: %v\n", err)
		return 1
	}
	if len(cl.args) == 0 {
		cl.args = []string{"list-units"}
	}
	verb, units := cl.args[0], cl.args[1:]
	quiet := cl.has("q", "quiet")
	switch verb {
	case "reboot":
		return w.rebootNode(c)
	case "poweroff", "halt", "suspend", "hibernate", "kexec":
		fmt.Fprintf(c.Stderr, "lab: systemctl %s is not simulated (the node would stay down)\n", verb)
		return 1
	case "daemon-reload", "daemon-reexec":
		return w.run(c, func(p *pctx) int {
			p.tx.systemdLog(p.n, "", prioInfo, "Reloading.")
			return 0
		})
	}
	needUnits := map[string]bool{"start": true, "stop": true, "restart": true, "try-restart": true, "condrestart": true,
		"reload": true, "reload-or-restart": true, "try-reload-or-restart": true, "enable": true, "disable": true,
		"is-active": true, "is-enabled": true, "is-failed": true, "cat": true, "mask": true, "unmask": true}
	if needUnits[verb] && len(units) == 0 {
		fmt.Fprintf(c.Stderr, "Too few arguments.\n")
		return 1
	}
	transact := w.read
	switch verb {
	case "start", "stop", "restart", "try-restart", "condrestart", "reload", "reload-or-restart", "try-reload-or-restart", "enable", "disable", "reset-failed":
		transact = w.run
	}
	return transact(c, func(p *pctx) int {
		switch verb {
		case "start", "stop", "restart", "try-restart", "condrestart", "reload", "reload-or-restart", "try-reload-or-restart":
			return p.unitJobs(verb, units)
		case "enable", "disable":
			return p.enableUnits(verb == "enable", cl.has("now"), units)
		case "is-active", "is-failed":
			return p.isActive(verb, units, quiet)
		case "is-enabled":
			return p.isEnabled(units, quiet)
		case "status":
			return p.unitStatus(units)
		case "show":
			return p.showUnits(units, cl)
		case "reset-failed":
			for _, u := range p.n.Units {
				if u.Active == "failed" {
					u.Active = "inactive"
				}
			}
			return 0
		case "list-units", "list-unit-files":
			return p.listUnits(verb, cl)
		case "cat":
			return p.catUnits(units)
		case "mask", "unmask":
			p.eprintf("lab: systemctl %s is not simulated\n", verb)
			return 1
		}
		p.eprintf("Unknown command verb %s.\n", verb)
		return 1
	})
}

// unitFor resolves a unit argument to a unit present on the node.
func (p *pctx) unitFor(arg string) *unitDef {
	d := lookupUnit(arg)
	if d == nil || !d.present(p.root) {
		return nil
	}
	return d
}

func fullUnitName(arg string) string {
	if strings.Contains(arg, ".") {
		return arg
	}
	return arg + ".service"
}

func (p *pctx) unitJobs(verb string, units []string) int {
	for _, arg := range units {
		d := p.unitFor(arg)
		jobVerb := map[string]string{"stop": "stop", "reload": "reload"}[verb]
		if jobVerb == "" {
			jobVerb = "start"
			if verb != "start" {
				jobVerb = "restart"
			}
		}
		if d == nil {
			p.eprintf("Failed to %s %s: Unit %s not found.\n", jobVerb, fullUnitName(arg), fullUnitName(arg))
			return 5
		}
		ok := true
		switch verb {
		case "start":
			ok = p.tx.startUnit(p.n, p.root, d)
		case "stop":
			p.tx.stopUnit(p.n, p.root, d)
		case "restart", "reload-or-restart":
			if verb == "reload-or-restart" && d.Name == "crio" && p.n.active("crio") {
				p.tx.systemdLog(p.n, d.unitName(), prioInfo, "Reloading "+d.Description+"...")
				p.tx.systemdLog(p.n, d.unitName(), prioInfo, "Reloaded "+d.Description+".")
				continue
			}
			ok = p.tx.restartUnit(p.n, p.root, d)
		case "try-restart", "condrestart", "try-reload-or-restart":
			if p.n.active(d.Name) {
				ok = p.tx.restartUnit(p.n, p.root, d)
			}
		case "reload":
			if d.Name != "crio" {
				p.eprintf("Failed to reload %s: Job type reload is not applicable for unit %s.\n", d.unitName(), d.unitName())
				return 1
			}
			if !p.n.active(d.Name) {
				p.eprintf("%s is not active, cannot reload.\n", d.unitName())
				return 1
			}
			p.tx.systemdLog(p.n, d.unitName(), prioInfo, "Reloading "+d.Description+"...")
			p.tx.crioLog(p.n, "info", "Reloading configuration")
			p.tx.systemdLog(p.n, d.unitName(), prioInfo, "Reloaded "+d.Description+".")
		}
		if !ok {
			p.eprintf("Job for %s failed because the control process exited with error code.\n", d.unitName())
			p.eprintf("See \"systemctl status %s\" and \"journalctl -xeu %s\" for details.\n", d.unitName(), d.unitName())
			return 1
		}
	}
	return 0
}

func (p *pctx) enableUnits(enable, now bool, units []string) int {
	for _, arg := range units {
		d := p.unitFor(arg)
		if d == nil {
			p.eprintf("Failed to %s unit: Unit file %s does not exist.\n", map[bool]string{true: "enable", false: "disable"}[enable], fullUnitName(arg))
			return 1
		}
		u := p.n.unit(d.Name)
		link := "/etc/systemd/system/multi-user.target.wants/" + d.unitName()
		if !d.Static && u.Enabled != enable {
			u.Enabled = enable
			if enable {
				p.eprintf("Created symlink %s → %s.\n", link, d.Path)
			} else {
				p.eprintf("Removed %s.\n", link)
			}
			p.tx.systemdLog(p.n, "", prioInfo, "Reloading.")
		}
		if now {
			if enable {
				if !p.tx.startUnit(p.n, p.root, d) {
					p.eprintf("Job for %s failed because the control process exited with error code.\n", d.unitName())
					return 1
				}
			} else {
				p.tx.stopUnit(p.n, p.root, d)
			}
		}
	}
	return 0
}

func (p *pctx) activeState(arg string) string {
	d := p.unitFor(arg)
	if d == nil {
		return "inactive"
	}
	return p.n.unit(d.Name).Active
}

func (p *pctx) isActive(verb string, units []string, quiet bool) int {
	want := "active"
	if verb == "is-failed" {
		want = "failed"
	}
	code := 3
	if verb == "is-failed" {
		code = 1
	}
	for _, arg := range units {
		st := p.activeState(arg)
		if !quiet {
			p.printf("%s\n", st)
		}
		if st == want {
			code = 0
		}
	}
	return code
}

func (p *pctx) enabledState(d *unitDef) string {
	switch {
	case d.Static:
		return "static"
	case p.n.unit(d.Name).Enabled:
		return "enabled"
	}
	return "disabled"
}

func (p *pctx) isEnabled(units []string, quiet bool) int {
	code := 1
	for _, arg := range units {
		d := p.unitFor(arg)
		if d == nil {
			p.eprintf("Failed to get unit file state for %s: No such file or directory\n", fullUnitName(arg))
			continue
		}
		st := p.enabledState(d)
		if !quiet {
			p.printf("%s\n", st)
		}
		if st != "disabled" {
			code = 0
		}
	}
	return code
}

// systemdTime formats a time as systemd shows timestamps.
func systemdTime(t time.Time) string { return t.UTC().Format("Mon 2006-01-02 15:04:05 MST") }

// timespanAgo formats how long ago t was, as systemctl status does.
func timespanAgo(now, t time.Time) string {
	d := now.Sub(t)
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dmin %ds ago", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh %dmin ago", int(d.Hours()), int(d.Minutes())%60)
	}
	days := int(d.Hours()) / 24
	if days == 1 {
		return fmt.Sprintf("1 day %dh ago", int(d.Hours())%24)
	}
	return fmt.Sprintf("%d days ago", days)
}

func (p *pctx) unitStatus(units []string) int {
	if len(units) == 0 {
		units = []string{"crio", "kubelet"}
	}
	code := 0
	for i, arg := range units {
		d := p.unitFor(arg)
		if d == nil {
			p.eprintf("Unit %s could not be found.\n", fullUnitName(arg))
			code = 4
			continue
		}
		if i > 0 {
			p.printf("\n")
		}
		u := p.n.unit(d.Name)
		dot := "●"
		var active string
		switch u.Active {
		case "active":
			active = fmt.Sprintf("active (running) since %s; %s", systemdTime(u.Since), timespanAgo(p.tx.now, u.Since))
		case "failed":
			dot = "×"
			active = fmt.Sprintf("failed (Result: exit-code) since %s; %s", systemdTime(u.Since), timespanAgo(p.tx.now, u.Since))
		default:
			dot = "○"
			active = "inactive (dead)"
			if !u.Since.IsZero() {
				active += fmt.Sprintf(" since %s; %s", systemdTime(u.Since), timespanAgo(p.tx.now, u.Since))
			}
		}
		p.printf("%s %s - %s\n", dot, d.unitName(), d.Description)
		p.printf("     Loaded: loaded (%s; %s; vendor preset: enabled)\n", d.Path, p.enabledState(d))
		p.printf("     Active: %s\n", active)
		if u.Active == "active" {
			p.printf("   Main PID: %d (%s)\n", u.PID, d.Name)
			p.printf("      Tasks: 14 (limit: 9387)\n     Memory: 41.2M\n        CPU: 1.204s\n")
			p.printf("     CGroup: /system.slice/%s\n             └─%d /usr/bin/%s\n", d.unitName(), u.PID, d.Name)
		}
		entries, err := p.tx.readJournal(p.n.Name)
		if err == nil {
			var lines []journalEntry
			for _, e := range entries {
				if e.Unit == d.unitName() && e.Boot == p.n.BootID {
					lines = append(lines, e)
				}
			}
			if len(lines) > 10 {
				lines = lines[len(lines)-10:]
			}
			if len(lines) > 0 {
				p.printf("\n")
			}
			for _, e := range lines {
				p.printf("%s\n", journalShort(e, p.n.Name))
			}
		}
		if u.Active != "active" && code == 0 {
			code = 3
		}
	}
	return code
}

func (p *pctx) unitProperties(d *unitDef) [][2]string {
	u := p.n.unit(d.Name)
	sub := map[string]string{"active": "running", "failed": "failed"}[u.Active]
	if sub == "" {
		sub = "dead"
	}
	result := "success"
	if u.Active == "failed" {
		result = "exit-code"
	}
	enter := ""
	if u.Active == "active" {
		enter = systemdTime(u.Since)
	}
	return [][2]string{
		{"Type", "notify"}, {"Restart", "on-failure"}, {"MainPID", fmt.Sprint(u.PID)}, {"ExecMainPID", fmt.Sprint(u.PID)},
		{"NRestarts", fmt.Sprint(u.Restarts)}, {"Result", result},
		{"Id", d.unitName()}, {"Names", d.unitName()}, {"Description", d.Description},
		{"LoadState", "loaded"}, {"ActiveState", u.Active}, {"SubState", sub},
		{"FragmentPath", d.Path}, {"UnitFileState", p.enabledState(d)},
		{"ActiveEnterTimestamp", enter}, {"StateChangeTimestamp", systemdTime(u.Since)},
	}
}

func (p *pctx) showUnits(units []string, cl *cmdline) int {
	var want []string
	for _, v := range cl.values("p", "property") {
		want = append(want, strings.Split(v, ",")...)
	}
	valueOnly := cl.has("value")
	for i, arg := range units {
		if i > 0 && !valueOnly {
			p.printf("\n")
		}
		d := p.unitFor(arg)
		props := [][2]string{{"Id", fullUnitName(arg)}, {"LoadState", "not-found"}, {"ActiveState", "inactive"}, {"SubState", "dead"}, {"UnitFileState", ""}, {"MainPID", "0"}}
		if d != nil {
			props = p.unitProperties(d)
		}
		for _, kv := range props {
			if len(want) > 0 && !contains(want, kv[0]) {
				continue
			}
			if valueOnly {
				p.printf("%s\n", kv[1])
			} else {
				p.printf("%s=%s\n", kv[0], kv[1])
			}
		}
	}
	return 0
}

func (p *pctx) listUnits(verb string, cl *cmdline) int {
	if verb == "list-unit-files" {
		p.printf("%-40s %-15s %s\n", "UNIT FILE", "STATE", "VENDOR PRESET")
		n := 0
		for _, d := range unitDefs {
			if d.present(p.root) {
				p.printf("%-40s %-15s %s\n", d.unitName(), p.enabledState(d), "enabled")
				n++
			}
		}
		p.printf("\n%d unit files listed.\n", n)
		return 0
	}
	state, _ := cl.value("state")
	p.printf("  %-40s %-6s %-8s %-8s %s\n", "UNIT", "LOAD", "ACTIVE", "SUB", "DESCRIPTION")
	n := 0
	for _, d := range unitDefs {
		if !d.present(p.root) {
			continue
		}
		props := p.unitProperties(d)
		active, sub := props[10][1], props[11][1]
		if state != "" && state != active && state != sub {
			continue
		}
		if state == "" && active == "inactive" && !cl.has("a", "all") {
			continue
		}
		p.printf("  %-40s %-6s %-8s %-8s %s\n", d.unitName(), "loaded", active, sub, d.Description)
		n++
	}
	p.printf("\nLOAD   = Reflects whether the unit definition was properly loaded.\nACTIVE = The high-level unit activation state, i.e. generalization of SUB.\nSUB    = The low-level unit activation state, values depend on unit type.\n%d loaded units listed.\n", n)
	return 0
}

func (p *pctx) catUnits(units []string) int {
	for _, arg := range units {
		d := p.unitFor(arg)
		if d == nil {
			p.eprintf("No files found for %s.\n", fullUnitName(arg))
			return 1
		}
		data, err := readRootFile(p.root, d.Path)
		if err != nil {
			p.eprintf("No files found for %s.\n", d.unitName())
			return 1
		}
		p.printf("# %s\n%s", d.Path, data)
	}
	return 0
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
