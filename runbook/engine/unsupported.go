package engine

import (
	"fmt"

	"github.com/runbookhq/runbook/runbook"
)

// unsupported refuses what the model reads but the engine does not run yet,
// rather than run a runbook as if those keys were not there.
func unsupported(rb *runbook.Runbook) error {
	for _, ph := range rb.Phases {
		if ph.Targets != "" || ph.OrderBy != "" || ph.Order != "" || len(ph.Templates) > 0 || ph.Hosts.Pattern != "" {
			return fmt.Errorf("%s:%d:%d: %s: targets, order, order_by, host patterns and templated counts are not run by this engine yet", rb.File, ph.Node.Line, ph.Node.Column, ph)
		}
	}
	if len(rb.Handlers) > 0 || len(rb.Templates) > 0 {
		return fmt.Errorf("%s: handlers and templated counts are not run by this engine yet", rb.File)
	}
	for _, st := range rb.AllSteps() {
		if st.Loop != nil || len(st.Notify) > 0 || st.IsBlock() || len(st.Templates) > 0 {
			return fmt.Errorf("%s:%d:%d: loop, notify, block and templated counts are not run by this engine yet", st.File, st.Node.Line, st.Node.Column)
		}
	}
	return nil
}
