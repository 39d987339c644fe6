package steps

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/transport"
)

func init() { register[Apt]("apt") }

// Apt installs, pins or removes a Debian package: `apt: {name, version,
// state: present|absent, hold, allow_downgrade, update_cache}`.
//
// It reads the installed version and hold first (dpkg-query) and changes
// nothing when they are already as asked. apt-get runs with
// DEBIAN_FRONTEND=noninteractive, keeps changed conffiles
// (--force-confold, --force-confdef), waits for the dpkg lock up to the
// step's timeout (DPkg::Lock::Timeout), and with NEEDRESTART_SUSPEND=1, so
// that Ubuntu's needrestart does not restart services behind the
// runbook's back. A held package is unheld for the change. hold: true
// holds it afterwards, hold: false leaves it unheld, and without hold:
// a package that was held is held again. update_cache runs apt-get update
// first; it does not count as a change. The data records the version
// before and after and the hold.
type Apt struct {
	Name           string `yaml:"name" desc:"Package name." required:"true"`
	Version        string `yaml:"version" desc:"Exact version to install, e.g. 1.30.4-1.1 (default: any installed version, else the candidate)."`
	State          string `yaml:"state" desc:"present (default) or absent." enum:"present,absent"`
	Hold           *bool  `yaml:"hold" desc:"Hold the package (apt-mark hold) after installing; false unholds it."`
	AllowDowngrade bool   `yaml:"allow_downgrade" desc:"Allow installing a lower version than the installed one."`
	UpdateCache    bool   `yaml:"update_cache" desc:"Run apt-get update first."`
}

var (
	debNameRe    = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]*(:[a-z0-9-]+)?$`)
	debVersionRe = regexp.MustCompile(`^[A-Za-z0-9.+~:*-]+$`)
)

// Validate implements runbook.StepSpec.
func (a *Apt) Validate(c *runbook.Check) {
	if a.Name == "" {
		c.Errorf("", "apt: needs name: (the package)")
	} else if !runbook.HasTemplate(a.Name) && !debNameRe.MatchString(a.Name) {
		c.Errorf("name", "apt: %q is not a Debian package name", a.Name)
	}
	if a.Version != "" && !runbook.HasTemplate(a.Version) && !debVersionRe.MatchString(a.Version) {
		c.Errorf("version", "apt: %q is not a Debian version", a.Version)
	}
	switch a.State {
	case "", "present":
	case "absent":
		if a.Version != "" || a.Hold != nil || a.AllowDowngrade {
			c.Errorf("state", "apt: state: absent takes no version, hold or allow_downgrade")
		}
	default:
		c.Errorf("state", "apt: state %q: use present or absent", a.State)
	}
}

// Describe implements Kind.
func (a *Apt) Describe() string {
	var b strings.Builder
	b.WriteString("apt: ")
	if a.UpdateCache {
		b.WriteString("update cache, ")
	}
	if a.State == "absent" {
		b.WriteString("remove " + a.Name)
		return b.String()
	}
	b.WriteString(a.Name)
	if a.Version != "" {
		b.WriteString(" = " + a.Version)
	}
	if a.Hold != nil {
		b.WriteString(map[bool]string{true: ", hold", false: ", unhold"}[*a.Hold])
	}
	if a.AllowDowngrade {
		b.WriteString(", allow downgrade")
	}
	return b.String()
}

// aptEnv is the environment of every apt command.
var aptEnv = map[string]string{"DEBIAN_FRONTEND": "noninteractive", "NEEDRESTART_SUSPEND": "1"}

// lockWait is how long apt waits for the dpkg lock: the step's timeout,
// less a margin so that apt's own message comes before the timeout.
func lockWait(timeout time.Duration) int {
	if timeout <= 0 {
		return 600
	}
	return int(max((timeout - min(timeout/10, 30*time.Second)).Seconds(), 1))
}

func lockOpt(timeout time.Duration) string {
	return "-o DPkg::Lock::Timeout=" + strconv.Itoa(lockWait(timeout))
}

// aptQueryScript prints the package's dpkg status and version, or nothing
// when dpkg does not know it.
func aptQueryScript(name string) string {
	return "dpkg-query -W -f='${Status}|${Version}\\n' -- " + quote(name) + " 2>/dev/null || true"
}

// pkgState is what dpkg says about a package.
type pkgState struct {
	Installed bool
	Held      bool
	Version   string // "" when not installed
}

// parsePkgState reads aptQueryScript's output: "want ok status|version".
func parsePkgState(out string) pkgState {
	line, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	status, version, ok := strings.Cut(line, "|")
	if !ok {
		return pkgState{}
	}
	f := strings.Fields(status)
	var s pkgState
	s.Held = len(f) > 0 && f[0] == "hold"
	s.Installed = len(f) == 3 && f[2] == "installed"
	if s.Installed {
		s.Version = strings.TrimSpace(version)
	}
	return s
}

func (a *Apt) installCommand(timeout time.Duration) string {
	cmd := "apt-get install -y -q " + lockOpt(timeout) +
		" -o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-confdef"
	if a.AllowDowngrade {
		cmd += " --allow-downgrades"
	}
	target := a.Name
	if a.Version != "" {
		target += "=" + a.Version
	}
	return cmd + " -- " + quote(target)
}

func (a *Apt) removeCommand(timeout time.Duration) string {
	return "apt-get remove -y -q " + lockOpt(timeout) + " -- " + quote(a.Name)
}

func aptUpdateCommand(timeout time.Duration) string {
	return "apt-get update -q " + lockOpt(timeout)
}

func aptMarkCommand(op, name string) string { return "apt-mark " + op + " -- " + quote(name) }

// aptError sums up a failed apt command: its E: lines, else its last
// stderr lines.
func aptError(rc int, stdout, stderr string) error {
	var es []string
	for _, l := range strings.Split(stderr+"\n"+stdout, "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "E: ") {
			es = append(es, l)
		}
	}
	if len(es) > 0 {
		return fmt.Errorf("apt: exit %d: %s", rc, strings.Join(es, "; "))
	}
	return fmt.Errorf("apt: exit %d%s", rc, stderrTail(stderr))
}

// Run implements Kind.
func (a *Apt) Run(ctx context.Context, x *Exec) Result {
	if !debNameRe.MatchString(a.Name) {
		return Fail("", "apt: %q is not a Debian package name", a.Name)
	}
	if a.Version != "" && !debVersionRe.MatchString(a.Version) {
		return Fail("", "apt: %q is not a Debian version", a.Version)
	}
	r := &aptRun{x: x, a: a, data: map[string]any{"package": a.Name}}
	if a.UpdateCache {
		if res, ok := r.apt(ctx, aptUpdateCommand(x.Timeout)); !ok {
			return res
		}
	}
	before, err := r.query(ctx)
	if err != nil {
		return Broken(aptQueryScript(a.Name), err)
	}
	r.data["version_before"], r.data["held_before"] = before.Version, before.Held
	if a.State == "absent" {
		return r.remove(ctx, before)
	}
	return r.install(ctx, before)
}

// aptRun is one run of an apt step: what it ran and found so far.
type aptRun struct {
	x    *Exec
	a    *Apt
	data map[string]any
	cmds []string // apt commands run, for the journal
	rc   *int     // exit status of the last one
}

func (r *aptRun) query(ctx context.Context) (pkgState, error) {
	out, _, _, err := r.x.Output(ctx, transport.Command{Shell: aptQueryScript(r.a.Name)})
	if err != nil {
		return pkgState{}, fmt.Errorf("apt: querying %s: %w", r.a.Name, err)
	}
	return parsePkgState(out), nil
}

// apt runs one apt command with its output going to the step's; when it
// fails, ok is false and res is the step's result.
func (r *aptRun) apt(ctx context.Context, cmd string) (res Result, ok bool) {
	out, errOut, rc, _, err := r.x.capture(ctx, transport.Command{Shell: cmd, Env: aptEnv}, 1<<20)
	r.cmds = append(r.cmds, cmd)
	if err != nil {
		return Result{Status: Failed, Command: r.command(), Data: r.data, Err: fmt.Errorf("apt: %w", err)}, false
	}
	r.rc = &rc
	if rc != 0 {
		return Result{Status: Failed, RC: r.rc, Command: r.command(), Data: r.data, Err: aptError(rc, out, errOut)}, false
	}
	return Result{}, true
}

func (r *aptRun) command() string { return strings.Join(r.cmds, "\n") }

func (r *aptRun) done(status string, after pkgState) Result {
	r.data["version_after"], r.data["held"] = after.Version, after.Held
	cmd := r.command()
	if cmd == "" {
		cmd = aptQueryScript(r.a.Name)
	}
	return Result{Status: status, RC: r.rc, Command: cmd, Data: r.data}
}

func (r *aptRun) install(ctx context.Context, before pkgState) Result {
	a := r.a
	wantHold := before.Held
	if a.Hold != nil {
		wantHold = *a.Hold
	}
	atVersion := before.Installed && (a.Version == "" || before.Version == a.Version)
	if atVersion && before.Held == wantHold {
		return r.done(OK, before)
	}
	held := before.Held
	if !atVersion {
		if held {
			if res, ok := r.apt(ctx, aptMarkCommand("unhold", a.Name)); !ok {
				return res
			}
			held = false
		}
		if res, ok := r.apt(ctx, a.installCommand(r.x.Timeout)); !ok {
			if before.Held { // leave the hold as it was found
				cctx, cancel := cleanupCtx(ctx)
				r.x.Output(cctx, transport.Command{Shell: aptMarkCommand("hold", a.Name), Env: aptEnv})
				cancel()
			}
			return res
		}
	}
	if held != wantHold {
		op := map[bool]string{true: "hold", false: "unhold"}[wantHold]
		if res, ok := r.apt(ctx, aptMarkCommand(op, a.Name)); !ok {
			return res
		}
	}
	after, err := r.query(ctx)
	if err != nil {
		return Result{Status: Failed, RC: r.rc, Command: r.command(), Data: r.data, Err: err}
	}
	res := r.done(Changed, after)
	switch {
	case !after.Installed:
		res.Status, res.Err = Failed, fmt.Errorf("apt: %s is not installed after apt-get install", a.Name)
	case a.Version != "" && after.Version != a.Version:
		res.Status, res.Err = Failed, fmt.Errorf("apt: %s is at %s after apt-get install, not %s", a.Name, after.Version, a.Version)
	case after.Held != wantHold:
		res.Status, res.Err = Failed, fmt.Errorf("apt: %s hold is %v after apt-mark, want %v", a.Name, after.Held, wantHold)
	}
	return res
}

func (r *aptRun) remove(ctx context.Context, before pkgState) Result {
	if !before.Installed {
		return r.done(OK, before)
	}
	if before.Held {
		if res, ok := r.apt(ctx, aptMarkCommand("unhold", r.a.Name)); !ok {
			return res
		}
	}
	if res, ok := r.apt(ctx, r.a.removeCommand(r.x.Timeout)); !ok {
		return res
	}
	after, err := r.query(ctx)
	if err != nil {
		return Result{Status: Failed, RC: r.rc, Command: r.command(), Data: r.data, Err: err}
	}
	res := r.done(Changed, after)
	if after.Installed {
		res.Status, res.Err = Failed, fmt.Errorf("apt: %s is still installed (%s) after apt-get remove", r.a.Name, after.Version)
	}
	return res
}
