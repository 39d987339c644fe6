package steps

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook/transport"
)

// fakeDpkg answers the commands of the apt step as a Debian host with a
// package archive would: installed versions and holds, candidates,
// packages nothing needs any more (orphans).
type fakeDpkg struct {
	mu        sync.Mutex
	installed map[string]string // name -> version
	held      map[string]bool
	candidate map[string]string
	orphans   map[string]bool
	stampAge  int // seconds since the last update; -1: none
	updates   int
	failOn    string // a package whose installation fails
	// interrupted says an earlier dpkg was cut off: apt refuses to
	// change anything until dpkg --configure -a runs.
	interrupted bool
	configKept  string // a conffile the next install keeps
}

func (f *fakeDpkg) reply(n int, c transport.Command) (string, int, error) {
	f.mu.Lock()
	words := shellWords(c.Shell)
	if len(words) > 2 && words[0] == "apt-get" && words[2] == "-s" {
		f.mu.Unlock()
		return f.simulate(n, c)
	}
	defer f.mu.Unlock()
	switch {
	case strings.HasPrefix(c.Shell, "dpkg-query -W"):
		var b strings.Builder
		for _, n := range sortedKeys(f.installed) {
			want := map[bool]string{true: "hold", false: "install"}[f.held[n]]
			fmt.Fprintf(&b, "%s|%s ok installed|%s\n", n, want, f.installed[n])
		}
		return b.String(), 0, nil
	case strings.HasPrefix(c.Shell, `echo "now=`):
		if f.stampAge < 0 {
			return "now=100000\n", 0, nil
		}
		return fmt.Sprintf("now=100000\nstamp=%d\n", 100000-f.stampAge), 0, nil
	case strings.HasPrefix(c.Shell, "apt-get update"):
		f.updates++
		f.stampAge = 0
		return "", 0, nil
	case strings.HasPrefix(c.Shell, "apt-cache policy"):
		var b strings.Builder
		for _, n := range afterDashes(words) {
			fmt.Fprintf(&b, "%s:\n  Installed: %s\n  Candidate: %s\n", n, f.installed[n], f.candidate[n])
		}
		return b.String(), 0, nil
	case strings.HasPrefix(c.Shell, "apt-mark"):
		for _, n := range afterDashes(words) {
			f.held[n] = words[1] == "hold"
		}
		return "", 0, nil
	case strings.HasPrefix(c.Shell, "dpkg --configure -a"):
		f.interrupted = false
		return "", 0, nil
	case f.interrupted && strings.HasPrefix(c.Shell, "apt-get install"):
		if c.Stderr != nil {
			fmt.Fprint(c.Stderr, "E: dpkg was interrupted, you must manually run 'dpkg --configure -a' to correct the problem. \n")
		}
		return "", 100, nil
	case strings.HasPrefix(c.Shell, "apt-get install"):
		return f.install(words)
	case strings.HasPrefix(c.Shell, "apt-get remove"):
		for _, n := range afterDashes(words) {
			delete(f.installed, n)
		}
		return "", 0, nil
	case strings.HasPrefix(c.Shell, "apt-get autoremove"):
		for n := range f.orphans {
			delete(f.installed, n)
		}
		return "", 0, nil
	case strings.HasPrefix(c.Shell, "apt-get dist-upgrade"), strings.HasPrefix(c.Shell, "apt-get upgrade"):
		for n := range f.installed {
			if !f.held[n] && f.candidate[n] != "" {
				f.installed[n] = f.candidate[n]
			}
		}
		return "", 0, nil
	}
	return "", 127, nil
}

func (f *fakeDpkg) install(words []string) (string, int, error) {
	only := slices.Contains(words, "--only-upgrade")
	for _, t := range afterDashes(words) {
		n, v, _ := strings.Cut(t, "=")
		if n == f.failOn {
			return "", 100, nil
		}
		if f.held[n] && !slices.Contains(words, "--allow-change-held-packages") {
			return "", 100, nil // apt refuses to change a held package
		}
		if _, ok := f.installed[n]; !ok && only {
			continue
		}
		if v == "" {
			v = f.candidate[n]
		}
		f.installed[n] = v
	}
	if f.configKept != "" {
		out := fmt.Sprintf("Configuration file '%s'\n ==> Modified (by you or by a script) since installation.\n ==> Keeping old config file as default.\n", f.configKept)
		f.configKept = ""
		return out, 0, nil
	}
	return "", 0, nil
}

// simulate answers apt-get -s: the command run on a copy of the host,
// told as the Inst and Remv lines of apt's plan.
func (f *fakeDpkg) simulate(n int, c transport.Command) (string, int, error) {
	f.mu.Lock()
	cp := &fakeDpkg{installed: map[string]string{}, held: map[string]bool{}, candidate: f.candidate, orphans: f.orphans,
		failOn: f.failOn, interrupted: f.interrupted}
	for k, v := range f.installed {
		cp.installed[k] = v
	}
	for k, v := range f.held {
		cp.held[k] = v
	}
	f.mu.Unlock()
	c.Shell = strings.Replace(c.Shell, " -s ", " ", 1)
	c.Stdout = nil
	if _, rc, err := cp.reply(n, c); rc != 0 || err != nil {
		return "", rc, err
	}
	var b strings.Builder
	for _, name := range sortedKeys(f.installed) {
		if _, ok := cp.installed[name]; !ok {
			fmt.Fprintf(&b, "Remv %s [%s]\n", name, f.installed[name])
		}
	}
	for _, name := range sortedKeys(cp.installed) {
		if old, ok := f.installed[name]; !ok || old != cp.installed[name] {
			fmt.Fprintf(&b, "Inst %s [%s] (%s Debian:12/stable [all])\n", name, old, cp.installed[name])
		}
	}
	return b.String(), 0, nil
}

// shellWords splits a command the step wrote (words, single quotes).
func shellWords(s string) []string {
	var out []string
	for _, w := range strings.Fields(s) {
		out = append(out, strings.Trim(w, "'"))
	}
	return out
}

func afterDashes(words []string) []string {
	if i := slices.Index(words, "--"); i >= 0 {
		return words[i+1:]
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func newFakeDpkg() *fakeDpkg {
	return &fakeDpkg{
		installed: map[string]string{"rbdemo": "1.0-1", "libold": "0.1", "kubelet": "1.29.1"},
		held:      map[string]bool{"kubelet": true},
		candidate: map[string]string{"rbdemo": "2.0-1", "rbprompt": "1.0-1", "kubelet": "1.29.9", "libold": "0.1"},
		orphans:   map[string]bool{"libold": true},
		stampAge:  -1,
	}
}

// changes lists the commands of a run that change something.
func changes(f *fakeT) []string {
	var out []string
	for _, l := range f.lines() {
		if !strings.HasPrefix(l, "dpkg-query") && !strings.HasPrefix(l, "apt-cache") && !strings.HasPrefix(l, `echo "now=`) {
			out = append(out, strings.Fields(l)[0]+" "+strings.Fields(l)[1])
		}
	}
	return out
}

// TestAptDecides runs the apt step against a fake host and checks what it
// runs, what it reports, and what it records.
func TestAptDecides(t *testing.T) {
	for _, tc := range []struct {
		name    string
		step    string
		setup   func(*fakeDpkg)
		status  string
		cmds    []string
		check   func(t *testing.T, f *fakeDpkg, r Result)
		wantErr string
	}{
		{name: "installed already: nothing runs", step: `apt: {name: rbdemo}`, status: OK},
		{name: "a list installs only what is missing", step: `apt: {name: [rbdemo, rbprompt]}`, status: Changed,
			cmds: []string{"apt-get install"},
			check: func(t *testing.T, f *fakeDpkg, r Result) {
				wantPackages(t, r, map[string][2]string{"rbdemo": {"1.0-1", "1.0-1"}, "rbprompt": {"", "1.0-1"}})
				if cmd := r.Command; !strings.HasSuffix(cmd, "-- rbprompt") {
					t.Errorf("command %q installs more than rbprompt", cmd)
				}
			}},
		{name: "latest upgrades to the candidate", step: `apt: {name: rbdemo, state: latest}`, status: Changed,
			cmds: []string{"apt-get install"},
			check: func(t *testing.T, f *fakeDpkg, r Result) {
				wantPackages(t, r, map[string][2]string{"rbdemo": {"1.0-1", "2.0-1"}})
				if r.Data["version_before"] != "1.0-1" || r.Data["version_after"] != "2.0-1" {
					t.Errorf("data %v", r.Data)
				}
			}},
		{name: "latest of a held package keeps it held", step: `apt: {name: kubelet, state: latest}`, status: Changed,
			cmds: []string{"apt-mark unhold", "apt-get install", "apt-mark hold"},
			check: func(t *testing.T, f *fakeDpkg, r Result) {
				if !f.held["kubelet"] || f.installed["kubelet"] != "1.29.9" || r.Data["held"] != true {
					t.Errorf("kubelet %s held %v, data %v", f.installed["kubelet"], f.held["kubelet"], r.Data)
				}
			}},
		{name: "latest at the candidate: nothing runs", step: `apt: {name: libold, state: latest}`, status: OK},
		{name: "only_upgrade installs nothing new", step: `apt: {name: [rbprompt, rbdemo], state: latest, only_upgrade: true}`, status: Changed,
			cmds: []string{"apt-get install"},
			check: func(t *testing.T, f *fakeDpkg, r Result) {
				if _, ok := f.installed["rbprompt"]; ok {
					t.Error("only_upgrade installed rbprompt")
				}
				wantPackages(t, r, map[string][2]string{"rbdemo": {"1.0-1", "2.0-1"}, "rbprompt": {"", ""}})
			}},
		{name: "hold alone is a change", step: `apt: {name: rbdemo, hold: true}`, status: Changed, cmds: []string{"apt-mark hold"}},
		{name: "absent removes what is installed, unholding first", step: `apt: {name: [kubelet, rbprompt], state: absent}`, status: Changed,
			cmds: []string{"apt-mark unhold", "apt-get remove"},
			check: func(t *testing.T, f *fakeDpkg, r Result) {
				wantPackages(t, r, map[string][2]string{"kubelet": {"1.29.1", ""}, "rbprompt": {"", ""}})
			}},
		{name: "dist upgrade leaves held packages and records what changed", step: `apt: {upgrade: dist}`, status: Changed,
			cmds: []string{"apt-get dist-upgrade"},
			check: func(t *testing.T, f *fakeDpkg, r Result) {
				wantPackages(t, r, map[string][2]string{"rbdemo": {"1.0-1", "2.0-1"}})
			}},
		{name: "autoremove alone", step: `apt: {autoremove: true}`, status: Changed, cmds: []string{"apt-get autoremove"},
			check: func(t *testing.T, f *fakeDpkg, r Result) {
				wantPackages(t, r, map[string][2]string{"libold": {"0.1", ""}})
			}},
		{name: "an update alone is no change", step: `apt: {update_cache: true}`, status: OK, cmds: []string{"apt-get update"}},
		{name: "a fresh cache is not updated", step: `apt: {name: rbdemo, cache_valid_time: 3600}`, status: OK,
			setup: func(f *fakeDpkg) { f.stampAge = 60 },
			check: func(t *testing.T, f *fakeDpkg, r Result) {
				if f.updates != 0 || r.Data["cache_updated"] != false || r.Data["cache_age_s"] != 60 {
					t.Errorf("updates %d, data %v", f.updates, r.Data)
				}
			}},
		{name: "a stale cache is updated", step: `apt: {name: rbdemo, cache_valid_time: 1m}`, status: OK,
			setup: func(f *fakeDpkg) { f.stampAge = 61 }, cmds: []string{"apt-get update"}},
		{name: "a kept conffile is recorded", step: `apt: {name: rbdemo, version: 2.0-1}`, status: Changed,
			setup: func(f *fakeDpkg) { f.configKept = "/etc/rbdemo/rbdemo.conf" }, cmds: []string{"apt-get install"},
			check: func(t *testing.T, f *fakeDpkg, r Result) {
				if c, _ := r.Data["conffiles"].(map[string]string); c["/etc/rbdemo/rbdemo.conf"] != "kept" {
					t.Errorf("conffiles %v", r.Data["conffiles"])
				}
			}},
		{name: "an interrupted dpkg is finished first", step: `apt: {name: rbprompt}`, status: Changed,
			setup: func(f *fakeDpkg) { f.interrupted = true }, cmds: []string{"apt-get install", "dpkg --configure", "apt-get install"},
			check: func(t *testing.T, f *fakeDpkg, r Result) {
				if r.Data["configured_interrupted"] != true || f.installed["rbprompt"] != "1.0-1" {
					t.Errorf("data %v, installed %v", r.Data, f.installed)
				}
			}},
		{name: "a failed install puts the hold back", step: `apt: {name: kubelet, version: 1.29.9}`, status: Failed,
			setup: func(f *fakeDpkg) { f.failOn = "kubelet" }, cmds: []string{"apt-mark unhold", "apt-get install", "apt-mark hold"},
			wantErr: "apt: exit 100",
			check: func(t *testing.T, f *fakeDpkg, r Result) {
				if !f.held["kubelet"] {
					t.Error("kubelet is left unheld")
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newFakeDpkg()
			if tc.setup != nil {
				tc.setup(d)
			}
			f := &fakeT{reply: d.reply}
			r := run(t, mustKind(t, tc.step), newExec(t, f, true))
			if r.Status != tc.status || (tc.wantErr == "") != (r.Err == nil) || (r.Err != nil && !strings.Contains(r.Err.Error(), tc.wantErr)) {
				t.Fatalf("status %s, error %v; want %s %q", r.Status, r.Err, tc.status, tc.wantErr)
			}
			if got := changes(f); !slices.Equal(got, tc.cmds) {
				t.Errorf("ran %q, want %q", got, tc.cmds)
			}
			if tc.check != nil {
				tc.check(t, d, r)
			}
		})
	}
}

// TestAptPredicts runs each case of TestAptDecides in check mode on a
// host of its own: the prediction must match what the run did, and the
// host must not change.
func TestAptPredicts(t *testing.T) {
	for _, tc := range []struct{ step, status string }{
		{`apt: {name: rbdemo}`, OK},
		{`apt: {name: [rbdemo, rbprompt]}`, Changed},
		{`apt: {name: rbdemo, state: latest}`, Changed},
		{`apt: {name: kubelet, state: latest}`, Changed},
		{`apt: {name: libold, state: latest}`, OK},
		{`apt: {name: [rbprompt, rbdemo], state: latest, only_upgrade: true}`, Changed},
		{`apt: {name: rbdemo, hold: true}`, Changed},
		{`apt: {name: [kubelet, rbprompt], state: absent}`, Changed},
		{`apt: {upgrade: dist}`, Changed},
		{`apt: {autoremove: true}`, Changed},
		{`apt: {name: rbdemo, update_cache: true}`, OK},
		{`apt: {name: rbdemo, version: 9.9}`, Failed},
	} {
		t.Run(tc.step, func(t *testing.T) {
			k := mustKind(t, tc.step)
			if !CanPredict(k) {
				t.Fatal("apt cannot predict")
			}
			ran, predicted := newFakeDpkg(), newFakeDpkg()
			if strings.Contains(tc.step, "9.9") {
				ran.failOn, predicted.failOn = "rbdemo", "rbdemo"
			}
			want := run(t, k, newExec(t, &fakeT{reply: ran.reply}, true))
			f := &fakeT{reply: predicted.reply}
			ctx, cancel := contextWithTimeout(time.Minute)
			defer cancel()
			got := k.(Predictor).Predict(ctx, newExec(t, f, true))
			if got.Status != tc.status || want.Status != tc.status {
				t.Fatalf("predicted %s (%v), ran %s (%v), want %s", got.Status, got.Err, want.Status, want.Err, tc.status)
			}
			if fmt.Sprint(got.Data["packages"]) != fmt.Sprint(want.Data["packages"]) {
				t.Errorf("predicted packages %v\nran %v", got.Data["packages"], want.Data["packages"])
			}
			fresh := newFakeDpkg()
			if fmt.Sprint(predicted.installed, predicted.held) != fmt.Sprint(fresh.installed, fresh.held) || predicted.updates != 0 {
				t.Errorf("the prediction changed the host: %v %v, %d updates", predicted.installed, predicted.held, predicted.updates)
			}
			for _, l := range f.lines() {
				if (strings.HasPrefix(l, "apt-get") && !strings.Contains(l, " -s ")) || strings.HasPrefix(l, "apt-mark") {
					t.Errorf("the prediction ran %s", l)
				}
			}
		})
	}
}

func wantPackages(t *testing.T, r Result, want map[string][2]string) {
	t.Helper()
	pkgs, _ := r.Data["packages"].(map[string]any)
	if len(pkgs) != len(want) {
		t.Errorf("packages %v, want %v", pkgs, want)
	}
	for name, w := range want {
		e, _ := pkgs[name].(map[string]any)
		if e["before"] != w[0] || e["after"] != w[1] {
			t.Errorf("%s: %v, want before %q after %q", name, e, w[0], w[1])
		}
	}
}
