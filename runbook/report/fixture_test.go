package report

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/runbookhq/runbook/runbook/journal"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// loadJournal reads a fixture journal through the journal package, as
// `runbook show` does.
func loadJournal(t *testing.T, name string) []journal.Record {
	t.Helper()
	log, err := journal.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return log.Records
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the output (-update rewrites it)\n--- got:\n%s", path, got)
	}
}
