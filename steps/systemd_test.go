package steps

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook/transport"
)

// fakeUnit simulates one systemd unit behind systemctl: a start or restart
// goes through activating for a few polls, then ends active (or failed).
type fakeUnit struct {
	mu       sync.Mutex
	active   string // is-active answer
	enabled  string // is-enabled answer
	polls    int    // is-active polls left before an activation settles
	settle   int
	endState string // what an activation ends in: active or failed
	startRC  int    // exit status of start/restart
	// needReload is `systemctl show -p NeedDaemonReload`: its unit file
	// changed on disk since systemd read it ("yes"); daemon-reload clears it.
	needReload string
	// dropIns are the drop-ins systemd loaded, diskDropIns those on disk;
	// daemon-reload loads them.
	dropIns, diskDropIns string
}

func (u *fakeUnit) reply(_ int, c transport.Command) (string, int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(c.Argv) == 0 {
		if strings.HasPrefix(c.Shell, "systemctl status") {
			return "● crio.service - Container Runtime Interface for OCI (CRI-O)\n   Active: failed (Result: exit-code)\nError: config invalid\n", 3, nil
		}
		return "", 127, nil
	}
	verb := c.Argv[1]
	switch verb {
	case "is-active":
		if u.active == "activating" || u.active == "deactivating" {
			if u.polls--; u.polls < 0 {
				u.active = map[string]string{"activating": u.endState, "deactivating": "inactive"}[u.active]
			}
		}
		return u.active + "\n", map[bool]int{true: 0, false: 3}[u.active == "active"], nil
	case "is-enabled":
		return u.enabled + "\n", 0, nil
	case "show":
		need := u.needReload
		if need == "" {
			need = "no"
		}
		return "NeedDaemonReload=" + need + "\nFragmentPath=/lib/systemd/system/crio.service\nDropInPaths=" + u.dropIns + "\n", 0, nil
	case "start", "restart":
		if u.startRC != 0 {
			return "", u.startRC, nil
		}
		u.active, u.polls = "activating", u.settle
	case "stop":
		u.active, u.polls = "deactivating", u.settle
	case "reload":
	case "enable":
		u.enabled = "enabled"
	case "disable":
		u.enabled = "disabled"
	case "daemon-reload":
		u.needReload, u.dropIns = "no", u.diskDropIns
	default:
		return "", 1, errors.New("unexpected verb " + verb)
	}
	return "", 0, nil
}

func systemdExec(t *testing.T, u *fakeUnit) (*Exec, *fakeT) {
	f := &fakeT{reply: u.reply}
	return newExec(t, f, true), f
}

func TestSystemd(t *testing.T) {
	defer func(d time.Duration) { systemdPoll = d }(systemdPoll)
	systemdPoll = time.Millisecond
	for _, tc := range []struct {
		name   string
		step   string
		unit   *fakeUnit
		status string
		cmds   []string // the commands that change something, in order
		after  string   // is-active at the end
		err    string
	}{
		{name: "start stopped", step: `systemd: {name: crio, state: started}`, unit: &fakeUnit{active: "inactive", settle: 3, endState: "active"},
			status: Changed, cmds: []string{"systemctl start -- crio"}, after: "active"},
		{name: "start running", step: `systemd: {name: crio, state: started}`, unit: &fakeUnit{active: "active"},
			status: OK, after: "active"},
		{name: "stop running", step: `systemd: {name: kubelet, state: stopped}`, unit: &fakeUnit{active: "active", settle: 2},
			status: Changed, cmds: []string{"systemctl stop -- kubelet"}, after: "inactive"},
		{name: "stop failed unit", step: `systemd: {name: kubelet, state: stopped}`, unit: &fakeUnit{active: "failed"},
			status: OK, after: "failed"},
		{name: "restart", step: `systemd: {name: crio, state: restarted}`, unit: &fakeUnit{active: "active", settle: 1, endState: "active"},
			status: Changed, cmds: []string{"systemctl restart -- crio"}, after: "active"},
		{name: "reload running", step: `systemd: {name: crio, state: reloaded}`, unit: &fakeUnit{active: "active"},
			status: Changed, cmds: []string{"systemctl reload -- crio"}, after: "active"},
		{name: "reload stopped starts", step: `systemd: {name: crio, state: reloaded}`, unit: &fakeUnit{active: "inactive", endState: "active"},
			status: Changed, cmds: []string{"systemctl start -- crio"}, after: "active"},
		{name: "daemon-reload, unit already as asked", step: `systemd: {name: crio, state: started, daemon_reload: true}`,
			unit: &fakeUnit{active: "active"}, status: OK, cmds: []string{"systemctl daemon-reload"}, after: "active"},
		{name: "daemon-reload alone, nothing to reload", step: `systemd: {name: crio, daemon_reload: true}`,
			unit: &fakeUnit{active: "active"}, status: OK, cmds: []string{"systemctl daemon-reload"}},
		{name: "daemon-reload of a changed unit file", step: `systemd: {name: crio, state: started, daemon_reload: true}`,
			unit: &fakeUnit{active: "active", needReload: "yes"}, status: Changed, cmds: []string{"systemctl daemon-reload"}, after: "active"},
		{name: "daemon-reload after a new drop-in", step: `systemd: {name: crio, daemon_reload: true}`,
			unit: &fakeUnit{active: "active", diskDropIns: "/etc/systemd/system/crio.service.d/10-rb.conf"}, status: Changed,
			cmds: []string{"systemctl daemon-reload"}},
		{name: "enable and start", step: `systemd: {name: crio, state: started, enabled: true, daemon_reload: true}`,
			unit:   &fakeUnit{active: "inactive", enabled: "disabled", endState: "active"},
			status: Changed, cmds: []string{"systemctl daemon-reload", "systemctl enable -- crio", "systemctl start -- crio"}, after: "active"},
		{name: "already enabled", step: `systemd: {name: crio, enabled: true}`, unit: &fakeUnit{enabled: "enabled"}, status: OK},
		{name: "static counts as enabled", step: `systemd: {name: crio, enabled: true}`, unit: &fakeUnit{enabled: "static"}, status: OK},
		{name: "disable", step: `systemd: {name: crio, enabled: false}`, unit: &fakeUnit{enabled: "enabled"},
			status: Changed, cmds: []string{"systemctl disable -- crio"}},
		{name: "start fails", step: `systemd: {name: crio, state: started}`, unit: &fakeUnit{active: "inactive", startRC: 1},
			status: Failed, cmds: []string{"systemctl start -- crio"}, err: "systemd: systemctl start -- crio: exit 1\n● crio.service"},
		{name: "unit turns failed", step: `systemd: {name: crio, state: restarted}`, unit: &fakeUnit{active: "active", settle: 2, endState: "failed"},
			status: Failed, cmds: []string{"systemctl restart -- crio"}, after: "failed", err: "systemd: crio is failed after restart\n● crio.service"},
		{name: "never settles", step: `systemd: {name: crio, state: started, timeout: 50ms}`, unit: &fakeUnit{active: "inactive", settle: 1 << 30},
			status: Failed, cmds: []string{"systemctl start -- crio"}, after: "activating", err: "systemd: crio is activating, not active, 50ms after start"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, f := systemdExec(t, tc.unit)
			r := run(t, mustKind(t, tc.step), x)
			if r.Status != tc.status {
				t.Fatalf("status %s (%v), want %s; ran %q", r.Status, r.Err, tc.status, f.lines())
			}
			var acted []string
			for _, l := range f.lines() {
				if !strings.Contains(l, "is-active") && !strings.Contains(l, "is-enabled") && !strings.HasPrefix(l, "systemctl status") && !strings.HasPrefix(l, "systemctl show") {
					acted = append(acted, l)
				}
			}
			if !slices.Equal(acted, tc.cmds) {
				t.Errorf("acted %q, want %q", acted, tc.cmds)
			}
			if tc.after != "" && r.Data["active_after"] != tc.after {
				t.Errorf("active_after %v, want %s", r.Data["active_after"], tc.after)
			}
			if tc.err != "" && (r.Err == nil || !strings.Contains(r.Err.Error(), tc.err)) {
				t.Errorf("error %v, want %q", r.Err, tc.err)
			}
			for _, c := range f.cmds {
				if !c.Become {
					t.Errorf("%s ran without become", cmdLine(c))
				}
			}
		})
	}
}

// TestSystemdPredicts runs each case of TestSystemd that succeeds in
// check mode: the same status and the same commands withheld, and the
// unit untouched.
func TestSystemdPredicts(t *testing.T) {
	for _, tc := range []struct {
		step   string
		unit   func() *fakeUnit
		status string
		after  string
	}{
		{`systemd: {name: crio, state: started}`, func() *fakeUnit { return &fakeUnit{active: "inactive"} }, Changed, "active"},
		{`systemd: {name: crio, state: started}`, func() *fakeUnit { return &fakeUnit{active: "active"} }, OK, "active"},
		{`systemd: {name: kubelet, state: stopped}`, func() *fakeUnit { return &fakeUnit{active: "active"} }, Changed, "inactive"},
		{`systemd: {name: crio, state: restarted}`, func() *fakeUnit { return &fakeUnit{active: "active"} }, Changed, "active"},
		{`systemd: {name: crio, enabled: true}`, func() *fakeUnit { return &fakeUnit{enabled: "enabled"} }, OK, ""},
		{`systemd: {name: crio, enabled: false}`, func() *fakeUnit { return &fakeUnit{enabled: "enabled"} }, Changed, ""},
		{`systemd: {name: crio, daemon_reload: true}`, func() *fakeUnit { return &fakeUnit{needReload: "yes"} }, Changed, ""},
		{`systemd: {name: crio, daemon_reload: true, state: started}`, func() *fakeUnit { return &fakeUnit{active: "active"} }, OK, "active"},
	} {
		t.Run(tc.step, func(t *testing.T) {
			u := tc.unit()
			x, f := systemdExec(t, u)
			k := mustKind(t, tc.step)
			ctx, cancel := contextWithTimeout(time.Minute)
			defer cancel()
			r := k.(Predictor).Predict(ctx, x)
			if r.Status != tc.status || (tc.after != "" && r.Data["active_after"] != tc.after) {
				t.Errorf("predicted %s (%v), data %v; want %s, active_after %q", r.Status, r.Err, r.Data, tc.status, tc.after)
			}
			if fresh := tc.unit(); u.active != fresh.active || u.enabled != fresh.enabled || u.needReload != fresh.needReload {
				t.Errorf("the prediction changed the unit: %s %s %s", u.active, u.enabled, u.needReload)
			}
			for _, l := range f.lines() {
				if !strings.Contains(l, "is-active") && !strings.Contains(l, "is-enabled") && !strings.HasPrefix(l, "systemctl show") {
					t.Errorf("the prediction ran %s", l)
				}
			}
		})
	}
}

// TestSystemdIdempotent runs the same step twice on one unit: changed,
// then ok.
func TestSystemdIdempotent(t *testing.T) {
	defer func(d time.Duration) { systemdPoll = d }(systemdPoll)
	systemdPoll = time.Millisecond
	u := &fakeUnit{active: "inactive", enabled: "disabled", settle: 2, endState: "active"}
	x, _ := systemdExec(t, u)
	k := mustKind(t, `systemd: {name: crio, state: started, enabled: true}`)
	wantStatus(t, run(t, k, x), Changed)
	wantStatus(t, run(t, k, x), OK)
}

func TestSystemdRespectsContext(t *testing.T) {
	defer func(d time.Duration) { systemdPoll = d }(systemdPoll)
	systemdPoll = 20 * time.Millisecond
	x, _ := systemdExec(t, &fakeUnit{active: "inactive", settle: 1 << 30})
	ctx, cancel := contextWithTimeout(100 * time.Millisecond)
	defer cancel()
	start := time.Now()
	r := mustKind(t, `systemd: {name: crio, state: started, timeout: 1h}`).Run(ctx, x)
	if r.Status != Failed || time.Since(start) > 10*time.Second {
		t.Errorf("status %s after %v", r.Status, time.Since(start))
	}
}
