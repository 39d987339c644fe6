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
	Groups     []groupView // the timeline's rows, by canary or batch group
	Hosts      []hostView  // a card per host with its steps
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

func buildHTMLView(s *Summary, opts HTMLOptions) *htmlView {
	v := &htmlView{
		S: s, CSS: template.CSS(reportCSS), JS: template.JS(reportJS),
		Title:    fmt.Sprintf("%s %s — %s", s.Runbook, s.RunID, s.Status),
		Status:   s.Status,
		Started:  formatTime(s.Started),
		Ended:    formatTime(s.Ended),
		Duration: formatDuration(s.Duration),
		Next:     NextSteps(s, opts.Command),
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

func outcomeOr(o string) string {
	if o == "" {
		return "unfinished"
	}
	return o
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
