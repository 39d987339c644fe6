package report

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/runbookhq/runbook/runbook/journal"
)

// TestJSONFromTheJournalFile checks that the report streamed from a journal
// file, with the summary SummarizeFile reads from it, is byte for byte the
// one made from the records in memory, and that both are what
// json.Encoder makes of the whole document, an empty run's included.
func TestJSONFromTheJournalFile(t *testing.T) {
	for _, name := range []string{"journal", "crash", "faulty"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name+".jsonl")
			recs := loadJournal(t, name+".jsonl")
			s, err := SummarizeFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if want := Summarize(recs); !reflect.DeepEqual(s, want) {
				t.Fatalf("SummarizeFile differs from Summarize:\n%+v\n%+v", s, want)
			}
			var fromFile, fromMemory bytes.Buffer
			if err := WriteJSONFile(&fromFile, s, path); err != nil {
				t.Fatal(err)
			}
			if err := WriteJSON(&fromMemory, recs, nil); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(fromFile.Bytes(), fromMemory.Bytes()) {
				t.Fatalf("streamed from the file:\n%s\nfrom memory:\n%s", fromFile.Bytes(), fromMemory.Bytes())
			}
			if want := encodeWhole(t, s, recs); !bytes.Equal(fromMemory.Bytes(), want) {
				t.Fatalf("streamed:\n%s\njson.Encoder:\n%s", fromMemory.Bytes(), want)
			}
		})
	}
	t.Run("no events", func(t *testing.T) {
		var out bytes.Buffer
		if err := WriteJSON(&out, nil, nil); err != nil {
			t.Fatal(err)
		}
		if want := encodeWhole(t, Summarize(nil), []journal.Record{}); !bytes.Equal(out.Bytes(), want) {
			t.Fatalf("got:\n%s\nwant:\n%s", out.Bytes(), want)
		}
	})
}

// encodeWhole is the document as one json.Encoder call makes it.
func encodeWhole(t *testing.T, s *Summary, recs []journal.Record) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	doc := struct {
		Summary *Summary         `json:"summary"`
		Events  []journal.Record `json:"events"`
	}{s, recs}
	if err := enc.Encode(doc); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
