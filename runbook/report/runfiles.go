package report

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/runbookhq/runbook/runbook/journal"
)

// WriteRunReports writes report.html and junit.xml into a run's directory
// (mode 0600, each whole or absent: written to a temporary file, fsynced and
// renamed). The engine calls it when a run ends, halted or interrupted runs
// included; `runbook show` can call it again for a crashed run. command is
// how to invoke runbook in the commands report.html suggests.
func WriteRunReports(runDir string, recs []journal.Record, command string) error {
	return WriteSummaryReports(runDir, Summarize(recs), command)
}

// WriteSummaryReports writes report.html and junit.xml as WriteRunReports
// does, from a run's summary (Summarizer's, or Summarize's).
func WriteSummaryReports(runDir string, s *Summary, command string) error {
	var errs []error
	if err := journal.WriteFileSyncFunc(filepath.Join(runDir, HTMLFile), func(w io.Writer) error {
		return WriteHTML(w, s, nil, HTMLOptions{Command: command})
	}); err != nil {
		errs = append(errs, fmt.Errorf("write %s: %w", filepath.Join(runDir, HTMLFile), err))
	}
	if err := journal.WriteFileSyncFunc(filepath.Join(runDir, JUnitFile), func(w io.Writer) error {
		return WriteJUnit(w, s, nil)
	}); err != nil {
		errs = append(errs, fmt.Errorf("write %s: %w", filepath.Join(runDir, JUnitFile), err))
	}
	return errors.Join(errs...)
}
