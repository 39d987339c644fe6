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

// killPoint says when to SIGKILL the controller, from the journal so far.
type killPoint struct {
	name string
	// when reports whether to kill now.
	when func(recs []journal.Record) bool
	// midStep says that the kill must land inside a step (the last record
	// a step_started): the step is run again on resume.
	midStep bool
	// served runs the lab as `runbook lab serve` in its own process, so
	// that the nodes outlive the controller (in-process otherwise, where
	// they die with it).
	served bool
}

func lastIs(typ, host, step string) func([]journal.Record) bool {
	return func(recs []journal.Record) bool {
		if len(recs) == 0 {
			return false
		}
		r := recs[len(recs)-1]
		return r.Type == typ && r.Host == host && strings.HasPrefix(r.Step, step)
	}
}

func has(typ, phase, host string) func([]journal.Record) bool {
	return func(recs []journal.Record) bool {
		for _, r := range recs {
			if r.Type == typ && r.Phase == phase && (host == "" || r.Host == host) {
				return true
			}
		}
		return false
	}
}

// TestLabKilledRunResumes SIGKILLs `runbook run` of the CRI-O upgrade at
// several points, mid-step and mid-handler included, and resumes it: the
// run succeeds, the fleet is upgraded without a workload pod wiped, and no
// step that had finished ran again (the cut-off one does, once).
func TestLabKilledRunResumes(t *testing.T) {
	t.Parallel()
	bin := sigtestBinary(t)
	rb := copyRunbook(t, "examples/crio-upgrade.yaml", "soak: 5s", "soak: 0s")
	// worker-1 (the canary) answers slowly, so that a kill lands inside
	// one of its steps.
	inv := slowLabInventory(t, "60ms")
	points := []killPoint{
		{name: "after the backups", when: has(journal.PhaseStarted, "Check versions", "")},
		{name: "installing on the canary", when: lastIs(journal.StepStarted, "worker-1", "install cri-o"), midStep: true},
		{name: "in the canary's crio restart handler", when: lastIs(journal.StepStarted, "worker-1", "restart crio"), midStep: true},
		{name: "in a batch", when: has(journal.StepStarted, "Workers", "worker-3")},
		{name: "lab served apart, mid-step", when: lastIs(journal.StepStarted, "worker-1", "stop kubelet"), midStep: true, served: true},
	}
	for _, kp := range points {
		t.Run(kp.name, func(t *testing.T) {
			t.Parallel()
			e := newLabEnv(t, inv)
			if kp.served {
				stop := serveLab(t, bin, e)
				defer stop()
			}
			killed := runAndKill(t, bin, e, rb, kp.when)
			last := killed[len(killed)-1]
			if kp.midStep && last.Type != journal.StepStarted {
				t.Fatalf("the kill did not land inside a step: the journal ends with %s %s %s", last.Type, last.Host, last.Step)
			}
			for _, r := range killed {
				if r.Type == journal.RunFinished {
					t.Fatal("the run finished before it was killed")
				}
			}
			resumeAndCheck(t, e, last, kp.midStep, "")
		})
	}
}

// resumeAndCheck resumes the env's killed run (last is the journal's last
// record at the kill; midStep says that it is a step cut off) and checks
// that the run ends as an uninterrupted one does: every node upgraded, or,
// with rolledBack (lab-faulty.yaml's worker-3), that node rolled back to
// 1.29 and the run failed. No step may finish twice (the cut-off one
// once), and crio may wipe no pod the drain had not evicted.
func resumeAndCheck(t *testing.T, e *labEnv, last journal.Record, midStep bool, rolledBack string) {
	t.Helper()
	ids := e.runIDs()
	wantCode, wantStatus := 0, journal.RunStatusSucceeded
	if rolledBack != "" {
		wantCode, wantStatus = 1, journal.RunStatusFailed
	}
	code, out, errOut := e.run("resume", ids[0], "--yes")
	if code != wantCode || !strings.Contains(out, strings.ToUpper(wantStatus)) {
		t.Fatalf("killed after %s %s %s: resume: exit %d, want %d\n%s\n%s", last.Type, last.Host, last.Step, code, wantCode, out, errOut)
	}
	recs := e.records()
	finals := map[string]int{}
	for _, r := range recs {
		if r.Type == journal.StepFinished && r.Final {
			finals[r.Host+" "+r.StepID]++
		}
	}
	for k, n := range finals {
		if n > 1 {
			t.Errorf("step %s finished %d times: a finished step ran again", k, n)
		}
	}
	if midStep && finals[last.Host+" "+last.StepID] != 1 {
		t.Errorf("the step cut off by the kill (%s %s) has %d results, want 1", last.Host, last.StepID, finals[last.Host+" "+last.StepID])
	}
	outcomes, status := e.outcomes()
	var upgraded []string
	for _, n := range kubeNodes() {
		want := journal.OutcomeUpgraded
		if n == rolledBack {
			want = journal.OutcomeRolledBack
		} else {
			upgraded = append(upgraded, n)
		}
		if outcomes[n] != want {
			t.Errorf("%s: %s, want %s", n, outcomes[n], want)
		}
	}
	if status != wantStatus {
		t.Errorf("status %s, want %s (outcomes %v)", status, wantStatus, outcomes)
	}
	st := e.status()
	checkUpgraded(t, st, upgraded, "1.30.4-1.1", "1.30.4")
	if rolledBack != "" {
		checkUpgraded(t, st, []string{rolledBack}, "1.29.9-1.1", "1.29.9")
	}
	ds, static := e.daemonSetPods(), e.staticPods()
	for _, w := range kubeNodes() {
		for _, p := range e.wipedPods(w) {
			if !ds[p] && !static[p] {
				t.Errorf("%s: crio wiped the sandbox of %s, which is neither a daemonset nor a static pod", w, p)
			}
		}
	}
}

// slowLabInventory is the lab inventory with worker-1 slowed by delay.
func slowLabInventory(t *testing.T, delay string) string {
	t.Helper()
	src, err := os.ReadFile(repoFile("inventories/lab.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	inv := filepath.Join(t.TempDir(), "lab-slow.yaml")
	slow := strings.Replace(string(src), "            worker-1:\n", "            worker-1:\n              lab_faults: {slow: "+delay+"}\n", 1)
	if slow == string(src) {
		t.Fatal("inventories/lab.yaml has no worker-1 entry to slow down")
	}
	if err := os.WriteFile(inv, []byte(slow), 0o644); err != nil {
		t.Fatal(err)
	}
	return inv
}

// runAndKill starts `runbook run` as a process and SIGKILLs it once when
// says so; it returns the journal as the kill left it.
func runAndKill(t *testing.T, bin string, e *labEnv, rb string, when func([]journal.Record) bool) []journal.Record {
	t.Helper()
	recs, out := runAndKillOrFinish(t, bin, e, rb, when)
	if recs == nil {
		t.Fatalf("the run ended before the kill point:\n%s", out)
	}
	return recs
}

// runAndKillOrFinish is runAndKill where the run may end before when says
// to kill: it then returns no records, and what the run printed.
func runAndKillOrFinish(t *testing.T, bin string, e *labEnv, rb string, when func([]journal.Record) bool) ([]journal.Record, string) {
	t.Helper()
	return killWhen(t, bin, e, when, "run", rb, "-i", e.inv, "--yes")
}

// killWhen runs the CLI with args (after --state-dir and --no-color) and
// SIGKILLs it once when says so, as runAndKillOrFinish does.
func killWhen(t *testing.T, bin string, e *labEnv, when func([]journal.Record) bool, args ...string) ([]journal.Record, string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--state-dir", e.state, "--no-color"}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case err := <-exited:
			return nil, fmt.Sprintf("(%v)\n%s", err, out.String())
		case <-deadline:
			cmd.Process.Kill()
			<-exited
			t.Fatalf("the kill point never came:\n%s", out.String())
		default:
		}
		if ids, _ := journal.ListRuns(e.state); len(ids) > 0 {
			log, err := journal.ReadFile(filepath.Join(journal.RunDir(e.state, ids[0]), journal.JournalFile))
			if err == nil && when(log.Records) {
				cmd.Process.Signal(syscall.SIGKILL)
				<-exited
				if log, err = journal.ReadFile(log.Path); err != nil {
					t.Fatal(err)
				}
				return log.Records, out.String()
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// serveLab runs `runbook lab serve` for the env's inventory until stop.
func serveLab(t *testing.T, bin string, e *labEnv) (stop func()) {
	t.Helper()
	cmd := exec.Command(bin, "--state-dir", e.state, "lab", "serve", "-i", e.inv)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	serveFile := filepath.Join(labDir(e.state), "serve.json")
	for start := time.Now(); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(serveFile); err == nil {
			break
		}
		if time.Since(start) > 20*time.Second {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("lab serve did not start:\n%s", out.String())
		}
	}
	return func() {
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("lab serve: %v\n%s", err, out.String())
		}
		if _, err := os.Stat(serveFile); err == nil {
			t.Errorf("lab serve left %s behind", serveFile)
		}
	}
}
