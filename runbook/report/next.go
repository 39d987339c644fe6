package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/runbookhq/runbook/runbook/journal"
)

// maxAttentionLines bounds the per-host lines of NextSteps in a large run.
const maxAttentionLines = 20

// Next is what an operator should do after a run: the hosts that need
// attention, one line each, and the commands to run.
type Next struct {
	Hosts []string // "worker-4: rolled back after "restart crio" failed: …"
	// Inspect says where to read the failed steps' output, "" when no step
	// failed.
	Inspect  string
	Commands []string // "Continue the run: runbook resume ID"
	// Warnings are what went wrong besides the hosts: a hook that failed,
	// which the run went on without.
	Warnings []string
}

// NextSteps works out what to do next from a run's summary. command is how
// to invoke runbook ("runbook" when empty).
func NextSteps(s *Summary, command string) Next {
	command = commandOr(command)
	var n Next
	retryable, attention := 0, 0
	for i := range s.Hosts {
		h := &s.Hosts[i]
		if !h.NeedsAttention() {
			continue
		}
		attention++
		switch h.Outcome {
		case journal.OutcomeFailed, journal.OutcomeRolledBack, journal.OutcomeUnreachable:
			retryable++
		}
		if len(n.Hosts) < maxAttentionLines {
			n.Hosts = append(n.Hosts, hostAdvice(h))
		}
	}
	if attention > maxAttentionLines {
		n.Hosts = append(n.Hosts, fmt.Sprintf("… and %d more hosts (`%s show %s` lists them)", attention-maxAttentionLines, command, s.RunID))
	}
	if retryable > 0 || s.Counts[journal.OutcomeRollbackFailed] > 0 {
		n.Inspect = fmt.Sprintf("Read the failed steps' output: %s show %s, or report.html in the run directory", command, s.RunID)
	}
	resume := fmt.Sprintf("%s resume %s", command, s.RunID)
	switch a := lastApproval(s); {
	case s.Status == journal.RunStatusInterrupted || s.Status == StatusIncomplete:
		n.Commands = append(n.Commands, "Continue the run: "+resume)
	case s.Status != journal.RunStatusHalted:
	case a != nil && a.Decision != "approved":
		n.Commands = append(n.Commands, fmt.Sprintf("Continue the run (the approval %q is asked again): %s", a.Prompt, resume))
		n.Commands = append(n.Commands, fmt.Sprintf("Or approve it without a prompt: %s --yes", resume))
	case haltedByLock(s):
		n.Commands = append(n.Commands, "Once the other run has released its lock, continue the run: "+resume)
	}
	// A run halted by failures (a canary, the failure budget, a backup or
	// check that failed) halts again on a plain resume: only
	// --retry-failed makes progress.
	if retryable > 0 && s.Status != journal.RunStatusSucceeded {
		n.Commands = append(n.Commands, fmt.Sprintf("Once the cause is fixed, give failed, rolled back and unreachable hosts another go: %s --retry-failed", resume))
	}
	if s.Status == journal.RunStatusSucceeded && attention == 0 {
		n.Commands = append(n.Commands, "Nothing to do: every host is upgraded or was already up to date.")
	}
	if s.DryRun {
		n.Commands = dryRunNext(s)
	}
	n.Warnings = hookWarnings(s)
	return n
}

// haltedByLock reports whether the run halted because another run holds a
// host's lock, which the run's reason says (the engine's LockHeldError).
func haltedByLock(s *Summary) bool { return strings.Contains(s.Reason, ": locked by ") }

func hostAdvice(h *HostSummary) string {
	step := ""
	if h.FailedStep != "" {
		step = fmt.Sprintf("%q", h.FailedStep)
	}
	why := ""
	if h.Error != "" {
		why = ": " + firstLine(DisplayError(h.Name, h.Error), 100)
	}
	where := ""
	if p := phaseReached(h); p != "" {
		where = " in " + p
	}
	switch h.Outcome {
	case journal.OutcomeRollbackFailed:
		return fmt.Sprintf("%s: ROLLBACK FAILED%s%s — the host may be half-changed; check it by hand (its backups are under backups/%s/ in the run directory)",
			h.Name, where, why, h.Name)
	case journal.OutcomeRolledBack:
		if step != "" {
			return fmt.Sprintf("%s: rolled back after %s failed%s%s", h.Name, step, where, why)
		}
		return fmt.Sprintf("%s: rolled back%s%s", h.Name, where, why)
	case journal.OutcomeFailed:
		return fmt.Sprintf("%s: failed at %s%s%s", h.Name, orDash(step), where, why)
	case journal.OutcomeUnreachable:
		return fmt.Sprintf("%s: unreachable%s%s — check SSH access to it", h.Name, where, why)
	case journal.OutcomeNotStarted:
		return fmt.Sprintf("%s: not started", h.Name)
	case journal.OutcomeRescued:
		return fmt.Sprintf("%s: upgraded after a block's rescue made up for %s failing%s%s — check that the host is as it should be",
			h.Name, orDash(step), where, why)
	default:
		for i := len(h.Steps) - 1; i >= 0; i-- {
			if h.Steps[i].Open() {
				return fmt.Sprintf("%s: unfinished, step %q (%s) was running when the journal ended", h.Name, h.Steps[i].Step, h.Steps[i].Phase)
			}
		}
		if h.Group == groupNotReached {
			return fmt.Sprintf("%s: not reached yet (its last phase: %s)", h.Name, orDash(h.Phase))
		}
		return fmt.Sprintf("%s: unfinished%s", h.Name, where)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func lastApproval(s *Summary) *ApprovalSummary {
	if len(s.Approvals) == 0 {
		return nil
	}
	return &s.Approvals[len(s.Approvals)-1]
}

func writeNext(w io.Writer, st *styles, s *Summary, opts TextOptions) {
	n := NextSteps(s, opts.Command)
	if len(n.Hosts) == 0 && len(n.Commands) == 0 && n.Inspect == "" && len(n.Warnings) == 0 {
		return
	}
	fmt.Fprintln(w, st.render(st.bold, "What to do next"))
	for _, h := range append(n.Hosts, n.Warnings...) {
		fmt.Fprintf(w, "  %s %s\n", st.render(st.warn, "!"), sanitize(h))
	}
	if n.Inspect != "" {
		fmt.Fprintf(w, "  - %s\n", sanitize(n.Inspect))
	}
	for _, c := range n.Commands {
		fmt.Fprintf(w, "  - %s\n", sanitize(c))
	}
}

func secs(n int64) time.Duration { return time.Duration(n) * time.Second }

// joinNonEmpty joins the non-empty parts with sep.
func joinNonEmpty(sep string, parts ...string) string {
	out := parts[:0:0]
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}
