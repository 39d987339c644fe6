package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteHostText writes one host's part in the run for a person to read
// (`runbook show RUN_ID --host NAME`): its outcome, then every step
// execution with its command, error, attempts and whole output, then why it
// failed. It says which hosts there are when the run has no such host.
func WriteHostText(w io.Writer, s *Summary, host string, opts TextOptions) error {
	s = cleanSummary(s)
	h := s.Host(host)
	if h == nil {
		names := make([]string, len(s.Hosts))
		for i := range s.Hosts {
			names[i] = s.Hosts[i].Name
		}
		return fmt.Errorf("run %s has no host %q; its hosts: %s", s.RunID, host, strings.Join(names, ", "))
	}
	bw := bufio.NewWriter(w)
	st := newStyles(w, opts.Color)
	fmt.Fprintf(bw, "%s  %s  %s  run %s\n", st.render(st.title, h.Name), st.render(st.of(outcomeOr(h.Outcome)), outcomeOr(h.Outcome)),
		h.Group, s.RunID)
	fmt.Fprintf(bw, "  phase reached %s · %s of work in %s\n", orDash(phaseReached(h)), formatDuration(h.Duration), plural(len(h.Steps), "step"))
	if h.Reason != "" {
		fmt.Fprintf(bw, "  skipped: %s\n", h.Reason)
	}
	for i := range h.Steps {
		fmt.Fprintln(bw)
		writeStepText(bw, st, &h.Steps[i], opts.Width)
	}
	if failedOutcome(h.Outcome) {
		fmt.Fprintln(bw)
		fmt.Fprintln(bw, st.render(st.bold, "Failure"))
		writeHostFailure(bw, st, h, opts.Width)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write host %s: %w", host, err)
	}
	return nil
}

// writeStepText writes one step execution with everything the journal
// holds of it.
func writeStepText(w io.Writer, st *styles, step *StepSummary, width int) {
	head := fmt.Sprintf("%s  %s  %s", st.render(st.bold, step.Title()), st.render(st.of(step.Status), statusWord(step.Status, step.DryRun)), step.PhaseLabel())
	if step.DelegateTo != "" {
		head += "  on " + step.DelegateTo
	}
	if step.RC != nil {
		head += fmt.Sprintf("  rc=%d", *step.RC)
	}
	head += "  " + formatClock(step.Started)
	if !step.Open() {
		head += "  " + formatDuration(step.Duration)
	}
	fmt.Fprintln(w, head)
	if step.Command != "" {
		writeWrapped(w, "$ "+step.Command, "    ", width)
	}
	if step.Open() {
		fmt.Fprintln(w, "    no step_finished: it was running when the journal ended")
	}
	if len(step.Attempts) > 1 {
		for _, a := range step.Attempts {
			line := fmt.Sprintf("attempt %d: %s, rc %s, %s", a.Attempt, a.Status, rcString(a.RC),
				formatDuration(time.Duration(a.DurationMS)*time.Millisecond))
			if a.Error != "" {
				line += ": " + firstLine(a.Error, 200)
			}
			fmt.Fprintf(w, "    %s\n", line)
		}
	}
	for _, part := range []struct {
		name, text string
		cut        bool
	}{{"error", step.Error, false}, {"skipped", step.Reason, false}, {"stdout", step.Stdout, step.StdoutCut}, {"stderr", step.Stderr, step.StderrCut}} {
		if strings.TrimSpace(part.text) == "" {
			continue
		}
		label := part.name + ":"
		if part.cut {
			label = part.name + " (cut at the journal's limit):"
		}
		fmt.Fprintf(w, "  %s\n", st.render(st.dim, label))
		writeWrapped(w, plainOutput(part.text), "    ", width)
	}
	if step.Diff != "" {
		fmt.Fprintf(w, "  %s\n", st.render(st.dim, "diff:"))
		writeDiff(w, st, "    ", step.Diff)
	}
}
