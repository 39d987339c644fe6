package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook/journal"
)

// The lock's scripts, run by the system's /bin/sh on a directory of the
// test's, as a host runs them.

const (
	raceOwner   = `{"run_id":"20261207-000000-ours-0000","operator":"op"}`
	raceOther   = `{"run_id":"20261207-000000-other-0000"}`
	shellOfTest = "/bin/sh"
)

// lockShell runs script with /bin/sh and returns its output as
// key=value pairs, read as the engine reads them (keyValues).
func lockShell(script string) (map[string]string, error) {
	out, err := exec.Command(shellOfTest, "-c", script).Output()
	if err != nil {
		return nil, fmt.Errorf("%v\n%s", err, out)
	}
	return keyValues(string(out)), nil
}

// runLockShell is lockShell, failing the test on an error.
func runLockShell(t *testing.T, script string) map[string]string {
	t.Helper()
	kv, err := lockShell(script)
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

// winnersAtOnce runs script for six owners at the same moment and returns
// how many of them printed key=won.
func winnersAtOnce(t *testing.T, script func(owner string) string, key, won string) int {
	t.Helper()
	const runs = 6
	kvs := make([]map[string]string, runs)
	errs := make([]error, runs)
	var wg sync.WaitGroup
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			kvs[i], errs[i] = lockShell(script(`{"run_id":"run-` + string(rune('a'+i)) + `"}`))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, kv := range kvs {
		if kv[key] == won {
			n++
		}
	}
	return n
}

// firstOwner is the first line of the lock's owner file: its owner.
func firstOwner(t *testing.T, lock string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(lock, "owner"))
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	return first
}

// racer is a shell function that stands in for printf and writes another
// run's owner line into the lock right before the script's own owner line
// is written: the worst moment for two runs that both take the lock.
const racer = `printf() {
  if [ ! -e "$L/raced" ]; then : > "$L/raced"; command printf '%s\n' '` + raceOther + `' >> "$L/owner"; fi
  command printf "$@"
}
`

// TestLockOwnerRaceHasOneWinner: a run that made a lock directory and
// stalled before writing its owner, and a run that took the directory for
// abandoned meanwhile (claimOwnerless), must not both hold the lock:
// whichever owner line comes first holds it, and the other run finds it
// held by that owner.
func TestLockOwnerRaceHasOneWinner(t *testing.T) {
	if _, err := os.Stat(shellOfTest); err != nil {
		t.Skip("no /bin/sh")
	}
	t.Run("taking a new lock", func(t *testing.T) {
		lock := filepath.Join(t.TempDir(), "locks", "host.lock")
		kv := runLockShell(t, racer+lockScript(lock, raceOwner))
		if kv["lock"] != "held" || kv["owner"] != raceOther {
			t.Errorf("got %v, want the lock held by the other run", kv)
		}
		if got := firstOwner(t, lock); got != raceOther {
			t.Errorf("owner %q, want the other run's", got)
		}
	})
	t.Run("claiming an ownerless lock", func(t *testing.T) {
		lock := filepath.Join(t.TempDir(), "host.lock")
		if err := os.Mkdir(lock, 0o755); err != nil {
			t.Fatal(err)
		}
		kv := runLockShell(t, racer+claimScript(lock, raceOwner))
		if kv["claim"] != "refused" || kv["owner"] != raceOther {
			t.Errorf("got %v, want the claim refused, the lock the other run's", kv)
		}
	})
	t.Run("no race", func(t *testing.T) {
		dir := t.TempDir()
		lock := filepath.Join(dir, "locks", "host.lock")
		if kv := runLockShell(t, lockScript(lock, raceOwner)); kv["lock"] != "acquired" || firstOwner(t, lock) != raceOwner {
			t.Errorf("new lock: got %v, owner %q", kv, firstOwner(t, lock))
		}
		if kv := runLockShell(t, lockScript(lock, raceOther)); kv["lock"] != "held" || kv["owner"] != raceOwner {
			t.Errorf("held lock: got %v", kv)
		}
		ownerless := filepath.Join(dir, "ownerless.lock")
		if err := os.Mkdir(ownerless, 0o755); err != nil {
			t.Fatal(err)
		}
		// A run killed between creating the owner file and writing it
		// leaves it empty.
		if err := os.WriteFile(filepath.Join(ownerless, "owner"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if kv := runLockShell(t, lockScript(ownerless, raceOther)); kv["lock"] != "held" || kv["owner"] != "" || kv["age"] == "" {
			t.Errorf("ownerless lock: got %v, want held with no owner and an age", kv)
		}
		if kv := runLockShell(t, claimScript(ownerless, raceOwner)); kv["claim"] != "taken" || firstOwner(t, ownerless) != raceOwner {
			t.Errorf("claim: got %v, owner %q", kv, firstOwner(t, ownerless))
		}
		if kv := runLockShell(t, claimScript(ownerless, raceOther)); kv["claim"] != "refused" || kv["owner"] != raceOwner {
			t.Errorf("second claim: got %v", kv)
		}
	})
}

// TestOwnerlessClaimsAtOnceHaveOneWinner: runs that claim one ownerless
// lock at the same moment: exactly one takes it.
func TestOwnerlessClaimsAtOnceHaveOneWinner(t *testing.T) {
	if _, err := os.Stat(shellOfTest); err != nil {
		t.Skip("no /bin/sh")
	}
	dir := t.TempDir()
	for round := range 10 {
		lock := filepath.Join(dir, "lock", strings.Repeat("r", round+1))
		if err := os.MkdirAll(lock, 0o755); err != nil {
			t.Fatal(err)
		}
		claim := func(owner string) string { return claimScript(lock, owner) }
		if n := winnersAtOnce(t, claim, "claim", "taken"); n != 1 {
			t.Fatalf("round %d: %d claims took the lock, want 1 (owner file %q)", round, n, firstOwner(t, lock))
		}
	}
}

// TestStaleLockIsBroken: with --break-stale-locks a lock older than
// lock_stale_after is taken from its run, with a line in the journal;
// without it, or when another run broke it first, the host is held.
func TestStaleLockIsBroken(t *testing.T) {
	stale := `{"run_id":"20261206-000000-old-0000","operator":"gone","controller":"c","time":"` +
		time.Now().Add(-7*time.Hour).UTC().Format(time.RFC3339) + `"}`
	other := `{"run_id":"20261207-000000-other-0000","operator":"op","controller":"c","time":"` +
		time.Now().UTC().Format(time.RFC3339) + `"}`
	for _, tc := range []struct {
		name        string
		breakStale  bool
		brokenFirst bool // another run breaks it between the hello and the break
	}{
		{name: "broken", breakStale: true},
		{name: "without the flag"},
		{name: "another run broke it first", breakStale: true, brokenFirst: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeFleet(okReply)
			f.locks["worker-3"] = stale
			if tc.brokenFirst {
				f.beforeBreak = func(host string) {
					f.mu.Lock()
					f.locks[host] = other
					f.mu.Unlock()
				}
			}
			r := runFake(t, upgradeRunbook(""), f, func(o *Options) { o.BreakStaleLocks = tc.breakStale })
			var broke []string
			for _, rec := range r.records {
				if rec.Type == journal.Message && strings.HasPrefix(rec.Text, "broke stale lock") {
					broke = append(broke, rec.Host)
				}
			}
			var held *LockHeldError
			switch {
			case tc.brokenFirst:
				if !errors.As(r.err, &held) || held.Host != "worker-3" || held.Owner.RunID != "20261207-000000-other-0000" {
					t.Fatalf("want worker-3 held by the run that broke it first, got %v", r.err)
				}
				if f.breaks != 0 || len(broke) != 0 || f.locks["worker-3"] != other {
					t.Errorf("breaks %d, messages %v, lock %q: the other run's lock was taken", f.breaks, broke, f.locks["worker-3"])
				}
			case !tc.breakStale:
				if !errors.As(r.err, &held) || held.Owner.RunID != "20261206-000000-old-0000" {
					t.Fatalf("want worker-3 held by the stale run, got %v", r.err)
				}
				if f.breaks != 0 {
					t.Errorf("%d breaks without --break-stale-locks", f.breaks)
				}
			default:
				if r.err != nil {
					t.Fatalf("run: %v", r.err)
				}
				if f.breaks != 1 || len(broke) != 1 || broke[0] != "worker-3" {
					t.Errorf("breaks %d, messages %v", f.breaks, broke)
				}
				if f.counts["worker-3: upgrade"] != 1 {
					t.Errorf("worker-3 ran %q", f.ran("worker-3"))
				}
			}
		})
	}
}

// TestStaleLockBreaksHaveOneWinner runs the break script with /bin/sh:
// runs that break one stale lock at once leave it to exactly one of them,
// and a break of an owner that is no longer the one read is refused.
func TestStaleLockBreaksHaveOneWinner(t *testing.T) {
	if _, err := os.Stat(shellOfTest); err != nil {
		t.Skip("no /bin/sh")
	}
	const stale = `{"run_id":"20261206-000000-old-0000"}`
	dir := t.TempDir()
	lock := ownedLock(t, dir, "one", stale)
	if kv := runLockShell(t, breakScript(lock, stale, raceOwner, ownerPattern("20261207-000000-ours-0000"))); kv["break"] != "done" {
		t.Fatalf("break: %v", kv)
	}
	if b, _ := os.ReadFile(filepath.Join(lock, "owner")); string(b) != raceOwner+"\n" {
		t.Errorf("owner file %q after the break, want ours alone", b)
	}
	// A second break of the same stale owner finds ours.
	if kv := runLockShell(t, breakScript(lock, stale, raceOther, ownerPattern("20261207-000000-other-0000"))); kv["break"] != "refused" || kv["owner"] != raceOwner {
		t.Errorf("second break: got %v, want refused, the lock ours", kv)
	}
	// A break begun by a run stopped before it replaced the owner.
	stuck := ownedLock(t, dir, "stuck", stale)
	if err := os.Link(filepath.Join(stuck, "owner"), filepath.Join(stuck, breakToken(stale))); err != nil {
		t.Fatal(err)
	}
	if kv := runLockShell(t, breakScript(stuck, stale, raceOwner, ownerPattern("20261207-000000-ours-0000"))); kv["break"] != "stuck" {
		t.Errorf("a begun break: got %v, want stuck", kv)
	}
	// A replacement begun by this run and stopped before the rename (its
	// new owner linked as the token) is finished by this run alone.
	begun := ownedLock(t, dir, "begun", stale)
	if err := os.WriteFile(filepath.Join(begun, "owner.1"), []byte(raceOwner+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(begun, "owner.1"), filepath.Join(begun, breakToken(stale))); err != nil {
		t.Fatal(err)
	}
	if kv := runLockShell(t, breakScript(begun, stale, raceOther, ownerPattern("20261207-000000-other-0000"))); kv["break"] != "stuck" {
		t.Errorf("another run's break of a lock this run began to break: got %v, want stuck", kv)
	}
	renewed := strings.Replace(raceOwner, `"op"`, `"op2"`, 1)
	if kv := runLockShell(t, breakScript(begun, stale, renewed, ownerPattern("20261207-000000-ours-0000"))); kv["break"] != "done" || firstOwner(t, begun) != renewed {
		t.Errorf("finishing this run's own begun break: got %v, owner %q", kv, firstOwner(t, begun))
	}
	for round := range 10 {
		lock := ownedLock(t, dir, "race"+strings.Repeat("r", round+1), stale)
		breakIt := func(owner string) string { return breakScript(lock, stale, owner, ownerPattern(runIDOf(owner))) }
		if n := winnersAtOnce(t, breakIt, "break", "done"); n != 1 {
			t.Fatalf("round %d: %d breaks took the lock, want 1 (owner %q)", round, n, firstOwner(t, lock))
		}
	}
}

// TestResumeAndBreakHaveOneWinner runs the script with /bin/sh: a resumed
// run renewing its own owner line (its lock may look stale) and runs
// breaking that line at the same moment leave the lock to exactly one of
// them. Before, the resumed run re-entered without a write, and a break
// landing right after its read left the lock to both.
func TestResumeAndBreakHaveOneWinner(t *testing.T) {
	if _, err := os.Stat(shellOfTest); err != nil {
		t.Skip("no /bin/sh")
	}
	dir := t.TempDir()
	// winnersAtOnce's first owner is run-a's: the resumed run.
	const old = `{"run_id":"run-a","time":"2026-12-06T00:00:00Z"}`
	for round := range 10 {
		lock := ownedLock(t, dir, fmt.Sprintf("lock%d", round), old)
		replace := func(owner string) string { return breakScript(lock, old, owner, ownerPattern(runIDOf(owner))) }
		if n := winnersAtOnce(t, replace, "break", "done"); n != 1 {
			t.Fatalf("round %d: %d runs hold the lock, want 1 (owner %q)", round, n, firstOwner(t, lock))
		}
	}
	// Alone, the resumed run renews its line.
	lock := ownedLock(t, dir, "alone", old)
	const renewed = `{"run_id":"run-a","time":"2026-12-07T00:00:00Z"}`
	if kv := runLockShell(t, breakScript(lock, old, renewed, ownerPattern("run-a"))); kv["break"] != "done" || firstOwner(t, lock) != renewed {
		t.Errorf("renewing: got %v, owner %q", kv, firstOwner(t, lock))
	}
}

// ownedLock makes the lock directory name in dir, its owner file holding
// the line owner, and returns its path.
func ownedLock(t *testing.T, dir, name, owner string) string {
	t.Helper()
	lock := filepath.Join(dir, name)
	if err := os.Mkdir(lock, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(lock, "owner"), []byte(owner+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return lock
}

// runIDOf is the run ID in an owner line ("" when it has none). It runs
// in winnersAtOnce's goroutines, so it does not fail the test itself: a
// script with no run ID of its own wins nothing it did not begin.
func runIDOf(owner string) string {
	var o LockOwner
	json.Unmarshal([]byte(owner), &o)
	return o.RunID
}
