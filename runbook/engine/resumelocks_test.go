package engine

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/runbookhq/runbook/runbook/journal"
)

// TestResumeReleasesLockOfFinishedHost: a controller killed between a
// host's host_finished and its lock_released leaves the host locked. The
// resumed run releases that lock (the host is finished, nothing else in the
// run touches it again) without running any of its steps again.
func TestResumeReleasesLockOfFinishedHost(t *testing.T) {
	full := runFake(t, upgradeRunbook(""), newFakeFleet(okReply), nil)
	if full.err != nil {
		t.Fatal(full.err)
	}
	// The kill: the journal ends with the canary's host_finished.
	cut := -1
	for i, r := range full.records {
		if r.Type == journal.HostFinished && r.Outcome == journal.OutcomeUpgraded {
			if next := full.records[i+1]; next.Type != journal.LockReleased || next.Host != r.Host {
				t.Fatalf("record after %s's host_finished: %s %s", r.Host, next.Type, next.Host)
			}
			cut = i + 1
			break
		}
	}
	if cut < 0 {
		t.Fatal("no upgraded host")
	}
	host := full.records[cut-1].Host
	data, err := os.ReadFile(full.res.Journal)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	if err := os.WriteFile(full.res.Journal, []byte(strings.Join(lines[:cut], "")), 0o600); err != nil {
		t.Fatal(err)
	}
	f := newFakeFleet(okReply)
	f.locks[host] = `{"run_id":"` + full.res.RunID + `"}`
	e, err := Resume(context.Background(), ResumeOptions{Options: Options{StateDir: full.res.RunDir + "/../..",
		Connector: f, Approver: &approver{answer: true}, Operator: "tester"}, RunID: full.res.RunID})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Continue(context.Background())
	if err != nil || res.Status != journal.RunStatusSucceeded {
		t.Fatalf("resumed run: %v %+v", err, res)
	}
	if owner, held := f.locks[host]; held {
		t.Errorf("%s is still locked by %s after the resumed run succeeded", host, owner)
	}
	if ran := f.ran(host); len(ran) != 0 {
		t.Errorf("%s ran %v again", host, ran)
	}
	log, err := journal.ReadFile(full.res.Journal)
	if err != nil {
		t.Fatal(err)
	}
	released := false
	for _, r := range log.Records[cut:] {
		if r.Type == journal.LockReleased && r.Host == host {
			released = true
		}
	}
	if !released {
		t.Errorf("the resumed run journals no lock_released for %s", host)
	}
}

// TestOwnerlessLockIsTaken: a run killed between making a host's lock
// directory and writing its owner file leaves a lock that no run holds.
// The next run (or the resume) takes it, once the directory is a grace
// period old (so that a run taking it right now has written its owner),
// and says so in the journal; a lock whose owner appears meanwhile is
// another run's, and stays its.
func TestOwnerlessLockIsTaken(t *testing.T) {
	for _, tc := range []struct {
		name, age string
		owner     string // written by another run while the claim waits
	}{
		{name: "old", age: "600"},
		{name: "young", age: "0"},
		{name: "age unknown", age: ""},
		{name: "another run writes its owner", age: "0", owner: `{"run_id":"20261207-000000-other-0000"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeFleet(okReply)
			f.locks["worker-3"] = ""
			f.ownerlessAge = tc.age
			if tc.owner != "" {
				f.beforeClaim = func(host string) {
					f.mu.Lock()
					f.locks[host] = tc.owner
					f.mu.Unlock()
				}
			}
			r := runFake(t, upgradeRunbook(""), f, nil)
			var took []string
			for _, rec := range r.records {
				if rec.Type == journal.Message && strings.Contains(rec.Text, "which had no owner") {
					took = append(took, rec.Host+": "+rec.Text)
				}
			}
			if tc.owner != "" {
				var held *LockHeldError
				if !errors.As(r.err, &held) || held.Host != "worker-3" || held.Owner.RunID != "20261207-000000-other-0000" {
					t.Fatalf("want worker-3 held by the other run, got %v", r.err)
				}
				if f.claims != 0 || len(took) != 0 || f.locks["worker-3"] != tc.owner {
					t.Errorf("claims %d, messages %q, lock %q: the other run's lock was taken", f.claims, took, f.locks["worker-3"])
				}
				return
			}
			if r.err != nil {
				t.Fatalf("run: %v", r.err)
			}
			if f.claims != 1 || len(took) != 1 || !strings.HasPrefix(took[0], "worker-3: took the lock ") {
				t.Errorf("claims %d, messages %q", f.claims, took)
			}
			if owner, held := f.locks["worker-3"]; held {
				t.Errorf("worker-3 is still locked (%q) after the run", owner)
			}
			if f.counts["worker-3: upgrade"] != 1 {
				t.Errorf("worker-3 ran %q", f.ran("worker-3"))
			}
		})
	}
}
