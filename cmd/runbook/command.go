package main

import (
	"path/filepath"

	"mvdan.cc/sh/v3/syntax"

	"github.com/runbookhq/runbook/runbook/journal"
)

// commandFor is how to call runbook again in the commands a run prints
// (resume, show, the report's next steps): with the state directory in
// force when it is not the default, so that a command pasted into another
// shell finds the run.
func commandFor(state string) string {
	if def, err := journal.DefaultStateDir(); err == nil && filepath.Clean(def) == filepath.Clean(state) {
		return "runbook"
	}
	quoted, err := syntax.Quote(state, syntax.LangPOSIX)
	if err != nil {
		quoted = state // a path that POSIX shells cannot quote (a control character): shown as it is
	}
	return "runbook --state-dir " + quoted
}
