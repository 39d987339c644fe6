package report

import (
	"sort"
	"strconv"
	"time"
)

// The timeline's time axis is linear where steps run and broken where none
// does: a soak, a pause between batches or an approval that waited longer
// than gapAtLeast of the run (and two seconds) gets gapWidth of the axis,
// marked as a break, so that a two-minute soak does not squeeze the work of
// the run into a few pixels.
const (
	gapAtLeast   = 0.08 // of the run's span
	gapWidth     = 3.0  // percent of the axis per break
	maxGapsWidth = 30.0 // percent of the axis all breaks together take at most
)

// axisSegment is a stretch of the run's span and the part of the axis it
// takes, in percent.
type axisSegment struct {
	from, to    time.Time
	left, width float64
	gap         bool // a break: no step ran
}

// timeAxis maps times to percentages of the axis.
type timeAxis struct {
	start time.Time
	span  time.Duration
	segs  []axisSegment // in order, covering the span; none: linear
}

func (a timeAxis) end() time.Time { return a.start.Add(a.span) }

func (a timeAxis) pct(t time.Time) float64 {
	if t.IsZero() {
		return 100
	}
	if len(a.segs) == 0 {
		p := float64(t.Sub(a.start)) / float64(a.span) * 100
		return min(max(p, 0), 100)
	}
	if !t.After(a.start) {
		return 0
	}
	i := sort.Search(len(a.segs), func(i int) bool { return a.segs[i].to.After(t) })
	if i == len(a.segs) {
		return 100
	}
	sg := a.segs[i]
	frac := 0.0
	if d := sg.to.Sub(sg.from); d > 0 {
		frac = float64(t.Sub(sg.from)) / float64(d)
	}
	return min(max(sg.left+sg.width*frac, 0), 100)
}

func pctString(p float64) string { return strconv.FormatFloat(p, 'f', 3, 64) + "%" }

func (a timeAxis) place(from, to time.Time) (left, width string) {
	l, r := a.pct(from), a.pct(to)
	return pctString(l), pctString(max(r-l, 0))
}

// newTimeAxis lays out the run's span: the stretches where a step ran are
// linear in time, together, and each long stretch where none did is a
// break.
func newTimeAxis(s *Summary) timeAxis {
	span := s.Ended.Sub(s.Started)
	if span < time.Second {
		span = time.Second
	}
	ax := timeAxis{start: s.Started, span: span}
	gaps := idleGaps(s, ax, max(time.Duration(float64(span)*gapAtLeast), 2*time.Second))
	if len(gaps) == 0 {
		return ax
	}
	var idle time.Duration
	for _, g := range gaps {
		idle += g[1].Sub(g[0])
	}
	each := min(gapWidth, maxGapsWidth/float64(len(gaps)))
	perBusy := (100 - each*float64(len(gaps))) / float64(span-idle) // percent per nanosecond of work
	at, left := ax.start, 0.0
	add := func(to time.Time, gap bool) {
		if !to.After(at) {
			return
		}
		w := each
		if !gap {
			w = float64(to.Sub(at)) * perBusy
		}
		ax.segs = append(ax.segs, axisSegment{from: at, to: to, left: left, width: w, gap: gap})
		at, left = to, left+w
	}
	for _, g := range gaps {
		add(g[0], false)
		add(g[1], true)
	}
	add(ax.end(), false)
	return ax
}

// idleGaps are the stretches of at least least within the run's span in
// which no step ran, in order.
func idleGaps(s *Summary, ax timeAxis, least time.Duration) [][2]time.Time {
	var busy [][2]time.Time
	for i := range s.Hosts {
		for j := range s.Hosts[i].Steps {
			st := &s.Hosts[i].Steps[j]
			end := st.Ended
			if st.Open() || end.IsZero() {
				end = s.Ended
			}
			busy = append(busy, [2]time.Time{st.Started, end})
		}
	}
	sort.Slice(busy, func(i, j int) bool { return busy[i][0].Before(busy[j][0]) })
	var gaps [][2]time.Time
	at := ax.start
	for _, b := range busy {
		if b[0].Sub(at) >= least {
			gaps = append(gaps, [2]time.Time{at, b[0]})
		}
		if b[1].After(at) {
			at = b[1]
		}
	}
	if ax.end().Sub(at) >= least {
		gaps = append(gaps, [2]time.Time{at, ax.end()})
	}
	return gaps
}

// axisTicks places about ten labelled ticks on a round interval of the
// work's time, none inside a break; each break gets a mark saying how long
// it was.
func axisTicks(ax timeAxis) []markView {
	work := ax.span
	share := 100.0
	for _, sg := range ax.segs {
		if sg.gap {
			work -= sg.to.Sub(sg.from)
			share -= sg.width
		}
	}
	steps := []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second,
		30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute,
		30 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour}
	step := work / 10 // a span of days or more: ten plain ticks
	for _, c := range steps {
		if work/c <= time.Duration(10*share/100+0.5) {
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
	for t := first; !t.After(ax.end()) && len(ticks) <= 12; t = t.Add(step) {
		if ax.inGap(t) {
			continue
		}
		ticks = append(ticks, markView{Left: pctString(ax.pct(t)), Label: t.UTC().Format(layout), Title: formatTime(t)})
	}
	return ticks
}

// inGap reports whether t falls inside a break of the axis.
func (a timeAxis) inGap(t time.Time) bool {
	for _, sg := range a.segs {
		if sg.gap && t.After(sg.from) && t.Before(sg.to) {
			return true
		}
	}
	return false
}

// axisBreaks are the marks of the axis's breaks, labelled with the wait
// that fills each (a soak, a pause), else with how long it was: "soak
// 2m00s", "1m12s".
func axisBreaks(ax timeAxis, waits []WaitSummary) []markView {
	var out []markView
	for _, sg := range ax.segs {
		if !sg.gap {
			continue
		}
		d := sg.to.Sub(sg.from)
		label := formatDuration(d)
		for _, w := range waits {
			if w.Started.Before(sg.to) && (!w.Finished || w.Ended.After(sg.from)) {
				label = w.Text + " " + formatDuration(secs(w.Seconds))
			}
		}
		out = append(out, markView{Left: pctString(sg.left), Width: pctString(sg.width), Label: label,
			Title: "the axis skips " + formatDuration(d) + " in which no step ran, " + formatClock(sg.from) + "–" + formatClock(sg.to)})
	}
	return out
}
