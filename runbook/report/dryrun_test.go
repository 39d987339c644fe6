package report

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook/journal"
)

const fixtureDiff = "--- /etc/app.conf (before)\n+++ /etc/app.conf (after)\n@@ -1 +1 @@\n-port = 1\n+port = 2 <script>x</script>\n"

// dryRunJournal is a dry run (run --check --diff) of one phase on two hosts
// with hooks: a file that would change with its diff, one already right, a
// shell step skipped as it cannot predict, an on_start hook that failed
// and an on_finish hook predicted.
func dryRunJournal() []journal.Record {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var recs []journal.Record
	add := func(r journal.Record) {
		r.Seq, r.Time = int64(len(recs)+1), t0.Add(time.Duration(len(recs))*time.Second)
		recs = append(recs, r)
	}
	step := func(host, id, name, kind, status string, mod func(*journal.Record)) {
		r := journal.Record{Type: journal.StepStarted, Host: host, StepID: id, Step: name, Kind: kind, Phase: "Roll out",
			PhaseIndex: 1, PhaseKind: "batch", Batch: 1, Attempt: 1, DryRun: true}
		if host == "" {
			r.Phase, r.PhaseIndex, r.PhaseKind, r.Batch = strings.Split(id, ".")[1], 0, hookPhaseKind, 0
		}
		add(r)
		r.Type, r.Status, r.Final = journal.StepFinished, status, true
		if mod != nil {
			mod(&r)
		}
		add(r)
	}
	add(journal.Record{Type: journal.RunStarted, RunID: "20260301-100000-app-abcd", Runbook: "app", Operator: "ops",
		Hosts: []string{"web-1", "web-2"}, DryRun: true})
	step("", "hooks.on_start.0", "tell the team", "shell", journal.StatusFailed, func(r *journal.Record) {
		r.DryRun, r.Error, r.Stderr = false, "exit status 3", "no route to chat"
	})
	add(journal.Record{Type: journal.Message, Text: `warning: hook on_start failed at "tell the team": exit status 3; the run goes on`})
	add(journal.Record{Type: journal.PhaseStarted, Phase: "Roll out", PhaseIndex: 1, PhaseKind: "batch", Batch: 1, Hosts: []string{"web-1", "web-2"}})
	for _, h := range []string{"web-1", "web-2"} {
		status, diff := journal.StatusChanged, fixtureDiff
		if h == "web-2" {
			status, diff = journal.StatusOK, ""
		}
		step(h, "1.steps.0", "config", "copy", status, func(r *journal.Record) { r.Diff = diff })
		step(h, "1.steps.1", "restart", "shell", journal.StatusSkipped, func(r *journal.Record) { r.Reason = "dry run: shell cannot predict its effect" })
		add(journal.Record{Type: journal.HostFinished, Host: h, Outcome: journal.OutcomeUpgraded, Phase: "Roll out", PhaseIndex: 1, PhaseKind: "batch"})
	}
	add(journal.Record{Type: journal.PhaseFinished, Phase: "Roll out", PhaseIndex: 1, PhaseKind: "batch", Batch: 1})
	step("", "hooks.on_finish.0", "notify", "notify_webhook", journal.StatusChanged, nil)
	add(journal.Record{Type: journal.RunFinished, Status: journal.RunStatusSucceeded, Counts: map[string]int{"upgraded": 2}})
	return recs
}

func TestSummarizeDryRunAndHooks(t *testing.T) {
	s := Summarize(dryRunJournal())
	if !s.DryRun || len(s.Hosts) != 2 || s.Unfinished != 0 {
		t.Fatalf("dry run %v, %d hosts, %d unfinished; hook steps must not make a host", s.DryRun, len(s.Hosts), s.Unfinished)
	}
	if len(s.Hooks) != 2 || s.Hooks[0].Status != journal.StatusFailed || s.Hooks[1].HookLabel() != "on_finish/1 notify" {
		t.Errorf("hooks %+v", s.Hooks)
	}
	st := s.Host("web-1").Steps
	if !st[0].DryRun || st[0].Diff != fixtureDiff || st[1].Reason == "" {
		t.Errorf("web-1 steps %+v", st)
	}
}

func TestShowDryRun(t *testing.T) {
	var b bytes.Buffer
	if err := WriteText(&b, Summarize(dryRunJournal()), TextOptions{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"Status     DRY RUN SUCCEEDED",
		"Mode       " + DryRunNote,
		"steps/1 config   would change",
		"dry run: shell cannot predict its effect",
		"Diffs\n  web-1  steps/1 config  would change\n    --- /etc/app.conf (before)\n",
		"    +port = 2 <script>x</script>\n",
		"Hooks\n  10:00:01  on_start/1 tell the team  failed  exit status 3\n  10:00:",
		"on_finish/1 notify  would change",
		"Nothing changed: this was a dry run.",
		"To apply the change, run the same command without --check.",
		"What to do next\n  ! hook on_start/1 tell the team failed and the run went on without it: exit status 3\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Nothing to do") {
		t.Errorf("a dry run's show says there is nothing to do:\n%s", out)
	}
}

func TestShowHostDryRun(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHostText(&b, Summarize(dryRunJournal()), "web-1", TextOptions{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"would change  Roll out, batch 1", "  diff:\n    --- /etc/app.conf (before)\n", "    -port = 1\n",
		"  skipped:\n    dry run: shell cannot predict its effect\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("show --host lacks %q:\n%s", want, out)
		}
	}
}

func TestTerminalDryRun(t *testing.T) {
	var b syncBuffer
	term := NewTerminal(&b, TerminalOptions{})
	for _, r := range dryRunJournal() {
		term.Record(r)
	}
	term.Close()
	out := b.String()
	for _, want := range []string{
		"DRY RUN  " + DryRunNote + "\n",
		"hook      on_start/1 tell the team  failed",
		"web-1     steps/1 config  would change  0.0s\n    --- /etc/app.conf (before)\n    +++ /etc/app.conf (after)\n    @@ -1 +1 @@\n    -port = 1\n",
		"web-2     steps/1 config  ok",
		"web-1     steps/2 restart  skipped  0.0s  dry run: shell cannot predict its effect",
		"DRY RUN SUCCEEDED",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal lacks %q:\n%s", want, out)
		}
	}
}

func TestHTMLDryRun(t *testing.T) {
	recs := dryRunJournal()
	var b bytes.Buffer
	if err := WriteHTML(&b, Summarize(recs), recs, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		`<span class="badge dry">dry run</span>`,
		`<p class="banner dry">This was a <b>dry run</b>`,
		`<td>Roll out</td><td>steps/1 config</td><td><span class="badge st-changed">1</span> web-1</td><td>1</td>`,
		`<td>2 <span class="why">dry run: shell cannot predict its effect</span></td>`,
		`<span class="df-add">&#43;port = 2 &lt;script&gt;x&lt;/script&gt;</span>`,
		`<span class="df-del">-port = 1</span>`,
		`<td>on_start/1 tell the team</td><td><span class="badge st-failed">failed</span></td><td>exit status 3<pre class="stdout">no route to chat</pre>`,
		`<span class="badge st-changed">would change</span>`,
		`<li class="attn">hook on_start/1 tell the team failed and the run went on without it: exit status 3</li>`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if strings.Contains(out, "<script>x</script>") {
		t.Error("report.html holds the diff's markup unescaped")
	}
	// The host cards' step rows: a predicted change reads "would change"
	// and folds its diff; a skipped step folds why.
	rows := stepRowRe.FindAllString(out, -1)
	for _, want := range []struct{ step, status, output string }{
		{"config", `<span class="badge st-changed">would change</span>`, `<summary>diff</summary>`},
		{"config", `<span class="badge st-changed">would change</span>`, `<span class="df-del">-port = 1</span>`},
		{"restart", `<span class="badge st-skipped">skipped</span>`, `<summary>why skipped</summary>`},
		{"restart", `<span class="badge st-skipped">skipped</span>`, `<p class="why">dry run: shell cannot predict its effect</p>`},
	} {
		found := 0
		for _, row := range rows {
			if strings.Contains(row, "</span> "+want.step+"</td>") && strings.Contains(row, want.status) && strings.Contains(row, want.output) {
				found++
			}
		}
		if n := map[string]int{"config": 1, "restart": 2}[want.step]; found != n {
			t.Errorf("%d step rows of %s show %s and %s, want %d", found, want.step, want.status, want.output, n)
		}
	}
}

var stepRowRe = regexp.MustCompile(`(?s)<tr id="s\d+" class="step-row">.*?</tr>`)
