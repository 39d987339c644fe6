package engine

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook/journal"
)

// upgradeRunbook is a small phased upgrade over worker-1..6: check, canary 1,
// batches of serial, verify per host, rollback.
func upgradeRunbook(extra string) string {
	return `runbook: upgrade
targets: workers
concurrency: 3
` + extra + `
phases:
  - name: Check
    kind: check
    steps:
      - shell: version
        register: v
    skip_host_when: 'v.stdout == "new"'
  - name: Canary
    kind: canary
    hosts: 1
    steps:
      - shell: upgrade
    verify:
      - shell: healthy
  - name: Roll out
    kind: batch
    serial: [2]
    steps:
      - shell: upgrade
    verify:
      - shell: healthy
rollback:
  steps:
    - shell: undo
`
}

func TestScenarios(t *testing.T) {
	tests := []struct {
		name     string
		extra    string
		reply    func(host, cmd string) (string, int, error)
		status   string
		outcomes map[string]string
		check    func(t *testing.T, f *fakeFleet, r runResult)
	}{
		{
			name:   "all succeed",
			reply:  okReply,
			status: journal.RunStatusSucceeded,
			outcomes: map[string]string{"worker-1": "upgraded", "worker-2": "upgraded", "worker-3": "upgraded",
				"worker-4": "upgraded", "worker-5": "upgraded", "worker-6": "upgraded"},
		},
		{
			name:   "canary failure halts and rolls the canary back",
			extra:  "failure_budget: 5",
			reply:  failOn("healthy", "worker-1"),
			status: journal.RunStatusHalted,
			outcomes: map[string]string{"worker-1": "rolled_back", "worker-2": "not_started", "worker-3": "not_started",
				"worker-4": "not_started", "worker-5": "not_started", "worker-6": "not_started"},
			check: func(t *testing.T, f *fakeFleet, r runResult) {
				if got := f.ran("worker-1"); !slices.Equal(got, []string{"version", "upgrade", "healthy", "undo"}) {
					t.Errorf("worker-1 ran %v", got)
				}
				if n := f.count("upgrade"); n != 1 {
					t.Errorf("upgrade ran %d times, want only on the canary", n)
				}
			},
		},
		{
			name:   "a failure within budget continues",
			extra:  "failure_budget: 1",
			reply:  failOn("upgrade", "worker-3"),
			status: journal.RunStatusFailed,
			outcomes: map[string]string{"worker-1": "upgraded", "worker-2": "upgraded", "worker-3": "rolled_back",
				"worker-4": "upgraded", "worker-5": "upgraded", "worker-6": "upgraded"},
			check: func(t *testing.T, f *fakeFleet, r runResult) {
				if got := f.ran("worker-3"); !slices.Equal(got, []string{"version", "upgrade", "undo"}) {
					t.Errorf("worker-3 ran %v (a failing host stops its own steps, then rolls back)", got)
				}
			},
		},
		{
			name:   "budget exceeded stops new batches but batch-mates finish",
			extra:  "failure_budget: 0",
			reply:  failOn("upgrade", "worker-2"),
			status: journal.RunStatusHalted,
			outcomes: map[string]string{"worker-1": "upgraded", "worker-2": "rolled_back", "worker-3": "upgraded",
				"worker-4": "not_started", "worker-5": "not_started", "worker-6": "not_started"},
			check: func(t *testing.T, f *fakeFleet, r runResult) {
				if !strings.Contains(r.res.Reason, "failure budget exceeded") {
					t.Errorf("reason %q", r.res.Reason)
				}
			},
		},
		{
			name:   "percentage budget",
			extra:  `failure_budget: "34%"`,
			reply:  failOn("upgrade", "worker-2", "worker-4"),
			status: journal.RunStatusFailed,
			outcomes: map[string]string{"worker-1": "upgraded", "worker-2": "rolled_back", "worker-3": "upgraded",
				"worker-4": "rolled_back", "worker-5": "upgraded", "worker-6": "upgraded"},
		},
		{
			name:   "rollback_all rolls back every changed host, newest batch first",
			extra:  "failure_budget: 0\non_failure: rollback_all",
			reply:  failOn("upgrade", "worker-4"),
			status: journal.RunStatusHalted,
			outcomes: map[string]string{"worker-1": "rolled_back", "worker-2": "rolled_back", "worker-3": "rolled_back",
				"worker-4": "rolled_back", "worker-5": "rolled_back", "worker-6": "not_started"},
			check: func(t *testing.T, f *fakeFleet, r runResult) {
				var order []string
				for _, l := range f.log {
					if h, c, _ := strings.Cut(l, ": "); c == "undo" {
						order = append(order, h)
					}
				}
				// worker-4 fails in batch 2 and is rolled back at once; its
				// batch-mate worker-5 finishes, then the halt rolls back
				// batch 2 (worker-5), batch 1 (worker-2, worker-3) and the
				// canary (worker-1), newest first.
				if len(order) != 5 || order[0] != "worker-4" || order[1] != "worker-5" || order[4] != "worker-1" {
					t.Errorf("rollback order %v", order)
				}
			},
		},
		{
			name:   "on_failure halt leaves the failed host as it is",
			extra:  "failure_budget: 3\non_failure: halt",
			reply:  failOn("upgrade", "worker-2"),
			status: journal.RunStatusHalted,
			outcomes: map[string]string{"worker-1": "upgraded", "worker-2": "failed", "worker-3": "upgraded",
				"worker-4": "not_started", "worker-5": "not_started", "worker-6": "not_started"},
			check: func(t *testing.T, f *fakeFleet, r runResult) {
				if f.count("undo") != 0 {
					t.Error("halt rolled back")
				}
			},
		},
		{
			name: "hosts already upgraded are skipped",
			reply: func(host, cmd string) (string, int, error) {
				if cmd == "version" && (host == "worker-1" || host == "worker-4") {
					return "new\n", 0, nil
				}
				return "old\n", 0, nil
			},
			status: journal.RunStatusSucceeded,
			outcomes: map[string]string{"worker-1": "skipped", "worker-2": "upgraded", "worker-3": "upgraded",
				"worker-4": "skipped", "worker-5": "upgraded", "worker-6": "upgraded"},
			check: func(t *testing.T, f *fakeFleet, r runResult) {
				if got := f.ran("worker-1"); !slices.Equal(got, []string{"version"}) {
					t.Errorf("skipped host ran %v", got)
				}
				// The canary is the first host left: worker-2.
				for _, rec := range r.records {
					if rec.Type == journal.PhaseStarted && rec.PhaseKind == "canary" && !slices.Equal(rec.Hosts, []string{"worker-2"}) {
						t.Errorf("canary hosts %v", rec.Hosts)
					}
				}
			},
		},
		{
			name:   "check failure halts before any change",
			reply:  failOn("version", "worker-5"),
			status: journal.RunStatusHalted,
			outcomes: map[string]string{"worker-1": "not_started", "worker-2": "not_started", "worker-3": "not_started",
				"worker-4": "not_started", "worker-5": "failed", "worker-6": "not_started"},
			check: func(t *testing.T, f *fakeFleet, r runResult) {
				if f.count("upgrade") != 0 {
					t.Error("a change ran after a check failed")
				}
				if f.count("version") != 6 {
					t.Errorf("check ran on %d hosts, want all 6", f.count("version"))
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeFleet(tt.reply)
			r := runFake(t, upgradeRunbook(tt.extra), f, nil)
			if r.res.Status != tt.status {
				t.Fatalf("status %s (%s), want %s", r.res.Status, r.res.Reason, tt.status)
			}
			if (r.err == nil) != (tt.status == journal.RunStatusSucceeded) {
				t.Fatalf("err %v with status %s", r.err, r.res.Status)
			}
			if got := r.outcomes(); !reflect.DeepEqual(got, tt.outcomes) {
				t.Fatalf("outcomes\n got %v\nwant %v", got, tt.outcomes)
			}
			if len(f.locks) != 0 {
				t.Errorf("locks left held: %v", f.locks)
			}
			if tt.check != nil {
				tt.check(t, f, r)
			}
		})
	}
}

func TestRunOncePerBatch(t *testing.T) {
	f := newFakeFleet(okReply)
	src := `runbook: once
targets: workers
phases:
  - name: Roll out
    kind: batch
    serial: [2]
    steps:
      - shell: announce
        run_once: true
        register: a
      - shell: work {{ a.rc }}
`
	r := runFake(t, src, f, nil)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if n := f.count("announce"); n != 3 {
		t.Fatalf("run_once step ran %d times for 3 batches", n)
	}
	if n := f.count("work 0"); n != 6 {
		t.Fatalf("the registered result reached %d hosts, want 6", n)
	}
}

func TestUntilRetries(t *testing.T) {
	calls := 0
	f := newFakeFleet(func(host, cmd string) (string, int, error) {
		if cmd == "probe" {
			calls++
			if calls < 3 {
				return "not yet", 1, nil
			}
			return "ready", 0, nil
		}
		return "", 0, nil
	})
	src := `runbook: until
targets: worker-1
phases:
  - name: Wait
    kind: batch
    steps:
      - shell: probe
        register: p
        retries: 5
        delay: 1ms
        until: p.stdout == "ready"
`
	r := runFake(t, src, f, nil)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if calls != 3 {
		t.Fatalf("probe ran %d times, want 3", calls)
	}
	var attempts []int
	finals := 0
	for _, rec := range r.records {
		if rec.Type == journal.StepFinished && rec.StepID == "1.steps.0" {
			attempts = append(attempts, rec.Attempt)
			if rec.Final {
				finals++
			}
		}
	}
	if !slices.Equal(attempts, []int{1, 2, 3}) || finals != 1 {
		t.Fatalf("attempts %v finals %d", attempts, finals)
	}
}

func TestUntilGivesUp(t *testing.T) {
	f := newFakeFleet(func(host, cmd string) (string, int, error) { return "no", 0, nil })
	src := `runbook: until
targets: worker-1
phases:
  - name: Wait
    kind: batch
    steps:
      - shell: probe
        retries: 2
        delay: 1ms
        until: result.stdout == "yes"
`
	r := runFake(t, src, f, nil)
	if r.outcomes()["worker-1"] != "failed" || f.count("probe") != 3 {
		t.Fatalf("outcome %v after %d probes", r.outcomes(), f.count("probe"))
	}
}

func TestDelegateTo(t *testing.T) {
	f := newFakeFleet(okReply)
	src := `runbook: drain
targets: workers
phases:
  - name: Roll out
    kind: batch
    steps:
      - shell: kubectl drain {{ host.name }}
        delegate_to: cp-1
      - shell: upgrade
`
	r := runFake(t, src, f, func(o *Options) { o.Limit = "worker-1:worker-2" })
	if r.err != nil {
		t.Fatal(r.err)
	}
	got := f.ran("cp-1")
	slices.Sort(got)
	if !slices.Equal(got, []string{"kubectl drain worker-1", "kubectl drain worker-2"}) {
		t.Fatalf("cp-1 ran %v", got)
	}
	if _, locked := f.locks["cp-1"]; locked {
		t.Fatal("delegate host was locked")
	}
	for _, rec := range r.records {
		if rec.Type == journal.StepFinished && strings.HasPrefix(rec.Command, "shell: kubectl") && rec.DelegateTo != "cp-1" {
			t.Errorf("record without delegate_to: %+v", rec)
		}
	}
}

func TestApprovalRefusedAndUnanswered(t *testing.T) {
	src := `runbook: gate
targets: workers
phases:
  - name: Canary
    kind: canary
    hosts: 1
    steps: [{shell: upgrade}]
    approve: Continue?
  - name: Roll out
    kind: batch
    steps: [{shell: upgrade}]
`
	for _, tt := range []struct {
		name     string
		approver Approver
		refused  bool
	}{
		{"refused", &approver{answer: false}, true},
		{"no terminal", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeFleet(okReply)
			r := runFake(t, src, f, func(o *Options) { o.Approver = tt.approver })
			re := wantRunError(t, r.err, journal.RunStatusHalted)
			var ae *ApprovalError
			if !errors.As(re, &ae) || ae.Refused != tt.refused {
				t.Fatalf("err %v", r.err)
			}
			if f.count("upgrade") != 1 {
				t.Fatalf("upgrade ran %d times; only the canary may run", f.count("upgrade"))
			}
			found := false
			for _, rec := range r.records {
				if rec.Type == journal.Approval {
					found = true
					if rec.By != "tester" || rec.Prompt != "Continue?" {
						t.Errorf("approval record %+v", rec)
					}
				}
			}
			if !found {
				t.Fatal("no approval record")
			}
			if !tt.refused && (!strings.Contains(re.Error(), "approval needed") || strings.Contains(re.Error(), "runbook ")) {
				t.Errorf("message %q: want the approval it needs, and no command (the CLI knows how it was called, the engine does not)", re)
			}
		})
	}
}

func TestRequiresIsEnforced(t *testing.T) {
	f := newFakeFleet(okReply)
	f.facts["worker-2"] = "debian"
	src := `runbook: req
targets: workers
requires: {os: ubuntu, version: "22.04"}
phases:
  - name: Check
    kind: check
    steps: [{shell: version}]
  - name: Roll out
    kind: batch
    steps: [{shell: upgrade}]
`
	r := runFake(t, src, f, nil)
	wantRunError(t, r.err, journal.RunStatusHalted)
	if r.outcomes()["worker-2"] != "failed" || f.count("upgrade") != 0 {
		t.Fatalf("outcomes %v, upgrades %d", r.outcomes(), f.count("upgrade"))
	}
}

func TestLockHeldByAnotherRun(t *testing.T) {
	f := newFakeFleet(okReply)
	f.locks["worker-3"] = `{"run_id":"20260101-000000-other-abcd","operator":"alice","controller":"ops-1","time":"2026-01-01T00:00:00Z"}`
	r := runFake(t, upgradeRunbook(""), f, nil)
	re := wantRunError(t, r.err, journal.RunStatusHalted)
	var held *LockHeldError
	if !errors.As(re, &held) || held.Owner.Operator != "alice" || !strings.Contains(held.Error(), "20260101-000000-other-abcd") {
		t.Fatalf("err %v", r.err)
	}
	if f.count("upgrade") != 0 {
		t.Fatal("changes ran although a host was locked")
	}
	if len(f.locks) != 1 {
		t.Fatalf("locks %v: ours must be released, the other kept", f.locks)
	}
}

func TestPauseApprovalUnansweredResumes(t *testing.T) {
	src := `runbook: gate
targets: worker-1
phases:
  - name: Roll out
    kind: batch
    steps:
      - shell: before
      - pause: {prompt: "Go on?"}
      - shell: after
rollback:
  steps: [{shell: undo}]
`
	f := newFakeFleet(okReply)
	state := t.TempDir()
	e, _ := New(Options{Runbook: loadRunbook(t, src), Inventory: loadInventory(t, fleetInventory), StateDir: state, Connector: f, Operator: "tester"})
	res, err := e.Start(context.Background())
	var ae *ApprovalError
	if !errors.As(err, &ae) {
		t.Fatalf("want an approval error, got %v", err)
	}
	if f.count("undo") != 0 || f.count("after") != 0 {
		t.Fatal("an unanswered pause must not fail the host nor go on")
	}
	r, err := Resume(context.Background(), ResumeOptions{Options: Options{StateDir: state, Connector: f, Approver: &approver{answer: true}}, RunID: res.RunID})
	if err != nil {
		t.Fatal(err)
	}
	res2, err := r.Continue(context.Background())
	if err != nil || res2.Status != journal.RunStatusSucceeded {
		t.Fatalf("%v %+v", err, res2)
	}
	if f.count("before") != 1 || f.count("after") != 1 {
		t.Fatalf("before %d after %d", f.count("before"), f.count("after"))
	}
}

// Every host's lock is released once the host is done, by the run that
// took it, and journaled.
func TestEveryLockReleased(t *testing.T) {
	f := newFakeFleet(okReply)
	r := runFake(t, upgradeRunbook(""), f, nil)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(f.locks) != 0 || f.releases != 6 {
		t.Fatalf("locks left: %v; %d released, want 6", f.locks, f.releases)
	}
	n := 0
	for _, rec := range r.records {
		if rec.Type == journal.LockReleased {
			n++
		}
	}
	if n != 6 {
		t.Errorf("%d lock_released records, want 6", n)
	}
}

// TestLockRefusedMidBatchLeavesChangedHostUnfinished: another run holds one
// host's lock while the host beside it in the batch has already run a
// changing step. That host is not reported not_started: it has no outcome
// (unfinished, as its journal shows), and resume continues it.
func TestLockRefusedMidBatchLeavesChangedHostUnfinished(t *testing.T) {
	src := `runbook: locks
targets: worker-[1:2]
concurrency: 2
phases:
  - name: Roll out
    kind: batch
    serial: [2]
    steps: [{shell: step1}, {shell: step2}]
`
	started := make(chan struct{})
	f := newFakeFleet(func(host, cmd string) (string, int, error) {
		if host == "worker-1" && cmd == "step1" {
			close(started)
			time.Sleep(100 * time.Millisecond) // the refusal lands while step1 runs
		}
		return "", 0, nil
	})
	f.locks["worker-2"] = `{"run_id":"20260101-000000-other-abcd","operator":"alice","controller":"ops-1","time":"2026-01-01T00:00:00Z"}`
	f.beforeHello = func(host string) {
		if host == "worker-2" {
			<-started
		}
	}
	r := runFake(t, src, f, nil)
	wantRunError(t, r.err, journal.RunStatusHalted)
	if got, ok := r.outcomes()["worker-1"]; ok {
		t.Fatalf("worker-1, which ran step1, is %s; want no outcome (unfinished)", got)
	}
	if got := r.outcomes()["worker-2"]; got != journal.OutcomeNotStarted {
		t.Errorf("worker-2: %q, want not_started", got)
	}
	delete(f.locks, "worker-2")
	rs, err := Resume(context.Background(), ResumeOptions{Options: Options{StateDir: filepath.Dir(filepath.Dir(r.res.RunDir)),
		Connector: f, Approver: &approver{answer: true}}, RunID: r.res.RunID})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := rs.Continue(context.Background()); err != nil || res.Counts[journal.OutcomeUpgraded] != 2 {
		t.Fatalf("resumed: %v %+v", err, res)
	}
	if n := f.counts["worker-1: step1"]; n != 1 {
		t.Errorf("worker-1's step1 ran %d times", n)
	}
}
