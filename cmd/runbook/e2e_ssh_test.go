package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbookhq/runbook/internal/sshdtest"
	"github.com/runbookhq/runbook/runbook/journal"
)

// sshFleet starts n real sshd hosts and writes an inventory for them. The
// hosts share this machine's filesystem, so each gets its own lock_path and
// work directory. HOME is pointed at a directory whose known_hosts lists
// the hosts, as a user's would.
func sshFleet(t *testing.T, n int, opts ...sshdtest.Option) (inv, work string) {
	t.Helper()
	f := sshdtest.Start(t, append([]sshdtest.Option{sshdtest.Hosts(n)}, opts...)...)
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	kh, err := os.ReadFile(f.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(home, ".ssh", "known_hosts"), kh, 0o600)
	t.Setenv("HOME", home)
	t.Setenv("SSH_AUTH_SOCK", "")
	work = sshdtest.ScratchDir(t, f.User)
	if !f.Become {
		os.WriteFile(filepath.Join(work, noBecome), nil, 0o644)
	}
	var b strings.Builder
	b.WriteString("all:\n  children:\n    fleet:\n      hosts:\n")
	for _, h := range f.Hosts {
		fmt.Fprintf(&b, "        %s: {address: %s, port: %d, user: %s, identity_file: %s, lock_path: %s}\n",
			h.Name, h.Address, h.Port, f.User, f.KeyFile, filepath.Join(work, h.Name+".lock"))
	}
	inv = filepath.Join(t.TempDir(), "inv.yaml")
	os.WriteFile(inv, []byte(b.String()), 0o644)
	return inv, work
}

// noBecome, in a fleet's work directory, says its user cannot sudo: the
// runbooks written for it run without become.
const noBecome = ".no-become"

// e2eRunbook upgrades a "version" file per host from 1 to 2, in a canary
// and batches of two; fail_on names a host whose upgrade fails.
func e2eRunbook(t *testing.T, work, extra string) string {
	t.Helper()
	_, err := os.Stat(filepath.Join(work, noBecome))
	src := fmt.Sprintf(`runbook: e2e
targets: fleet
become: %[3]v
failure_budget: 0
params:
  fail_on: {default: none}
  hold: {default: "0"}
%[1]s
phases:
  - name: Check
    kind: check
    steps:
      - shell: cat %[2]s/{{ host.name }}.version 2>/dev/null || echo 1
        register: v
    skip_host_when: v.stdout == "2"
  - name: Canary
    kind: canary
    hosts: 1
    steps:
      - shell: sleep {{ quote(params.hold) }}
      - shell: echo 2 > %[2]s/{{ host.name }}.version
    verify:
      - shell: test "$(cat %[2]s/{{ host.name }}.version)" = 2
  - name: Roll out
    kind: batch
    serial: [2]
    steps:
      - shell: echo 2 > %[2]s/{{ host.name }}.version
      - shell: test {{ quote(host.name) }} != {{ quote(params.fail_on) }}
    verify:
      - command: [test, -s, "%[2]s/{{ host.name }}.version"]
rollback:
  steps:
    - shell: echo 1 > %[2]s/{{ host.name }}.version && touch %[2]s/{{ host.name }}.rolled-back
`, extra, work, err != nil)
	path := filepath.Join(t.TempDir(), "e2e.yaml")
	os.WriteFile(path, []byte(src), 0o644)
	return path
}

func outcomesOf(t *testing.T, state string) (string, map[string]string) {
	t.Helper()
	ids, _ := journal.ListRuns(state)
	if len(ids) == 0 {
		t.Fatal("no run")
	}
	// The newest run: ids of runs started in the same second sort by their
	// random suffix, so compare their start times.
	var log *journal.Log
	for _, id := range ids {
		l, err := journal.ReadFile(filepath.Join(journal.RunDir(state, id), journal.JournalFile))
		if err != nil {
			t.Fatal(err)
		}
		if log == nil || (len(l.Records) > 0 && l.Records[0].Time.After(log.Records[0].Time)) {
			log = l
		}
	}
	out := map[string]string{}
	status := ""
	for _, r := range log.Records {
		switch r.Type {
		case journal.HostFinished:
			out[r.Host] = r.Outcome
		case journal.RunFinished:
			status = r.Status
		}
	}
	return status, out
}

func TestSSHRolloutSucceeds(t *testing.T) {
	inv, work := sshFleet(t, 6)
	rb := e2eRunbook(t, work, "")
	state := t.TempDir()
	code, out, errOut := runCLI(t, "--state-dir", state, "run", rb, "-i", inv)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for i := 1; i <= 6; i++ {
		b, err := os.ReadFile(filepath.Join(work, fmt.Sprintf("host%d.version", i)))
		if err != nil || strings.TrimSpace(string(b)) != "2" {
			t.Errorf("host%d: version %q %v", i, b, err)
		}
	}
	status, outcomes := outcomesOf(t, state)
	if status != journal.RunStatusSucceeded || len(outcomes) != 6 {
		t.Fatalf("status %s outcomes %v", status, outcomes)
	}
	// Reports were written beside the journal.
	ids, _ := journal.ListRuns(state)
	for _, f := range []string{"report.html", "junit.xml"} {
		if _, err := os.Stat(filepath.Join(journal.RunDir(state, ids[0]), f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	// A second run finds every host done.
	code, _, errOut = runCLI(t, "--state-dir", state, "run", rb, "-i", inv)
	if code != 0 {
		t.Fatalf("second run: exit %d %s", code, errOut)
	}
	_, outcomes = outcomesOf(t, state)
	for h, o := range outcomes {
		if o != journal.OutcomeSkipped {
			t.Errorf("second run: %s %s", h, o)
		}
	}
}

// Hosts whose sshd allows one session per connection (MaxSessions 1) take
// the rollout too, with a host's commands through one session (its only
// one) or with a session each, and the lock is released at the end, so a
// second run is not refused.
func TestSSHRolloutOnOneSessionHosts(t *testing.T) {
	for _, extra := range [][]string{nil, {"--session-per-command"}} {
		t.Run(fmt.Sprint(extra), func(t *testing.T) {
			inv, work := sshFleet(t, 3, sshdtest.WithMaxSessions(1))
			rb := e2eRunbook(t, work, "")
			state := t.TempDir()
			args := append([]string{"--state-dir", state, "run", rb, "-i", inv}, extra...)
			code, out, errOut := runCLI(t, args...)
			if code != 0 {
				t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
			}
			status, outcomes := outcomesOf(t, state)
			if status != journal.RunStatusSucceeded || len(outcomes) != 3 {
				t.Fatalf("status %s outcomes %v", status, outcomes)
			}
			for i := 1; i <= 3; i++ {
				if _, err := os.Stat(filepath.Join(work, fmt.Sprintf("host%d.lock", i))); !os.IsNotExist(err) {
					t.Errorf("host%d: lock left after the run (%v)", i, err)
				}
			}
		})
	}
}

func TestSSHFailureRollsBackAndHalts(t *testing.T) {
	inv, work := sshFleet(t, 6)
	rb := e2eRunbook(t, work, "")
	state := t.TempDir()
	// Batches after the canary (host1): [host2 host3] [host4 host5] [host6].
	code, out, _ := runCLI(t, "--state-dir", state, "run", rb, "-i", inv, "-e", "fail_on=host3")
	if code != exitFailed {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	status, outcomes := outcomesOf(t, state)
	want := map[string]string{"host1": "upgraded", "host2": "upgraded", "host3": "rolled_back",
		"host4": "not_started", "host5": "not_started", "host6": "not_started"}
	if status != journal.RunStatusHalted || fmt.Sprint(outcomes) != fmt.Sprint(want) {
		t.Fatalf("status %s outcomes %v", status, outcomes)
	}
	if _, err := os.Stat(filepath.Join(work, "host3.rolled-back")); err != nil {
		t.Fatal("host3 was not rolled back")
	}
	if b, _ := os.ReadFile(filepath.Join(work, "host4.version")); len(b) != 0 {
		t.Fatal("a host of a later batch was changed")
	}
	if !strings.Contains(out, "host3") || !strings.Contains(out, "rolled_back") {
		t.Errorf("the summary does not name the rolled back host:\n%s", out)
	}
	// After the fix: --retry-failed says what it does with host3, then does it.
	ids, _ := journal.ListRuns(state)
	code, out, errOut := runCLI(t, "--state-dir", state, "resume", ids[0], "--retry-failed", "-e", "fail_on=none")
	if code != exitOK {
		t.Fatalf("resume --retry-failed: exit %d\n%s\n%s", code, out, errOut)
	}
	if !regexp.MustCompile(`host3 +rolled_back +starts over from its first step`).MatchString(out) {
		t.Errorf("resume --retry-failed does not say that host3 starts over:\n%s", out)
	}
	if _, outcomes := outcomesOf(t, state); outcomes["host3"] != "upgraded" || outcomes["host6"] != "upgraded" {
		t.Errorf("outcomes after the retry: %v", outcomes)
	}
}

func TestSSHSecondRunIsLockedOut(t *testing.T) {
	inv, work := sshFleet(t, 2)
	rb := e2eRunbook(t, work, "")
	state := t.TempDir()
	var wg sync.WaitGroup
	wg.Add(1)
	var firstCode int
	go func() {
		defer wg.Done()
		firstCode, _, _ = runCLI(t, "--state-dir", state, "run", rb, "-i", inv, "-e", "hold=4")
	}()
	// Wait until the first run holds its locks.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(work, "host1.lock", "owner")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first run never took its lock")
		}
		time.Sleep(50 * time.Millisecond)
	}
	code, _, errOut := runCLI(t, "--state-dir", state, "run", rb, "-i", inv)
	if code != exitLocked {
		t.Fatalf("second run: exit %d, want 4: %s", code, errOut)
	}
	if !strings.Contains(errOut, "locked by run 20") {
		t.Errorf("message does not name the owner: %s", errOut)
	}
	wg.Wait()
	if firstCode != 0 {
		t.Fatalf("first run: exit %d", firstCode)
	}
}

func TestSSHPlanCheck(t *testing.T) {
	inv, work := sshFleet(t, 4)
	rb := e2eRunbook(t, work, "")
	if err := os.WriteFile(filepath.Join(work, "host3.version"), []byte("2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	code, out, errOut := runCLI(t, "--state-dir", state, "plan", rb, "-i", inv, "--check")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"skipped by the check phase (already done): host3",
		"2. Canary [canary] batches: [host1]",
		"3. Roll out [batch] batches: [host2 host4]",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan --check lacks %q:\n%s", want, out)
		}
	}
	// Read-only: no lock was taken, nothing was changed, no run was kept.
	for i := 1; i <= 4; i++ {
		if _, err := os.Stat(filepath.Join(work, fmt.Sprintf("host%d.lock", i))); err == nil {
			t.Errorf("plan --check took host%d's lock", i)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(work, "host1.version")); len(b) != 0 {
		t.Error("plan --check changed a host")
	}
	if ids, _ := journal.ListRuns(state); len(ids) != 0 {
		t.Errorf("plan --check left runs: %v", ids)
	}
}

// plan --check on a fleet where one host presents another key than
// known_hosts holds: exit 1, and the reason in full (both fingerprints),
// in text and in JSON.
func TestSSHPlanCheckFailsWithTheReason(t *testing.T) {
	inv, work := sshFleet(t, 3)
	rb := e2eRunbook(t, work, "")
	// host2's known_hosts line gets host1's key: host2 now presents a
	// changed key.
	khPath := filepath.Join(os.Getenv("HOME"), ".ssh", "known_hosts")
	kh, err := os.ReadFile(khPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(kh)), "\n")
	if len(lines) < 3 {
		t.Fatalf("known_hosts: %q", kh)
	}
	f1, f2 := strings.Fields(lines[0]), strings.Fields(lines[1])
	lines[1] = strings.Join(append([]string{f2[0]}, f1[1:]...), " ")
	if err := os.WriteFile(khPath, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	code, out, errOut := runCLI(t, "--state-dir", state, "plan", rb, "-i", inv, "--check")
	if code != exitFailed {
		t.Fatalf("exit %d, want 1:\n%s\n%s", code, out, errOut)
	}
	_, found, _ := strings.Cut(out, "plan --check: the checks failed on 1 of the hosts")
	if !regexp.MustCompile(`(?s)host2  \w+ at connect\n    host key for \S+ has CHANGED.*it presented \S+ SHA256:\S+, known_hosts expects \S+ SHA256:\S+ \(`).MatchString(found) {
		t.Errorf("plan --check does not give host2's reason with both fingerprints:\n%s", out)
	}
	if !strings.Contains(errOut, "the checks failed on host2") {
		t.Errorf("stderr: %s", errOut)
	}
	code, out, errOut = runCLI(t, "--state-dir", state, "plan", rb, "-i", inv, "--check", "--output", "json")
	var doc struct {
		Runbook string `json:"runbook"`
		Check   struct {
			Status string `json:"status"`
			Failed []struct {
				Host, Outcome, Step, Error string
			} `json:"failed"`
		} `json:"check"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != exitFailed {
		t.Fatalf("exit %d, %v:\n%s\n%s", code, err, out, errOut)
	}
	if f := doc.Check.Failed; doc.Runbook != "e2e" || doc.Check.Status != "halted" || len(f) != 1 || f[0].Host != "host2" || f[0].Step != "connect" ||
		strings.Count(f[0].Error, "SHA256:") != 2 {
		t.Errorf("JSON check %+v", doc.Check)
	}
}

// onlyRunJournal reads the journal of the one run in state.
func onlyRunJournal(t *testing.T, state string) *journal.Log {
	t.Helper()
	ids, err := journal.ListRuns(state)
	if err != nil || len(ids) != 1 {
		t.Fatalf("runs %v %v", ids, err)
	}
	log, err := journal.ReadFile(filepath.Join(journal.RunDir(state, ids[0]), journal.JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	return log
}

// A lock left without an owner (a run killed between its mkdir and its
// owner file) is taken over real sshd: an old directory with no owner
// file at once, a young one with an empty owner file after the grace
// period; the journal says so, and the locks are released at the end.
func TestSSHOwnerlessLockIsTaken(t *testing.T) {
	inv, work := sshFleet(t, 3)
	rb := e2eRunbook(t, work, "")
	old := filepath.Join(work, "host2.lock")
	if err := os.Mkdir(old, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(old, time.Now().Add(-10*time.Minute), time.Now().Add(-10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	young := filepath.Join(work, "host3.lock")
	if err := os.Mkdir(young, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(young, "owner"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	code, out, errOut := runCLI(t, "--state-dir", state, "run", rb, "-i", inv)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	log := onlyRunJournal(t, state)
	took := map[string]string{}
	for _, r := range log.Records {
		if r.Type == journal.Message && strings.Contains(r.Text, "which had no owner") {
			took[r.Host] = r.Text
		}
	}
	if len(took) != 2 || !strings.Contains(took["host2"], "(made 10m") || !strings.Contains(took["host3"], "(made ") {
		t.Errorf("messages %q", took)
	}
	for _, p := range []string{old, young} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left after the run (%v)", p, err)
		}
	}
}

// A lock older than lock_stale_after holds a host until a run is told to
// break it: over real sshd, a run without --break-stale-locks exits 4
// naming the stale run; one with it takes the lock, says so in the
// journal, and releases it at the end.
func TestSSHStaleLockIsBroken(t *testing.T) {
	inv, work := sshFleet(t, 2)
	rb := e2eRunbook(t, work, "")
	lock := filepath.Join(work, "host2.lock")
	if err := os.Mkdir(lock, 0o755); err != nil {
		t.Fatal(err)
	}
	stale := `{"run_id":"20261206-000000-old-0000","operator":"gone","controller":"elsewhere","time":"` +
		time.Now().Add(-7*time.Hour).UTC().Format(time.RFC3339) + `"}`
	if err := os.WriteFile(filepath.Join(lock, "owner"), []byte(stale+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	code, out, errOut := runCLI(t, "--state-dir", state, "run", rb, "-i", inv)
	if code != 4 || !strings.Contains(out+errOut, "20261206-000000-old-0000") {
		t.Fatalf("without --break-stale-locks: exit %d, want 4 naming the stale run\n%s\n%s", code, out, errOut)
	}
	state = t.TempDir()
	code, out, errOut = runCLI(t, "--state-dir", state, "run", rb, "-i", inv, "--break-stale-locks")
	if code != 0 {
		t.Fatalf("with --break-stale-locks: exit %d\n%s\n%s", code, out, errOut)
	}
	log := onlyRunJournal(t, state)
	var broke []string
	for _, r := range log.Records {
		if r.Type == journal.Message && strings.HasPrefix(r.Text, "broke stale lock") {
			broke = append(broke, r.Host+": "+r.Text)
		}
	}
	if len(broke) != 1 || !strings.HasPrefix(broke[0], "host2: ") || !strings.Contains(broke[0], "20261206-000000-old-0000") {
		t.Errorf("messages %q", broke)
	}
	if _, err := os.Stat(lock); !os.IsNotExist(err) {
		t.Errorf("%s left after the run (%v)", lock, err)
	}
}
