package engine

import (
	"context"
	"errors"
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
	stopped := map[string]bool{}
	var f *fakeFleet
	f = newFakeFleet(func(host, cmd string) (string, int, error) {
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
		cutAt = cutNext
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cut = cancel
		r, err := Resume(ctx, ResumeOptions{Options: Options{StateDir: state, Connector: f,
			Approver: &approver{answer: true}, Operator: "tester"}, RunID: res.RunID})
		if err != nil {
			t.Fatalf("resume: %v", err)
		}
		_, err = r.Continue(ctx)
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
