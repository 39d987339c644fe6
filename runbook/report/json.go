package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/runbookhq/runbook/runbook/journal"
)

// WriteJSON writes {"summary": …, "events": […]}: the run's summary and every
// journal record as it was written. s may be nil; it is then computed from
// recs.
func WriteJSON(w io.Writer, recs []journal.Record, s *Summary) error {
	if s == nil {
		s = Summarize(recs)
	}
	return writeJSON(w, s, func(fn func(journal.Record) error) error {
		for _, r := range recs {
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// WriteJSONFile writes the document WriteJSON writes, its events read one
// at a time from the journal at path, so that a large run's report needs
// memory for its summary s, not for every record.
func WriteJSONFile(w io.Writer, s *Summary, path string) error {
	return writeJSON(w, s, func(fn func(journal.Record) error) error {
		return journal.ReadEach(path, fn)
	})
}

// writeJSON writes the document one part at a time, each indented as
// json.Encoder with SetIndent("", "  ") indents the whole: the summary,
// then each event that each hands over.
func writeJSON(w io.Writer, s *Summary, each func(func(journal.Record) error) error) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	part := func(v any, prefix string) error {
		enc.SetIndent(prefix, "  ")
		if err := enc.Encode(v); err != nil {
			return err
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
		_, err := w.Write(buf.Bytes())
		buf.Reset()
		return err
	}
	err := func() error {
		if _, err := io.WriteString(w, "{\n  \"summary\": "); err != nil {
			return err
		}
		if err := part(s, "  "); err != nil {
			return err
		}
		if _, err := io.WriteString(w, ",\n  \"events\": ["); err != nil {
			return err
		}
		sep := "\n    "
		if err := each(func(r journal.Record) error {
			if _, err := io.WriteString(w, sep); err != nil {
				return err
			}
			sep = ",\n    "
			return part(r, "    ")
		}); err != nil {
			return err
		}
		end := "\n  ]\n}\n"
		if sep == "\n    " {
			end = "]\n}\n" // no events: []
		}
		_, err := io.WriteString(w, end)
		return err
	}()
	if err != nil {
		return fmt.Errorf("write JSON report: %w", err)
	}
	return nil
}
