package report

import (
	"reflect"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook/journal"
)

// records builds a journal by hand: seq and time (one second apart) are
// filled in.
type records struct {
	t    time.Time
	list []journal.Record
}

func newRecords() *records {
	return &records{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
}

func (b *records) add(rs ...journal.Record) *records {
	for _, r := range rs {
		b.t = b.t.Add(time.Second)
		r.Seq, r.Time = int64(len(b.list)+1), b.t
		b.list = append(b.list, r)
	}
	return b
}

func intp(n int) *int { return &n }

func started(host, id, name string, attempt int) journal.Record {
	return journal.Record{Type: journal.StepStarted, Host: host, StepID: id, Step: name, Index: 1, Attempt: attempt,
		Phase: "Roll out", PhaseIndex: 2, PhaseKind: "batch", Batch: 1}
}

func finished(host, id, name string, attempt int, status string, final bool) journal.Record {
	r := started(host, id, name, attempt)
	r.Type, r.Status, r.Final, r.RC, r.DurationMS = journal.StepFinished, status, final, intp(0), 500
	if status == journal.StatusFailed {
		r.RC = intp(1)
	}
	return r
}

func runStart(hosts ...string) journal.Record {
	return journal.Record{Type: journal.RunStarted, RunID: "20261127-090000-demo-0a0b", Runbook: "demo", Hosts: hosts}
}

func TestSummarizeFixture(t *testing.T) {
	s := Summarize(loadJournal(t, "journal.jsonl"))
	if s.Status != journal.RunStatusFailed || !s.Finished || s.RunID != "20261127-101500-crio-upgrade-3f2a" {
		t.Fatalf("status %q finished %v id %q", s.Status, s.Finished, s.RunID)
	}
	wantCounts := map[string]int{"upgraded": 4, "rescued": 0, "skipped": 1, "rolled_back": 1, "failed": 0, "rollback_failed": 0, "unreachable": 0, "not_started": 0}
	if !reflect.DeepEqual(s.Counts, wantCounts) || s.Unfinished != 0 {
		t.Errorf("counts %v unfinished %d", s.Counts, s.Unfinished)
	}
	var order []string
	for _, h := range s.Hosts {
		order = append(order, h.Name)
	}
	if want := []string{"worker-1", "worker-2", "worker-3", "worker-4", "worker-5", "cp-1"}; !reflect.DeepEqual(order, want) {
		t.Errorf("host order %v, want canary first then batches then skipped: %v", order, want)
	}
	w1 := s.Host("worker-1")
	if !w1.Canary || w1.Group != "Canary" || len(w1.Steps) != 12 {
		t.Errorf("worker-1: canary %v group %q steps %d (want 12: backup, 2 checks, 4 upgrade, 2 verify, 2 re-verify, fleet)", w1.Canary, w1.Group, len(w1.Steps))
	}
	retried := w1.Steps[7]
	if retried.StepID != "3.verify.0" || len(retried.Attempts) != 2 || retried.Status != journal.StatusOK || retried.Attempts[0].Status != journal.StatusFailed {
		t.Errorf("retried verify: %+v", retried)
	}
	w4 := s.Host("worker-4")
	if w4.Outcome != journal.OutcomeRolledBack || w4.FailedStep != "restart crio" || w4.Group != "Roll out, batch 2" || w4.Phase != "Roll out" {
		t.Errorf("worker-4: %+v", w4)
	}
	var failed *StepSummary
	for i := range w4.Steps {
		if w4.Steps[i].Status == journal.StatusFailed {
			failed = &w4.Steps[i]
		}
	}
	if failed == nil || *failed.RC != 1 || failed.Stderr == "" || failed.Label() != "steps/3" {
		t.Errorf("worker-4 failed step: %+v", failed)
	}
	if last := w4.Steps[len(w4.Steps)-1]; last.Phase != "rollback" || last.Label() != "rollback/4" {
		t.Errorf("worker-4 last step %+v, want the rollback's uncordon", last)
	}
	if len(s.Backups) != 6 || len(s.Backups[0].SHA256) != 64 || s.Backups[0].Local == "" {
		t.Errorf("backups: %+v", s.Backups)
	}
	var rollbackVersions int
	for _, v := range s.Versions {
		if v.Rollback {
			rollbackVersions++
			if v.Host != "worker-4" || v.Before != "1.30.4-1.1" || v.After != "1.29.6-1.1" {
				t.Errorf("rollback version change %+v", v)
			}
		}
	}
	if len(s.Versions) != 6 || rollbackVersions != 1 {
		t.Errorf("versions: %+v", s.Versions)
	}
	if len(s.Approvals) != 1 || s.Approvals[0].Decision != "approved" || s.Approvals[0].By != "alice" {
		t.Errorf("approvals %+v", s.Approvals)
	}
	if len(s.Waits) != 2 || s.Waits[0].Text != "soak" || !s.Waits[0].Finished || s.Waits[1].Text != "pause_between" {
		t.Errorf("waits %+v", s.Waits)
	}
	if len(s.Phases) != 6 || s.Phases[4].Label != "Roll out, batch 2" || !s.Phases[4].Finished {
		t.Errorf("phases %+v", s.Phases)
	}
	if s.Params["become_password"] != "********" {
		t.Errorf("params %v", s.Params)
	}
	if got := s.Ended.Sub(s.Started); got != s.Duration || got <= 4*time.Minute {
		t.Errorf("duration %v (ended-started %v)", s.Duration, got)
	}
}

func TestSummarizeCrash(t *testing.T) {
	s := Summarize(loadJournal(t, "crash.jsonl"))
	if s.Status != StatusIncomplete || s.Finished {
		t.Fatalf("status %q finished %v", s.Status, s.Finished)
	}
	if s.Unfinished != 5 || s.Counts[journal.OutcomeSkipped] != 1 {
		t.Errorf("unfinished %d counts %v", s.Unfinished, s.Counts)
	}
	open := map[string]string{}
	for _, h := range s.Hosts {
		for _, st := range h.Steps {
			if st.Open() {
				open[h.Name] = st.Step
				if !st.Ended.IsZero() {
					t.Errorf("%s: open step has an end %v", h.Name, st.Ended)
				}
			}
		}
	}
	if want := map[string]string{"worker-2": "install cri-o", "worker-3": "restart crio"}; !reflect.DeepEqual(open, want) {
		t.Errorf("open steps %v, want %v", open, want)
	}
	if g := s.Host("worker-4").Group; g != groupNotReached {
		t.Errorf("worker-4 group %q", g)
	}
	if s.Phases[len(s.Phases)-1].Finished {
		t.Errorf("last phase should be unfinished: %+v", s.Phases[len(s.Phases)-1])
	}
}

func TestSummarizeEdgeCases(t *testing.T) {
	tests := []struct {
		name   string
		recs   *records
		check  func(t *testing.T, s *Summary)
		status string
	}{{
		name:   "empty journal",
		recs:   newRecords(),
		status: StatusIncomplete,
		check: func(t *testing.T, s *Summary) {
			if len(s.Hosts) != 0 || s.Hosts == nil {
				t.Errorf("hosts %#v", s.Hosts)
			}
		},
	}, {
		name: "retry cut off between attempts stays open",
		recs: newRecords().add(runStart("a"), started("a", "2.steps.0", "wait", 1),
			finished("a", "2.steps.0", "wait", 1, journal.StatusFailed, false)),
		status: StatusIncomplete,
		check: func(t *testing.T, s *Summary) {
			st := s.Host("a").Steps[0]
			if !st.Open() || len(st.Attempts) != 1 {
				t.Errorf("step %+v", st)
			}
		},
	}, {
		name: "re-run on resume: the cut-off execution stays open, the new one counts",
		recs: newRecords().add(runStart("a"), started("a", "2.steps.0", "install", 1),
			journal.Record{Type: journal.RunResumed, Operator: "bob"},
			started("a", "2.steps.0", "install", 1), finished("a", "2.steps.0", "install", 1, journal.StatusChanged, true),
			journal.Record{Type: journal.HostFinished, Host: "a", Outcome: journal.OutcomeUpgraded, Phase: "Roll out"},
			journal.Record{Type: journal.RunFinished, Status: journal.RunStatusSucceeded}),
		status: journal.RunStatusSucceeded,
		check: func(t *testing.T, s *Summary) {
			steps := s.Host("a").Steps
			if len(steps) != 2 || !steps[0].Open() || steps[1].Status != journal.StatusChanged {
				t.Errorf("steps %+v", steps)
			}
			if len(s.Lifecycle) != 3 || s.Lifecycle[1].Type != journal.RunResumed || s.Lifecycle[1].By != "bob" {
				t.Errorf("lifecycle %+v", s.Lifecycle)
			}
		},
	}, {
		name: "resumed after finishing and not finished again is incomplete",
		recs: newRecords().add(runStart("a"), journal.Record{Type: journal.RunFinished, Status: journal.RunStatusHalted, Reason: "approval refused"},
			journal.Record{Type: journal.RunResumed}),
		status: StatusIncomplete,
		check: func(t *testing.T, s *Summary) {
			if s.Reason != "" {
				t.Errorf("reason %q survived the resume", s.Reason)
			}
		},
	}, {
		name:   "a finish without a start (skipped by when) is a step",
		recs:   newRecords().add(runStart("a"), finished("a", "2.steps.1", "optional", 1, journal.StatusSkipped, true)),
		status: StatusIncomplete,
		check: func(t *testing.T, s *Summary) {
			st := s.Host("a").Steps[0]
			if st.Status != journal.StatusSkipped || !st.Started.Before(st.Ended) {
				t.Errorf("step %+v", st)
			}
		},
	}, {
		name: "a last attempt without final is settled once the host moves on",
		recs: newRecords().add(runStart("a"), started("a", "2.steps.0", "one", 1),
			finished("a", "2.steps.0", "one", 1, journal.StatusOK, false), started("a", "2.steps.1", "two", 1)),
		status: StatusIncomplete,
		check: func(t *testing.T, s *Summary) {
			steps := s.Host("a").Steps
			if steps[0].Status != journal.StatusOK || !steps[1].Open() {
				t.Errorf("steps %+v", steps)
			}
		},
	}, {
		name: "hosts never scheduled in a finished run are not_started",
		recs: newRecords().add(runStart("a", "b"),
			journal.Record{Type: journal.PhaseStarted, Phase: "Canary", PhaseIndex: 1, PhaseKind: "canary", Hosts: []string{"a"}},
			journal.Record{Type: journal.HostFinished, Host: "a", Outcome: journal.OutcomeFailed},
			journal.Record{Type: journal.RunFinished, Status: journal.RunStatusHalted}),
		status: journal.RunStatusHalted,
		check: func(t *testing.T, s *Summary) {
			if o := s.Host("b").Outcome; o != journal.OutcomeNotStarted || s.Counts[journal.OutcomeNotStarted] != 1 {
				t.Errorf("b outcome %q counts %v", o, s.Counts)
			}
		},
	}, {
		name: "records of unknown types and hosts outside the targets are tolerated",
		recs: newRecords().add(runStart("a"), journal.Record{Type: "from_the_future", Host: "zz"},
			started("b", "1.steps.0", "x", 1)),
		status: StatusIncomplete,
		check: func(t *testing.T, s *Summary) {
			if s.Host("b") == nil || len(s.Hosts) != 2 {
				t.Errorf("hosts %+v", s.Hosts)
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Summarize(tt.recs.list)
			if s.Status != tt.status {
				t.Errorf("status %q, want %q", s.Status, tt.status)
			}
			tt.check(t, s)
		})
	}
}

func TestStepLabel(t *testing.T) {
	for _, tt := range []struct {
		id    string
		index int
		want  string
	}{
		{"4.steps.2", 3, "steps/3"}, {"3.verify.0", 1, "verify/1"}, {"rollback.1", 2, "rollback/2"},
		{"rollback.1", 0, "rollback/2"}, {"", 0, "step/0"}, {"odd", 5, "step/5"},
	} {
		if got := stepLabel(tt.id, tt.index); got != tt.want {
			t.Errorf("stepLabel(%q, %d) = %q, want %q", tt.id, tt.index, got, tt.want)
		}
	}
}

// A rollback is a phase of its own, numbered after the phase or batch it
// happened in and finished when its hosts are; a host's duration is the time
// its steps took.
func TestSummarizeRollbackPhaseAndHostWork(t *testing.T) {
	batch := journal.Record{Type: journal.PhaseStarted, Phase: "Roll out", PhaseIndex: 4, PhaseKind: "batch", Batch: 2, Hosts: []string{"a", "b"}}
	rollback := journal.Record{Type: journal.PhaseStarted, Phase: "rollback", PhaseKind: "rollback", Hosts: []string{"a"}}
	fail := finished("a", "4.steps.0", "restart", 1, journal.StatusFailed, true)
	fail.Phase, fail.PhaseIndex, fail.Batch = "Roll out", 4, 2
	undo := finished("a", "rollback.steps.0", "undo", 1, journal.StatusChanged, true)
	undo.Phase, undo.PhaseIndex, undo.PhaseKind, undo.Batch = "rollback", 0, "rollback", 0
	ok := finished("b", "4.steps.0", "restart", 1, journal.StatusChanged, true)
	ok.Phase, ok.PhaseIndex, ok.Batch = "Roll out", 4, 2
	batchDone := batch
	batchDone.Type = journal.PhaseFinished
	recs := newRecords().add(runStart("a", "b"), batch, fail, rollback, undo, ok,
		journal.Record{Type: journal.HostFinished, Host: "b", Outcome: journal.OutcomeUpgraded, Phase: "Roll out"},
		journal.Record{Type: journal.HostFinished, Host: "a", Outcome: journal.OutcomeRolledBack, Phase: "Roll out", FailedStep: "restart"},
		batchDone, journal.Record{Type: journal.RunFinished, Status: journal.RunStatusFailed})
	s := Summarize(recs.list)
	var rb *PhaseSummary
	for i := range s.Phases {
		if s.Phases[i].Kind == "rollback" {
			rb = &s.Phases[i]
		}
	}
	if rb == nil || rb.Index != 4 || rb.Batch != 2 || rb.Label != "Rollback (Roll out, batch 2)" || !rb.Finished {
		t.Fatalf("rollback phase %+v, want phase 4, batch 2, finished", rb)
	}
	if want := recs.list[7].Time; !rb.Ended.Equal(want) {
		t.Errorf("rollback ended %v, want at a's host_finished %v", rb.Ended, want)
	}
	a := s.Host("a")
	if got := a.Steps[1]; got.PhaseLabel() != "Rollback, batch 2" {
		t.Errorf("rollback step's phase %q", got.PhaseLabel())
	}
	// Two steps of 500 ms each, over a run of 10 s.
	if a.Duration != time.Second || s.Host("b").Duration != 500*time.Millisecond || s.Duration < 9*time.Second {
		t.Errorf("host durations a %v, b %v (run %v), want 1s and 0.5s", a.Duration, s.Host("b").Duration, s.Duration)
	}
}

// A skipped host carries why; a failed connect, journaled once it was over,
// began before its step_started.
func TestSummarizeSkipReasonAndConnect(t *testing.T) {
	conn := finished("b", "connect", "connect", 1, journal.StatusUnreachable, true)
	conn.DurationMS, conn.StepID, conn.Index = 15000, "connect", 0
	connStart := started("b", "connect", "connect", 1)
	connStart.Index = 0
	s := Summarize(newRecords().add(runStart("a", "b"),
		journal.Record{Type: journal.HostFinished, Host: "a", Outcome: journal.OutcomeSkipped, Reason: "Check: skip_host_when done"},
		connStart, conn).list)
	if r := s.Host("a").Reason; r != "Check: skip_host_when done" {
		t.Errorf("skip reason %q", r)
	}
	st := s.Host("b").Steps[0]
	if st.Duration != 15*time.Second || st.Ended.Sub(st.Started) != 15*time.Second {
		t.Errorf("connect: %v from %v to %v, want 15s ending at its step_finished", st.Duration, st.Started, st.Ended)
	}
	if st.Title() != "connect" {
		t.Errorf("connect's title %q", st.Title())
	}
}
