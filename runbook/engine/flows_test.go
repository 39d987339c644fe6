package engine

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
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

const stepFlowRunbook = `runbook: step-flows
targets: workers
failure_budget: 0
params:
  pkgs: {default: [a, b, c]}
  tries: {default: 2}
  batch: {default: 3}
handlers:
  restart: [{shell: restart-svc}]
  reload: [{shell: reload-cfg}]
phases:
  - name: Roll out
    kind: batch
    serial: ["{{ params.batch }}"]
    steps:
      - shell: install {{ item }} {{ loop_index }}
        loop: params.pkgs
        register: inst
        notify: [restart]
      - shell: count {{ len(inst.results) }} {{ inst.changed }}
      - shell: config
        notify: [reload, restart]
        changed_when: host.name != "worker-4"
      - block:
          - shell: drain
          - shell: after-drain
        rescue:
          - shell: uncordon
        always:
          - shell: cleanup
      - shell: flaky
        retries: "{{ params.tries }}"
        delay: 1ms
    verify:
      - shell: healthy
rollback:
  steps: [{shell: undo}]
`

// stepFlowReply: drain fails on worker-2 (rescued); flaky fails once on
// every host, then succeeds.
func stepFlowReply() (*fakeFleet, func(string, string) (string, int, error)) {
	var f *fakeFleet
	reply := func(host, cmd string) (string, int, error) {
		switch {
		case cmd == "drain" && host == "worker-2":
			return "", 1, nil
		case cmd == "flaky" && f.times(host, "flaky") == 1:
			return "", 1, nil
		}
		return "", 0, nil
	}
	f = newFakeFleet(reply)
	return f, reply
}

// TestFlowLoopsHandlersBlocks: a loop runs once per item and registers
// every result; handlers run once per host, in their order, after the
// step list and before verify, only where a step changed; a rescued
// failure stays failed, is marked rescued, and the host ends rescued; a
// templated retries and serial take their params.
func TestFlowLoopsHandlersBlocks(t *testing.T) {
	f, _ := stepFlowReply()
	r := runFlow(t, stepFlowRunbook, f, nil)
	if r.err != nil {
		t.Fatalf("run: %v", r.err)
	}
	for _, h := range []string{"worker-1", "worker-2", "worker-3", "worker-4"} {
		ran := f.ran(h)
		wantPrefix := []string{"install a 0", "install b 1", "install c 2", "count 3 true", "config"}
		if !slices.Equal(ran[:5], wantPrefix) {
			t.Errorf("%s ran %q", h, ran[:5])
		}
		if n := f.counts[h+": restart-svc"]; n != 1 {
			t.Errorf("%s: restart ran %d times, want once", h, n)
		}
		wantReload := 1
		if h == "worker-4" {
			wantReload = 0 // config did not change there
		}
		if n := f.counts[h+": reload-cfg"]; n != wantReload {
			t.Errorf("%s: reload ran %d times, want %d", h, n, wantReload)
		}
		// Handlers in their order, after the list, before verify.
		iRestart, iReload, iFlaky, iHealthy := slices.Index(ran, "restart-svc"), slices.Index(ran, "reload-cfg"), slices.Index(ran, "flaky"), slices.Index(ran, "healthy")
		if iRestart < iFlaky || iHealthy < iRestart || (wantReload == 1 && (iReload < iRestart || iHealthy < iReload)) {
			t.Errorf("%s: order %q", h, ran)
		}
		if n := f.counts[h+": flaky"]; n != 2 {
			t.Errorf("%s: flaky ran %d times, want 2 (retries from a param)", h, n)
		}
		if f.counts[h+": cleanup"] != 1 {
			t.Errorf("%s: always did not run", h)
		}
	}
	if f.counts["worker-2: after-drain"] != 0 || f.counts["worker-2: uncordon"] != 1 || f.counts["worker-1: uncordon"] != 0 {
		t.Errorf("block: %q", f.ran("worker-2"))
	}
	out := r.outcomes()
	if out["worker-2"] != journal.OutcomeRescued || out["worker-1"] != journal.OutcomeUpgraded {
		t.Errorf("outcomes %v", out)
	}
	var failedDrain, rescued bool
	for _, rec := range r.records {
		if rec.Host == "worker-2" && rec.Type == journal.StepFinished && rec.StepID == "1.steps.3.block.0" && rec.Status == journal.StatusFailed {
			failedDrain = true
		}
		if rec.Host == "worker-2" && rec.Type == journal.StepRescued && rec.StepID == "1.steps.3.block.0" {
			rescued = true
		}
	}
	if !failedDrain || !rescued {
		t.Errorf("journal: drain failed %v, marked rescued %v", failedDrain, rescued)
	}
	if f.count("undo") != 0 {
		t.Errorf("a rescued host was rolled back")
	}
}

// TestFlowUnrescuedFailureFailsTheHost: a block failure whose rescue fails
// too fails the host as usual (rollback, budget), and always still runs.
func TestFlowUnrescuedFailureFailsTheHost(t *testing.T) {
	f := newFakeFleet(func(host, cmd string) (string, int, error) {
		if host == "worker-3" && (cmd == "drain" || cmd == "uncordon") {
			return "", 1, nil
		}
		return "", 0, nil
	})
	r := runFlow(t, strings.Replace(stepFlowRunbook, "failure_budget: 0", "failure_budget: 1", 1), f, nil)
	wantRunError(t, r.err, journal.RunStatusFailed)
	if o := r.outcomes()["worker-3"]; o != journal.OutcomeRolledBack {
		t.Errorf("worker-3: %s", o)
	}
	if f.counts["worker-3: cleanup"] != 1 || f.counts["worker-3: restart-svc"] != 0 {
		t.Errorf("worker-3 ran %q", f.ran("worker-3"))
	}
}

// TestFlowStopAndResumeAtEveryRecord stops the step-flow run after its
// N-th journal record, for every N, and resumes it: no step or iteration
// with a final result runs again, every queued handler runs exactly once,
// and the run ends as an uninterrupted one does.
func TestFlowStopAndResumeAtEveryRecord(t *testing.T) {
	f0, _ := stepFlowReply()
	full := runFlow(t, stepFlowRunbook, f0, nil)
	if full.err != nil {
		t.Fatal(full.err)
	}
	wantOutcomes, wantCounts := full.outcomes(), f0.counts
	for n := 1; n < len(full.records); n++ {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			f, _ := stepFlowReply()
			state := t.TempDir()
			var e *Engine
			var seen atomic.Int32
			opts := Options{Runbook: loadRunbook(t, stepFlowRunbook), Inventory: loadInventory(t, clusterInventory), StateDir: state,
				Connector: f, Approver: &approver{answer: true}, Operator: "tester",
				Observer: func(journal.Record) {
					if int(seen.Add(1)) == n {
						e.Stop()
					}
				}}
			var err error
			if e, err = New(opts); err != nil {
				t.Fatal(err)
			}
			res, err := e.Start(context.Background())
			if err == nil {
				return // stopped after the last step: nothing left to resume
			}
			if !errors.Is(err, ErrInterrupted) {
				t.Fatalf("stopped run: %v", err)
			}
			if res2, err := resumeFake(context.Background(), t, state, f, res.RunID); err != nil || res2.Status != journal.RunStatusSucceeded {
				t.Fatalf("resumed run: %v %+v", err, res2)
			}
			checkResumedJournal(t, res.Journal, wantOutcomes)
			// A command runs again only when a stop cut its step off; the
			// handlers and the loop's iterations never twice.
			for k, c := range f.counts {
				if c > wantCounts[k]+1 || (c != wantCounts[k] && (strings.Contains(k, "restart-svc") || strings.Contains(k, "reload-cfg") || strings.Contains(k, "install"))) {
					t.Errorf("%s ran %d times, %d in an uninterrupted run", k, c, wantCounts[k])
				}
			}
			for k, c := range wantCounts {
				if f.counts[k] < c {
					t.Errorf("%s ran %d times, %d in an uninterrupted run", k, f.counts[k], c)
				}
			}
		})
	}
}

// TestFlowReferencesCheckedBeforeTheRun: a phase targets: that matches no
// target, or a canary pattern that matches none of the phase's, refuses the
// run with file:line:col, as validate -i does.
func TestFlowReferencesCheckedBeforeTheRun(t *testing.T) {
	for _, tc := range []struct{ from, to, want string }{
		{"    targets: workers\n    order: reverse", "    targets: databases\n    order: reverse", `rb.yaml:28:14: targets "databases": host pattern "databases": no host or group matches "databases"`},
		{"    targets: workers\n    order: reverse", "    targets: cp-1\n    order: reverse", ""},
		{"    hosts: [worker-2]", "    hosts: [cp-1]", `canary host cp-1 is not among the phase's targets "workers"`},
		{"    hosts: [worker-2]", "    hosts: 'cp-*'", `rb.yaml:24:12: canary hosts "cp-*": matches no host of the phase's targets "workers"`},
	} {
		src := strings.Replace(twoGroupRunbook, tc.from, tc.to, 1)
		src = strings.Replace(src, "targets: all", "targets: all:!cp-1", 1)
		if tc.want == "" {
			tc.want = `targets "cp-1" matches no host of the runbook's targets "all:!cp-1"`
		}
		_, err := New(Options{Runbook: loadRunbook(t, src), Inventory: loadInventory(t, clusterInventory), InventoryFile: "inv.yaml",
			StateDir: t.TempDir(), Connector: newFakeFleet(okReply)})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v\nwant %q", tc.to, err, tc.want)
		}
	}
}

// TestFlowPlan: the plan walks the phases as a run does and shows each
// phase's targets and order, canary substitutions, loop items where known
// and the handlers a step may notify, in text and in JSON.
func TestFlowPlan(t *testing.T) {
	src := strings.Replace(twoGroupRunbook, "    steps: [{shell: upgrade}]\n  - name: Workers\n",
		"    steps:\n      - {shell: 'install {{ item }}', loop: [crio, kubelet], notify: [restart]}\n  - name: Workers\n", 1)
	src = strings.Replace(src, "rollback:", "handlers:\n  restart: [{shell: restart-crio}]\nrollback:", 1)
	e, err := New(Options{Runbook: loadRunbook(t, src), Inventory: loadInventory(t, clusterInventory), StateDir: t.TempDir(),
		Connector: newFakeFleet(okReply)})
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.MakePlan([]string{"worker-2"}) // plan --check found worker-2 done
	if err != nil {
		t.Fatal(err)
	}
	cp, wc, w := p.Phases[2], p.Phases[3], p.Phases[4]
	if cp.Targets != "control_plane" || cp.Order != `order_by role.stdout contains "Leader" ? 1 : 0` ||
		!slices.Contains(cp.Notes, "order_by reads values known after the check phases: shown here in inventory order") {
		t.Errorf("CP phase %+v", cp)
	}
	if !slices.Equal(wc.Hosts, []string{"worker-1"}) || !slices.Contains(wc.Notes, "canary host worker-2 is skipped (already done): worker-1 stands in") {
		t.Errorf("workers canary %+v", wc)
	}
	if len(w.Batches) != 1 || !slices.Equal(w.Batches[0], []string{"worker-4", "worker-3"}) || w.Order != "reverse" {
		t.Errorf("workers batches %v order %q", w.Batches, w.Order)
	}
	st := wc.Steps[0]
	if st.Loop != `["crio","kubelet"]` || !slices.Equal(st.Notify, []string{"restart"}) || !strings.Contains(st.Rendered[0].Text, "[0] shell: install crio\n[1] shell: install kubelet") {
		t.Errorf("looped step %+v", st)
	}
	if len(p.Handlers) != 1 || p.Handlers[0].Name != "restart" {
		t.Errorf("handlers %+v", p.Handlers)
	}
	var b strings.Builder
	p.WriteText(&b)
	for _, want := range []string{"   - targets control_plane\n", "   - hosts in order: reverse\n",
		"   - canary host worker-2 is skipped (already done): worker-1 stands in\n", `(loop ["crio","kubelet"]; notifies restart)`,
		"handlers (each runs once per host, after the step list that notified it):\n   restart:\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("plan text lacks %q:\n%s", want, b.String())
		}
	}
}

// TestSetMappingWithoutTextKeys: a set: value whose mapping keys are not
// text (fromPairs makes them) is journaled with text keys and read alike
// by later steps, rather than stopping the run at the journal.
func TestSetMappingWithoutTextKeys(t *testing.T) {
	src := `runbook: pairs
targets: worker-1
phases:
  - name: Roll out
    kind: batch
    steps:
      - set: {versions: 'fromPairs([["libc6", "2.35"], ["openssl", "3.0"]])'}
      - shell: 'use {{ versions.libc6 }} {{ versions["openssl"] }}'
`
	f := newFakeFleet(okReply)
	r := runFake(t, src, f, nil)
	if r.err != nil {
		t.Fatalf("run: %v", r.err)
	}
	if f.count("use 2.35 3.0") != 1 {
		t.Errorf("ran %v", f.ran("worker-1"))
	}
}
