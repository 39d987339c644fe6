package report

import (
	"fmt"
	"html/template"
	"sort"
	"strings"
	"time"

	"github.com/runbookhq/runbook/runbook/journal"
)

// Above this size the page starts with the timeline groups folded but for
// those holding a host that needs attention. Host cards start folded but
// for those.
const openGroupsUpTo = 150

// htmlView is what the template renders: the summary with every position
// and label worked out.
type htmlView struct {
	S         *Summary
	CSS       template.CSS
	JS        template.JS
	Title     string
	Status    string
	Started   string
	Ended     string
	Duration  string
	Counts    []countView
	Params    []paramView
	Next      Next
	Attention []failureView // the hosts needing attention, with links to their cards and failed steps
	// MoreAttention counts the hosts needing attention past the first
	// maxAttentionLines.
	MoreAttention string
	Ticks         []markView
	Breaks        []markView // where the axis skips time in which no step ran
	Bands         []markView // phases and batches
	Waits         []markView // soaks and pauses without a row of their own
	Approvals     []markView
	Groups        []groupView // the timeline's rows, by canary or batch group
	Hosts         []hostView  // a card per host with its steps
	Bars          int
	Events        []eventView
	HostsCount    int
	// A dry run's predictions, the diffs and the hooks (html_dryrun.go).
	Predictions []predictionView
	Diffs       []diffView
	Hooks       []hookView
}

type countView struct {
	Outcome string
	N       int
}

type paramView struct{ Key, Value string }

// markView is something placed on the time axis: Left and Width are CSS
// percentages of the axis.
type markView struct {
	Left, Width string
	Label       string
	Title       string
	Class       string
	Row         int // the line of the axis a phase's label goes on: 0 or 1
}

type eventView struct {
	Time, Kind, Text string
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
	ax := newTimeAxis(s)
	v.Ticks = axisTicks(ax)
	v.Breaks = axisBreaks(ax, s.Waits)
	v.Bands = phaseBands(s, ax)
	for _, a := range s.Approvals {
		left, _ := ax.place(a.Time, a.Time)
		v.Approvals = append(v.Approvals, markView{Left: left, Label: a.Decision, Class: "dec-" + a.Decision,
			Title: fmt.Sprintf("%s approval at %s: %q %s by %s via %s", a.Phase, formatClock(a.Time), a.Prompt, a.Decision, orDash(a.By), orDash(a.Via))})
	}
	buildHostViews(v, s, ax)
	placeWaits(v, s, ax)
	attention := 0
	for i := range s.Hosts {
		if s.Hosts[i].NeedsAttention() {
			attention++
		}
	}
	if attention > len(v.Attention) {
		v.MoreAttention = fmt.Sprintf("… and %d more hosts: their cards below", attention-len(v.Attention))
	}
	v.Events = buildEvents(s)
	v.HostsCount = len(s.Hosts)
	dryRunViews(v, s)
	return v
}

// phaseBands are the shaded phases and batches behind the rows, and their
// labels: a label goes on the axis's second line when the one before it on
// the first would run into it. A rollback has no band: it happens within
// its batch, whose band it shares.
func phaseBands(s *Summary, ax timeAxis) []markView {
	var bands []markView
	var ends [2]float64 // where the last label on each line ends, in percent
	for i, p := range s.Phases {
		if p.Kind == "rollback" {
			continue
		}
		end := p.Ended
		if !p.Finished {
			end = s.Ended
		}
		l, r := ax.pct(p.Started), ax.pct(end)
		class := "band"
		if i%2 == 1 {
			class += " alt"
		}
		label := p.Label
		if p.Batch > 0 {
			label = fmt.Sprintf("%s #%d", p.Name, p.Batch)
		}
		// About 0.6% of the axis per character at 1×, on a 1400-pixel page.
		need := float64(len([]rune(label)))*0.6 + 0.5
		row := 0
		if ends[0] > l && ends[1] <= l {
			row = 1
		}
		ends[row] = l + max(r-l, need)
		bands = append(bands, markView{Left: pctString(l), Width: pctString(max(r-l, 0)), Label: label, Class: class, Row: row,
			Title: fmt.Sprintf("%s (%s): %s – %s, %s", p.Label, p.Kind, formatClock(p.Started), formatClock(end), formatDuration(p.Duration))})
	}
	return bands
}

// placeWaits puts each soak or pause as a thin band on the row of the first
// host of the canary or batch it belongs to, and the others (a wait of a
// group with no row) on the axis.
func placeWaits(v *htmlView, s *Summary, ax timeAxis) {
	for _, w := range s.Waits {
		end := w.Ended
		if !w.Finished {
			end = s.Ended
		}
		left, width := ax.place(w.Started, end)
		label := fmt.Sprintf("%s %s", w.Text, formatDuration(secs(w.Seconds)))
		m := markView{Left: left, Width: width, Label: label, Class: "wait",
			Title: fmt.Sprintf("%s (%s) from %s", label, PhaseLabel(w.Phase, w.Batch), formatClock(w.Started))}
		if row := v.groupRow(PhaseLabel(w.Phase, w.Batch)); row != nil {
			row.Waits = append(row.Waits, m)
			continue
		}
		v.Waits = append(v.Waits, m)
	}
}

// groupRow is the first row of the timeline group labelled label, nil when
// there is none.
func (v *htmlView) groupRow(label string) *rowView {
	for i := range v.Groups {
		if v.Groups[i].Label == label && len(v.Groups[i].Rows) > 0 {
			return &v.Groups[i].Rows[0]
		}
	}
	return nil
}

func outcomeOr(o string) string {
	if o == "" {
		return "unfinished"
	}
	return o
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
