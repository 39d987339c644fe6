package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/runbookhq/runbook/runbook/journal"
)

// TestLabKillSweep SIGKILLs `runbook run` of the CRI-O upgrade (the lab
// served apart, so that its nodes outlive the controller) once the journal
// holds N records, for N = FIRST, FIRST+STEP, ... (COUNT kills, four at a
// time), and resumes each: the run must end as an uninterrupted one does
// (resumeAndCheck). It sweeps two fleets: lab.yaml, where every node is
// upgraded, and lab-faulty.yaml, where worker-3 fails and is rolled back.
// Where a kill lands within a few records varies with the machine's load,
// so that a sweep reaches states no fixed kill point does (the ownerless
// lock and the lost handler were found so). Opt-in, as it takes ~15 s per
// twelve kills: RUNBOOK_KILL_SWEEP="FIRST STEP COUNT [AGAIN]"; "3 7 68"
// covers each run (some 470 and 420 records). With AGAIN, the resume is
// killed too, AGAIN records after the first kill, and resumed once more.
func TestLabKillSweep(t *testing.T) {
	spec := os.Getenv("RUNBOOK_KILL_SWEEP")
	if spec == "" {
		t.Skip(`set RUNBOOK_KILL_SWEEP="FIRST STEP COUNT [AGAIN]" to sweep kills over a run`)
	}
	var nums []int
	for _, f := range strings.Fields(spec) {
		if n, err := strconv.Atoi(f); err == nil && n > 0 {
			nums = append(nums, n)
		} else {
			nums = nil
			break
		}
	}
	if len(nums) != 3 && len(nums) != 4 {
		t.Fatalf("RUNBOOK_KILL_SWEEP=%q: want three or four positive numbers, FIRST STEP COUNT [AGAIN]", spec)
	}
	first, step, count, again := nums[0], nums[1], nums[2], 0
	if len(nums) == 4 {
		again = nums[3]
	}
	bin := sigtestBinary(t)
	rb := copyRunbook(t, "examples/crio-upgrade.yaml", "soak: 5s", "soak: 0s")
	sem := make(chan struct{}, 4)
	for _, fleet := range []struct{ name, inv, rolledBack string }{
		{"lab", slowLabInventory(t, "20ms"), ""},
		{"lab-faulty", repoFile("inventories/lab-faulty.yaml"), "worker-3"},
	} {
		t.Run(fleet.name, func(t *testing.T) {
			t.Parallel()
			for i := range count {
				n := first + i*step
				t.Run(fmt.Sprint(n), func(t *testing.T) {
					t.Parallel()
					sem <- struct{}{}
					defer func() { <-sem }()
					e := newLabEnv(t, fleet.inv)
					stop := serveLab(t, bin, e)
					defer stop()
					killed, _ := runAndKillOrFinish(t, bin, e, rb, func(recs []journal.Record) bool { return len(recs) >= n })
					if killed == nil || slices.ContainsFunc(killed, func(r journal.Record) bool { return r.Type == journal.RunFinished }) {
						t.Skipf("the run ended before its record %d", n)
					}
					if again > 0 {
						m := len(killed) + again
						if killed, _ = killWhen(t, bin, e, func(recs []journal.Record) bool { return len(recs) >= m }, "resume", e.runIDs()[0], "--yes"); killed == nil {
							t.Skipf("the resumed run ended before its record %d", m)
						}
					}
					resumeAndCheck(t, e, killed[len(killed)-1], false, fleet.rolledBack)
				})
			}
		})
	}
}
