package report

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/runbookhq/runbook/runbook/journal"
)

// WriteRunReports writes report.html and junit.xml into a run's directory
// (mode 0600, each whole or absent: written to a temporary file, fsynced and
// renamed). The engine calls it when a run ends, halted or interrupted runs
// included; `runbook show` can call it again for a crashed run.
func WriteRunReports(runDir string, recs []journal.Record) error {
	s := Summarize(recs)
	var errs []error
	var html bytes.Buffer
	if err := WriteHTML(&html, s, recs); err != nil {
		errs = append(errs, err)
	} else if err := journal.WriteFileSync(filepath.Join(runDir, HTMLFile), html.Bytes()); err != nil {
		errs = append(errs, fmt.Errorf("write %s: %w", filepath.Join(runDir, HTMLFile), err))
	}
	var junit bytes.Buffer
	if err := WriteJUnit(&junit, s, recs); err != nil {
		errs = append(errs, err)
	} else if err := journal.WriteFileSync(filepath.Join(runDir, JUnitFile), junit.Bytes()); err != nil {
		errs = append(errs, fmt.Errorf("write %s: %w", filepath.Join(runDir, JUnitFile), err))
	}
	return errors.Join(errs...)
}
