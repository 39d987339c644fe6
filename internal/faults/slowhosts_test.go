package faults

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook/journal"
)

// slowDelay is how much the lab's slow fault delays every command of a
// slow host: its last step cannot finish before 4 × slowDelay (connect
// with lock and facts, then three steps), some thirty times what a fast
// host needs for all of its work on an idle machine, so that the order
// below holds on a loaded one too.
const slowDelay = "2s"

const slowRunbook = `runbook: slow-third
targets: fleet
concurrency: 200
phases:
  - name: Roll out
    kind: batch
    serial: ["100%"]
    steps:
      - shell: echo one
      - shell: echo two
      - shell: echo three
`

// TestSlowThirdDoesNotHoldUpTheRest runs 200 lab hosts in one batch, every
// third of them answering each command 2 s late (lab fault slow). The
// fast hosts must not wait for the slow ones: every fast host finishes its
// last step, is journaled upgraded and has its lock released before any
// slow host finishes its last step. Order comes from the journal's
// sequence numbers, not from clocks.
func TestSlowThirdDoesNotHoldUpTheRest(t *testing.T) {
	const n = 200
	var inv strings.Builder
	inv.WriteString("all:\n  children:\n    fleet:\n      hosts:\n")
	slow := map[string]bool{}
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("n%03d", i)
		if i%3 == 0 {
			slow[name] = true
			fmt.Fprintf(&inv, "        %s: {transport: lab, lab_faults: {slow: %s}}\n", name, slowDelay)
		} else {
			fmt.Fprintf(&inv, "        %s: {transport: lab}\n", name)
		}
	}
	invPath := writeFile(t, "inventory.yaml", inv.String())
	rb := writeFile(t, "rb.yaml", slowRunbook)
	c := newCLI(t, fastStateDir(t), "")
	res := c.run("run", rb, "-i", invPath, "--yes")
	if res.code != 0 {
		t.Fatalf("run:\n%s", res)
	}
	_, path := onlyRun(t, c.state)
	log := readJournal(t, path)
	status, out := outcomes(log)
	if status != journal.RunStatusSucceeded || len(out) != n {
		t.Fatalf("status %s, %d outcomes", status, len(out))
	}

	// The last moment (journal seq) a fast host did each thing, and the
	// first moment a slow host finished its last step.
	var fastLastStep, fastLastFinished, fastLastReleased, slowFirstLast int64
	var fastDone, slowLast time.Time
	var slowLastBeforeFast []string
	for _, r := range log.Records {
		switch {
		case slow[r.Host] && r.Type == journal.StepFinished && r.StepID == "1.steps.2":
			if slowFirstLast == 0 {
				slowFirstLast, slowLast = r.Seq, r.Time
			}
		case slow[r.Host] || r.Host == "":
		case r.Type == journal.StepFinished && r.StepID == "1.steps.2":
			fastLastStep = r.Seq
		case r.Type == journal.HostFinished:
			fastLastFinished = r.Seq
		case r.Type == journal.LockReleased:
			fastLastReleased, fastDone = r.Seq, r.Time
		}
	}
	for _, r := range log.Records {
		if slow[r.Host] && r.Type == journal.StepFinished && r.StepID == "1.steps.2" && r.Seq < fastLastStep {
			slowLastBeforeFast = append(slowLastBeforeFast, r.Host)
		}
	}
	if slowFirstLast == 0 || fastLastStep == 0 || fastLastFinished == 0 || fastLastReleased == 0 {
		t.Fatalf("the journal lacks records: %d %d %d %d", slowFirstLast, fastLastStep, fastLastFinished, fastLastReleased)
	}
	if len(slowLastBeforeFast) > 0 {
		t.Errorf("%d slow hosts finished their last step before the last fast host finished its last one: %v",
			len(slowLastBeforeFast), slowLastBeforeFast)
	}
	if fastLastFinished > slowFirstLast || fastLastReleased > slowFirstLast {
		t.Errorf("fast hosts waited for slow ones: last fast host_finished at seq %d, last fast lock_released at seq %d, "+
			"but a slow host finished its last step at seq %d", fastLastFinished, fastLastReleased, slowFirstLast)
	}
	start := log.Records[0].Time
	t.Logf("fast hosts: last step at seq %d, last host_finished %d, last lock_released %d (+%v); slow hosts: first last step at seq %d (+%v); %d records",
		fastLastStep, fastLastFinished, fastLastReleased, fastDone.Sub(start).Round(time.Millisecond),
		slowFirstLast, slowLast.Sub(start).Round(time.Millisecond), len(log.Records))
}

// fastStateDir is a state directory on /dev/shm when there is one: the
// lab creates some ninety files for each of the 200 nodes on first use,
// which a slow disk makes a matter of tens of seconds.
func fastStateDir(t *testing.T) string {
	t.Helper()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "runbook-faults-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}
