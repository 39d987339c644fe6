package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook/journal"
)

// startHeldRun starts `runbook run` in a process of its own and returns once
// the canary's `sleep` runs, with the run's id.
func startHeldRun(t *testing.T, bin, state, rb, inv string) (*exec.Cmd, *bytes.Buffer, string) {
	t.Helper()
	cmd := exec.Command(bin, "--state-dir", state, "run", rb, "-i", inv, "-e", "hold=4")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(journalText(state), `"command":"shell: sleep 4"`) {
		if time.Now().After(deadline) {
			t.Fatalf("the canary never started:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	ids, _ := journal.ListRuns(state)
	return cmd, &out, ids[0]
}

// seqsInOrder fails the test unless the journal reads back whole, its seq
// numbers 1..N.
func seqsInOrder(t *testing.T, state, id string) *journal.Log {
	t.Helper()
	log, err := journal.ReadFile(filepath.Join(journal.RunDir(state, id), journal.JournalFile))
	if err != nil {
		t.Fatalf("the journal does not read back: %v", err)
	}
	for i, r := range log.Records {
		if r.Seq != int64(i+1) {
			t.Fatalf("record %d has seq %d", i+1, r.Seq)
		}
	}
	return log
}

// TestResumeBesideRunningRun: a resume of a run that is still running exits
// 4 naming the process that holds it, and touches neither the journal nor
// any host; the run then finishes on its own.
func TestResumeBesideRunningRun(t *testing.T) {
	bin := sigtestBinary(t)
	inv, work := sshFleet(t, 3)
	rb := e2eRunbook(t, work, "")
	state := t.TempDir()
	cmd, out, id := startHeldRun(t, bin, state, rb, inv)
	before := journalText(state)
	second := exec.Command(bin, "--state-dir", state, "resume", id, "--yes")
	got, _ := second.CombinedOutput()
	if code := second.ProcessState.ExitCode(); code != exitLocked {
		t.Fatalf("resume beside the running run: exit %d, want %d:\n%s", code, exitLocked, got)
	}
	want := fmt.Sprintf("held by process %d on ", cmd.Process.Pid)
	if !strings.Contains(string(got), want) {
		t.Errorf("the refusal does not name the holder (%q):\n%s", want, got)
	}
	if after := journalText(state); !strings.HasPrefix(after, before) || strings.Count(after, `"type":"run_resumed"`) != 0 {
		t.Errorf("the refused resume wrote to the journal")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the run: %v\n%s", err, out)
	}
	log := seqsInOrder(t, state, id)
	finals := map[string]int{}
	for _, r := range log.Records {
		if r.Type == journal.StepFinished && r.Final {
			finals[r.Host+" "+r.StepID]++
		}
	}
	for k, n := range finals {
		if n != 1 {
			t.Errorf("step %s finished %d times", k, n)
		}
	}
}

// TestTwoResumesOfKilledRun: of two resumes of one killed run started at
// once, exactly one proceeds; the other exits 4, and the journal stays
// whole with every step finished once.
func TestTwoResumesOfKilledRun(t *testing.T) {
	bin := sigtestBinary(t)
	inv, work := sshFleet(t, 3)
	rb := e2eRunbook(t, work, "")
	state := t.TempDir()
	cmd, _, id := startHeldRun(t, bin, state, rb, inv)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	type result struct {
		code int
		out  string
	}
	results := make(chan result, 2)
	for range 2 {
		go func() {
			c := exec.Command(bin, "--state-dir", state, "resume", id, "--yes")
			b, _ := c.CombinedOutput()
			results <- result{c.ProcessState.ExitCode(), string(b)}
		}()
	}
	codes := map[int]int{}
	var outs []string
	for range 2 {
		r := <-results
		codes[r.code]++
		outs = append(outs, r.out)
	}
	if codes[0] != 1 || codes[exitLocked] != 1 {
		t.Fatalf("exit codes %v, want one 0 and one %d:\n%s", codes, exitLocked, strings.Join(outs, "\n----\n"))
	}
	log := seqsInOrder(t, state, id)
	finals := map[string]int{}
	for _, r := range log.Records {
		if r.Type == journal.StepFinished && r.Final {
			finals[r.Host+" "+r.StepID]++
		}
	}
	for k, n := range finals {
		if n != 1 {
			t.Errorf("step %s finished %d times", k, n)
		}
	}
	if _, err := os.Stat(filepath.Join(journal.RunDir(state, id), journal.RunLockFile)); err != nil {
		t.Errorf("lock file: %v", err)
	}
}
