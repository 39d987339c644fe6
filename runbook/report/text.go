package report

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/runbookhq/runbook/runbook/journal"
)

// TextOptions shape WriteText's output.
type TextOptions struct {
	// Brief prints only the end-of-run part: the host table, the journal and
	// report paths and what to do next. Otherwise the whole run is printed,
	// every step of every host included (`runbook show`).
	Brief bool
	// Color styles the output with ANSI colours; without it the output holds
	// no escape sequence at all.
	Color bool
	// JournalPath, when set, is printed, and the reports beside it
	// (report.html, junit.xml) with it.
	JournalPath string
	// Reports lists the report files to point to. Nil means the ones beside
	// the journal (the engine writes them when a run ends); an empty,
	// non-nil list prints none (e.g. `runbook show` of a crashed run whose
	// reports were never written).
	Reports []string
	// Command is how to invoke runbook in the suggested commands, e.g.
	// "runbook --state-dir /srv/rb"; "runbook" when empty.
	Command string
	// MaxHosts, when above zero, lists at most that many hosts in the host
	// table of a larger run: those needing attention first; the count of the
	// others is given instead.
	MaxHosts int
	// Width is the terminal's width, which the failure view wraps errors
	// and outputs to; 0 leaves their lines whole (output to a file or a
	// pipe).
	Width int
}

// WriteText writes the run for a person to read: `runbook show` without
// Brief, the end-of-run summary with it.
func WriteText(w io.Writer, s *Summary, opts TextOptions) error {
	seedANSIParsers()
	s = cleanSummary(s)
	bw := bufio.NewWriter(w)
	st := newStyles(w, opts.Color)
	if !opts.Brief {
		writeHeader(bw, st, s)
		writePhases(bw, st, s)
		writeEvents(bw, st, s)
		writeSteps(bw, st, s)
		writeDiffs(bw, st, s)
		writeHooks(bw, st, s)
		writeBackups(bw, st, s)
		writeVersions(bw, st, s)
	} else {
		fmt.Fprintf(bw, "%s %s\n", st.render(st.title, "Run "+s.RunID), statusLine(st, s))
	}
	writeHostTable(bw, st, s, opts.MaxHosts, commandOr(opts.Command))
	writeFailures(bw, st, s, opts.Width, opts.MaxHosts, commandOr(opts.Command))
	writePaths(bw, st, opts)
	writeNext(bw, st, s, opts)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

func statusLine(st *styles, s *Summary) string {
	line := st.render(st.of(s.Status), strings.ToUpper(s.Status))
	if s.DryRun {
		line = st.render(st.warn, "DRY RUN") + " " + line
	}
	if s.Reason != "" {
		line += ": " + sanitize(s.Reason)
	}
	if !s.Finished {
		line += fmt.Sprintf(": the journal ends at record %d (%s) with no run_finished; the controller stopped mid-run",
			s.LastSeq, formatTime(s.Ended))
	}
	return line
}

func writeHeader(w io.Writer, st *styles, s *Summary) {
	fmt.Fprintf(w, "%s  %s\n", st.render(st.title, sanitize(s.Runbook)), st.render(st.bold, "run "+s.RunID))
	field := func(name, value string) {
		if value != "" {
			fmt.Fprintf(w, "  %-10s %s\n", name, value)
		}
	}
	field("Status", statusLine(st, s))
	if s.DryRun {
		field("Mode", DryRunNote)
	}
	op := sanitize(s.Operator)
	if s.Controller != "" {
		op += " on " + sanitize(s.Controller)
	}
	field("Operator", op)
	field("Started", formatTime(s.Started)+"   duration "+formatDuration(s.Duration))
	if s.RunbookFile != "" {
		rb := sanitize(s.RunbookFile)
		if s.RunbookSHA256 != "" {
			rb += "  sha256 " + sanitize(s.RunbookSHA256)
		}
		field("Runbook", rb)
	}
	inv := sanitize(s.Inventory)
	if s.Limit != "" {
		inv += "   limit " + sanitize(s.Limit)
	}
	field("Inventory", inv)
	field("Params", formatParams(s.Params))
	field("Hosts", countsLine(s))
	fmt.Fprintln(w)
}

func formatParams(p map[string]string) string {
	keys := sortedKeys(p)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = sanitize(k) + "=" + sanitize(p[k])
	}
	return strings.Join(parts, " ")
}

// countsLine is "6: 4 upgraded, 1 skipped, 1 rolled_back".
func countsLine(s *Summary) string {
	parts := []string{}
	for _, o := range journal.Outcomes {
		if n := s.Counts[o]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, o))
		}
	}
	if s.Unfinished > 0 {
		parts = append(parts, fmt.Sprintf("%d unfinished", s.Unfinished))
	}
	return fmt.Sprintf("%d: %s", len(s.Hosts), strings.Join(parts, ", "))
}

func writePhases(w io.Writer, st *styles, s *Summary) {
	if len(s.Phases) == 0 {
		return
	}
	fmt.Fprintln(w, st.render(st.bold, "Phases"))
	rows := make([][]string, 0, len(s.Phases))
	for _, p := range s.Phases {
		end := formatDuration(p.Duration)
		if !p.Finished {
			end += " (unfinished)"
		}
		rows = append(rows, []string{fmt.Sprint(p.Index), sanitize(p.Label), sanitize(p.Kind),
			fmt.Sprint(len(p.Hosts)), formatClock(p.Started), end})
	}
	fmt.Fprintln(w, indent(st.table([]string{"#", "PHASE", "KIND", "HOSTS", "START", "DURATION"}, rows, nil)))
	fmt.Fprintln(w)
}

// writeEvents lists waits, approvals, messages and the run's lifecycle in
// time order.
func writeEvents(w io.Writer, st *styles, s *Summary) {
	type line struct {
		at   string
		key  int64
		text string
	}
	var lines []line
	add := func(t interface{ UnixNano() int64 }, clock, text string) {
		lines = append(lines, line{clock, t.UnixNano(), text})
	}
	for _, wt := range s.Waits {
		text := fmt.Sprintf("%s %s (%s)", sanitize(wt.Text), formatDuration(secs(wt.Seconds)), sanitize(PhaseLabel(wt.Phase, wt.Batch)))
		if !wt.Finished {
			text += " — unfinished"
		}
		add(wt.Started, formatClock(wt.Started), text)
	}
	for _, a := range s.Approvals {
		text := fmt.Sprintf("approval (%s) %q: %s", sanitize(a.Phase), sanitize(a.Prompt), st.render(approvalStyle(st, a.Decision), a.Decision))
		if a.By != "" {
			text += " by " + sanitize(a.By)
		}
		if a.Via != "" {
			text += " via " + sanitize(a.Via)
		}
		add(a.Time, formatClock(a.Time), text)
	}
	for _, m := range s.Messages {
		text := sanitize(m.Text)
		if m.Host != "" {
			text = sanitize(m.Host) + ": " + text
		}
		add(m.Time, formatClock(m.Time), text)
	}
	for _, e := range s.Lifecycle {
		if e.Type == journal.RunStarted || e.Type == journal.RunFinished {
			continue
		}
		text := strings.TrimPrefix(e.Type, "run_")
		if e.By != "" {
			text += " by " + sanitize(e.By)
		}
		if e.Reason != "" || e.Text != "" {
			text += ": " + sanitize(e.Reason+e.Text)
		}
		add(e.Time, formatClock(e.Time), text)
	}
	if len(lines) == 0 {
		return
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].key < lines[j].key })
	fmt.Fprintln(w, st.render(st.bold, "Events"))
	for _, l := range lines {
		fmt.Fprintf(w, "  %s  %s\n", l.at, l.text)
	}
	fmt.Fprintln(w)
}

func approvalStyle(st *styles, decision string) lipgloss.Style {
	if decision == "approved" {
		return st.of(journal.StatusOK)
	}
	return st.warn
}

func writeSteps(w io.Writer, st *styles, s *Summary) {
	fmt.Fprintln(w, st.render(st.bold, "Steps"))
	for _, h := range s.Hosts {
		outcome := h.Outcome
		if outcome == "" {
			outcome = "unfinished"
		}
		fmt.Fprintf(w, "  %s  %s  %s\n", st.render(st.bold, sanitize(h.Name)), st.render(st.of(outcome), outcome), st.render(st.dim, sanitize(h.Group)))
		if len(h.Steps) == 0 {
			fmt.Fprintln(w, "    (no steps)")
			continue
		}
		rows := make([][]string, 0, len(h.Steps))
		for _, sp := range h.Steps {
			rows = append(rows, stepRow(sp))
		}
		steps := h.Steps
		fmt.Fprintln(w, indent(indent(st.table([]string{"PHASE", "STEP", "STATUS", "RC", "TIME", "DURATION", "NOTE"}, rows,
			func(row, col int) lipgloss.Style {
				if col == 2 && row >= 0 && row < len(steps) {
					return st.of(steps[row].Status)
				}
				return st.plain
			}))))
	}
	fmt.Fprintln(w)
}

func stepRow(sp StepSummary) []string {
	name := sp.Title()
	if sp.DelegateTo != "" {
		name += " (on " + sp.DelegateTo + ")"
	}
	status := statusWord(sp.Status, sp.DryRun)
	if len(sp.Attempts) > 1 {
		status += fmt.Sprintf(" (%d attempts)", len(sp.Attempts))
	}
	dur := formatDuration(sp.Duration)
	if sp.Open() {
		dur = "-"
	}
	note := ""
	switch {
	case sp.Open():
		note = "no step_finished: running when the journal ended"
	case sp.Error != "":
		note = firstLine(sp.Error, 80)
	case sp.Status == journal.StatusFailed || sp.Status == journal.StatusUnreachable:
		note = firstLine(sp.Stderr, 80)
	case sp.Reason != "":
		note = firstLine(sp.Reason, 80)
	}
	return []string{sanitize(sp.PhaseLabel()), sanitize(name), status, rcString(sp.RC),
		formatClock(sp.Started), dur, sanitize(note)}
}

func writeBackups(w io.Writer, st *styles, s *Summary) {
	if len(s.Backups) == 0 {
		return
	}
	fmt.Fprintln(w, st.render(st.bold, "Backups"))
	rows := make([][]string, 0, len(s.Backups))
	for _, b := range s.Backups {
		rows = append(rows, []string{sanitize(b.Host), sanitize(b.Name), sanitize(b.SHA256), sanitize(b.Local)})
	}
	fmt.Fprintln(w, indent(st.table([]string{"HOST", "BACKUP", "SHA256", "LOCAL COPY"}, rows, nil)))
	fmt.Fprintln(w)
}

func writeVersions(w io.Writer, st *styles, s *Summary) {
	if len(s.Versions) == 0 {
		return
	}
	fmt.Fprintln(w, st.render(st.bold, "Versions"))
	rows := make([][]string, 0, len(s.Versions))
	for _, v := range s.Versions {
		step := v.Step
		if v.Rollback {
			step += " (rollback)"
		}
		rows = append(rows, []string{sanitize(v.Host), sanitize(v.Package), sanitize(v.Before), sanitize(v.After), sanitize(step)})
	}
	fmt.Fprintln(w, indent(st.table([]string{"HOST", "PACKAGE", "BEFORE", "AFTER", "STEP"}, rows, nil)))
	fmt.Fprintln(w)
}

func writeHostTable(w io.Writer, st *styles, s *Summary, max int, command string) {
	hosts := s.Hosts
	hidden := 0
	if max > 0 && len(hosts) > max {
		hosts = nil
		for _, h := range s.Hosts {
			if h.NeedsAttention() && len(hosts) < max {
				hosts = append(hosts, h)
			}
		}
		hidden = len(s.Hosts) - len(hosts)
	}
	if len(hosts) > 0 {
		rows := make([][]string, 0, len(hosts))
		for _, h := range hosts {
			rows = append(rows, []string{sanitize(h.Name), outcomeOr(h.Outcome), sanitize(phaseReached(&h)), sanitize(hostDetail(&h)), formatDuration(h.Duration)})
		}
		fmt.Fprintln(w, st.table([]string{"HOST", "OUTCOME", "PHASE REACHED", "DETAIL", "WORK"}, rows,
			func(row, col int) lipgloss.Style {
				if col == 1 && row >= 0 && row < len(hosts) {
					return st.of(hosts[row].Outcome)
				}
				return st.plain
			}))
	}
	switch {
	case hidden > 0 && len(hosts) == 0:
		fmt.Fprintf(w, "(none of the %d hosts needs attention; `%s show %s` lists them all)\n", hidden, command, s.RunID)
	case hidden > 0:
		fmt.Fprintf(w, "(%d more hosts not listed; `%s show %s` lists them all)\n", hidden, command, s.RunID)
	}
	fmt.Fprintf(w, "Hosts %s\n", countsLine(s))
}

func commandOr(command string) string {
	if command == "" {
		return "runbook"
	}
	return command
}

// phaseReached is the phase a host reached, with its batch when it ended in
// its own batch: "Roll out, batch 2".
func phaseReached(h *HostSummary) string {
	if strings.HasPrefix(h.Group, h.Phase+", batch ") {
		return h.Group
	}
	return h.Phase
}

// hostDetail is the host table's note on a host: its failed step and the
// first line of its error, or why it was skipped.
func hostDetail(h *HostSummary) string {
	if h.Outcome == journal.OutcomeSkipped {
		return clip(h.Reason, 70)
	}
	detail := h.FailedStep
	if h.Error != "" {
		detail = strings.TrimPrefix(strings.TrimSpace(detail+": "+firstLine(DisplayError(h.Name, h.Error), 60)), ": ")
	}
	return detail
}

// ReportPaths returns the paths of the reports kept beside a run's journal.
func ReportPaths(journalPath string) []string {
	dir := filepath.Dir(journalPath)
	return []string{filepath.Join(dir, HTMLFile), filepath.Join(dir, JUnitFile)}
}

func writePaths(w io.Writer, st *styles, opts TextOptions) {
	if opts.JournalPath != "" {
		fmt.Fprintf(w, "Journal  %s\n", opts.JournalPath)
	}
	reports := opts.Reports
	if reports == nil && opts.JournalPath != "" {
		reports = ReportPaths(opts.JournalPath)
	}
	if len(reports) > 0 {
		fmt.Fprintf(w, "Reports  %s\n", strings.Join(reports, "  "))
	}
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight("  "+l, " ")
	}
	return strings.Join(lines, "\n")
}

// seedANSIParsers puts a parser of x/ansi's default size (64 KB of data
// buffer) into the pool that lipgloss takes one from to measure and wrap
// each table cell. The pool would otherwise make its own, with a 4 MB
// buffer (for OSC and DCS payloads, which a summary never holds): most of
// what a run's summary allocated, and a tenth of a 100-host run's. A
// collection empties the pool, so the seeding is done each time.
//
// The seeding is a saving, not a guarantee: a sync.Pool keeps the parser
// put last on a P where only that P takes it, and empties itself at a
// collection, so a goroutine that moves to another P while it writes a
// table, or two collections while it does, still gets a 4 MB parser. That
// costs heap accounting rather than memory: nothing writes the buffer, so
// its pages are never touched (a 100-host run's page faults are the same
// with and without it).
func seedANSIParsers() {
	ansi.PutParser(ansi.NewParser())
}
