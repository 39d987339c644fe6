package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/runbookhq/runbook/runbook/journal"
)

// TestJournalFailureTouchesNoMoreHosts: once the journal cannot be written
// (here it is closed under the engine, as a full disk fails it), the run
// stops before its next action. In a check phase with hosts queued behind
// the concurrency limit, none of them is locked afterwards. Closed once a
// step_started is on disk, the step's own step_finished fails; closed while
// the step runs, its step_finished (which the writer may only buffer) fails,
// and the next action, taking the next host's lock, must not come first.
func TestJournalFailureTouchesNoMoreHosts(t *testing.T) {
	for _, when := range []string{"after step_started", "during the step"} {
		t.Run(when, func(t *testing.T) {
			src := strings.Replace(upgradeRunbook(""), "concurrency: 3", "concurrency: 1", 1)
			var e *Engine
			f := newFakeFleet(func(host, cmd string) (string, int, error) {
				if when == "during the step" && host == "worker-1" && cmd == "version" {
					e.j.Close()
				}
				return "", 0, nil
			})
			e, err := New(Options{Runbook: loadRunbook(t, src), Inventory: loadInventory(t, fleetInventory), StateDir: t.TempDir(),
				Connector: f, Approver: &approver{answer: true}, Operator: "tester",
				Observer: func(rec journal.Record) {
					if when == "after step_started" && rec.Type == journal.StepStarted {
						e.j.Close()
					}
				}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.Start(context.Background())
			var je *JournalError
			if !errors.As(err, &je) {
				t.Fatalf("want a journal error, got %v", err)
			}
			for host := range f.locks {
				if host != "worker-1" {
					t.Errorf("%s was locked after the journal failed", host)
				}
			}
			for _, h := range []string{"worker-2", "worker-3", "worker-4", "worker-5", "worker-6"} {
				if ran := f.ran(h); len(ran) != 0 {
					t.Errorf("%s ran %v after the journal failed", h, ran)
				}
			}
		})
	}
}

// TestObserverSeesOnlyDurableRecords: a step_finished the writer buffers is
// shown to the observer only once it is on disk, so the terminal never
// shows a result a crash could lose.
func TestObserverSeesOnlyDurableRecords(t *testing.T) {
	var e *Engine
	var bad []string
	e, err := New(Options{Runbook: loadRunbook(t, upgradeRunbook("")), Inventory: loadInventory(t, fleetInventory), StateDir: t.TempDir(),
		Connector: newFakeFleet(okReply), Approver: &approver{answer: true}, Operator: "tester",
		Observer: func(rec journal.Record) {
			if synced := e.j.Synced(); rec.Seq > synced {
				bad = append(bad, fmt.Sprintf("%s seq %d shown with %d synced", rec.Type, rec.Seq, synced))
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 {
		t.Fatalf("records shown before they were on disk: %v", bad)
	}
}
