package report

import (
	"fmt"

	"html/template"
	"strings"
	"time"

	"github.com/runbookhq/runbook/runbook/journal"
)

// The timeline's rows and the host cards, as views for the page's template.
// Every journal string reaches the page through html/template, which escapes
// it for where it lands, but for the timeline's bars (barsHTML): one per
// step execution, with eight values each, they were most of the page's
// cost (html/template calls its escapers by reflection, about a microsecond
// an action), so a row's bars are written here, every value escaped by
// template.HTMLEscapeString (html/template's own escaper of text, which
// also replaces NUL) inside a double-quoted attribute. The only values built
// here for a URL (href="#…") or a style are made of numbers alone: "h12",
// "s345", "12.345%".

type groupView struct {
	Label   string
	Open    bool
	Summary string
	Rows    []rowView
}

type rowView struct {
	Host      string
	Card      string // id of the host's card
	Outcome   string
	Attention bool
	Bars      []barView
	BarsHTML  template.HTML // Bars, written by barsHTML
	Waits     []markView    // the soaks and pauses of its canary or batch, on its first host's row
}

type barView struct {
	Left, Width string
	Status      string
	Rollback    bool
	Host        string
	StepID      string
	Target      string // id of the step's table row
	Title       string
}

// barsHTML writes bars as the page's links, every value escaped for the
// double-quoted attribute it lands in.
func barsHTML(bars []barView) template.HTML {
	var b strings.Builder
	b.Grow(len(bars) * 256) // a bar's markup, about
	for _, bar := range bars {
		b.WriteString(`<a class="bar st-`)
		b.WriteString(template.HTMLEscapeString(bar.Status))
		if bar.Rollback {
			b.WriteString(" rb")
		}
		for _, attr := range [...]struct{ name, value string }{{"href", "#" + bar.Target}, {"data-host", bar.Host},
			{"data-step-id", bar.StepID}, {"data-target", bar.Target}, {"data-status", bar.Status},
			{"style", "--l:" + bar.Left + ";--w:" + bar.Width}, {"title", bar.Title}} {
			b.WriteString(`" `)
			b.WriteString(attr.name)
			b.WriteString(`="`)
			b.WriteString(template.HTMLEscapeString(attr.value))
		}
		b.WriteString(`"></a>`)
	}
	return template.HTML(b.String())
}

type hostView struct {
	ID         string
	Name       string
	Outcome    string
	Group      string
	Phase      string
	FailedStep string
	Error      string // its first line, in the card's summary
	Duration   string
	Open       bool
	Failure    *failureView
	Steps      []stepView
	StepRows   template.HTML // Steps, written by stepRowsHTML
}

// failureView is what went wrong on a host, at the top of its card and in
// what to do next: the whole error, the failed step and the last lines of
// its output.
type failureView struct {
	Host       string
	Card       string // id of the host's card
	Advice     string // what to do next about it, without the host's name
	Error      string
	Step       string // "restart crio" (steps/9, Roll out, batch 2)
	StepTarget string // id of the failed step's table row, "" without one
	OutputName string // "stderr", "stdout"
	Output     string // its last lines
	OutputNote string // "last 20 of 45 lines"
}

// failureViewOf is the failure of host i of s, nil when it has none to
// explain.
func failureViewOf(s *Summary, i int) *failureView {
	h := &s.Hosts[i]
	if !h.NeedsAttention() {
		return nil
	}
	advice := hostAdvice(h)
	f := &failureView{Host: h.Name, Card: fmt.Sprintf("h%d", i+1), Advice: strings.TrimPrefix(advice, h.Name+": "),
		Error: plainOutput(DisplayError(h.Name, h.Error))}
	st := FailedStep(h)
	if st == nil {
		return f
	}
	f.Step, f.StepTarget = stepPlace(st), fmt.Sprintf("s%d", st.Seq)
	if f.Error == "" {
		f.Error = plainOutput(DisplayError(h.Name, st.Error))
	}
	name, out := "stderr", st.Stderr
	if strings.TrimSpace(out) == "" {
		name, out = "stdout", st.Stdout
	}
	if strings.TrimSpace(out) != "" {
		tail, total := tailLines(plainOutput(out), failureTail)
		f.OutputName, f.Output = name, tail
		if total > failureTail {
			f.OutputNote = fmt.Sprintf("last %d of %d lines", failureTail, total)
		}
	}
	return f
}

type stepView struct {
	ID, Label, Name, Kind, Phase, Status, RC, Started, Duration, Delegate string
	Command, Stdout, Stderr, Error                                        string
	StdoutCut, StderrCut, Open, Rescued                                   bool
	Attempts                                                              []string
	// Word is how its status reads ("would change" in a dry run); Reason
	// why a dry run skipped it; Diff its diff, line by line (html_dryrun.go).
	Word, Reason string
	Diff         []diffLine
}

// buildHostViews fills the timeline's groups and the host cards of v.
func buildHostViews(v *htmlView, s *Summary, ax timeAxis) {
	groupIndex := map[string]int{}
	for i := range s.Hosts {
		h := &s.Hosts[i]
		card := fmt.Sprintf("h%d", i+1)
		row := rowView{Host: h.Name, Card: card, Outcome: outcomeOr(h.Outcome), Attention: h.NeedsAttention()}
		hv := hostView{ID: card, Name: h.Name, Outcome: outcomeOr(h.Outcome), Group: h.Group, Phase: phaseReached(h),
			FailedStep: h.FailedStep, Error: firstLine(DisplayError(h.Name, h.Error), 160), Duration: formatDuration(h.Duration),
			Open: h.NeedsAttention(), Failure: failureViewOf(s, i)}
		if hv.Failure != nil && len(v.Attention) < maxAttentionLines {
			v.Attention = append(v.Attention, *hv.Failure)
		}
		row.Bars, hv.Steps = make([]barView, 0, len(h.Steps)), make([]stepView, 0, len(h.Steps))
		for j := range h.Steps {
			st := &h.Steps[j]
			id := fmt.Sprintf("s%d", st.Seq)
			end := st.Ended
			if st.Open() {
				end = s.Ended
			}
			left, width := ax.place(st.Started, end)
			row.Bars = append(row.Bars, barView{Left: left, Width: width, Status: st.Status, Rollback: st.IsRollback(),
				Host: h.Name, StepID: st.StepID, Target: id, Title: barTitle(st)})
			hv.Steps = append(hv.Steps, stepViewOf(id, st))
		}
		hv.StepRows = stepRowsHTML(hv.Steps)
		row.BarsHTML = barsHTML(row.Bars)
		v.Bars += len(row.Bars)
		gi, ok := groupIndex[h.Group]
		if !ok {
			v.Groups = append(v.Groups, groupView{Label: h.Group})
			gi = len(v.Groups) - 1
			groupIndex[h.Group] = gi
		}
		v.Groups[gi].Rows = append(v.Groups[gi].Rows, row)
		v.Hosts = append(v.Hosts, hv)
	}
	for i := range v.Groups {
		g := &v.Groups[i]
		counts := map[string]int{}
		var order []string
		for _, r := range g.Rows {
			if counts[r.Outcome] == 0 {
				order = append(order, r.Outcome)
			}
			counts[r.Outcome]++
			if r.Attention {
				g.Open = true
			}
		}
		if len(s.Hosts) <= openGroupsUpTo {
			g.Open = true
		}
		parts := make([]string, len(order))
		for j, o := range order {
			parts[j] = fmt.Sprintf("%d %s", counts[o], o)
		}
		g.Summary = fmt.Sprintf("%s · %s", plural(len(g.Rows), "host"), strings.Join(parts, ", "))
	}
}

// barTitle is a bar's tooltip: "worker-1 · Canary · steps/2 restart crio ·
// changed · 10:15:04 · 1.2s".
func barTitle(st *StepSummary) string {
	t := fmt.Sprintf("%s · %s · %s · %s", st.Host, st.PhaseLabel(), st.Title(), st.Status)
	if st.Rescued {
		t += " (rescued)"
	}
	if st.RC != nil && (st.Status == journal.StatusFailed || st.Status == journal.StatusUnreachable) {
		t += " rc=" + rcString(st.RC)
	}
	if st.Open() {
		return t + " · started " + formatClock(st.Started) + ", never finished"
	}
	return t + " · " + formatClock(st.Started) + " · " + formatDuration(st.Duration)
}

func stepViewOf(id string, st *StepSummary) stepView {
	label := st.Label()
	if st.StepID == "connect" {
		label = ""
	}
	sv := stepView{ID: id, Label: label, Name: st.Step, Kind: st.Kind, Phase: st.PhaseLabel(),
		Status: st.Status, RC: rcString(st.RC), Started: formatClock(st.Started), Duration: formatDuration(st.Duration),
		Delegate: st.DelegateTo, Command: st.Command, Stdout: st.Stdout, Stderr: st.Stderr, Error: st.Error,
		StdoutCut: st.StdoutCut, StderrCut: st.StderrCut, Open: st.Open(), Rescued: st.Rescued,
		Word: statusWord(st.Status, st.DryRun), Reason: st.Reason, Diff: diffLinesOf(st.Diff)}
	if st.Open() {
		sv.Duration = "—"
	}
	if len(st.Attempts) > 1 || (st.Open() && len(st.Attempts) > 0) {
		for _, a := range st.Attempts {
			line := fmt.Sprintf("attempt %d: %s, rc %s, %s", a.Attempt, a.Status, rcString(a.RC),
				formatDuration(time.Duration(a.DurationMS)*time.Millisecond))
			if a.Error != "" {
				line += ": " + a.Error
			}
			sv.Attempts = append(sv.Attempts, line)
		}
	}
	return sv
}
