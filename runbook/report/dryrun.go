package report

// What dry runs (run --check), diffs (run --diff) and run hooks add to the
// reports: each report says a dry run is one, a change a dry run predicted
// reads "would change", a step a dry run skipped says why, each file diff
// is shown as the journal keeps it (redacted), and the hooks' steps are
// listed on their own, apart from the hosts.

import (
	"fmt"
	"io"
	"strings"

	"github.com/runbookhq/runbook/runbook/journal"
)

// DryRunNote is what every report says of a dry run.
const DryRunNote = `dry run (run --check): nothing was changed or locked; "would change" is a prediction`

// hookPhaseKind is the phase_kind of the records of a hook's steps.
const hookPhaseKind = "hook"

// WouldChange is how a change a dry run predicted reads.
const WouldChange = "would change"

// statusWord is how a step's status reads: WouldChange for a change a dry
// run predicted.
func statusWord(status string, dryRun bool) string {
	if dryRun && status == journal.StatusChanged {
		return WouldChange
	}
	return status
}

// takeHooks moves the steps of hooks, which run on the controller and have
// no host, out of the hosts into s.Hooks.
func (b *builder) takeHooks() {
	h, ok := b.hosts[""]
	if !ok {
		return
	}
	delete(b.hosts, "")
	for i := range h.sum.Steps {
		st := &h.sum.Steps[i]
		if n := len(st.Attempts); st.Open() && n > 0 && b.s.Finished {
			st.Status, st.Ended = st.Attempts[n-1].Status, st.Attempts[n-1].Ended
		}
		finishStep(st)
	}
	b.s.Hooks = h.sum.Steps
}

// HookLabel names a hook step: "on_start/1 notify".
func (s StepSummary) HookLabel() string { return s.Label() + " " + s.Step }

// writeDiff writes a diff indented by prefix, its added and removed lines
// coloured.
func writeDiff(w io.Writer, st *styles, prefix, diff string) {
	for _, line := range strings.Split(strings.TrimRight(diff, "\n"), "\n") {
		style := st.plain
		switch {
		case strings.HasPrefix(line, "+++ "), strings.HasPrefix(line, "--- "):
			style = st.bold
		case strings.HasPrefix(line, "+"):
			style = st.of(journal.StatusOK)
		case strings.HasPrefix(line, "-"):
			style = st.of(journal.StatusFailed)
		case strings.HasPrefix(line, "@@"), strings.HasPrefix(line, "#"):
			style = st.dim
		}
		fmt.Fprintf(w, "%s%s\n", prefix, st.render(style, sanitize(line)))
	}
}

// writeDiffs is show's Diffs section: every step's diff, host by host.
func writeDiffs(w io.Writer, st *styles, s *Summary) {
	first := true
	for _, h := range s.Hosts {
		for _, sp := range h.Steps {
			if sp.Diff == "" {
				continue
			}
			if first {
				fmt.Fprintln(w, st.render(st.bold, "Diffs"))
				first = false
			}
			fmt.Fprintf(w, "  %s  %s  %s\n", st.render(st.bold, sanitize(h.Name)), sanitize(sp.Label()+" "+sp.Step),
				st.render(st.of(sp.Status), statusWord(sp.Status, sp.DryRun)))
			writeDiff(w, st, "    ", sp.Diff)
		}
	}
	if !first {
		fmt.Fprintln(w)
	}
}

// writeHooks is show's Hooks section: each hook step and how it went.
func writeHooks(w io.Writer, st *styles, s *Summary) {
	if len(s.Hooks) == 0 {
		return
	}
	fmt.Fprintln(w, st.render(st.bold, "Hooks"))
	for _, sp := range s.Hooks {
		line := fmt.Sprintf("  %s  %s  %s", formatClock(sp.Started), sanitize(sp.HookLabel()),
			st.render(st.of(sp.Status), statusWord(sp.Status, sp.DryRun)))
		if why := firstLine(joinNonEmpty(": ", sp.Error, sp.Reason), 100); why != "" {
			line += "  " + sanitize(why)
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintln(w)
}

// hookWarnings are what NextSteps says of the hooks that failed: the run
// went on without what they were to do (a notification, a ticket).
func hookWarnings(s *Summary) []string {
	var out []string
	for _, sp := range s.Hooks {
		if failedStatus(sp.Status) {
			out = append(out, fmt.Sprintf("hook %s failed and the run went on without it: %s", sp.HookLabel(), firstLine(sp.Error, 100)))
		}
	}
	return out
}

// writeDryRunLine says, under a run's start or resume, that it is a dry
// run.
func writeDryRunLine(w io.Writer, st *styles, r journal.Record) {
	if r.DryRun {
		fmt.Fprintf(w, "%s  %s\n", st.render(st.warn, "DRY RUN"), DryRunNote)
	}
}

// diffBlock is a finished step's diff as the lines under its host's
// outcome on a TTY show it.
func (t *Terminal) diffBlock(r journal.Record) []string {
	if !r.Final || r.Diff == "" {
		return nil
	}
	var b strings.Builder
	writeDiff(&b, t.st, "      ", r.Diff)
	return strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
}

// statusText is a step record's status word, styled.
func (t *Terminal) statusText(r journal.Record) string {
	if w := statusWord(r.Status, r.DryRun); w != r.Status {
		return t.st.render(t.st.of(r.Status), w)
	}
	return t.st.word(r.Status)
}

// stepHost is the host column of a step record: "hook" for a hook's
// steps, which run on the controller.
func stepHost(r journal.Record) string {
	if r.PhaseKind == hookPhaseKind && r.Host == "" {
		return "hook"
	}
	return r.Host
}

// dryRunNext is what to do after a dry run: nothing changed, so the next
// step is the run itself (the hosts that would fail are listed apart).
func dryRunNext(s *Summary) []string {
	what := "Nothing changed: this was a dry run."
	if s.Status != journal.RunStatusSucceeded {
		what = fmt.Sprintf("Nothing changed: this was a dry run, and a run would stop as it did (%s).", s.Status)
	}
	return []string{what, "To apply the change, run the same command without --check."}
}
