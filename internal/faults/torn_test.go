package faults

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/runbookhq/runbook/runbook/journal"
)

// TestTornJournalTail damages the end of a journal the way a crash does —
// the last line cut in half, a partial record appended after a kill, a
// tail of NUL bytes as a power loss on ext4 leaves — and checks that
// `runbook show` and `runbook runs` still render it, and that `runbook
// resume` cuts the torn tail away, says so in its run_resumed record (and
// `show` then says so too), and completes the run without running a
// finished step again.
func TestTornJournalTail(t *testing.T) {
	f := startSSHFleet(t, 4)
	rb := writeFile(t, "rb.yaml", crashRunbook)
	want := map[stepKey]bool{}
	for _, h := range []string{"host1", "host2", "host3", "host4"} {
		want[stepKey{h, "1.steps.0"}] = true
	}
	for _, s := range []string{"2.steps.0", "2.steps.1", "2.verify.0", "2.soak-verify.0"} {
		want[stepKey{"host1", s}] = true
	}
	for _, h := range []string{"host2", "host3", "host4"} {
		for _, s := range []string{"3.steps.0", "3.steps.1", "3.verify.0"} {
			want[stepKey{h, s}] = true
		}
	}
	for _, tc := range []struct {
		name string
		// killAt kills the run after that many records; 0 lets it finish.
		killAt int
		// tear damages the journal's bytes; it returns them and how many
		// bytes at the end are torn.
		tear func(t *testing.T, data []byte) ([]byte, int)
	}{
		{"finished-run-last-line-cut-in-half", 0, func(t *testing.T, data []byte) ([]byte, int) {
			last := bytes.LastIndexByte(data[:len(data)-1], '\n') + 1
			keep := last + (len(data)-last)/2
			return data[:keep], keep - last
		}},
		{"killed-run-partial-record-appended", 20, func(t *testing.T, data []byte) ([]byte, int) {
			n := bytes.Count(data, []byte{'\n'})
			partial := fmt.Sprintf(`{"seq":%d,"time":"2026-11-27T10:00:00Z","type":"step_fini`, n+1)
			return append(data, partial...), len(partial)
		}},
		{"killed-run-nul-tail", 33, func(t *testing.T, data []byte) ([]byte, int) {
			return append(data, make([]byte, 4096)...), 4096
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			work := f.workDir(t)
			state := t.TempDir()
			c := newCLI(t, state, f.home)
			args := []string{"run", rb, "-i", f.inventory(t, work), "--yes", "-e", "dir=" + work}
			if tc.killAt == 0 {
				if res := c.run(args...); res.code != 0 {
					t.Fatalf("run:\n%s", res)
				}
			} else {
				p := c.start(args...)
				killAfter(p, func() string { return runJournal(state) }, tc.killAt)
				if res := p.wait(); !res.killed {
					t.Fatalf("the run ended before it was killed:\n%s", res)
				}
			}
			id, path := onlyRun(t, state)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			before := readJournal(t, path)
			torn, tornBytes := tc.tear(t, data)
			if err := os.WriteFile(path, torn, 0o600); err != nil {
				t.Fatal(err)
			}
			complete := len(before.Records)
			if tc.killAt == 0 {
				complete-- // the cut last line
			}
			log := readJournal(t, path)
			if int(log.TornBytes) != tornBytes || len(log.Records) != complete {
				t.Fatalf("read back: %d records and %d torn bytes, want %d and %d", len(log.Records), log.TornBytes, complete, tornBytes)
			}

			// show and runs render a torn journal.
			res := c.run("show", id)
			if res.code != 0 || !strings.Contains(res.stdout, id) || !strings.Contains(res.stdout, "host1") {
				t.Errorf("show of a torn journal:\n%s", res)
			}
			res = c.run("show", id, "--format", "json")
			if res.code != 0 || !json.Valid([]byte(res.stdout)) {
				t.Errorf("show --format json of a torn journal:\n%s", res)
			}
			if res = c.run("runs"); res.code != 0 || !strings.Contains(res.stdout, id) || strings.Contains(res.stdout, "unreadable") {
				t.Errorf("runs with a torn journal:\n%s", res)
			}

			// resume cuts the torn tail, says so, and completes the run.
			if res = c.run("resume", id, "--yes"); res.code != 0 {
				t.Fatalf("resume:\n%s", res)
			}
			log = readJournal(t, path)
			if log.TornBytes != 0 {
				t.Errorf("the journal still ends with %d torn bytes", log.TornBytes)
			}
			if len(log.Records) <= complete {
				t.Fatalf("resume wrote nothing after the %d complete records", complete)
			}
			resumed := log.Records[complete]
			wantNote := fmt.Sprintf("cut a torn last journal line (%d bytes)", tornBytes)
			if resumed.Type != journal.RunResumed || !strings.Contains(resumed.Text, wantNote) {
				t.Errorf("record after the cut: %s %q, want run_resumed saying %q", resumed.Type, resumed.Text, wantNote)
			}
			if tc.killAt == 0 {
				for _, r := range log.Records[complete:] {
					if r.Type == journal.StepStarted {
						t.Errorf("resuming a run whose every host had finished started %s on %s", r.StepID, r.Host)
					}
				}
			}
			checkResumedRun(t, log, f, work, want)
			if res = c.run("show", id); res.code != 0 || !strings.Contains(res.stdout, wantNote) {
				t.Errorf("show after the resume does not tell about the cut tail:\n%s", res)
			}
		})
	}
}
