package engine

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The lock's scripts, run by the system's /bin/sh on a directory of the
// test's, as a host runs them.

const (
	raceOwner   = `{"run_id":"20261207-000000-ours-0000","operator":"op"}`
	raceOther   = `{"run_id":"20261207-000000-other-0000"}`
	shellOfTest = "/bin/sh"
)

// runLockShell runs script with /bin/sh and returns its output as
// key=value pairs.
func runLockShell(t *testing.T, script string) map[string]string {
	t.Helper()
	out, err := exec.Command(shellOfTest, "-c", script).Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	kv := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			kv[k] = v
		}
	}
	return kv
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
		const claimers = 6
		taken := make([]bool, claimers)
		var wg sync.WaitGroup
		for i := range claimers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				owner := `{"run_id":"run-` + string(rune('a'+i)) + `"}`
				taken[i] = runLockShell(t, claimScript(lock, owner))["claim"] == "taken"
			}()
		}
		wg.Wait()
		n := 0
		for _, ok := range taken {
			if ok {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("round %d: %d claims took the lock, want 1 (owner file %q)", round, n, firstOwner(t, lock))
		}
	}
}
