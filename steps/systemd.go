package steps

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/transport"
)

func init() { register[Systemd]("systemd") }

// Systemd starts, stops, restarts or reloads a unit, enables or disables
// it, and waits until it is in the state asked: `systemd: {name, state,
// enabled, daemon_reload, timeout}`. started and stopped change nothing
// when the unit is already so; restarted and reloaded always act (reloaded
// starts a unit that is not running). daemon_reload runs systemctl
// daemon-reload first, a change only when systemd's view of the unit was
// stale (its file or drop-ins changed on disk since systemd read them). After acting it polls `systemctl
// is-active` until the unit is active (started, restarted, reloaded) or
// inactive (stopped; failed counts as stopped too) within timeout; a unit
// that turns failed while it should run fails the step at once, with the
// end of `systemctl status`.
type Systemd struct {
	Name         string           `yaml:"name" desc:"Unit name, e.g. crio or crio.service." required:"true"`
	State        string           `yaml:"state" desc:"started, stopped, restarted or reloaded." enum:"started,stopped,restarted,reloaded"`
	Enabled      *bool            `yaml:"enabled" desc:"Enable (true) or disable (false) the unit at boot."`
	DaemonReload bool             `yaml:"daemon_reload" desc:"Run systemctl daemon-reload first."`
	Timeout      runbook.Duration `yaml:"timeout" desc:"How long to wait for the unit to reach the state (default 2m)."`
}

var unitNameRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9:_.@\\-]+$`) })

// systemdPoll is how often the unit's state is polled.
var systemdPoll = time.Second

// Validate implements runbook.StepSpec.
func (s *Systemd) Validate(c *runbook.Check) {
	if s.Name == "" {
		c.Errorf("", "systemd: needs name: (the unit)")
	} else if !runbook.HasTemplate(s.Name) && !unitNameRe().MatchString(s.Name) {
		c.Errorf("name", "systemd: %q is not a unit name", s.Name)
	}
	switch s.State {
	case "", "started", "stopped", "restarted", "reloaded":
	default:
		c.Errorf("state", "systemd: state %q: use started, stopped, restarted or reloaded", s.State)
	}
	if s.State == "" && s.Enabled == nil && !s.DaemonReload {
		c.Errorf("", "systemd: give state:, enabled: or daemon_reload:")
	}
}

var stateVerb = map[string]string{"started": "start", "stopped": "stop", "restarted": "restart", "reloaded": "reload"}

// Describe implements Kind.
func (s *Systemd) Describe() string {
	var parts []string
	if s.DaemonReload {
		parts = append(parts, "daemon-reload")
	}
	if s.Enabled != nil {
		parts = append(parts, map[bool]string{true: "enable ", false: "disable "}[*s.Enabled]+s.Name)
	}
	if s.State != "" {
		parts = append(parts, stateVerb[s.State]+" "+s.Name)
	}
	return "systemd: " + strings.Join(parts, ", ")
}

// enabledStates are is-enabled answers that count as enabled, and
// disabledStates those that count as disabled (static and similar units
// cannot be switched either way, so they count as both).
var (
	enabledStates  = map[string]bool{"enabled": true, "enabled-runtime": true, "alias": true, "static": true, "indirect": true, "generated": true}
	disabledStates = map[string]bool{"disabled": true, "static": true, "indirect": true, "generated": true}
)

func (s *Systemd) wait() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout.D()
	}
	return 2 * time.Minute
}

// Run implements Kind.
func (s *Systemd) Run(ctx context.Context, x *Exec) Result { return s.run(ctx, x, false) }

// Predict implements Predictor: the unit's state is read, and no
// systemctl that changes anything runs. A daemon-reload is predicted from
// NeedDaemonReload alone (a new drop-in shows only once reloaded).
func (s *Systemd) Predict(ctx context.Context, x *Exec) Result { return s.run(ctx, x, true) }

// run is Run, or Predict when check is set.
func (s *Systemd) run(ctx context.Context, x *Exec, check bool) Result {
	if !unitNameRe().MatchString(s.Name) {
		return Fail("", "systemd: %q is not a unit name", s.Name)
	}
	r := &systemdRun{x: x, s: s, data: map[string]any{"unit": s.Name}, check: check}
	if s.DaemonReload {
		if res, ok := r.daemonReload(ctx); !ok {
			return res
		}
	}
	if s.Enabled != nil {
		if res, ok := r.enable(ctx); !ok {
			return res
		}
	}
	if s.State != "" {
		if res, ok := r.state(ctx); !ok {
			return res
		}
	}
	return r.result(map[bool]string{true: Changed, false: OK}[r.changed], nil)
}

// systemdRun is one run of a systemd step; check withholds every
// systemctl that changes something.
type systemdRun struct {
	check   bool
	x       *Exec
	s       *Systemd
	data    map[string]any
	cmds    []string
	rc      *int
	changed bool
}

func (r *systemdRun) result(status string, err error) Result {
	return Result{Status: status, RC: r.rc, Command: strings.Join(r.cmds, "\n"), Data: r.data, Err: err}
}

// run runs `systemctl VERB NAME` (daemon-reload takes no unit).
func (r *systemdRun) run(ctx context.Context, verb string) (Result, bool) {
	argv := []string{"systemctl", verb}
	if verb != "daemon-reload" {
		argv = append(argv, "--", r.s.Name)
	}
	line := argvLine(argv)
	r.cmds = append(r.cmds, line)
	if r.check {
		return Result{}, true
	}
	_, errOut, rc, _, err := r.x.capture(ctx, transport.Command{Argv: argv}, 64<<10)
	if err != nil {
		return r.result(Failed, fmt.Errorf("systemd: %s: %w", line, err)), false
	}
	r.rc = &rc
	if rc != 0 {
		return r.result(Failed, fmt.Errorf("systemd: %s: exit %d%s%s", line, rc, stderrTail(errOut), r.status(ctx))), false
	}
	return Result{}, true
}

// daemonReload runs systemctl daemon-reload. It is a change only when
// systemd's view of the unit was stale: a unit file changed on disk since
// systemd read it (NeedDaemonReload), or the reload found drop-ins or a
// unit file other than the ones it had (systemd 249 and 252, Ubuntu
// 22.04's and Debian 12's, do not count a new drop-in as a reason to
// reload). Reloading what systemd already has changes nothing.
func (r *systemdRun) daemonReload(ctx context.Context) (Result, bool) {
	before, err := r.unitFiles(ctx)
	if err != nil {
		return r.result(Failed, err), false
	}
	if res, ok := r.run(ctx, "daemon-reload"); !ok {
		return res, false
	}
	if r.check {
		stale := before["NeedDaemonReload"] == "yes"
		r.data["needed_daemon_reload"], r.changed = stale, r.changed || stale
		return Result{}, true
	}
	after, err := r.unitFiles(ctx)
	if err != nil {
		return r.result(Failed, err), false
	}
	stale := before["NeedDaemonReload"] == "yes" || before["FragmentPath"] != after["FragmentPath"] ||
		before["DropInPaths"] != after["DropInPaths"]
	r.data["needed_daemon_reload"] = stale
	r.changed = r.changed || stale
	return Result{}, true
}

// unitFiles reads what systemd has loaded of the unit: its file, its
// drop-ins, and whether they changed on disk since.
func (r *systemdRun) unitFiles(ctx context.Context) (map[string]string, error) {
	out, _, _, err := r.x.Output(ctx, transport.Command{Argv: []string{"systemctl", "show",
		"-p", "NeedDaemonReload", "-p", "FragmentPath", "-p", "DropInPaths", "--", r.s.Name}})
	if err != nil {
		return nil, fmt.Errorf("systemd: systemctl show %s: %w", r.s.Name, err)
	}
	return keyValues(out), nil
}

// query returns the one-word answer of `systemctl QUERY NAME` (is-active,
// is-enabled), whose exit status only repeats the answer.
func (r *systemdRun) query(ctx context.Context, q string) (string, error) {
	out, _, _, err := r.x.Output(ctx, transport.Command{Argv: []string{"systemctl", q, "--", r.s.Name}})
	if err != nil {
		return "", fmt.Errorf("systemd: systemctl %s %s: %w", q, r.s.Name, err)
	}
	word, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	return strings.TrimSpace(word), nil
}

// status is the end of `systemctl status`, for failure messages.
func (r *systemdRun) status(ctx context.Context) string {
	cctx, cancel := cleanupCtx(ctx)
	defer cancel()
	out, _, _, err := r.x.Output(cctx, transport.Command{Shell: "systemctl status --no-pager -l -n 20 -- " + quote(r.s.Name) + " 2>&1"})
	if err != nil || strings.TrimSpace(out) == "" {
		return ""
	}
	if len(out) > 4000 {
		out = "..." + out[len(out)-4000:]
	}
	return "\n" + strings.TrimRight(out, "\n")
}

func (r *systemdRun) enable(ctx context.Context) (Result, bool) {
	before, err := r.query(ctx, "is-enabled")
	if err != nil {
		return r.result(Failed, err), false
	}
	r.data["enabled_before"] = before
	want := *r.s.Enabled
	if (want && enabledStates[before]) || (!want && disabledStates[before]) {
		r.data["enabled_after"] = before
		return Result{}, true
	}
	if res, ok := r.run(ctx, map[bool]string{true: "enable", false: "disable"}[want]); !ok {
		return res, false
	}
	r.changed = true
	if r.check {
		r.data["enabled_after"] = map[bool]string{true: "enabled", false: "disabled"}[want]
		return Result{}, true
	}
	after, err := r.query(ctx, "is-enabled")
	if err != nil {
		return r.result(Failed, err), false
	}
	r.data["enabled_after"] = after
	return Result{}, true
}

func (r *systemdRun) state(ctx context.Context) (Result, bool) {
	before, err := r.query(ctx, "is-active")
	if err != nil {
		return r.result(Failed, err), false
	}
	r.data["active_before"] = before
	running := before == "active" || before == "reloading" || before == "activating"
	verb := ""
	switch r.s.State {
	case "started":
		if !running {
			verb = "start"
		}
	case "stopped":
		if before != "inactive" && before != "failed" {
			verb = "stop"
		}
	case "restarted":
		verb = "restart"
	case "reloaded":
		verb = map[bool]string{true: "reload", false: "start"}[running]
	}
	if verb == "" {
		r.data["active_after"] = before
		return Result{}, true
	}
	if res, ok := r.run(ctx, verb); !ok {
		return res, false
	}
	r.changed = true
	if r.check {
		r.data["active_after"] = map[bool]string{true: "inactive", false: "active"}[r.s.State == "stopped"]
		return Result{}, true
	}
	return r.waitFor(ctx)
}

// waitFor polls is-active until the unit is in the state asked.
func (r *systemdRun) waitFor(ctx context.Context) (Result, bool) {
	stop := r.s.State == "stopped"
	start := time.Now()
	deadline := waitUntil(ctx, r.s.wait())
	last := ""
	for {
		st, err := r.query(ctx, "is-active")
		if err != nil {
			return r.result(Failed, err), false
		}
		last = st
		r.data["active_after"] = st
		switch {
		case stop && (st == "inactive" || st == "failed"):
			return Result{}, true
		case !stop && st == "active":
			return Result{}, true
		case !stop && st == "failed":
			return r.result(Failed, fmt.Errorf("systemd: %s is failed after %s%s", r.s.Name, stateVerb[r.s.State], r.status(ctx))), false
		}
		if time.Now().Add(systemdPoll).After(deadline) || !sleepCtx(ctx, systemdPoll) {
			break
		}
	}
	want := map[bool]string{true: "inactive", false: "active"}[stop]
	return r.result(Failed, fmt.Errorf("systemd: %s is %s, not %s, %s after %s%s", r.s.Name, last, want, roundWait(deadline.Sub(start)), stateVerb[r.s.State], r.status(ctx))), false
}
