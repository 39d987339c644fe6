package steps

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/runbookhq/runbook/runbook/transport"
)

// aptEnv is the environment of every apt command: no question may stop
// it (debconf, Ubuntu's needrestart), and its messages are the ones this
// file reads.
var aptEnv = map[string]string{"DEBIAN_FRONTEND": "noninteractive", "NEEDRESTART_MODE": "a", "LC_ALL": "C", "LANG": "C"}

// aptStamp is the file a successful apt-get update touches (Ubuntu's
// update-notifier does the same), whose age cache_valid_time reads.
const aptStamp = "/var/lib/apt/periodic/update-success-stamp"

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

func aptUpdateCommand(timeout time.Duration) string {
	return "apt-get update -q " + lockOpt(timeout)
}

func aptMarkCommand(op string, names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quote(n)
	}
	return "apt-mark " + op + " -- " + strings.Join(q, " ")
}

// changeCommand is `apt-get VERB` with the options every change takes.
func (a *Apt) changeCommand(verb string, timeout time.Duration) string {
	cmd := "apt-get " + verb + " -y -q " + lockOpt(timeout)
	for _, o := range a.dpkgOptions() {
		cmd += " -o Dpkg::Options::=--" + o
	}
	return cmd
}

func (a *Apt) installCommand(ts []aptTarget, timeout time.Duration) string {
	cmd := a.changeCommand("install", timeout)
	if a.AllowDowngrade {
		cmd += " --allow-downgrades"
	}
	if a.OnlyUpgrade {
		cmd += " --only-upgrade"
	}
	cmd += " --"
	for _, t := range ts {
		target := t.Name
		if t.Version != "" {
			target += "=" + t.Version
		}
		cmd += " " + quote(target)
	}
	return cmd
}

func (a *Apt) removeCommand(names []string, timeout time.Duration) string {
	cmd := "apt-get remove -y -q " + lockOpt(timeout) + " --"
	for _, n := range names {
		cmd += " " + quote(n)
	}
	return cmd
}

var upgradeVerb = map[string]string{"safe": "upgrade", "full": "full-upgrade", "dist": "dist-upgrade"}

// aptRun is one run of an apt step: what it ran and found so far.
type aptRun struct {
	x         *Exec
	a         *Apt
	data      map[string]any
	cmds      []string          // apt commands run, for the journal
	rc        *int              // exit status of the last one
	conffiles map[string]string // path -> kept or replaced
	// configured says dpkg --configure -a ran for an interrupted dpkg.
	configured bool
	// check withholds every change (Predict): simVersions and simHolds
	// are what the withheld commands would have done.
	check       bool
	simVersions map[string]string
	simHolds    map[string]bool
	// simUnknown says a simulation could not say what would change, only
	// that something would (an interrupted dpkg to finish first).
	simUnknown bool
}

func newAptRun(x *Exec, a *Apt, check bool) *aptRun {
	return &aptRun{x: x, a: a, data: map[string]any{}, conffiles: map[string]string{},
		check: check, simVersions: map[string]string{}, simHolds: map[string]bool{}}
}

func (r *aptRun) command() string {
	if len(r.cmds) == 0 {
		return aptQueryAllScript
	}
	return strings.Join(r.cmds, "\n")
}

func (r *aptRun) failed(err error) Result {
	if len(r.conffiles) > 0 {
		r.data["conffiles"] = r.conffiles
	}
	return Result{Status: Failed, RC: r.rc, Command: r.command(), Data: r.data, Err: err}
}

// apt runs one apt command with its output going to the step's; when it
// fails, ok is false and res is the step's result.
func (r *aptRun) apt(ctx context.Context, cmd string) (res Result, ok bool) {
	if r.check {
		return r.withheld(ctx, cmd)
	}
	out, errOut, rc, _, err := r.x.capture(ctx, transport.Command{Shell: cmd, Env: aptEnv}, 1<<20)
	r.cmds = append(r.cmds, cmd)
	for path, what := range parseConffiles(out) {
		r.conffiles[path] = what
	}
	if err != nil {
		return r.failed(fmt.Errorf("apt: %w", err)), false
	}
	r.rc = &rc
	if rc != 0 && !r.configured && strings.Contains(errOut+out, dpkgInterrupted) {
		// An earlier dpkg was cut off (a killed apt, a power cut): apt
		// refuses to do anything until its packages are configured.
		r.configured = true
		if res, ok := r.apt(ctx, r.a.configurePendingCommand()); !ok {
			return res, false
		}
		r.data["configured_interrupted"] = true
		return r.apt(ctx, cmd)
	}
	if rc != 0 {
		return r.failed(aptError(rc, out, errOut)), false
	}
	return Result{}, true
}

// dpkgInterrupted is how apt says an earlier dpkg was cut off.
const dpkgInterrupted = "dpkg was interrupted, you must manually run"

// configurePendingCommand finishes what an interrupted dpkg left, as apt
// asks, with the step's dpkg options.
func (a *Apt) configurePendingCommand() string {
	cmd := "dpkg --configure -a"
	for _, o := range a.dpkgOptions() {
		cmd += " --" + o
	}
	return cmd
}

func (r *aptRun) queryAll(ctx context.Context) (map[string]pkgState, error) {
	out, errOut, rc, err := r.x.Output(ctx, transport.Command{Shell: aptQueryAllScript, Env: aptEnv})
	if err != nil {
		return nil, fmt.Errorf("apt: reading dpkg's status: %w", err)
	}
	if rc != 0 {
		return nil, fmt.Errorf("apt: reading dpkg's status: exit %d%s", rc, stderrTail(errOut))
	}
	return parsePkgStates(out), nil
}

// updateCache runs apt-get update, unless cache_valid_time says the last
// one is recent enough.
func (r *aptRun) updateCache(ctx context.Context) (Result, bool) {
	if valid := time.Duration(r.a.CacheValidTime); valid > 0 {
		out, _, _, err := r.x.Output(ctx, transport.Command{Shell: cacheAgeScript})
		if err != nil {
			return r.failed(fmt.Errorf("apt: reading the age of the package lists: %w", err)), false
		}
		if age, ok := parseCacheAge(out); ok && age < valid {
			r.data["cache_updated"], r.data["cache_age_s"] = false, int(age.Seconds())
			return Result{}, true
		}
	}
	cmd := aptUpdateCommand(r.x.Timeout) + " && { mkdir -p " + quote(aptStamp[:strings.LastIndexByte(aptStamp, '/')]) + " && touch " + quote(aptStamp) + "; }"
	if res, ok := r.apt(ctx, cmd); !ok {
		return res, false
	}
	r.data["cache_updated"] = !r.check
	return Result{}, true
}

// holdsFor returns the named packages to hold and to unhold so that each
// ends held as wanted, given whether each is held now.
func holdsFor(names []string, heldNow, wanted map[string]bool) (hold, unhold []string) {
	for _, n := range names {
		switch {
		case wanted[n] && !heldNow[n]:
			hold = append(hold, n)
		case !wanted[n] && heldNow[n]:
			unhold = append(unhold, n)
		}
	}
	return hold, unhold
}

// setHolds runs apt-mark for the holds to change.
func (r *aptRun) setHolds(ctx context.Context, hold, unhold []string) (Result, bool) {
	for _, op := range []struct {
		verb  string
		names []string
	}{{"unhold", unhold}, {"hold", hold}} {
		if len(op.names) == 0 {
			continue
		}
		if res, ok := r.apt(ctx, aptMarkCommand(op.verb, op.names)); !ok {
			return res, false
		}
	}
	return Result{}, true
}

// finish runs autoremove when asked, reads the packages again, records
// what changed and reports changed only when a version or a hold did.
func (r *aptRun) finish(ctx context.Context, before map[string]pkgState, ran bool, named ...string) Result {
	if r.a.Autoremove {
		if res, ok := r.apt(ctx, r.a.changeCommand("autoremove", r.x.Timeout)); !ok {
			return res
		}
		ran = true
	}
	after := before
	switch {
	case r.check:
		after = r.predictedAfter(before)
	case ran:
		var err error
		if after, err = r.queryAll(ctx); err != nil {
			return r.failed(err)
		}
	}
	changed := r.record(before, after, named) || r.simUnknown
	if len(r.conffiles) > 0 {
		r.data["conffiles"] = r.conffiles
		changed = true
	}
	status := OK
	if changed {
		status = Changed
	}
	return Result{Status: status, RC: r.rc, Command: r.command(), Data: r.data}
}

// record puts the versions before and after into the data: every named
// package and every package whose version changed. It says whether any
// version or any named package's hold changed.
func (r *aptRun) record(before, after map[string]pkgState, named []string) bool {
	pkgs := map[string]any{}
	changed := false
	entry := func(name string) map[string]any {
		b, a := before[name], after[name]
		return map[string]any{"before": b.Version, "after": a.Version}
	}
	for name := range unionKeys(before, after) {
		if before[name].Version != after[name].Version {
			pkgs[name] = entry(name)
			changed = true
		}
	}
	for _, n := range named {
		base := baseName(n)
		e := entry(base)
		e["held_before"], e["held"] = before[base].Held, after[base].Held
		if before[base].Held != after[base].Held {
			changed = true
		}
		pkgs[base] = e
	}
	r.data["packages"] = pkgs
	if len(named) == 1 {
		base := baseName(named[0])
		r.data["package"] = named[0]
		r.data["version_before"], r.data["version_after"] = before[base].Version, after[base].Version
		r.data["held_before"], r.data["held"] = before[base].Held, after[base].Held
	}
	return changed
}

func unionKeys(a, b map[string]pkgState) map[string]bool {
	keys := make(map[string]bool, len(a)+len(b))
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return keys
}

// baseName is a package name without its architecture.
func baseName(name string) string {
	n, _, _ := strings.Cut(name, ":")
	return n
}
