package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/runbookhq/runbook/runbook/journal"
	"github.com/runbookhq/runbook/runbook/report"
)

// The end-of-run reports take the summary of the records the session
// showed when they are the whole journal; when the run's output outgrew
// what the session keeps, or records are missing, they read the journal
// back instead, and both ways give the journal's summary.
func TestReportSummaryFromMemoryOrJournal(t *testing.T) {
	write := func(t *testing.T, s *session, out string, skip int64) string {
		path := filepath.Join(t.TempDir(), "journal.jsonl")
		w, err := journal.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []journal.Record{{Type: journal.RunStarted, RunID: "r"}, {Type: journal.StepFinished, Host: "h", Stdout: out},
			{Type: journal.StepFinished, Host: "h", Stdout: "bad \xff utf-8"}, {Type: journal.RunFinished, Status: "succeeded"}} {
			r, err := w.Append(r)
			if err != nil {
				t.Fatal(err)
			}
			if r.Seq != skip {
				s.observe(r)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, c := range []struct {
		name       string
		out        string
		skip       int64
		fromMemory bool
	}{
		{"kept", "small", 0, true},
		{"outgrown", strings.Repeat("x", 2048), 0, false},
		{"a record missing", "small", 2, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func(n int) { keptOutputLimit = n }(keptOutputLimit)
			keptOutputLimit = 1024
			s := &session{}
			path := write(t, s, c.out, c.skip)
			log, err := journal.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if c.fromMemory {
				// The summary must come from memory: the journal is gone.
				os.Remove(path)
			}
			got, err := s.kept.summary(path)
			if err != nil {
				t.Fatal(err)
			}
			if want := report.Summarize(log.Records); !reflect.DeepEqual(got, want) {
				t.Fatalf("the summary differs from the journal's:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}
