package report

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/runbookhq/runbook/runbook/journal"
)

// TerminalOptions configure a Terminal.
type TerminalOptions struct {
	// TTY updates per-host progress in place (ANSI cursor movement); without
	// it every line is appended, one per finished step and per host outcome.
	TTY bool
	// Color styles the output. The CLI sets it on a TTY without NO_COLOR or
	// --no-color. Without it no colour or style sequence is written at all;
	// on a TTY only the cursor movements of the live progress remain.
	Color bool
	// Width is the terminal's width in columns, used to keep live progress
	// lines from wrapping (0 means 80) and, on a TTY, to wrap the errors and
	// outputs of the summary's failure view (left whole otherwise).
	Width int
	// JournalPath is printed in the header and the summary, with the
	// reports beside it.
	JournalPath string
	// StateDir, when JournalPath is empty, locates the journal from the run
	// id of run_started (the CLI does not know the id before the run).
	StateDir string
	// Phases, when set, are the runbook's phase names, shown in the header
	// and used to number phases "3/5".
	Phases []string
	// Command is how to invoke runbook in suggested commands; "runbook"
	// when empty.
	Command string
	// Summary, when set, gives the run's summary for the end of the run
	// (the journal's path as the Terminal knows it: see StateDir), from
	// whoever keeps one already, as the CLI's session does for the
	// reports; the Terminal then summarises none of the records itself.
	// Without it the Terminal keeps a summary of compact copies of its own.
	Summary func(journalPath string) (*Summary, error)
	// MaxHosts bounds the end-of-run host table (hosts needing attention
	// first); 0 means 40.
	MaxHosts int
}

// Terminal prints a run's progress from its journal records as the engine
// appends them: a header, a line per phase and batch, per-host progress,
// waits and approvals, and the summary when the run finishes. Record is safe
// for concurrent use. Call Close when the run is over.
type Terminal struct {
	mu   sync.Mutex
	w    io.Writer
	opts TerminalOptions
	st   *styles
	now  func() time.Time

	sum       *Summarizer // of compact copies, for the summary at the end; nil with opts.Summary
	hostWidth int

	live   *liveRegion // TTY only
	closed bool
	phase  journal.Record // the last phase_started other than a rollback
	// blocks holds, on a TTY, the finished steps of each host at work,
	// printed under the host's outcome when it finishes; done marks the
	// hosts that finished (a fleet-wide verify runs on them after).
	blocks map[string][]blockStep
	done   map[string]bool
	wrap   int // the width the summary's failure view wraps to; 0: not wrapped

	// Without a TTY, lines are gathered and written at most every
	// pipeFlush (and at once for the records an operator waits on), so a
	// large fleet's run costs a write per tenth of a second, not per line.
	pending bytes.Buffer
	flush   *time.Timer
}

// pipeFlush is how long a line may wait in a non-TTY Terminal's buffer.
const pipeFlush = 100 * time.Millisecond

// NewTerminal returns a Terminal writing to w.
func NewTerminal(w io.Writer, opts TerminalOptions) *Terminal {
	wrap := 0
	if opts.TTY {
		wrap = opts.Width
	}
	if opts.Width <= 0 {
		opts.Width = 80
	}
	if opts.MaxHosts <= 0 {
		opts.MaxHosts = 40
	}
	t := &Terminal{w: w, opts: opts, st: newStyles(w, opts.Color), now: time.Now, hostWidth: 8, wrap: wrap}
	if opts.Summary == nil {
		t.sum = NewSummarizer()
	}
	if opts.TTY {
		t.live = newLiveRegion(t)
		t.blocks, t.done = map[string][]blockStep{}, map[string]bool{}
	}
	return t
}

// Record prints what r says, as the engine appends it to the journal.
func (t *Terminal) Record(r journal.Record) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	cleanRecord(&r)
	if (r.Type == journal.RunStarted || r.Type == journal.RunResumed) && t.opts.JournalPath == "" && t.opts.StateDir != "" && journal.ValidRunID(r.RunID) {
		t.opts.JournalPath = filepath.Join(journal.RunDir(t.opts.StateDir, r.RunID), journal.JournalFile)
	}
	t.keep(r)
	if t.live == nil {
		t.describe(&t.pending, r)
		switch {
		case awaited(r.Type) || r.Type == journal.RunFinished:
			t.writePending()
		case t.flush == nil && t.pending.Len() > 0:
			t.flush = time.AfterFunc(pipeFlush, func() {
				t.mu.Lock()
				defer t.mu.Unlock()
				t.writePending()
			})
		}
		return
	}
	var buf bytes.Buffer
	t.describe(&buf, r)
	t.live.record(r, buf.String())
}

// Seed gives t the records of the run's earlier sessions, before a resume:
// they are not printed, but the end-of-run summary is the whole run's, as
// `runbook show` prints it.
func (t *Terminal) Seed(recs []journal.Record) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range recs {
		cleanRecord(&r)
		switch {
		case r.Type == journal.RunStarted:
			t.noteHosts(r.Hosts)
			if t.opts.JournalPath == "" && t.opts.StateDir != "" && journal.ValidRunID(r.RunID) {
				t.opts.JournalPath = filepath.Join(journal.RunDir(t.opts.StateDir, r.RunID), journal.JournalFile)
			}
		case r.Type == journal.PhaseStarted && !isRollbackPhase(&r):
			t.phase = r
		}
		t.keep(r)
	}
}

// noteHosts widens the host column for the hosts' names.
func (t *Terminal) noteHosts(hosts []string) {
	for _, h := range hosts {
		if n := len([]rune(h)); n > t.hostWidth && n <= 24 {
			t.hostWidth = n
		}
	}
}

// awaited reports whether records of type typ are shown at once, with or
// without a TTY: the start, approvals and waits an operator answers or
// watches, and an interruption.
func awaited(typ string) bool {
	switch typ {
	case journal.RunStarted, journal.RunResumed, journal.Approval, journal.WaitStarted, journal.RunInterrupted:
		return true
	}
	return false
}

// writePending writes the lines gathered without a TTY. t.mu is held.
func (t *Terminal) writePending() {
	if t.flush != nil {
		t.flush.Stop()
		t.flush = nil
	}
	if t.pending.Len() > 0 {
		_, _ = t.w.Write(t.pending.Bytes())
		t.pending.Reset()
	}
}

// Pause writes what is pending and takes the live progress off the screen
// until the next record, so that the engine can prompt on the terminal.
func (t *Terminal) Pause() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	if t.live != nil {
		t.live.pause()
	}
	t.writePending()
}

// Close writes what is pending, takes the live progress off the screen and
// stops the redraws. Later records are ignored.
func (t *Terminal) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	t.closed = true
	if t.live != nil {
		t.live.close()
	}
	t.writePending()
}

// keepError bounds the error text the Terminal keeps of a failure.
const keepError = 16 << 10

// keep summarises a compact copy of r for the summary at the end: without
// outputs or data, so that a 1,000-host run keeps a few MB, not every
// step's output; but a failure keeps its whole error and the last lines of
// its output, which the summary's failure view shows.
func (t *Terminal) keep(r journal.Record) {
	if t.sum == nil {
		return // opts.Summary gives the summary
	}
	failure := r.Type == journal.StepFinished && r.Final && failedStatus(r.Status) || r.Type == journal.HostFinished
	if failure {
		r.Stdout, _ = tailLines(r.Stdout, failureTail)
		r.Stderr, _ = tailLines(r.Stderr, failureTail)
		if len(r.Error) > keepError {
			r.Error = r.Error[:keepError] + "…"
		}
	} else {
		r.Stdout, r.Stderr = "", ""
		r.Error = firstLine(r.Error, 200)
	}
	r.Command, r.Data = "", nil
	t.sum.Add(r)
}

// describe writes the permanent lines r calls for. On a TTY, finished steps
// that went well are left to the live progress.
func (t *Terminal) describe(w io.Writer, r journal.Record) {
	st := t.st
	switch r.Type {
	case journal.RunStarted:
		t.noteHosts(r.Hosts)
		fmt.Fprintf(w, "%s  %s  %d hosts  operator %s\n", st.render(st.title, sanitize(r.Runbook)),
			st.render(st.bold, "run "+r.RunID), len(r.Hosts), sanitize(joinNonEmpty(" on ", r.Operator, r.Controller)))
		if len(t.opts.Phases) > 0 {
			parts := make([]string, len(t.opts.Phases))
			for i, p := range t.opts.Phases {
				parts[i] = fmt.Sprintf("%d %s", i+1, sanitize(p))
			}
			fmt.Fprintf(w, "phases   %s\n", strings.Join(parts, " · "))
		}
		if t.opts.JournalPath != "" {
			fmt.Fprintf(w, "journal  %s\n", t.opts.JournalPath)
		}
		writeDryRunLine(w, st, r)
	case journal.RunResumed:
		fmt.Fprintf(w, "%s run %s by %s\n", st.render(st.title, "resumed"), r.RunID, sanitize(r.Operator))
		writeDryRunLine(w, st, r)
		if r.Text != "" {
			fmt.Fprintf(w, "  %s\n", st.render(st.dim, sanitize(r.Text)))
		}
	case journal.PhaseStarted:
		if isRollbackPhase(&r) && t.live != nil {
			// On a TTY the rollback's steps go under their host's outcome.
			for _, h := range r.Hosts {
				fmt.Fprintf(w, "%s  %s %s\n", t.pad(h), st.render(st.warn, "↺ rolling back"), st.render(st.dim, t.rollbackPlace()))
			}
			return
		}
		if isRollbackPhase(&r) {
			fmt.Fprintf(w, "\n%s %s %s %s\n", st.render(st.title, "▸"), st.render(st.bold, "Rollback of"), hostList(r.Hosts),
				st.render(st.dim, t.rollbackPlace()))
			return
		}
		t.phase = r
		fmt.Fprintf(w, "\n%s %s %s  %s\n", st.render(st.title, "▸"), st.render(st.bold, sanitize(PhaseLabel(r.Phase, r.Batch))),
			st.render(st.dim, fmt.Sprintf("(%s, %s)", sanitize(r.PhaseKind), t.phaseNumber(r))), hostList(r.Hosts))
	case journal.StepFinished:
		if t.live != nil && !t.done[r.Host] && r.Host != "" { // a hook's steps, which have no host, at once
			if r.Final {
				t.blocks[r.Host] = append(t.blocks[r.Host], blockStep{phase: PhaseLabel(r.Phase, r.Batch), kind: r.PhaseKind,
					status: r.Status, lines: t.blockLines(r)})
			}
			if !r.Final || !failedStatus(r.Status) {
				return // shown under the host's outcome; a failure at once too
			}
		}
		fmt.Fprintln(w, t.stepLine(r))
		if r.Final && r.Diff != "" {
			writeDiff(w, st, "    ", r.Diff)
		}
	case journal.HostFinished:
		line := fmt.Sprintf("%s  %s %s", t.pad(r.Host), st.render(st.dim, "⇒"), st.word(r.Outcome))
		if detail := joinNonEmpty(": ", r.FailedStep, firstLine(DisplayError(r.Host, r.Error), 100), r.Reason); detail != "" {
			line += "  " + sanitize(detail)
		}
		fmt.Fprintln(w, line)
		if t.live != nil {
			t.writeBlock(w, t.blocks[r.Host])
			delete(t.blocks, r.Host)
			t.done[r.Host] = true
		}
	case journal.WaitStarted:
		fmt.Fprintf(w, "  %s %s %s\n", st.render(st.dim, "…"), sanitize(r.Text), formatDuration(secs(r.Seconds)))
	case journal.Approval:
		fmt.Fprintf(w, "  %s %q %s\n", st.render(st.bold, "approval"), sanitize(r.Prompt), approvalText(st, r))
	case journal.Message:
		if r.Host != "" {
			fmt.Fprintf(w, "%s  %s\n", t.pad(r.Host), sanitize(r.Text))
		} else {
			fmt.Fprintf(w, "  %s\n", sanitize(r.Text))
		}
	case journal.RunInterrupted:
		text := r.Text
		if text == "" {
			text = "no new step starts; running steps finish (interrupt again to cancel them)"
		}
		fmt.Fprintf(w, "%s %s\n", st.render(st.warn, "interrupted:"), sanitize(text))
	case journal.RunFinished:
		fmt.Fprintln(w)
		s, err := t.summary()
		if err != nil {
			fmt.Fprintf(w, "%s %v\n", st.render(st.warn, "no summary:"), err)
			return
		}
		_ = WriteText(w, s, TextOptions{Brief: true, Color: t.opts.Color, JournalPath: t.opts.JournalPath,
			Command: t.opts.Command, MaxHosts: t.opts.MaxHosts, Width: t.wrap})
	}
}

// summary is the run's summary, at its end.
func (t *Terminal) summary() (*Summary, error) {
	if t.opts.Summary != nil {
		return t.opts.Summary(t.opts.JournalPath)
	}
	return t.sum.Summary(), nil
}

func approvalText(st *styles, r journal.Record) string {
	text := st.render(approvalStyle(st, r.Decision), r.Decision)
	if r.By != "" {
		text += " by " + sanitize(r.By)
	}
	if r.Via != "" {
		text += " (" + sanitize(r.Via) + ")"
	}
	return text
}

// blockOutputLines is how many lines of a canary's verify step output the
// TTY shows under the canary (what its approval is about); of a longer
// output, blockOutputHead lines are shown.
const (
	blockOutputLines = 4
	blockOutputHead  = 2
)

// blockStep is a finished step of a host at work on a TTY.
type blockStep struct {
	phase, kind, status string
	lines               []string
}

// writeBlock writes a finished host's steps under its outcome. The steps
// of a backup, check or verify phase that all went well take one line.
func (t *Terminal) writeBlock(w io.Writer, steps []blockStep) {
	for i := 0; i < len(steps); {
		j := i
		counts := map[string]int{}
		for j < len(steps) && steps[j].phase == steps[i].phase && !failedStatus(steps[j].status) {
			counts[steps[j].status]++
			j++
		}
		shared := steps[i].kind == "backup" || steps[i].kind == "check" || steps[i].kind == "verify"
		if !shared || j == i || j < len(steps) && steps[j].phase == steps[i].phase {
			j = max(j, i+1)
			for _, st := range steps[i:j] {
				for _, l := range st.lines {
					fmt.Fprintln(w, l)
				}
			}
			i = j
			continue
		}
		var parts []string
		for _, status := range []string{journal.StatusOK, journal.StatusChanged, journal.StatusSkipped} {
			if n := counts[status]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, status))
			}
		}
		fmt.Fprintf(w, "  %s %s  %s: %s\n", t.st.render(t.st.of(journal.StatusOK), "✓"), sanitize(steps[i].phase), plural(j-i, "step"), strings.Join(parts, ", "))
		i = j
	}
}

// blockLines are the lines of a finished step under its host's outcome on
// a TTY: "  ✓ verify/1 crio runs the target version  ok  0.2s", a rollback
// step marked ↺, and for a canary's verify step the first lines of its
// output.
func (t *Terminal) blockLines(r journal.Record) []string {
	st := t.st
	glyph := statusGlyph(r.Status)
	if r.Phase == "rollback" && r.PhaseIndex == 0 {
		glyph = "↺"
	}
	name := stepTitle(r.StepID, r.Index, sanitize(r.Step))
	if r.DelegateTo != "" {
		name += " (on " + sanitize(r.DelegateTo) + ")"
	}
	line := fmt.Sprintf("  %s %s  %s  %s", st.render(st.of(r.Status), glyph), name, t.statusText(r),
		formatDuration(time.Duration(r.DurationMS)*time.Millisecond))
	if failedStatus(r.Status) && r.RC != nil && *r.RC != 0 {
		line += fmt.Sprintf("  rc=%d", *r.RC)
	}
	if why := firstLine(DisplayError(r.Host, r.Error), 80); why != "" && r.Status != journal.StatusOK {
		line += "  " + sanitize(why)
	} else if r.Reason != "" {
		line += "  " + sanitize(firstLine(r.Reason, 80))
	}
	lines := append([]string{line}, t.diffBlock(r)...)
	if r.PhaseKind != "canary" || !strings.Contains(r.StepID, "verify.") {
		return lines
	}
	out := r.Stdout
	if strings.TrimSpace(out) == "" {
		out = r.Stderr
	}
	if strings.TrimSpace(out) == "" {
		return lines
	}
	head, total := headLines(cleanText(plainOutput(out)), blockOutputLines)
	if total > blockOutputLines {
		head, _ = headLines(head, blockOutputHead)
	}
	width := max(t.opts.Width-9, 30)
	for _, l := range strings.Split(head, "\n") {
		lines = append(lines, st.render(st.dim, "      │ "+clip(l, width)))
	}
	if total > blockOutputLines {
		lines = append(lines, st.render(st.dim, fmt.Sprintf("      │ … %d more lines", total-blockOutputHead)))
	}
	return lines
}

// phaseNumber is "phase 4/5": a phase's place in the runbook.
func (t *Terminal) phaseNumber(r journal.Record) string {
	num := fmt.Sprintf("phase %d", r.PhaseIndex)
	if len(t.opts.Phases) > 0 {
		num += fmt.Sprintf("/%d", len(t.opts.Phases))
	}
	return num
}

// rollbackPlace is where a rollback happens: "in Roll out, batch 2, phase
// 4/5".
func (t *Terminal) rollbackPlace() string {
	if t.phase.Type == "" {
		return ""
	}
	return "(in " + sanitize(PhaseLabel(t.phase.Phase, t.phase.Batch)) + ", " + t.phaseNumber(t.phase) + ")"
}

// diffLines is how many lines of a failed comparison's diff (or of any
// error that is more than its first line, when no exit status explains the
// failure) a step line shows below it.
const diffLines = 8

// stepLine is "worker-3  steps/3 install cri-o  changed  2.1s", with the exit
// status when it is not 0 and the error for a failure; a failure that no
// exit status explains (a comparison, an assertion) shows the first lines
// of what its error says below it (for a comparison, the diff).
func (t *Terminal) stepLine(r journal.Record) string {
	name := stepTitle(r.StepID, r.Index, sanitize(r.Step))
	if r.DelegateTo != "" {
		name += " (on " + sanitize(r.DelegateTo) + ")"
	}
	line := t.pad(stepHost(r)) + "  " + name + "  " + t.statusText(r) + "  " +
		formatDuration(time.Duration(r.DurationMS)*time.Millisecond)
	failed := failedStatus(r.Status)
	if failed && r.RC != nil && *r.RC != 0 {
		line += fmt.Sprintf("  rc=%d", *r.RC)
	}
	errText := DisplayError(r.Host, r.Error)
	why := firstLine(errText, 100)
	if why == "" && failed {
		why = firstLine(r.Stderr, 100)
	}
	if why == "" {
		why = firstLine(r.Reason, 100)
	}
	if !r.Final {
		why = joinNonEmpty(": ", fmt.Sprintf("attempt %d, will retry", r.Attempt), why)
	}
	if why != "" {
		line += "  " + sanitize(why)
	}
	if failed && r.Final && (r.RC == nil || *r.RC == 0) {
		if _, rest, ok := strings.Cut(strings.TrimSpace(errText), "\n"); ok {
			more, total := headLines(rest, diffLines)
			var b strings.Builder
			b.WriteString(line)
			for _, l := range strings.Split(more, "\n") {
				b.WriteString("\n" + strings.Repeat(" ", t.hostWidth+4) + sanitize(clip(l, max(t.opts.Width-t.hostWidth-5, 40))))
			}
			if total > diffLines {
				fmt.Fprintf(&b, "\n%s… %d more lines", strings.Repeat(" ", t.hostWidth+4), total-diffLines)
			}
			line = b.String()
		}
	}
	return line
}

func (t *Terminal) pad(host string) string {
	host = sanitize(host)
	if n := len([]rune(host)); n < t.hostWidth {
		host += strings.Repeat(" ", t.hostWidth-n)
	}
	return host
}

// hostList names up to 8 hosts and counts the rest.
func hostList(hosts []string) string {
	const show = 8
	if len(hosts) <= show {
		return sanitize(strings.Join(hosts, ", "))
	}
	return fmt.Sprintf("%s … (%d hosts)", sanitize(strings.Join(hosts[:show], ", ")), len(hosts))
}
