package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/runbookhq/runbook/runbook/journal"
)

var fixtures = []string{"journal", "crash"}

func TestGoldenText(t *testing.T) {
	for _, name := range fixtures {
		recs := loadJournal(t, name+".jsonl")
		s := Summarize(recs)
		var full, brief bytes.Buffer
		if err := WriteText(&full, s, TextOptions{JournalPath: "/state/runs/" + s.RunID + "/journal.jsonl"}); err != nil {
			t.Fatal(err)
		}
		if err := WriteText(&brief, s, TextOptions{Brief: true, Command: "runbook --state-dir /state"}); err != nil {
			t.Fatal(err)
		}
		golden(t, name+".text.golden", full.Bytes())
		golden(t, name+".brief.golden", brief.Bytes())
		for _, out := range []string{full.String(), brief.String()} {
			if strings.ContainsRune(out, '\x1b') {
				t.Errorf("%s: escape sequence in output without colour", name)
			}
		}
	}
}

func TestGoldenJSON(t *testing.T) {
	for _, name := range fixtures {
		recs := loadJournal(t, name+".jsonl")
		var out bytes.Buffer
		if err := WriteJSON(&out, recs, nil); err != nil {
			t.Fatal(err)
		}
		golden(t, name+".json.golden", out.Bytes())

		var doc struct {
			Summary Summary          `json:"summary"`
			Events  []journal.Record `json:"events"`
		}
		if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
			t.Fatalf("%s: the JSON report does not parse: %v", name, err)
		}
		if len(doc.Events) != len(recs) || doc.Events[len(recs)-1].Seq != recs[len(recs)-1].Seq {
			t.Errorf("%s: %d events, want %d", name, len(doc.Events), len(recs))
		}
		if doc.Summary.RunID != recs[0].RunID || len(doc.Summary.Hosts) != 6 {
			t.Errorf("%s: summary %+v", name, doc.Summary)
		}
	}
}

func TestGoldenJUnit(t *testing.T) {
	for _, name := range fixtures {
		recs := loadJournal(t, name+".jsonl")
		var out bytes.Buffer
		if err := WriteJUnit(&out, Summarize(recs), recs); err != nil {
			t.Fatal(err)
		}
		golden(t, name+".junit.golden", out.Bytes())
	}
}

// TestTerminalGolden replays the fixture record by record through a non-TTY
// terminal, as the engine does during a run.
func TestTerminalGolden(t *testing.T) {
	for _, name := range fixtures {
		var out bytes.Buffer
		term := NewTerminal(&out, TerminalOptions{JournalPath: "/state/runs/x/journal.jsonl",
			Phases: []string{"Back up CRI-O config", "Check versions", "Canary", "Roll out", "Fleet check"}})
		for _, r := range loadJournal(t, name+".jsonl") {
			term.Record(r)
		}
		term.Close()
		golden(t, name+".terminal.golden", out.Bytes())
		if strings.ContainsRune(out.String(), '\x1b') {
			t.Errorf("%s: escape sequence in non-TTY output without colour", name)
		}
	}
}
