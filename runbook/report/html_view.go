package report

import (
	"fmt"
	"html/template"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/runbookhq/runbook/runbook/journal"
)

// Above these sizes the page starts folded: host cards open only for hosts
// needing attention, timeline groups only for groups holding one.
const (
	openCardsUpTo  = 12
	openGroupsUpTo = 150
)

// htmlView is what the template renders: the summary with every position
// and label worked out.
type htmlView struct {
	S          *Summary
	CSS        template.CSS
	JS         template.JS
	Title      string
	Status     string
	Started    string
	Ended      string
	Duration   string
	Counts     []countView
	Params     []paramView
	Next       Next
	Ticks      []markView
	Bands      []markView // phases and batches
	Waits      []markView
	Approvals  []markView
	Groups     []groupView
	Hosts      []hostView
	Bars       int
	Events     []eventView
	HostsCount int
}

type countView struct {
	Outcome string
	N       int
}

type paramView struct{ Key, Value string }

// markView is something placed on the time axis: Left and Width are CSS
// percentages of the run's span.
type markView struct {
	Left, Width string
	Label       string
	Title       string
	Class       string
}

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

type hostView struct {
	ID         string
	Name       string
	Outcome    string
	Group      string
	Phase      string
	FailedStep string
	Error      string
	Duration   string
	Open       bool
	Steps      []stepView
}

type stepView struct {
	ID, Label, Name, Kind, Phase, Status, RC, Started, Duration, Delegate string
	Command, Stdout, Stderr, Error                                        string
	StdoutCut, StderrCut, Open                                            bool
	Attempts                                                              []string
}

type eventView struct {
	Time, Kind, Text string
}

// timeAxis maps times to percentages of the run's span.
type timeAxis struct {
	start time.Time
	span  time.Duration
}

func (a timeAxis) pct(t time.Time) float64 {
	if t.IsZero() {
		return 100
	}
	p := float64(t.Sub(a.start)) / float64(a.span) * 100
	return min(max(p, 0), 100)
}

func pctString(p float64) string { return strconv.FormatFloat(p, 'f', 3, 64) + "%" }

func (a timeAxis) place(from, to time.Time) (left, width string) {
	l, r := a.pct(from), a.pct(to)
	return pctString(l), pctString(max(r-l, 0))
}

func buildHTMLView(s *Summary) *htmlView {
	v := &htmlView{
		S: s, CSS: template.CSS(reportCSS), JS: template.JS(reportJS),
		Title:    fmt.Sprintf("%s %s — %s", s.Runbook, s.RunID, s.Status),
		Status:   s.Status,
		Started:  formatTime(s.Started),
		Ended:    formatTime(s.Ended),
		Duration: formatDuration(s.Duration),
		Next:     NextSteps(s, ""),
	}
	for _, o := range journal.Outcomes {
		if n := s.Counts[o]; n > 0 {
			v.Counts = append(v.Counts, countView{o, n})
		}
	}
	if s.Unfinished > 0 {
		v.Counts = append(v.Counts, countView{"unfinished", s.Unfinished})
	}
	for _, k := range sortedKeys(s.Params) {
		v.Params = append(v.Params, paramView{k, s.Params[k]})
	}
	span := s.Ended.Sub(s.Started)
	if span < time.Second {
		span = time.Second
	}
	ax := timeAxis{start: s.Started, span: span}
	v.Ticks = axisTicks(ax)
	for i, p := range s.Phases {
		end := p.Ended
		if !p.Finished {
			end = s.Ended
		}
		left, width := ax.place(p.Started, end)
		class := "band"
		if i%2 == 1 {
			class += " alt"
		}
		label := p.Label
		if p.Batch > 0 {
			label = fmt.Sprintf("%s #%d", p.Name, p.Batch)
		}
		v.Bands = append(v.Bands, markView{Left: left, Width: width, Label: label, Class: class,
			Title: fmt.Sprintf("%s (%s): %s – %s, %s", p.Label, p.Kind, formatClock(p.Started), formatClock(end), formatDuration(p.Duration))})
	}
	for _, w := range s.Waits {
		end := w.Ended
		if !w.Finished {
			end = s.Ended
		}
		left, width := ax.place(w.Started, end)
		label := fmt.Sprintf("%s %s", w.Text, formatDuration(secs(w.Seconds)))
		v.Waits = append(v.Waits, markView{Left: left, Width: width, Label: label, Class: "wait",
			Title: fmt.Sprintf("%s (%s) from %s", label, PhaseLabel(w.Phase, w.Batch), formatClock(w.Started))})
	}
	for _, a := range s.Approvals {
		left, _ := ax.place(a.Time, a.Time)
		v.Approvals = append(v.Approvals, markView{Left: left, Label: a.Decision, Class: "dec-" + a.Decision,
			Title: fmt.Sprintf("%s approval at %s: %q %s by %s via %s", a.Phase, formatClock(a.Time), a.Prompt, a.Decision, orDash(a.By), orDash(a.Via))})
	}
	buildHostViews(v, s, ax)
	v.Events = buildEvents(s)
	v.HostsCount = len(s.Hosts)
	return v
}

func buildHostViews(v *htmlView, s *Summary, ax timeAxis) {
	groupIndex := map[string]int{}
	for i := range s.Hosts {
		h := &s.Hosts[i]
		card := fmt.Sprintf("h%d", i+1)
		row := rowView{Host: h.Name, Card: card, Outcome: outcomeOr(h.Outcome), Attention: h.NeedsAttention()}
		hv := hostView{ID: card, Name: h.Name, Outcome: outcomeOr(h.Outcome), Group: h.Group, Phase: h.Phase,
			FailedStep: h.FailedStep, Error: h.Error, Duration: formatDuration(h.Duration),
			Open: len(s.Hosts) <= openCardsUpTo || h.NeedsAttention()}
		for _, st := range h.Steps {
			id := fmt.Sprintf("s%d", st.Seq)
			end := st.Ended
			if st.Open() {
				end = s.Ended
			}
			left, width := ax.place(st.Started, end)
			row.Bars = append(row.Bars, barView{Left: left, Width: width, Status: st.Status, Rollback: st.PhaseIndex == 0 && st.Phase == "rollback", Host: h.Name,
				StepID: st.StepID, Target: id, Title: barTitle(st)})
			hv.Steps = append(hv.Steps, stepViewOf(id, st))
		}
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

func outcomeOr(o string) string {
	if o == "" {
		return "unfinished"
	}
	return o
}

func barTitle(st StepSummary) string {
	t := fmt.Sprintf("%s · %s · %s %s · %s", st.Host, st.PhaseLabel(), st.Label(), st.Step, st.Status)
	if st.RC != nil && (st.Status == journal.StatusFailed || st.Status == journal.StatusUnreachable) {
		t += " rc=" + rcString(st.RC)
	}
	if st.Open() {
		return t + " · started " + formatClock(st.Started) + ", never finished"
	}
	return t + " · " + formatClock(st.Started) + " · " + formatDuration(st.Duration)
}

func stepViewOf(id string, st StepSummary) stepView {
	sv := stepView{ID: id, Label: st.Label(), Name: st.Step, Kind: st.Kind, Phase: st.PhaseLabel(),
		Status: st.Status, RC: rcString(st.RC), Started: formatClock(st.Started), Duration: formatDuration(st.Duration),
		Delegate: st.DelegateTo, Command: st.Command, Stdout: st.Stdout, Stderr: st.Stderr, Error: st.Error,
		StdoutCut: st.StdoutCut, StderrCut: st.StderrCut, Open: st.Open()}
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

// axisTicks places about ten labelled ticks on a round interval.
func axisTicks(ax timeAxis) []markView {
	steps := []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second,
		30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute,
		30 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour}
	step := ax.span / 10 // a span of days or more: ten plain ticks
	for _, c := range steps {
		if ax.span/c <= 10 {
			step = c
			break
		}
	}
	step = max(step, time.Second)
	layout := "15:04"
	if step < time.Minute {
		layout = "15:04:05"
	}
	var ticks []markView
	first := ax.start.Truncate(step)
	if first.Before(ax.start) {
		first = first.Add(step)
	}
	for t := first; !t.After(ax.start.Add(ax.span)) && len(ticks) <= 12; t = t.Add(step) {
		ticks = append(ticks, markView{Left: pctString(ax.pct(t)), Label: t.UTC().Format(layout), Title: formatTime(t)})
	}
	return ticks
}

func buildEvents(s *Summary) []eventView {
	var ev []eventView
	type timed struct {
		at time.Time
		e  eventView
	}
	var all []timed
	add := func(t time.Time, kind, text string) {
		all = append(all, timed{t, eventView{Time: formatClock(t), Kind: kind, Text: text}})
	}
	for _, l := range s.Lifecycle {
		text := strings.TrimPrefix(l.Type, "run_")
		if l.By != "" {
			text += " by " + l.By
		}
		if l.Status != "" {
			text += ": " + l.Status
		}
		if l.Reason != "" || l.Text != "" {
			text += " — " + l.Reason + l.Text
		}
		add(l.Time, "run", text)
	}
	for _, w := range s.Waits {
		text := fmt.Sprintf("%s %s (%s)", w.Text, formatDuration(secs(w.Seconds)), PhaseLabel(w.Phase, w.Batch))
		if !w.Finished {
			text += ", unfinished"
		}
		add(w.Started, "wait", text)
	}
	for _, a := range s.Approvals {
		add(a.Time, "approval", fmt.Sprintf("%s: %q %s by %s via %s", a.Phase, a.Prompt, a.Decision, orDash(a.By), orDash(a.Via)))
	}
	for _, m := range s.Messages {
		text := m.Text
		if m.Host != "" {
			text = m.Host + ": " + text
		}
		add(m.Time, "message", text)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].at.Before(all[j].at) })
	for _, t := range all {
		ev = append(ev, t.e)
	}
	return ev
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
