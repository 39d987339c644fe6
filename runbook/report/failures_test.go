package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook/journal"
)

var labPhases = []string{"Back up CRI-O config", "Check versions", "Canary", "Roll out", "Fleet check"}

// The faulty lab's run (testdata/faulty.jsonl, from `runbook run
// examples/crio-upgrade.yaml -i inventories/lab-faulty.yaml --yes`) as the
// operator reads it at the end of the run, in `runbook show`, on a terminal
// of 100 columns and in a pipe: the failure's whole error and the failed
// step's stderr are below the host table.
func TestGoldenFailureView(t *testing.T) {
	recs := loadJournal(t, "faulty.jsonl")
	s := Summarize(recs)
	var brief, full bytes.Buffer
	if err := WriteText(&brief, s, TextOptions{Brief: true, Width: 100, Command: "runbook --state-dir /state"}); err != nil {
		t.Fatal(err)
	}
	if err := WriteText(&full, s, TextOptions{JournalPath: "/state/runs/" + s.RunID + "/journal.jsonl", Command: "runbook --state-dir /state"}); err != nil {
		t.Fatal(err)
	}
	var term bytes.Buffer
	tm := NewTerminal(&term, TerminalOptions{JournalPath: "/state/runs/x/journal.jsonl", Phases: labPhases, Command: "runbook --state-dir /state"})
	for _, r := range recs {
		tm.Record(r)
	}
	tm.Close()
	golden(t, "faulty.brief.golden", brief.Bytes())
	golden(t, "faulty.text.golden", full.Bytes())
	golden(t, "faulty.terminal.golden", term.Bytes())
	for name, out := range map[string]string{"brief": brief.String(), "show": full.String(), "terminal": term.String()} {
		_, failures, ok := strings.Cut(out, "\nFailures\n")
		if !ok {
			t.Errorf("%s: no failure view", name)
			continue
		}
		for _, want := range []string{
			`worker-3  rolled_back  "restart crio" (steps/9, Roll out, batch 2) failed, rc=1`,
			"failed to initialize storage: mount", // the root cause, in the error's journal lines
			"lab fault",
			"  stderr (2 lines):",
			`See "systemctl status crio.service" and "journalctl -xeu crio.service" for`,
		} {
			if !strings.Contains(failures, want) {
				t.Errorf("%s: the failure view lacks %q:\n%s", name, want, failures)
			}
		}
	}
	if !strings.Contains(full.String(), "(lab fault crio_start_fails)") {
		t.Errorf("show does not print the error's lines whole:\n%s", full.String())
	}
	if !strings.Contains(term.String(), "▸ Rollback of worker-3 (in Roll out, batch 2, phase 4/5)") || strings.Contains(term.String(), "phase 0/") {
		t.Errorf("the rollback's header is not numbered after its batch:\n%s", term.String())
	}
	for _, line := range strings.Split(brief.String(), "\n") {
		if len([]rune(line)) > 100 && !strings.HasPrefix(line, "  ") && !strings.Contains(line, "──") && !strings.HasPrefix(line, "worker-") && !strings.HasPrefix(line, "HOST") {
			t.Errorf("line wider than the terminal's 100 columns: %q", line)
		}
	}
}

// An unreachable host's error is shown with one "unreachable", not the
// transport's "HOST: unreachable: " before it again, and with the time its
// connect took.
func TestUnreachableShownOnce(t *testing.T) {
	conn := finished("n8", "connect", "connect", 1, journal.StatusUnreachable, true)
	conn.StepID, conn.Index, conn.RC, conn.DurationMS = "connect", 0, nil, 15200
	conn.Error = "n8: unreachable: connecting to 127.0.9.1:22: dial tcp 127.0.9.1:22: i/o timeout"
	connStart := started("n8", "connect", "connect", 1)
	connStart.Index = 0
	recs := newRecords().add(runStart("n8"), connStart, conn,
		journal.Record{Type: journal.HostFinished, Host: "n8", Outcome: journal.OutcomeUnreachable, Phase: "Roll out", FailedStep: "connect", Error: conn.Error},
		journal.Record{Type: journal.RunFinished, Status: journal.RunStatusFailed}).list
	var term bytes.Buffer
	tm := NewTerminal(&term, TerminalOptions{})
	for _, r := range recs {
		tm.Record(r)
	}
	tm.Close()
	out := term.String()
	for _, want := range []string{
		"n8        connect  unreachable  15.2s  connecting to 127.0.9.1:22: dial tcp 127.0.9.1:22: i/o timeout\n",
		"n8        ⇒ unreachable  connect: connecting to 127.0.9.1:22",
		"n8  unreachable  at connect (Roll out, batch 1)\n    connecting to 127.0.9.1:22: dial tcp 127.0.9.1:22: i/o timeout\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "n8: unreachable: "); n != 0 {
		t.Errorf("the transport's prefix shown %d times:\n%s", n, out)
	}
}

// A failed comparison exits 0: its line shows the diff's first lines, not
// "rc=0".
func TestFailedCompareShowsItsDiff(t *testing.T) {
	cmp := finished("worker-1", "3.verify.1", "no pod was recreated", 1, journal.StatusFailed, true)
	cmp.RC, cmp.Kind = intp(0), "compare"
	diff := []string{"--- snapshot sandboxes", "+++ now", "@@ -1,3 +1,3 @@", "-default/api-1 aaa", "-default/cache-2 bbb",
		"-default/web-3 ccc", "+default/api-1 ddd", "+default/cache-2 eee", "+default/web-3 fff"}
	cmp.Error = "compare sandboxes: the output changed: default/api-1, default/cache-2, default/web-3\n" + strings.Join(diff, "\n")
	var out bytes.Buffer
	tm := NewTerminal(&out, TerminalOptions{})
	for _, r := range newRecords().add(runStart("worker-1"), started("worker-1", "3.verify.1", "no pod was recreated", 1), cmp).list {
		tm.Record(r)
	}
	tm.Close()
	got := out.String()
	if strings.Contains(got, "rc=0") {
		t.Errorf("a failed compare shows rc=0:\n%s", got)
	}
	want := "worker-1  verify/1 no pod was recreated  failed  0.5s  compare sandboxes: the output changed: default/api-1, default/cache-2, default/web-3\n" +
		"            --- snapshot sandboxes\n            +++ now\n            @@ -1,3 +1,3 @@\n            -default/api-1 aaa\n" +
		"            -default/cache-2 bbb\n            -default/web-3 ccc\n            +default/api-1 ddd\n            +default/cache-2 eee\n" +
		"            … 1 more lines\n"
	if !strings.Contains(got, want) {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}

// `runbook show RUN_ID --host worker-3` of the faulty lab's run: every step
// with its command and whole output, then why it failed.
func TestGoldenHostView(t *testing.T) {
	s := Summarize(loadJournal(t, "faulty.jsonl"))
	var out bytes.Buffer
	if err := WriteHostText(&out, s, "worker-3", TextOptions{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "faulty.host.golden", out.Bytes())
	for _, want := range []string{
		"steps/9 restart crio  failed  Roll out, batch 2  rc=1",
		"    $ systemctl restart -- crio\n",
		"  stderr:\n    Job for crio.service failed because the control process exited with error code.\n",
		"rollback/6 install cri-o 1.29.9-1.1  changed  Rollback, batch 2",
		"\nFailure\nworker-3  rolled_back",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("worker-3's view lacks %q", want)
		}
	}
	if err := WriteHostText(&out, s, "worker-9", TextOptions{}); err == nil || !strings.Contains(err.Error(), "its hosts: worker-1, worker-2") {
		t.Errorf("an unknown host: %v", err)
	}
}

// A terminal given the run's summary (the CLI's session keeps one for the
// reports) prints what one keeping its own compact copies prints, on a TTY
// and without, for every fixture.
func TestTerminalWithSharedSummary(t *testing.T) {
	for _, name := range []string{"success", "faulty", "journal", "crash"} {
		recs := loadJournal(t, name+".jsonl")
		for _, tty := range []bool{false, true} {
			render := func(opts TerminalOptions) string {
				var out bytes.Buffer
				opts.JournalPath, opts.Phases, opts.Command, opts.TTY, opts.Width = "/state/runs/x/journal.jsonl", labPhases, "runbook --state-dir /state", tty, 100
				tm := NewTerminal(&out, opts)
				tm.now = func() time.Time { return recs[len(recs)-1].Time }
				for _, r := range recs {
					tm.Record(r)
				}
				tm.Close()
				return out.String()
			}
			own := render(TerminalOptions{})
			var asked string
			shared := render(TerminalOptions{Summary: func(path string) (*Summary, error) {
				asked = path
				return Summarize(recs), nil
			}})
			if finished := recs[len(recs)-1].Type == journal.RunFinished; finished && asked != "/state/runs/x/journal.jsonl" || !finished && asked != "" {
				t.Errorf("%s: summary asked of %q", name, asked)
			}
			if own != shared {
				t.Errorf("%s, tty %v: with the shared summary the terminal prints\n%s\nwithout it\n%s", name, tty, shared, own)
			}
		}
	}
}
