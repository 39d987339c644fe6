package faults

import (
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook/journal"
)

// crashRunbook: a check phase, a canary with soak and approval, and batches
// of two. Every step that changes a host appends its step id to the host's
// log, then takes a moment, so that a kill right after its step_started
// lands while it runs; verify steps only read.
const crashRunbook = `runbook: crash
targets: fleet
params:
  dir: {required: true}
phases:
  - name: Check
    kind: check
    steps:
      - shell: echo 1.steps.0 >> {{ quote(params.dir) }}/{{ host.name }}.log
  - name: Canary
    kind: canary
    hosts: 1
    steps:
      - shell: echo 2.steps.0 >> {{ quote(params.dir) }}/{{ host.name }}.log; sleep 0.05
      - shell: echo 2.steps.1 >> {{ quote(params.dir) }}/{{ host.name }}.log; sleep 0.05
    verify:
      - shell: grep -q 2.steps.1 {{ quote(params.dir) }}/{{ host.name }}.log
    soak: 100ms
    approve: The canary is healthy. Go on?
  - name: Roll out
    kind: batch
    serial: [2]
    steps:
      - shell: echo 3.steps.0 >> {{ quote(params.dir) }}/{{ host.name }}.log; sleep 0.05
      - shell: echo 3.steps.1 >> {{ quote(params.dir) }}/{{ host.name }}.log; sleep 0.05
    verify:
      - shell: grep -q 3.steps.1 {{ quote(params.dir) }}/{{ host.name }}.log
`

// loggingSteps are the step ids whose command appends its id to the log.
var loggingSteps = map[string]bool{"1.steps.0": true, "2.steps.0": true, "2.steps.1": true, "3.steps.0": true, "3.steps.1": true}

// crashKills is how many controller kills TestControllerKilledAndResumed
// makes.
const crashKills = 20

// TestControllerKilledAndResumed SIGKILLs `runbook run` right after the
// N-th record of its journal appears, for 20 random N (some chosen among
// step_started records, so the kill cuts a step off), sometimes kills the
// first resume too, then resumes until the run succeeds. Every step has one
// final step_finished, none ran again once finished (journal and the hosts'
// own logs agree), and every host lock is released.
//
// The positions come from a seed that is logged; RUNBOOK_FAULTS_SEED=N
// replays a failure.
func TestControllerKilledAndResumed(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("RUNBOOK_FAULTS_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("RUNBOOK_FAULTS_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("seed %d (rerun with RUNBOOK_FAULTS_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))

	f := startSSHFleet(t, 4)
	rb := writeFile(t, "rb.yaml", crashRunbook)

	// An uninterrupted run: how many records a run has, where its steps
	// start, and which steps each host runs.
	base := runUninterrupted(t, f, rb)
	total := len(base.Records)
	var starts []int // 1-based positions of step_started records
	want := map[stepKey]bool{}
	for i, r := range base.Records {
		if r.Type == journal.StepStarted {
			starts = append(starts, i+1)
		}
		if r.Type == journal.StepFinished && r.Final {
			want[stepKey{r.Host, r.StepID}] = true
		}
	}
	// Half the kills right after a step_started, half anywhere before
	// run_finished.
	positions := map[int]bool{}
	for len(positions) < min(crashKills/2, len(starts)) {
		positions[starts[rng.IntN(len(starts))]] = true
	}
	for len(positions) < crashKills && len(positions) < total-1 {
		positions[1+rng.IntN(total-1)] = true
	}
	var order []int
	for n := range positions {
		order = append(order, n)
	}
	sort.Ints(order)
	t.Logf("an uninterrupted run has %d records; killing after records %v", total, order)

	var cutMidStep atomic.Int32
	for _, n := range order {
		// Draw everything random before the subtests run in parallel.
		killResume := rng.IntN(4) == 0
		resumeAfter := 1 + rng.IntN(8)
		t.Run("after-"+strconv.Itoa(n), func(t *testing.T) {
			t.Parallel()
			if crashAndResume(t, f, rb, want, n, killResume, resumeAfter) {
				cutMidStep.Add(1)
			}
		})
	}
	t.Cleanup(func() {
		if !t.Failed() && cutMidStep.Load() == 0 {
			t.Errorf("no kill cut a step off between its step_started and step_finished (seed %d)", seed)
		}
	})
}

// runUninterrupted runs rb once to its end and checks it as the killed
// runs are checked. It returns the journal.
func runUninterrupted(t *testing.T, f *sshFleet, rb string) *journal.Log {
	t.Helper()
	work := f.workDir(t)
	state := t.TempDir()
	c := newCLI(t, state, f.home)
	if res := c.run("run", rb, "-i", f.inventory(t, work), "--yes", "-e", "dir="+work); res.code != 0 {
		t.Fatalf("uninterrupted run:\n%s", res)
	}
	_, path := onlyRun(t, state)
	log := readJournal(t, path)
	want := map[stepKey]bool{}
	for _, r := range log.Records {
		if r.Type == journal.StepFinished && r.Final {
			want[stepKey{r.Host, r.StepID}] = true
		}
	}
	// 4 check steps; the canary's 2 steps, verify and soak verify; 3 steps
	// on each of the 3 batch hosts.
	if len(want) != 4+4+3*3 {
		t.Fatalf("the uninterrupted run finished %d steps, want 17: %v", len(want), want)
	}
	checkResumedRun(t, log, f, work, want)
	return log
}

// crashAndResume runs rb, SIGKILLs it after n journal records, then
// resumes it (killing the first resume after resumeAfter more records when
// killResume) until it succeeds, and checks the result. It reports whether
// a kill cut a step off.
func crashAndResume(t *testing.T, f *sshFleet, rb string, want map[stepKey]bool, n int, killResume bool, resumeAfter int) bool {
	work := f.workDir(t)
	state := t.TempDir()
	c := newCLI(t, state, f.home)
	p := c.start("run", rb, "-i", f.inventory(t, work), "--yes", "-e", "dir="+work)
	at := killAfter(p, func() string { return runJournal(state) }, n)
	res := p.wait()
	if !res.killed && res.code != 0 {
		t.Fatalf("the run failed before it was killed:\n%s", res)
	}
	id, path := onlyRun(t, state)
	log := readJournal(t, path)
	cut := cutOff(log)
	if res.killed {
		t.Logf("killed with %d records on disk (%d complete, %d torn bytes); last %s; steps cut off: %v",
			at, len(log.Records), log.TornBytes, lastRecord(log).Type, cut)
	} else {
		t.Logf("the run ended on its own before the kill after record %d landed", n)
	}
	sessions := 1
	for {
		status, _ := outcomes(log)
		if status == journal.RunStatusSucceeded && lastRecord(log).Type == journal.RunFinished {
			break
		}
		if sessions > 4 {
			t.Fatalf("the run did not succeed after %d resumes", sessions-1)
		}
		sessions++
		p := c.start("resume", id, "--yes")
		if killResume && sessions == 2 {
			have := len(log.Records)
			killAfter(p, func() string { return path }, have+resumeAfter)
		}
		res := p.wait()
		log = readJournal(t, path)
		if res.killed {
			more := cutOff(log)
			t.Logf("killed the resume too, with %d complete records; steps cut off: %v", len(log.Records), more)
			cut = append(cut, more...)
			continue
		}
		if res.code != 0 {
			t.Fatalf("resume %d:\n%s", sessions-1, res)
		}
	}
	if log.TornBytes != 0 {
		t.Errorf("the finished journal ends with %d torn bytes", log.TornBytes)
	}
	checkResumedRun(t, log, f, work, want)
	return len(cut) > 0
}

// cutOff lists the steps whose last step_started has no step_finished
// after it: steps a kill cut off.
func cutOff(log *journal.Log) []stepKey {
	open := map[stepKey]bool{}
	for _, r := range log.Records {
		k := stepKey{r.Host, r.StepID}
		switch r.Type {
		case journal.StepStarted:
			open[k] = true
		case journal.StepFinished:
			delete(open, k)
		}
	}
	var out []stepKey
	for k := range open {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// checkResumedRun checks a run that ended succeeded, however many sessions
// it took: every step of want has exactly one final step_finished and none
// started again after it; the hosts' logs show each changing step once,
// twice only for a step that a kill cut off (started, never finished); no
// host lock is left.
func checkResumedRun(t *testing.T, log *journal.Log, f *sshFleet, work string, want map[stepKey]bool) {
	t.Helper()
	if r := lastRecord(log); r.Type != journal.RunFinished || r.Status != journal.RunStatusSucceeded {
		t.Fatalf("the run did not end succeeded: last record %s %s %s", r.Type, r.Status, r.Reason)
	}
	finalAt := map[stepKey]int64{}
	started := map[stepKey]int{}
	finished := map[stepKey]int{}
	for _, r := range log.Records {
		k := stepKey{r.Host, r.StepID}
		switch r.Type {
		case journal.StepStarted:
			started[k]++
			if at, done := finalAt[k]; done {
				t.Errorf("%s started again (seq %d) after its final step_finished (seq %d)", k, r.Seq, at)
			}
		case journal.StepFinished:
			finished[k]++
			if !r.Final {
				continue
			}
			if at, done := finalAt[k]; done {
				t.Errorf("%s has a second final step_finished (seq %d, first seq %d)", k, r.Seq, at)
				continue
			}
			finalAt[k] = r.Seq
			if r.Status != journal.StatusOK && r.Status != journal.StatusChanged {
				t.Errorf("%s finished %s: %s", k, r.Status, r.Error)
			}
		}
	}
	for k := range want {
		if _, ok := finalAt[k]; !ok {
			t.Errorf("%s never finished", k)
		}
	}
	for k := range finalAt {
		if !want[k] {
			t.Errorf("%s ran, but an uninterrupted run does not run it", k)
		}
	}
	for _, h := range f.Hosts {
		lines := map[string]int{}
		for _, l := range hostLog(t, work, h.Name) {
			lines[l]++
		}
		for step, n := range lines {
			k := stepKey{h.Name, step}
			cut := started[k] - finished[k]
			switch {
			case !want[k]:
				t.Errorf("%s's log has %s, a step it does not run", h.Name, step)
			case n > 1+cut:
				t.Errorf("%s ran %d times on the host; journal: started %d, finished %d times", k, n, started[k], finished[k])
			}
		}
		for k := range want {
			if k.host == h.Name && loggingSteps[k.step] && lines[k.step] == 0 {
				t.Errorf("%s is journaled finished but the host never ran it", k)
			}
		}
		if _, err := os.Stat(lockPath(work, h.Name)); err == nil {
			t.Errorf("%s's lock %s is still held after the run succeeded", h.Name, lockPath(work, h.Name))
		}
	}
}
