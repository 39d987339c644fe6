package faults

import (
	"os"
	"strings"
	"testing"

	"github.com/runbookhq/runbook/runbook/journal"
)

// typedCrashRunbook is crashRunbook with a bool, an integer and a float
// param that its changing steps read as such: `params.n + 1` fails on the
// text "2", `not params.flag` on the text "false".
var typedCrashRunbook = strings.NewReplacer(
	"  dir: {required: true}\n",
	"  dir: {required: true}\n  n: {default: 2}\n  flag: {default: false}\n  ratio: {default: 0.5}\n",
	"      - shell: echo 3.steps.0",
	"      - when: not params.flag and params.ratio * 2 == 1.0\n        shell: test {{ params.n + 1 }} -eq 3 && echo 3.steps.0",
).Replace(crashRunbook)

// TestConcurrentResumesOfTypedRun SIGKILLs a run of a runbook with typed
// params half-way, then starts three resumes of it at once: exactly one
// holds the run and finishes it, with its params read back as typed; the
// others exit 4 naming it, touching neither the journal nor a host. Every
// step ran once.
func TestConcurrentResumesOfTypedRun(t *testing.T) {
	f := startSSHFleet(t, 4)
	rb := writeFile(t, "rb.yaml", typedCrashRunbook)
	base := runUninterrupted(t, f, rb)
	want := map[stepKey]bool{}
	for _, r := range base.Records {
		if r.Type == journal.StepFinished && r.Final {
			want[stepKey{r.Host, r.StepID}] = true
		}
	}
	work := f.workDir(t)
	state := t.TempDir()
	c := newCLI(t, state, f.home)
	p := c.start("run", rb, "-i", f.inventory(t, work), "--yes", "-e", "dir="+work)
	killAfter(p, func() string { return runJournal(state) }, len(base.Records)/2)
	if res := p.wait(); !res.killed {
		t.Fatalf("the run ended before the kill:\n%s", res)
	}
	id, path := onlyRun(t, state)
	before := len(readJournal(t, path).Records)
	procs := []*proc{c.start("resume", id, "--yes"), c.start("resume", id, "--yes"), c.start("resume", id, "--yes")}
	codes := map[int]int{}
	for _, p := range procs {
		res := p.wait()
		codes[res.code]++
		if res.code == 4 && !strings.Contains(res.stderr, "is held by process") {
			t.Errorf("a refused resume does not name the holder:\n%s", res)
		}
		if res.code != 0 && res.code != 4 {
			t.Errorf("resume:\n%s", res)
		}
	}
	if codes[0] != 1 || codes[4] != 2 {
		t.Fatalf("exit codes %v: want one resume to finish the run and two to exit 4", codes)
	}
	log := readJournal(t, path)
	if n := strings.Count(string(mustRead(t, path)), `"type":"run_resumed"`); n != 1 {
		t.Errorf("%d run_resumed records, want 1 (journal had %d records before the resumes)", n, before)
	}
	if p := log.Records[0].Params; p["n"] != 2 || p["flag"] != false || p["ratio"] != 0.5 {
		t.Errorf("journaled params %#v", p)
	}
	checkResumedRun(t, log, f, work, want)
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
