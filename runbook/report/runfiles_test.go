package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteRunReports(t *testing.T) {
	dir := t.TempDir()
	recs := loadJournal(t, "crash.jsonl")
	if err := WriteRunReports(dir, recs, "runbook"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{HTMLFile, JUnitFile} {
		path := filepath.Join(dir, name)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, JUnitFile))
	if err != nil {
		t.Fatal(err)
	}
	checkSchema(t, parseJUnit(t, data), "testsuites")
	page, err := os.ReadFile(filepath.Join(dir, HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(page, []byte(`class="bar st-open"`)) {
		t.Error("the crashed run's report does not mark its open steps")
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".tmp-*"))
	if len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

func TestWriteRunReportsNamesTheFailingPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	err := WriteRunReports(dir, loadJournal(t, "journal.jsonl"), "runbook")
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, HTMLFile)) || !strings.Contains(err.Error(), filepath.Join(dir, JUnitFile)) {
		t.Errorf("error %v does not name both files", err)
	}
}

func TestReportPaths(t *testing.T) {
	got := ReportPaths("/s/runs/r/journal.jsonl")
	if len(got) != 2 || got[0] != "/s/runs/r/report.html" || got[1] != "/s/runs/r/junit.xml" {
		t.Errorf("ReportPaths = %v", got)
	}
}
