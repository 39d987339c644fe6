package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/runbookhq/runbook/runbook/journal"
)

// TestStopAndResumeAtEveryRecord stops a run after its N-th journal record,
// for every N, then resumes it: the run always ends succeeded, and no step
// that had a final step_finished runs again.
func TestStopAndResumeAtEveryRecord(t *testing.T) {
	src := strings.Replace(upgradeRunbook(""), "rollback:", `  - name: Fleet
    kind: verify
    steps:
      - shell: fleet-ok
        run_once: true
rollback:`, 1)
	// Count the records of an uninterrupted run.
	full := runFake(t, src, newFakeFleet(okReply), nil)
	if full.err != nil {
		t.Fatal(full.err)
	}
	total := len(full.records)
	for n := 1; n < total; n++ {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			f := newFakeFleet(okReply)
			state := t.TempDir()
			var e *Engine
			var seen atomic.Int32
			opts := Options{Runbook: loadRunbook(t, src), Inventory: loadInventory(t, fleetInventory), StateDir: state,
				Connector: f, Approver: &approver{answer: true}, Operator: "tester",
				Observer: func(journal.Record) {
					if int(seen.Add(1)) == n {
						e.Stop()
					}
				}}
			var err error
			e, err = New(opts)
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.Start(context.Background())
			if err == nil {
				return // stopped after the last step: nothing left to resume
			}
			if !errors.Is(err, ErrInterrupted) {
				t.Fatalf("stopped run: %v", err)
			}
			before := map[string]int{}
			for k, v := range f.counts {
				before[k] = v
			}
			r2, err := Resume(context.Background(), ResumeOptions{Options: Options{StateDir: state, Connector: f,
				Approver: &approver{answer: true}, Operator: "tester"}, RunID: res.RunID})
			if err != nil {
				t.Fatalf("resume: %v", err)
			}
			res2, err := r2.Continue(context.Background())
			if err != nil || res2.Status != journal.RunStatusSucceeded {
				log, _ := journal.ReadFile(res.Journal)
				for _, rec := range log.Records {
					if rec.Status == "failed" || rec.Error != "" {
						t.Logf("%+v", rec)
					}
				}
				t.Fatalf("resumed run: %v %+v", err, res2)
			}
			log, _ := journal.ReadFile(res.Journal)
			finals := map[string]int{}
			for _, rec := range log.Records {
				if rec.Type == journal.StepFinished && rec.Final {
					finals[rec.Host+" "+rec.StepID]++
				}
			}
			for k, c := range finals {
				if c > 1 {
					t.Errorf("step %s finished %d times", k, c)
				}
			}
			for k, c := range f.counts {
				if c > 1 && k != "cp-1: fleet-ok" {
					t.Errorf("%s ran %d times (before resume: %d)", k, c, before[k])
				}
			}
			if len(f.locks) != 0 {
				t.Errorf("locks left: %v", f.locks)
			}
		})
	}
}

func TestResumeRefusesChangedRunbook(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "rb.yaml")
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
	os.WriteFile(file, []byte(src), 0o600)
	rb := loadRunbook(t, src)
	rb.File = file
	state := t.TempDir()
	f := newFakeFleet(okReply)
	e, err := New(Options{Runbook: rb, Inventory: loadInventory(t, fleetInventory), StateDir: state, Connector: f, Operator: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Start(context.Background())
	var ae *ApprovalError
	if !errors.As(err, &ae) {
		t.Fatalf("want an approval halt, got %v", err)
	}
	os.WriteFile(file, []byte(src+"# edited\n"), 0o600)
	_, err = Resume(context.Background(), ResumeOptions{Options: Options{StateDir: state, Connector: f}, RunID: res.RunID})
	var ce *ChangedRunbookError
	if !errors.As(err, &ce) {
		t.Fatalf("resume with a changed runbook: %v", err)
	}
	r, err := Resume(context.Background(), ResumeOptions{Options: Options{StateDir: state, Connector: f, Approver: &approver{answer: true}},
		RunID: res.RunID, AllowChangedRunbook: true})
	if err != nil {
		t.Fatal(err)
	}
	res2, err := r.Continue(context.Background())
	if err != nil || res2.Status != journal.RunStatusSucceeded {
		t.Fatalf("%v %+v", err, res2)
	}
	if n := f.count("upgrade"); n != 6 {
		t.Fatalf("upgrade ran %d times over both sessions, want 6", n)
	}
}

func TestResumeRetryFailed(t *testing.T) {
	fail := true
	f := newFakeFleet(func(host, cmd string) (string, int, error) {
		if cmd == "upgrade" && host == "worker-3" && fail {
			return "", 1, nil
		}
		return "", 0, nil
	})
	state := t.TempDir()
	opts := Options{Runbook: loadRunbook(t, upgradeRunbook("failure_budget: 1")), Inventory: loadInventory(t, fleetInventory),
		StateDir: state, Connector: f, Approver: &approver{answer: true}, Operator: "tester"}
	e, _ := New(opts)
	res, err := e.Start(context.Background())
	wantRunError(t, err, journal.RunStatusFailed)
	fail = false
	r, err := Resume(context.Background(), ResumeOptions{Options: Options{StateDir: state, Connector: f}, RunID: res.RunID, RetryFailed: true})
	if err != nil {
		t.Fatal(err)
	}
	res2, err := r.Continue(context.Background())
	if err != nil || res2.Status != journal.RunStatusSucceeded || res2.Counts["upgraded"] != 6 {
		t.Fatalf("%v %+v", err, res2)
	}
	if got := f.counts["worker-1: upgrade"]; got != 1 {
		t.Fatalf("a finished host ran again: %d", got)
	}
}
