package engine

import (
	"slices"
	"strings"
	"testing"

	"github.com/runbookhq/runbook/runbook/journal"
)

// clusterInventory: a control plane of three and four workers.
const clusterInventory = `all:
  children:
    control_plane:
      hosts:
        cp-[1:3]:
    workers:
      hosts:
        worker-[1:4]:
`

// runFlow runs src on the cluster inventory.
func runFlow(t *testing.T, src string, f *fakeFleet, mod func(*Options)) runResult {
	t.Helper()
	return runFake(t, src, f, func(o *Options) {
		o.Inventory = loadInventory(t, clusterInventory)
		if mod != nil {
			mod(o)
		}
	})
}

// hostsRunning lists, in the order they ran it, the hosts that ran cmd.
func (f *fakeFleet) hostsRunning(cmd string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, l := range f.log {
		if h, c, _ := strings.Cut(l, ": "); c == cmd {
			out = append(out, h)
		}
	}
	return out
}

// leaderReply: cp-2 is the leader; every command succeeds.
func leaderReply(host, cmd string) (string, int, error) {
	if cmd == "role" && host == "cp-2" {
		return "Leader\n", 0, nil
	}
	if cmd == "role" {
		return "Replica\n", 0, nil
	}
	return "", 0, nil
}

const twoGroupRunbook = `runbook: two-groups
targets: all
concurrency: 1
failure_budget: 0
phases:
  - name: Check
    kind: check
    steps: [{shell: role, register: role}]
  - name: CP canary
    kind: canary
    targets: control_plane
    hosts: 1
    order_by: 'role.stdout contains "Leader" ? 1 : 0'
    steps: [{shell: upgrade}]
  - name: CP
    kind: batch
    targets: control_plane
    serial: 1
    order_by: 'role.stdout contains "Leader" ? 1 : 0'
    steps: [{shell: upgrade}]
  - name: Workers canary
    kind: canary
    targets: workers
    hosts: [worker-2]
    steps: [{shell: upgrade}]
  - name: Workers
    kind: batch
    targets: workers
    order: reverse
    serial: [2]
    steps: [{shell: upgrade}]
rollback:
  steps: [{shell: undo}]
`

// TestFlowGroupsInSequence: the control plane (leader last), then the
// workers, in one run: each host upgraded once, in the order the phases,
// their targets and their orders say.
func TestFlowGroupsInSequence(t *testing.T) {
	f := newFakeFleet(leaderReply)
	r := runFlow(t, twoGroupRunbook, f, nil)
	if r.err != nil {
		t.Fatalf("run: %v", r.err)
	}
	want := []string{"cp-1", "cp-3", "cp-2", "worker-2", "worker-4", "worker-3", "worker-1"}
	if got := f.hostsRunning("upgrade"); !slices.Equal(got, want) {
		t.Fatalf("upgrade order %v, want %v", got, want)
	}
	for h, o := range r.outcomes() {
		if o != journal.OutcomeUpgraded {
			t.Errorf("%s: %s", h, o)
		}
	}
	var phases []string
	for _, rec := range r.records {
		if rec.Type == journal.PhaseStarted && rec.PhaseKind != "check" {
			phases = append(phases, rec.Phase+" "+strings.Join(rec.Hosts, ","))
		}
	}
	wantPhases := []string{"CP canary cp-1", "CP cp-3", "CP cp-2", "Workers canary worker-2", "Workers worker-4,worker-3", "Workers worker-1"}
	if !slices.Equal(phases, wantPhases) {
		t.Errorf("phases %q\nwant   %q", phases, wantPhases)
	}
}

// TestFlowBudgetAndRollbackAllSpanPhases: a control-plane host and a
// worker fail; the budget of one counts both, so the run halts, and with
// rollback_all every host changed so far is rolled back, newest first.
func TestFlowBudgetAndRollbackAllSpanPhases(t *testing.T) {
	src := strings.Replace(twoGroupRunbook, "failure_budget: 0", "failure_budget: 1\non_failure: rollback_all", 1)
	f := newFakeFleet(func(host, cmd string) (string, int, error) {
		if cmd == "upgrade" && (host == "cp-3" || host == "worker-4") {
			return "", 1, nil
		}
		return leaderReply(host, cmd)
	})
	r := runFlow(t, src, f, nil)
	wantRunError(t, r.err, journal.RunStatusHalted)
	if got := f.hostsRunning("upgrade"); !slices.Equal(got, []string{"cp-1", "cp-3", "cp-2", "worker-2", "worker-4", "worker-3"}) {
		t.Errorf("upgrade order %v", got)
	}
	// cp-3 and worker-4 failed (rolled back at once); the halt rolls back
	// the rest, newest first: worker-3, worker-2, cp-2, cp-1.
	if got := f.hostsRunning("undo"); !slices.Equal(got, []string{"cp-3", "worker-4", "worker-3", "worker-2", "cp-2", "cp-1"}) {
		t.Errorf("undo order %v", got)
	}
	if o := r.outcomes()["worker-1"]; o != journal.OutcomeNotStarted {
		t.Errorf("worker-1: %s, want not_started", o)
	}
}

// TestFlowCanarySubstitution: a named canary that the check skipped is
// replaced by the next open host, and the journal says so; with no open
// host left the canary phase is skipped, not halted.
func TestFlowCanarySubstitution(t *testing.T) {
	src := strings.Replace(twoGroupRunbook, "    steps: [{shell: role, register: role}]",
		"    steps: [{shell: role, register: role}]\n    skip_host_when: 'host.name == \"worker-2\" || host.name startsWith \"cp\"'", 1)
	f := newFakeFleet(leaderReply)
	r := runFlow(t, src, f, nil)
	if r.err != nil {
		t.Fatalf("run: %v", r.err)
	}
	if got := f.hostsRunning("upgrade"); !slices.Equal(got, []string{"worker-1", "worker-4", "worker-3"}) {
		t.Errorf("upgrade order %v", got)
	}
	var msgs []string
	for _, rec := range r.records {
		if rec.Type == journal.Message && rec.Host == "" {
			msgs = append(msgs, rec.Text)
		}
	}
	for _, want := range []string{"CP canary: no host of its targets is left to change: the canary phase is skipped",
		"Workers canary: canary host worker-2 is skipped (already done): worker-1 stands in"} {
		if !slices.Contains(msgs, want) {
			t.Errorf("no message %q in %q", want, msgs)
		}
	}
}

// TestFlowTwoPasses: two batch phases over the same hosts run one after the
// other; a host is finished (upgraded, lock released) only after its last.
func TestFlowTwoPasses(t *testing.T) {
	src := `runbook: passes
targets: workers
phases:
  - {name: Packages, kind: batch, serial: 2, steps: [{shell: packages}]}
  - {name: Reboot, kind: batch, serial: 1, steps: [{shell: reboot-now}]}
`
	f := newFakeFleet(okReply)
	r := runFlow(t, src, f, nil)
	if r.err != nil {
		t.Fatal(r.err)
	}
	lastStep, finished := map[string]int64{}, map[string]int64{}
	for _, rec := range r.records {
		switch {
		case rec.Type == journal.StepFinished:
			lastStep[rec.Host] = rec.Seq
		case rec.Type == journal.HostFinished:
			finished[rec.Host] = rec.Seq
		}
	}
	for _, h := range []string{"worker-1", "worker-2", "worker-3", "worker-4"} {
		if f.counts[h+": packages"] != 1 || f.counts[h+": reboot-now"] != 1 {
			t.Errorf("%s ran %v", h, f.ran(h))
		}
		if finished[h] < lastStep[h] {
			t.Errorf("%s finished (seq %d) before its last step (seq %d)", h, finished[h], lastStep[h])
		}
	}
}

// TestFlowFailedHostSkipsLaterPhases: a host that failed in one phase takes
// no part in a later one.
func TestFlowFailedHostSkipsLaterPhases(t *testing.T) {
	src := `runbook: passes
targets: workers
failure_budget: 1
phases:
  - {name: Packages, kind: batch, steps: [{shell: packages}]}
  - {name: Reboot, kind: batch, steps: [{shell: reboot-now}]}
rollback:
  steps: [{shell: undo}]
`
	f := newFakeFleet(func(host, cmd string) (string, int, error) {
		if host == "worker-3" && cmd == "packages" {
			return "", 1, nil
		}
		return "", 0, nil
	})
	r := runFlow(t, src, f, nil)
	wantRunError(t, r.err, journal.RunStatusFailed)
	if f.counts["worker-3: reboot-now"] != 0 || f.count("reboot-now") != 3 {
		t.Errorf("reboot ran on %v", f.hostsRunning("reboot-now"))
	}
	if o := r.outcomes()["worker-3"]; o != journal.OutcomeRolledBack {
		t.Errorf("worker-3: %s", o)
	}
}
