package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/runbookhq/runbook/runbook/journal"
)

// cutOffRunbook: "stop-svc" reports changed only when it stopped the
// service, as the systemd step does, and notifies the handler that starts
// it again.
const cutOffRunbook = `runbook: cut-off
targets: workers
handlers:
  start: [{shell: start-svc}]
phases:
  - name: Roll out
    kind: batch
    serial: [1]
    steps:
      - name: stop the service
        shell: stop-svc
        notify: [start]
        changed_when: result.stdout == "stopped"
      - shell: install
    verify:
      - shell: healthy
`

// TestCutOffStepQueuesItsHandlers: a step that notifies a handler is cut
// off after it changed the host (here a hard interrupt; the CI run that
// found it, a SIGKILL of the controller); run again on resume it finds
// nothing to do and reports ok, and its handler must still run. A second
// cut, in the handler itself, shows that the journal alone keeps it
// queued in a third session. A host whose step reported ok in an
// uninterrupted session runs no handler.
func TestCutOffStepQueuesItsHandlers(t *testing.T) {
	var cut context.CancelFunc
	cutAt := "worker-2: stop-svc"
	var mu sync.Mutex // guards cutAt and stopped
	stopped := map[string]bool{}
	f := newFakeFleet(func(host, cmd string) (string, int, error) {
		mu.Lock()
		defer mu.Unlock()
		if host+": "+cmd == cutAt {
			cutAt = ""
			defer cut()
		}
		switch cmd {
		case "stop-svc":
			if host == "worker-3" || stopped[host] { // worker-3's was stopped before the run
				return "already", 0, nil
			}
			stopped[host] = true
			return "stopped", 0, nil
		case "start-svc":
			stopped[host] = false
		case "healthy":
			if stopped[host] && host != "worker-3" {
				return "", 1, nil // the service was left stopped
			}
		}
		return "", 0, nil
	})
	state := t.TempDir()
	opts := Options{Runbook: loadRunbook(t, cutOffRunbook), Inventory: loadInventory(t, fleetInventory), StateDir: state,
		Connector: f, Approver: &approver{answer: true}, Operator: "tester"}
	e, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cut = cancel
	res, err := e.Start(ctx)
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("first session: %v", err)
	}
	session := func(cutNext string) error {
		t.Helper()
		mu.Lock()
		cutAt = cutNext
		mu.Unlock()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cut = cancel
		_, err := resumeFake(ctx, t, state, f, res.RunID)
		return err
	}
	if err := session("worker-2: start-svc"); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("second session: %v", err)
	}
	if err := session(""); err != nil {
		t.Fatalf("third session: %v", err)
	}

	if n := f.counts["worker-2: stop-svc"]; n != 2 {
		t.Errorf("worker-2: stop-svc ran %d times, want 2 (cut off, then again)", n)
	}
	if n := f.counts["worker-2: start-svc"]; n != 2 {
		t.Errorf("worker-2: start-svc ran %d times, want 2 (cut off in the second session, then again)", n)
	}
	for _, h := range []string{"worker-1", "worker-4", "worker-5", "worker-6"} {
		if n := f.counts[h+": start-svc"]; n != 1 {
			t.Errorf("%s: start-svc ran %d times, want once", h, n)
		}
	}
	if n := f.counts["worker-3: start-svc"]; n != 0 {
		t.Errorf("worker-3: start-svc ran %d times: its stop-svc reported ok in an uninterrupted session", n)
	}
	log, err := journal.ReadFile(res.Journal)
	if err != nil {
		t.Fatal(err)
	}
	var marked []string
	outcomes := map[string]string{}
	for _, rec := range log.Records {
		switch {
		case rec.Type == journal.StepFinished && rec.Final && rec.Text == cutOffText:
			marked = append(marked, rec.Host+" "+rec.Step+" "+rec.Status)
		case rec.Type == journal.HostFinished:
			outcomes[rec.Host] = rec.Outcome
		}
	}
	if len(marked) != 1 || marked[0] != "worker-2 stop the service ok" {
		t.Errorf("step results that say their handlers were queued after a cut: %q, want worker-2's stop-svc (ok)", marked)
	}
	for h, o := range outcomes {
		if o != journal.OutcomeUpgraded {
			t.Errorf("%s: %s", h, o)
		}
	}
}

// TestKilledAtEveryRecord kills a run after its N-th journal record, for
// every N, and resumes it. The kill is a SIGKILL's: from that moment no
// host runs a new command, and the journal is what was on disk then
// (whatever the engine writes while it winds down is thrown away), so a
// step whose step_started is the last word runs again. The resumed run
// ends as an uninterrupted one does, no step has two results, and every
// command an uninterrupted run runs on a host runs there as many times, or
// once more: the one the kill cut off, or the handler of a step it cut off
// (which may have changed the host, whatever it reports when run again).
func TestKilledAtEveryRecord(t *testing.T) {
	t.Run("loops, handlers, blocks", func(t *testing.T) {
		// Its config step, like a real one, reports changed only the first
		// time it runs on a host: cut off and run again, it reports ok, and
		// its handlers must run all the same.
		src := strings.Replace(stepFlowRunbook, `changed_when: host.name != "worker-4"`, `changed_when: result.stdout == "changed"`, 1)
		killAtEveryRecord(t, src, clusterInventory, nil, func() *fakeFleet {
			var f *fakeFleet
			f = newFakeFleet(func(host, cmd string) (string, int, error) {
				switch {
				case cmd == "drain" && host == "worker-2":
					return "", 1, nil
				case cmd == "flaky" && f.times(host, "flaky") == 1:
					return "", 1, nil
				case cmd == "config" && host != "worker-4" && f.times(host, "config") == 1:
					return "changed", 0, nil
				case cmd == "config":
					return "same", 0, nil
				}
				return "", 0, nil
			})
			return f
		}, func(t *testing.T, counts map[string]int) {
			for _, h := range []string{"worker-1", "worker-2", "worker-3"} {
				if counts[h+": reload-cfg"] != 1 {
					t.Fatalf("%s: reload ran %d times in an uninterrupted run", h, counts[h+": reload-cfg"])
				}
			}
		})
	})
	t.Run("canary, approval, batches, a rollback, run_once", func(t *testing.T) {
		src := upgradeRunbook("failure_budget: 1")
		src = strings.Replace(src, "  - name: Roll out", "    approve: Continue?\n  - name: Roll out", 1)
		src = strings.Replace(src, "rollback:", `  - name: Fleet
    kind: verify
    steps:
      - shell: fleet-ok
        run_once: true
rollback:`, 1)
		killAtEveryRecord(t, src, fleetInventory, []string{"fleet-ok"}, func() *fakeFleet {
			return newFakeFleet(failOn("healthy", "worker-4"))
		}, func(t *testing.T, counts map[string]int) {
			if counts["worker-4: undo"] != 1 {
				t.Fatalf("worker-4 was rolled back %d times in an uninterrupted run", counts["worker-4: undo"])
			}
		})
	})
}

// killAtEveryRecord runs src on a fleet from newFleet uninterrupted (check
// looks at what its hosts ran), then once per record killed there and
// resumed. The commands of anyHost are run_once steps.
func killAtEveryRecord(t *testing.T, src, inv string, anyHost []string, newFleet func() *fakeFleet, check func(*testing.T, map[string]int)) {
	f0 := newFleet()
	full := runFake(t, src, f0, func(o *Options) { o.Inventory = loadInventory(t, inv) })
	wantOutcomes := full.outcomes()
	check(t, f0.counts)
	// A run_once step runs on whichever host comes first: it is counted
	// for the fleet.
	byHost := func(counts map[string]int) map[string]int {
		out := map[string]int{}
		for k, c := range counts {
			if _, cmd, _ := strings.Cut(k, ": "); slices.Contains(anyHost, cmd) {
				k = "any host: " + cmd
			}
			out[k] += c
		}
		return out
	}
	want := byHost(f0.counts)
	wantStatus := journal.RunStatusSucceeded
	if full.err != nil {
		wantStatus = wantRunError(t, full.err, journal.RunStatusFailed).Result.Status
	}
	for n := 1; n < len(full.records); n++ {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			f := newFleet()
			state := t.TempDir()
			ctx, kill := context.WithCancel(context.Background())
			defer kill()
			var e *Engine
			var seen atomic.Int32
			var onDisk []byte
			opts := Options{Runbook: loadRunbook(t, src), Inventory: loadInventory(t, inv), StateDir: state,
				Connector: f, Approver: &approver{answer: true}, Operator: "tester",
				Observer: func(journal.Record) {
					if int(seen.Add(1)) != n {
						return
					}
					down := make(chan struct{})
					f.mu.Lock()
					f.down = down
					f.mu.Unlock()
					var err error
					if onDisk, err = os.ReadFile(filepath.Join(e.runDir, journal.JournalFile)); err != nil {
						t.Error(err)
					}
					kill()
					close(down)
				}}
			var err error
			if e, err = New(opts); err != nil {
				t.Fatal(err)
			}
			res, err := e.Start(ctx)
			if onDisk == nil {
				t.Fatalf("run ended before record %d: %v", n, err)
			}
			if err := os.WriteFile(res.Journal, onDisk, 0o600); err != nil {
				t.Fatal(err)
			}
			f.down = nil
			if res2, err := resumeFake(context.Background(), t, state, f, res.RunID); res2 == nil || res2.Status != wantStatus {
				t.Fatalf("resumed run: %v %+v, want %s", err, res2, wantStatus)
			}
			checkResumedJournal(t, res.Journal, wantOutcomes)
			got := byHost(f.counts)
			for k, want := range want {
				if c := got[k]; c < want || c > want+1 {
					t.Errorf("%s ran %d times, %d in an uninterrupted run", k, c, want)
				}
			}
			for k, c := range got {
				if want[k] == 0 && c > 1 {
					t.Errorf("%s ran %d times, never in an uninterrupted run", k, c)
				}
			}
		})
	}
}
