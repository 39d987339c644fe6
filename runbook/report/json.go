package report

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/runbookhq/runbook/runbook/journal"
)

// jsonReport is the document WriteJSON writes.
type jsonReport struct {
	Summary *Summary         `json:"summary"`
	Events  []journal.Record `json:"events"`
}

// WriteJSON writes {"summary": …, "events": […]}: the run's summary and every
// journal record as it was written. s may be nil; it is then computed from
// recs.
func WriteJSON(w io.Writer, recs []journal.Record, s *Summary) error {
	if s == nil {
		s = Summarize(recs)
	}
	if recs == nil {
		recs = []journal.Record{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(jsonReport{Summary: s, Events: recs}); err != nil {
		return fmt.Errorf("write JSON report: %w", err)
	}
	return nil
}
