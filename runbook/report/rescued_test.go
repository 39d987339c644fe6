package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook/journal"
)

// TestRescuedFailureIsNeverHidden: a failed step that a block's rescue made
// up for stays failed and is marked rescued in the summary, the text
// report, report.html and junit.xml; the host shows rescued.
func TestRescuedFailureIsNeverHidden(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	rc := 1
	recs := []journal.Record{
		{Seq: 1, Time: t0, Type: journal.RunStarted, RunID: "20261207-100000-demo-0a0b", Runbook: "demo", Hosts: []string{"w1"}},
		{Seq: 2, Time: t0, Type: journal.PhaseStarted, Phase: "Roll out", PhaseIndex: 1, PhaseKind: "batch", Batch: 1, Hosts: []string{"w1"}},
		{Seq: 3, Time: t0, Type: journal.StepStarted, Host: "w1", StepID: "1.steps.0.block.0", Step: "drain", Index: 1, Attempt: 1, Kind: "shell", Phase: "Roll out", PhaseIndex: 1, Batch: 1},
		{Seq: 4, Time: t0.Add(time.Second), Type: journal.StepFinished, Host: "w1", StepID: "1.steps.0.block.0", Step: "drain", Index: 1, Attempt: 1, Kind: "shell",
			Status: journal.StatusFailed, RC: &rc, Stderr: "error: cannot evict pod web-1\n", Final: true, Phase: "Roll out", PhaseIndex: 1, Batch: 1},
		{Seq: 5, Time: t0.Add(time.Second), Type: journal.StepRescued, Host: "w1", StepID: "1.steps.0.block.0", Step: "drain", Phase: "Roll out", PhaseIndex: 1, Batch: 1},
		{Seq: 6, Time: t0.Add(2 * time.Second), Type: journal.HostFinished, Host: "w1", Outcome: journal.OutcomeRescued, Phase: "Roll out", PhaseIndex: 1},
		{Seq: 7, Time: t0.Add(2 * time.Second), Type: journal.RunFinished, Status: journal.RunStatusSucceeded, Counts: map[string]int{journal.OutcomeRescued: 1}},
	}
	s := Summarize(recs)
	st := s.Hosts[0].Steps[0]
	if !st.Rescued || st.Status != journal.StatusFailed || s.Hosts[0].Outcome != journal.OutcomeRescued {
		t.Fatalf("summary: step %+v outcome %s", st, s.Hosts[0].Outcome)
	}
	var text, html, junit bytes.Buffer
	WriteText(&text, s, TextOptions{})
	if err := WriteHTML(&html, s, recs, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := WriteJUnit(&junit, s, recs); err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]string{"text": text.String(), "html": html.String(), "junit": junit.String()} {
		for _, want := range []string{"rescued", "cannot evict pod web-1"} {
			if !strings.Contains(got, want) {
				t.Errorf("%s lacks %q", name, want)
			}
		}
	}
}
