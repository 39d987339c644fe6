package containers

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook/transport"
	"github.com/runbookhq/runbook/steps"
)

// rbdemoState is what the node says of rbdemo: version and hold.
func rbdemoState(h *stepHost) string {
	h.t.Helper()
	return strings.TrimSpace(h.sh(`dpkg-query -W -f='${Version} ${Status}' rbdemo`))
}

// TestAptOnDebian takes rbdemo through an upgrade over a locally edited
// conffile, holds, a refused and an allowed downgrade, latest, a list, a
// whole-system upgrade, autoremove and the cache's age, on a real node.
func TestAptOnDebian(t *testing.T) {
	h := dialStepHost(t, sharedLab(t), "apt", LoginUser, nil)
	localConf := h.sh("cat /etc/rbdemo/rbdemo.conf")

	r := h.step(`apt: {name: rbdemo, version: 2.0-1, hold: true, update_cache: true}`, steps.Changed)
	if got := rbdemoState(h); got != "2.0-1 hold ok installed" {
		t.Fatalf("rbdemo is %q", got)
	}
	if c, _ := r.Data["conffiles"].(map[string]string); c["/etc/rbdemo/rbdemo.conf"] != "kept" {
		t.Errorf("conffiles %v, want rbdemo.conf kept", r.Data["conffiles"])
	}
	if got := h.sh("cat /etc/rbdemo/rbdemo.conf"); got != localConf {
		t.Errorf("the local conffile became %q", got)
	}
	if got := h.sh("cat /etc/rbdemo/rbdemo.conf.dpkg-dist"); !strings.Contains(got, "workers = 2") {
		t.Errorf("the package's new conffile is not beside it: %q", got)
	}
	wantVersions(t, r, "rbdemo", "1.0-1", "2.0-1")
	if r.Data["cache_updated"] != true || r.Data["held_before"] != false || r.Data["held"] != true {
		t.Errorf("data %v", r.Data)
	}
	if got := strings.TrimSpace(h.sh("rbdemo --version")); got != "rbdemo 2.0-1" {
		t.Errorf("rbdemo --version: %q", got)
	}
	h.step(`apt: {name: rbdemo, version: 2.0-1, hold: true}`, steps.OK)

	r = h.step(`apt: {name: rbdemo, version: 1.0-1}`, steps.Failed)
	if !strings.Contains(r.Err.Error(), "E: Packages were downgraded and -y was used without --allow-downgrades") {
		t.Errorf("refused downgrade: %v", r.Err)
	}
	if got := rbdemoState(h); got != "2.0-1 hold ok installed" {
		t.Fatalf("after the refused downgrade rbdemo is %q", got)
	}
	r = h.step(`apt: {name: rbdemo, version: 1.0-1, allow_downgrade: true}`, steps.Changed)
	if got := rbdemoState(h); got != "1.0-1 hold ok installed" {
		t.Fatalf("after the downgrade rbdemo is %q, want held again", got)
	}
	h.step(`apt: {name: rbdemo, hold: false}`, steps.Changed)
	h.step(`apt: {name: rbdemo, hold: false}`, steps.OK)

	r = h.step(`apt: {name: [rbdemo, rbprompt], state: latest, only_upgrade: true}`, steps.Changed)
	wantVersions(t, r, "rbdemo", "1.0-1", "2.1-1")
	wantVersions(t, r, "rbprompt", "", "")
	h.step(`apt: {name: rbdemo, state: latest}`, steps.OK)
	h.step(`apt: {name: "rbdemo=1.0-1", allow_downgrade: true}`, steps.Changed)

	r = h.step(`apt: {upgrade: safe}`, steps.Changed)
	wantVersions(t, r, "rbdemo", "1.0-1", "2.1-1")
	h.step(`apt: {upgrade: dist}`, steps.OK)

	// A package marked as pulled in by another, which nothing needs.
	h.step(`apt: {name: rbprompt}`, steps.Changed)
	h.sh("apt-mark auto rbprompt")
	r = h.step(`apt: {autoremove: true}`, steps.Changed)
	wantVersions(t, r, "rbprompt", "1.0-1", "")

	r = h.step(`apt: {name: rbdemo, cache_valid_time: 3600}`, steps.OK)
	if r.Data["cache_updated"] != false {
		t.Errorf("a fresh cache was updated again: %v", r.Data)
	}
	h.sh("touch -d '2 hours ago' /var/lib/apt/periodic/update-success-stamp")
	r = h.step(`apt: {name: rbdemo, cache_valid_time: 1h}`, steps.OK)
	if r.Data["cache_updated"] != true {
		t.Errorf("a 2 hour old cache was not updated: %v", r.Data)
	}
}

func wantVersions(t *testing.T, r steps.Result, pkg, before, after string) {
	t.Helper()
	pkgs, _ := r.Data["packages"].(map[string]any)
	e, _ := pkgs[pkg].(map[string]any)
	if e == nil || e["before"] != before || e["after"] != after {
		t.Errorf("%s: %v, want %q -> %q (packages %v)", pkg, e, before, after, pkgs)
	}
}

// TestAptNeverWaitsForAQuestion proves rbprompt's question stops an apt
// that is not driven non-interactively (and holds the dpkg lock while it
// waits), then that the step installs it, finishing what the killed apt
// left half done, and that a failing maintainer script's message reaches
// the step's error.
func TestAptNeverWaitsForAQuestion(t *testing.T) {
	h := dialStepHost(t, sharedLab(t), "apt", LoginUser, nil)
	// Left to itself, apt waits at the question; it is killed after 10s.
	out := h.sh(`apt-get remove -y rbprompt >/dev/null 2>&1 || true
setsid sh -c 'apt-get install -y rbprompt </dev/null >/tmp/prompt.log 2>&1' &
session=$!
sleep 10
ps -eo args | grep -c '[r]bprompt.config' || true
# dpkg runs on a terminal of its own, in another session: kill the tree.
kill_tree() { for c in $(pgrep -P "$1"); do kill_tree "$c"; done; kill -KILL "$1" 2>/dev/null || true; }
kill_tree "$session"
i=0
while [ $i -lt 50 ] && { pgrep -f '^/bin/sh /var/lib/dpkg/info/rbprompt' || pgrep -x dpkg || pgrep -x apt-get; } >/dev/null; do
  sleep 0.2; i=$((i+1))
done
grep -c 'Which site is this machine in' /tmp/prompt.log || true`)
	if fields := strings.Fields(out); len(fields) != 2 || fields[0] == "0" || fields[1] == "0" {
		t.Fatalf("apt without DEBIAN_FRONTEND did not stop at the question (config scripts, prompts: %q)", out)
	}
	r := h.step(`apt: {name: rbprompt}`, steps.Changed)
	if r.Data["configured_interrupted"] != true {
		t.Errorf("the interrupted dpkg was not finished first: %v", r.Data)
	}
	wantVersions(t, r, "rbprompt", "", "1.0-1")
	if got := h.sh(`dpkg-query -W -f='${Status}' rbprompt`); got != "install ok installed" {
		t.Errorf("rbprompt is %q", got)
	}

	r = h.step(`apt: {name: rbbroken}`, steps.Failed)
	for _, want := range []string{"rbbroken: cannot configure: /etc/rbbroken/license.key is missing",
		"dpkg: error processing package rbbroken (--configure)"} {
		if !strings.Contains(r.Err.Error(), want) {
			t.Errorf("error %q lacks %q", r.Err, want)
		}
	}
	h.sh("dpkg --purge rbbroken")
}

// TestAptWaitsForTheDpkgLock holds dpkg's lock for 10 seconds, as
// unattended-upgrades would, while the step installs: apt waits for it
// and the step succeeds after the lock is released.
func TestAptWaitsForTheDpkgLock(t *testing.T) {
	h := dialStepHost(t, sharedLab(t), "apt", LoginUser, nil)
	h.sh("apt-get remove -y rbprompt >/dev/null 2>&1 || true; rm -f /tmp/lock-held /tmp/lock-released")
	hold := `perl -e 'use Fcntl; use Time::HiRes qw(time sleep);
open(my $f, ">>", "/var/lib/dpkg/lock-frontend") or die "open: $!";
my $lock = pack("s s x4 q q i x4", F_WRLCK, 0, 0, 0, 0);
fcntl($f, F_SETLK, $lock) or die "lock: $!";
open(my $h, ">", "/tmp/lock-held"); close($h);
sleep 10;
open(my $o, ">", "/tmp/lock-released"); printf $o "%.3f\n", time; close($o);'`
	holder := make(chan error, 1)
	go func() {
		_, errOut, rc, err := h.x.Output(context.Background(), transport.Command{Shell: hold, Become: true})
		if err == nil && rc != 0 {
			err = transport.Unreachable("apt", nil)
			t.Logf("lock holder: rc %d: %s", rc, errOut)
		}
		holder <- err
	}()
	for i := 0; i < 100 && strings.TrimSpace(h.sh("test -e /tmp/lock-held && echo yes || true")) != "yes"; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	h.step(`apt: {name: rbprompt}`, steps.Changed)
	finished := float64(time.Now().UnixNano()) / 1e9
	if err := <-holder; err != nil {
		t.Fatalf("lock holder: %v", err)
	}
	released, err := strconv.ParseFloat(strings.TrimSpace(h.sh("cat /tmp/lock-released")), 64)
	if err != nil {
		t.Fatal(err)
	}
	if finished < released {
		t.Errorf("the step ended at %.3f, before the lock was released at %.3f", finished, released)
	}
	if !strings.Contains(h.out.String(), "Waiting for cache lock") {
		t.Errorf("apt did not say it waited for the lock:\n%s", h.out.tail(2000))
	}
}

// TestAptPredictsOnDebian predicts an apt step in check mode (apt-get
// simulates), checks that the node did not change, then runs it: the
// versions it reports are the ones predicted.
func TestAptPredictsOnDebian(t *testing.T) {
	h := dialStepHost(t, sharedLab(t), "apt", LoginUser, nil)
	h.sh("apt-get remove -y rbprompt >/dev/null 2>&1 || true; apt-mark unhold rbdemo >/dev/null")
	stateBefore := h.sh("dpkg -l; md5sum /var/lib/dpkg/status")
	step := `apt: {name: [rbprompt, "rbdemo=2.0-1"], allow_downgrade: true, hold: true, update_cache: true}`
	predicted := h.predict(step)
	if predicted.Status != steps.Changed || predicted.Data["cache_update_withheld"] != true {
		t.Fatalf("prediction: %s %v, data %v", predicted.Status, predicted.Err, predicted.Data)
	}
	if got := h.sh("dpkg -l; md5sum /var/lib/dpkg/status"); got != stateBefore {
		t.Fatal("the prediction changed dpkg's state")
	}
	ran := h.step(step, steps.Changed)
	for _, pkg := range []string{"rbprompt", "rbdemo"} {
		p, _ := predicted.Data["packages"].(map[string]any)
		r, _ := ran.Data["packages"].(map[string]any)
		if fmtAny(p[pkg]) != fmtAny(r[pkg]) {
			t.Errorf("%s: predicted %v, ran %v", pkg, p[pkg], r[pkg])
		}
	}
	if p := h.predict(step); p.Status != steps.OK {
		t.Errorf("predicted again after the run: %s %v", p.Status, p.Data)
	}
}
