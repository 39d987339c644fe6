package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/runbookhq/runbook/runbook/journal"
)

// failureTail is how many of the last lines of a failed step's output the
// failure view shows.
const failureTail = 20

// FailedStep returns the execution that failed on h: its last failed or
// unreachable step outside the rollback, nil when there is none (a host
// that never ran a step, or one cut off).
func FailedStep(h *HostSummary) *StepSummary {
	var found *StepSummary
	for i := range h.Steps {
		st := &h.Steps[i]
		if !st.IsRollback() && failedStatus(st.Status) {
			if found == nil || h.FailedStep == "" || st.Step == h.FailedStep {
				found = st
			}
		}
	}
	return found
}

// failedRollbackStep returns the rollback step that failed on h, nil when
// none did.
func failedRollbackStep(h *HostSummary) *StepSummary {
	for i := len(h.Steps) - 1; i >= 0; i-- {
		if st := &h.Steps[i]; st.IsRollback() && failedStatus(st.Status) {
			return st
		}
	}
	return nil
}

func failedStatus(status string) bool {
	return status == journal.StatusFailed || status == journal.StatusUnreachable
}

// failedOutcome reports whether a host's outcome says something went wrong
// on it: the hosts the failure view explains.
func failedOutcome(outcome string) bool {
	switch outcome {
	case journal.OutcomeFailed, journal.OutcomeRolledBack, journal.OutcomeRollbackFailed, journal.OutcomeUnreachable:
		return true
	}
	return false
}

// explainedOutcome reports whether the failure view explains a host: one
// that failed, and one whose failure a rescue made up for (never hidden).
func explainedOutcome(outcome string) bool {
	return failedOutcome(outcome) || outcome == journal.OutcomeRescued
}

// DisplayError is a host's error as an operator reads it: without the
// "HOST: " and "unreachable: " that the transport's layers put before it
// (the view names the host and its outcome already).
func DisplayError(host, err string) string {
	for {
		rest := strings.TrimPrefix(err, "connect: ")
		rest = strings.TrimPrefix(rest, host+": ")
		rest = strings.TrimPrefix(rest, "unreachable: ")
		if rest == err {
			return err
		}
		err = rest
	}
}

// headLines returns the first n lines of s and how many lines s has.
func headLines(s string, n int) (string, int) {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	total := len(lines)
	if total > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n"), total
}

// tailLines returns the last n lines of s and how many lines s has.
func tailLines(s string, n int) (string, int) {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	total := len(lines)
	if total > n {
		lines = lines[total-n:]
	}
	return strings.Join(lines, "\n"), total
}

// writeFailures writes, for every host that failed, was rolled back or was
// unreachable, why: the whole error, wrapped to width, and the last lines
// of the failed step's stderr (its stdout when stderr is empty). At most
// max hosts are explained when max is above zero. Lines are wrapped to
// width when it is above zero.
func writeFailures(w io.Writer, st *styles, s *Summary, width, max int, command string) {
	var hosts []*HostSummary
	for i := range s.Hosts {
		if explainedOutcome(s.Hosts[i].Outcome) {
			hosts = append(hosts, &s.Hosts[i])
		}
	}
	if len(hosts) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, st.render(st.bold, "Failures"))
	for i, h := range hosts {
		if max > 0 && i == max {
			fmt.Fprintf(w, "… and %d more hosts (`%s show %s` explains them all)\n", len(hosts)-max, command, s.RunID)
			break
		}
		writeHostFailure(w, st, h, width)
	}
	fmt.Fprintln(w)
}

func writeHostFailure(w io.Writer, st *styles, h *HostSummary, width int) {
	failed := FailedStep(h)
	head := st.render(st.bold, sanitize(h.Name)) + "  " + st.render(st.of(h.Outcome), h.Outcome)
	if failed != nil {
		head += "  " + sanitize(stepPlace(failed))
		if failed.StepID != "connect" {
			head += " " + failed.Status
		}
		if failed.RC != nil && *failed.RC != 0 {
			head += fmt.Sprintf(", rc=%d", *failed.RC)
		}
		if failed.Rescued {
			head += ", rescued: its block's rescue steps made up for it and the host carried on"
		}
	} else if h.FailedStep != "" {
		head += fmt.Sprintf("  %q failed", sanitize(h.FailedStep))
	}
	fmt.Fprintln(w, head)
	errText := h.Error
	if errText == "" && failed != nil {
		errText = failed.Error
	}
	if errText != "" {
		writeWrapped(w, DisplayError(h.Name, errText), "    ", width)
	}
	if failed != nil {
		writeOutputTail(w, st, failed, width)
	}
	if rb := failedRollbackStep(h); rb != nil {
		fmt.Fprintf(w, "  %s %s\n", st.render(st.warn, "rollback:"), sanitize(stepPlace(rb))+" "+rb.Status)
		writeOutputTail(w, st, rb, width)
	}
}

// stepPlace names a step execution for a person: `"restart crio"
// (steps/9, Roll out, batch 2)`.
func stepPlace(st *StepSummary) string {
	if st.StepID == "connect" {
		return fmt.Sprintf("at connect (%s)", st.PhaseLabel())
	}
	return fmt.Sprintf("%q (%s, %s)", st.Step, st.Label(), st.PhaseLabel())
}

// writeOutputTail writes the last lines of st's stderr, or of its stdout
// when its stderr is empty.
func writeOutputTail(w io.Writer, st *styles, step *StepSummary, width int) {
	name, out := "stderr", step.Stderr
	if strings.TrimSpace(out) == "" {
		name, out = "stdout", step.Stdout
	}
	if strings.TrimSpace(out) == "" {
		return
	}
	tail, total := tailLines(out, failureTail)
	label := fmt.Sprintf("%s (%s):", name, plural(total, "line"))
	if total > failureTail {
		label = fmt.Sprintf("%s, last %d of %d lines:", name, failureTail, total)
	}
	fmt.Fprintf(w, "  %s\n", st.render(st.dim, label))
	writeWrapped(w, tail, "    ", width)
}

// writeWrapped writes text, cleaned of control characters, indented, each
// line wrapped at spaces to width (a word longer than a line is cut); a
// width of 0 or less leaves lines whole.
func writeWrapped(w io.Writer, text, indent string, width int) {
	limit := width - len(indent)
	for _, line := range strings.Split(strings.TrimRight(cleanText(text), "\n"), "\n") {
		if width <= 0 {
			fmt.Fprintln(w, strings.TrimRight(indent+line, " "))
			continue
		}
		for _, part := range wrapLine(line, max(limit, 20)) {
			fmt.Fprintln(w, strings.TrimRight(indent+part, " "))
		}
	}
}

// wrapLine breaks line at spaces into lines of at most limit columns,
// keeping its leading indentation on the first; a word longer than a line
// is cut.
func wrapLine(line string, limit int) []string {
	lead := min(len(line)-len(strings.TrimLeft(line, " ")), limit/2)
	var out []string
	cur, width, empty := line[:lead], lead, true // empty: no word on cur yet
	for _, word := range strings.Fields(line) {
		for ansi.StringWidth(word) > limit {
			if !empty {
				out = append(out, cur)
			}
			head := ansi.Truncate(word, limit, "")
			out = append(out, head)
			word = word[len(head):]
			cur, width, empty = "", 0, true
		}
		if word == "" {
			continue
		}
		ww := ansi.StringWidth(word)
		switch {
		case !empty && width+1+ww > limit:
			out = append(out, cur)
			cur, width = "", 0
		case !empty:
			cur += " "
			width++
		case width+ww > limit:
			cur, width = "", 0
		}
		cur += word
		width += ww
		empty = false
	}
	return append(out, cur)
}
