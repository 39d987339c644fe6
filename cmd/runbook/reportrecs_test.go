package main

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook/journal"
)

// The end-of-run reports take the records the session showed when they
// are the whole journal; when the run's output outgrew what the session
// keeps, or records are missing, they read the journal back instead, and
// both ways give the same records.
func TestReportRecordsFromMemoryOrJournal(t *testing.T) {
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
		name   string
		out    string
		skip   int64
		memory bool
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
			got, err := s.journalRecords(path)
			if err != nil {
				t.Fatal(err)
			}
			log, err := journal.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if !got[i].Time.Equal(log.Records[i].Time) {
					t.Fatalf("record %d: time %v, want %v", i, got[i].Time, log.Records[i].Time)
				}
				got[i].Time = time.Time{}
				log.Records[i].Time = time.Time{}
			}
			if !reflect.DeepEqual(got, log.Records) {
				t.Fatalf("records differ from the journal's:\n got %+v\nwant %+v", got, log.Records)
			}
			if kept := !s.recsGone && c.skip == 0; kept != c.memory {
				t.Errorf("records kept in memory: %v, want %v", kept, c.memory)
			}
		})
	}
}
