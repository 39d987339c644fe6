package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook/journal"
)

var (
	sigBinOnce sync.Once
	sigBin     string
	sigBinErr  error
)

// sigtestBinary builds the CLI once for the tests that need a real process
// to signal.
func sigtestBinary(t *testing.T) string {
	t.Helper()
	sigBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "runbook-sigtest-")
		if err != nil {
			sigBinErr = err
			return
		}
		sigBin = filepath.Join(dir, "runbook")
		out, err := exec.Command("go", "build", "-o", sigBin, ".").CombinedOutput()
		if err != nil {
			sigBinErr = err
			t.Logf("%s", out)
		}
	})
	if sigBinErr != nil {
		t.Fatalf("build: %v", sigBinErr)
	}
	return sigBin
}

// TestInterruptThenResume: the first SIGINT starts no new step, lets the
// running one finish, journals the interruption and exits 130; resume then
// finishes the run without running a finished step again.
func TestInterruptThenResume(t *testing.T) {
	bin := sigtestBinary(t)
	inv, work := sshFleet(t, 3)
	rb := e2eRunbook(t, work, "")
	state := t.TempDir()
	cmd := exec.Command(bin, "--state-dir", state, "run", rb, "-i", inv, "-e", "hold=2")
	cmd.Env = os.Environ()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Interrupt while the canary's `sleep 2` runs.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(journalText(state), `"command":"shell: sleep 2"`) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the canary never started:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Fatalf("exit %d (%v), want 130:\n%s", code, err, out.String())
	}
	text := journalText(state)
	if !strings.Contains(text, `"type":"run_interrupted"`) || !strings.Contains(text, `"status":"interrupted"`) {
		t.Fatalf("journal lacks the interruption:\n%s", text)
	}
	// The running step finished with its own result; nothing after it
	// started.
	ids, _ := journal.ListRuns(state)
	before, _ := journal.ReadFile(filepath.Join(journal.RunDir(state, ids[0]), journal.JournalFile))
	finished := false
	for _, r := range before.Records {
		if r.Type == journal.StepFinished && r.StepID == "2.steps.0" && r.Final && r.Status == journal.StatusChanged {
			finished = true
		}
		if r.Type == journal.StepStarted && strings.HasPrefix(r.Command, "shell: echo 2 >") {
			t.Errorf("a new step started after the interrupt: %+v", r)
		}
	}
	if !finished {
		t.Errorf("the running step did not finish:\n%s", text)
	}
	// Every command printed, and report.html's, names the state directory
	// in force: pasted elsewhere, they find the run.
	resume := "runbook --state-dir " + state + " resume " + ids[0]
	page, _ := os.ReadFile(filepath.Join(journal.RunDir(state, ids[0]), "report.html"))
	for what, text := range map[string]string{"the output": out.String(), "report.html": string(page)} {
		if strings.Contains(text, "`runbook resume") || strings.Contains(text, ": runbook resume") || !strings.Contains(text, resume) {
			t.Errorf("%s does not say %q:\n%s", what, resume, text)
		}
	}
	for _, want := range []string{"continue later with `" + resume + "`", "; continue with `" + resume + "`"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the output lacks %q:\n%s", want, out.String())
		}
	}
	code, resOut, errOut := runCLI(t, "--state-dir", state, "resume", ids[0])
	if code != 0 {
		t.Fatalf("resume: exit %d\n%s\n%s", code, resOut, errOut)
	}
	log, _ := journal.ReadFile(filepath.Join(journal.RunDir(state, ids[0]), journal.JournalFile))
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

func journalText(state string) string {
	ids, _ := journal.ListRuns(state)
	if len(ids) == 0 {
		return ""
	}
	b, _ := os.ReadFile(filepath.Join(journal.RunDir(state, ids[0]), journal.JournalFile))
	return string(b)
}
