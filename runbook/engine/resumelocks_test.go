package engine

import (
	"context"
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
