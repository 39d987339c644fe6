package faults

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/runbookhq/runbook/runbook/journal"
)

// diskFullRunbook: every host step appends its id to the host's log. The
// step "fill" runs on the controller (local) for host1, in the phase that
// params.fill_in names, and prints 120 kB: its step_finished record is too
// big for what is left of the state directory's disk.
const diskFullRunbook = `runbook: disk-full
targets: fleet
concurrency: 1
params:
  dir: {required: true}
  fill_in: {required: true}
phases:
  - name: Check
    kind: check
    steps:
      - shell: echo 1.steps.0 >> {{ quote(params.dir) }}/{{ host.name }}.log
      - name: fill
        local: true
        when: params.fill_in == "check" && host.name == "host1"
        shell: &fill head -c 60000 /dev/zero | tr '\0' x; echo; head -c 60000 /dev/zero | tr '\0' y >&2
  - name: Canary
    kind: canary
    hosts: 1
    steps:
      - shell: echo 2.steps.0 >> {{ quote(params.dir) }}/{{ host.name }}.log
      - name: fill
        local: true
        when: params.fill_in == "canary"
        shell: *fill
      - shell: echo 2.steps.2 >> {{ quote(params.dir) }}/{{ host.name }}.log
  - name: Roll out
    kind: batch
    serial: [2]
    steps:
      - shell: echo 3.steps.0 >> {{ quote(params.dir) }}/{{ host.name }}.log
`

// fullDisk is a way of making the state directory's disk full.
type fullDisk struct {
	name  string
	cause string // what the error must say
	// runAndResume runs `runbook run ARGS...` against a state directory
	// that cannot take the journal's growth and calls ran with its result,
	// the state directory as the run saw it and the journal it left. Then,
	// with room again, it runs `runbook resume RUN_ID --yes` and returns
	// its result and the journal.
	runAndResume func(t *testing.T, c *cli, args []string, ran func(run result, state string, log *journal.Log)) (result, *journal.Log)
}

// TestFullDiskStopsTheRun fills the state directory's disk while the run
// is under way (a tmpfs too small, in a private mount namespace: ENOSPC;
// and RLIMIT_FSIZE: EFBIG, which needs no privilege), once in the check
// phase and once in the canary. The journal write fails, and the run stops
// before its next action: exit 1, an error naming the journal and the
// cause, no step started after the failed write, no host connected to or
// locked afterwards. With room again, resume completes the run, each host
// step run once.
func TestFullDiskStopsTheRun(t *testing.T) {
	f := startSSHFleet(t, 3)
	rb := writeFile(t, "rb.yaml", diskFullRunbook)
	for _, disk := range []fullDisk{
		{"tmpfs-enospc", "no space left on device", tmpfsRunAndResume},
		{"rlimit-efbig", "file too large", rlimitRunAndResume},
	} {
		for _, fillIn := range []string{"check", "canary"} {
			t.Run(disk.name+"/fill-in-"+fillIn, func(t *testing.T) {
				t.Parallel()
				work := f.workDir(t)
				c := newCLI(t, "", f.home)
				args := []string{rb, "-i", f.inventory(t, work), "--yes", "-e", "dir=" + work, "-e", "fill_in=" + fillIn}
				var runLog *journal.Log
				resume, resumeLog := disk.runAndResume(t, c, args, func(run result, state string, log *journal.Log) {
					runLog = log
					checkStoppedAtFullDisk(t, disk.cause, fillIn, work, run, state, log)
				})
				if t.Failed() {
					return
				}
				// Room again: resume completes the run.
				if resume.code != 0 {
					t.Fatalf("resume after the disk has room again:\n%s", resume)
				}
				if status, _ := outcomes(resumeLog); status != journal.RunStatusSucceeded {
					t.Errorf("resumed run: %s", status)
				}
				wantLogs := map[string][]string{"host1": {"1.steps.0", "2.steps.0", "2.steps.2"},
					"host2": {"1.steps.0", "3.steps.0"}, "host3": {"1.steps.0", "3.steps.0"}}
				for h, want := range wantLogs {
					if got := hostLog(t, work, h); !slices.Equal(got, want) {
						t.Errorf("after the resume %s ran %v, want %v", h, got, want)
					}
				}
				if runLog.TornBytes > 0 {
					resumed := resumeLog.Records[len(runLog.Records)]
					if resumed.Type != journal.RunResumed || !strings.Contains(resumed.Text, "torn") {
						t.Errorf("the resume did not say it cut the torn tail: %s %q", resumed.Type, resumed.Text)
					}
				}
				t.Logf("the failed write left %d torn bytes", runLog.TornBytes)
			})
		}
	}
}

// checkStoppedAtFullDisk checks how a run stopped when its journal write
// failed, and what the hosts saw of it.
func checkStoppedAtFullDisk(t *testing.T, cause, fillIn, work string, run result, state string, log *journal.Log) {
	t.Helper()
	if run.code != 1 {
		t.Errorf("the run with a full disk: want exit 1\n%s", run)
	}
	if len(log.Records) == 0 {
		t.Fatal("the run journaled nothing")
	}
	jpath := filepath.Join(journal.RunDir(state, log.Records[0].RunID), journal.JournalFile)
	for _, want := range []string{jpath, cause, "stopped before its next action"} {
		if !strings.Contains(run.stderr, want) {
			t.Errorf("the error does not say %q:\n%s", want, run.stderr)
		}
	}
	for _, line := range strings.Split(run.stderr, "\n") {
		if strings.Contains(line, jpath) {
			t.Logf("the error: %s", line)
		}
	}
	// The journal ends with the fill step's step_started: its step_finished
	// was the write that failed (perhaps half written: a torn tail), and
	// nothing came after it.
	if last := lastRecord(log); last.Type != journal.StepStarted || last.Step != "fill" || last.Host != "host1" {
		t.Errorf("the journal ends with %s %s %s, want the fill step's step_started on host1", last.Type, last.Host, last.Step)
	}
	// What the hosts saw: nothing after the fill step.
	wantLogs := map[string][]string{"host1": {"1.steps.0"}, "host2": nil, "host3": nil}
	if fillIn == "canary" {
		wantLogs = map[string][]string{"host1": {"1.steps.0", "2.steps.0"}, "host2": {"1.steps.0"}, "host3": {"1.steps.0"}}
	}
	for h, want := range wantLogs {
		if got := hostLog(t, work, h); !slices.Equal(got, want) {
			t.Errorf("%s ran %v, want %v", h, got, want)
		}
		// A host the run reached is still locked by it (resume re-enters);
		// one it had not reached must not have been touched at all.
		_, err := os.Stat(lockPath(work, h))
		if locked := err == nil; locked != (want != nil) {
			t.Errorf("%s locked: %v, want %v", h, locked, want != nil)
		}
	}
}

// rlimitRunAndResume runs `runbook run` with RLIMIT_FSIZE at 64 KiB
// (through the test binary as launcher): the journal cannot grow past it.
// The resume runs without the limit.
func rlimitRunAndResume(t *testing.T, c *cli, args []string, ran func(result, string, *journal.Log)) (result, *journal.Log) {
	state := t.TempDir()
	c.state = state
	c.wrap, c.wrapEnv = []string{os.Args[0]}, []string{fsizeEnv + "=65536"}
	run := c.run(append([]string{"run"}, args...)...)
	c.wrap, c.wrapEnv = nil, nil
	id, path := onlyRun(t, state)
	ran(run, state, readJournal(t, path))
	if t.Failed() {
		return result{}, nil
	}
	resume := c.run("resume", id, "--yes")
	return resume, readJournal(t, path)
}
