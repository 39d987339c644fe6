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
	full, cut, host := killedBeforeRelease(t)
	f := newFakeFleet(okReply)
	f.locks[host] = `{"run_id":"` + full.res.RunID + `"}`
	res, err := resumeFake(context.Background(), t, full.res.RunDir+"/../..", f, full.res.RunID)
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

// TestResumeRenewsItsLock: a resumed run re-enters its own lock by
// replacing its owner line, as a break does, so the lock no longer looks
// as old as the killed run; and when another run breaks that old line at
// the same moment, the lock is the other run's alone: the resumed run
// stops on the host it no longer holds.
func TestResumeRenewsItsLock(t *testing.T) {
	for _, brokenFirst := range []bool{false, true} {
		t.Run(map[bool]string{false: "renewed", true: "broken meanwhile"}[brokenFirst], func(t *testing.T) {
			// Killed after the canary's first step: the resumed run goes on
			// with that host, in its lock.
			full, _, host := killedAt(t, func(_ int, r journal.Record, _ []journal.Record) bool { return r.Type == journal.StepFinished })
			f := newFakeFleet(okReply)
			old := `{"run_id":"` + full.res.RunID + `","operator":"tester","controller":"c","time":"2026-12-06T00:00:00Z"}`
			f.locks[host] = old
			other := `{"run_id":"20261207-000000-other-0000","operator":"op","controller":"c","time":"2026-12-07T00:00:00Z"}`
			if brokenFirst {
				f.beforeBreak = func(host string) {
					f.mu.Lock()
					f.locks[host] = other
					f.mu.Unlock()
				}
			}
			res, err := resumeFake(context.Background(), t, full.res.RunDir+"/../..", f, full.res.RunID)
			if brokenFirst {
				var held *LockHeldError
				if !errors.As(err, &held) || held.Host != host || held.Owner.RunID != "20261207-000000-other-0000" {
					t.Fatalf("want %s held by the run that broke it, got %v", host, err)
				}
				if f.locks[host] != other {
					t.Errorf("lock %q: the other run's lock was taken or released", f.locks[host])
				}
				if ran := f.ran(host); len(ran) != 0 {
					t.Errorf("%s ran %v in a lock it no longer held", host, ran)
				}
				return
			}
			if err != nil || res.Status != journal.RunStatusSucceeded {
				t.Fatalf("resumed run: %v %+v", err, res)
			}
			if f.breaks != 1 {
				t.Errorf("%d owner replacements, want the resumed run's one", f.breaks)
			}
			if _, held := f.locks[host]; held {
				t.Errorf("%s still locked after the resumed run", host)
			}
		})
	}
}

// killedBeforeRelease runs the upgrade on the fake fleet and cuts its
// journal as a controller killed between a host's host_finished and its
// lock_released would leave it: it returns the run, the number of records
// kept and the host.
func killedBeforeRelease(t *testing.T) (runResult, int, string) {
	t.Helper()
	return killedAt(t, func(i int, r journal.Record, records []journal.Record) bool {
		if r.Type != journal.HostFinished || r.Outcome != journal.OutcomeUpgraded {
			return false
		}
		if next := records[i+1]; next.Type != journal.LockReleased || next.Host != r.Host {
			t.Fatalf("record after %s's host_finished: %s %s", r.Host, next.Type, next.Host)
		}
		return true
	})
}

// killedAt runs the upgrade on the fake fleet and cuts its journal right
// after the first record that at(index, record, records) picks, as a
// controller killed there leaves it: it returns the run, the number of
// records kept and the picked record's host.
func killedAt(t *testing.T, at func(int, journal.Record, []journal.Record) bool) (runResult, int, string) {
	t.Helper()
	full := runFake(t, upgradeRunbook(""), newFakeFleet(okReply), nil)
	if full.err != nil {
		t.Fatal(full.err)
	}
	cut := -1
	for i, r := range full.records {
		if at(i, r, full.records) {
			cut = i + 1
			break
		}
	}
	if cut < 0 {
		t.Fatal("no record to cut the journal after")
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
	return full, cut, host
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
