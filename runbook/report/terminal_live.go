package report

import (
	"bytes"
	"fmt"
	"time"

	"github.com/runbookhq/runbook/runbook/journal"
)

// Live progress on a TTY: the permanent lines scroll as usual, and below
// them a block of lines (the current phase's tally, one line per active
// host) is redrawn in place with ANSI cursor movement, at most ten times a
// second.
const (
	redrawEvery   = 100 * time.Millisecond
	elapsedEvery  = 500 * time.Millisecond // redraw for the clocks alone
	lingerFor     = 2 * time.Second        // a host stays listed after its step ends
	maxLiveHosts  = 12
	cursorUpFmt   = "\x1b[%dA"
	eraseDownCode = "\r\x1b[J"
)

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// liveRegion is the redrawn block. Its methods run with the Terminal's lock
// held.
type liveRegion struct {
	t        *Terminal
	pending  bytes.Buffer // permanent lines not yet written
	drawn    int          // lines of the block now on screen
	dirty    bool
	paused   bool
	stopped  bool
	lastDraw time.Time
	ticking  bool
	stop     chan struct{}

	phase      string
	phaseStart time.Time
	phaseHosts int
	stepsDone  int
	stepsBad   int
	hosts      map[string]*liveHost
	order      []string
}

type liveHost struct {
	step    string
	started time.Time
	running bool
	status  string
	took    time.Duration
	ended   time.Time // by the Terminal's clock
}

func newLiveRegion(t *Terminal) *liveRegion {
	return &liveRegion{t: t, hosts: map[string]*liveHost{}, stop: make(chan struct{})}
}

func (l *liveRegion) record(r journal.Record, text string) {
	l.pending.WriteString(text)
	l.paused = false
	urgent := awaited(r.Type)
	switch r.Type {
	case journal.PhaseStarted:
		urgent = true
		if isRollbackPhase(&r) {
			break // within the phase or batch at work: its tally goes on
		}
		l.phase, l.phaseStart, l.phaseHosts = PhaseLabel(r.Phase, r.Batch), r.Time, len(r.Hosts)
		l.stepsDone, l.stepsBad = 0, 0
		l.clearHosts()
	case journal.PhaseFinished:
		if isRollbackPhase(&r) {
			break
		}
		l.phase = ""
		l.clearHosts()
	case journal.StepStarted:
		h, ok := l.hosts[r.Host]
		if !ok {
			h = &liveHost{}
			l.hosts[r.Host] = h
			l.order = append(l.order, r.Host)
		}
		*h = liveHost{step: stepTitle(r.StepID, r.Index, sanitize(r.Step)), started: r.Time, running: true}
	case journal.StepFinished:
		if h, ok := l.hosts[r.Host]; ok {
			h.running, h.status, h.ended = false, r.Status, l.t.now()
			h.took = time.Duration(r.DurationMS) * time.Millisecond
		}
		if r.Final {
			l.stepsDone++
			if r.Status == journal.StatusFailed || r.Status == journal.StatusUnreachable {
				l.stepsBad++
				urgent = true
			}
		}
	case journal.HostFinished:
		l.removeHost(r.Host)
	case journal.RunFinished:
		l.phase = ""
		l.clearHosts()
		l.draw()
		l.halt()
		return
	}
	if urgent || l.t.now().Sub(l.lastDraw) >= redrawEvery {
		l.draw()
		return
	}
	l.dirty = true
	l.startTicker()
}

func (l *liveRegion) clearHosts() {
	l.hosts = map[string]*liveHost{}
	l.order = l.order[:0]
}

func (l *liveRegion) removeHost(name string) {
	if _, ok := l.hosts[name]; !ok {
		return
	}
	delete(l.hosts, name)
	for i, n := range l.order {
		if n == name {
			l.order = append(l.order[:i], l.order[i+1:]...)
			break
		}
	}
}

func (l *liveRegion) startTicker() {
	if l.ticking || l.stopped {
		return
	}
	l.ticking = true
	go func() {
		tick := time.NewTicker(redrawEvery)
		defer tick.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-tick.C:
				l.t.mu.Lock()
				if !l.stopped && !l.paused && (l.dirty || (l.drawn > 1 && l.t.now().Sub(l.lastDraw) >= elapsedEvery)) {
					l.draw()
				}
				l.t.mu.Unlock()
			}
		}
	}()
}

// draw writes the pending lines and the block in one write.
func (l *liveRegion) draw() {
	var b bytes.Buffer
	if l.drawn > 0 {
		fmt.Fprintf(&b, cursorUpFmt, l.drawn)
		b.WriteString(eraseDownCode)
	}
	b.Write(l.pending.Bytes())
	l.pending.Reset()
	lines := l.lines()
	for _, line := range lines {
		b.WriteString(line)
		b.WriteByte('\n')
	}
	l.drawn = len(lines)
	l.dirty = false
	l.lastDraw = l.t.now()
	if b.Len() > 0 {
		_, _ = l.t.w.Write(b.Bytes())
	}
}

// lines is the block: the phase's tally, then the hosts with a step running
// or just ended.
func (l *liveRegion) lines() []string {
	if l.phase == "" && len(l.order) == 0 {
		return nil
	}
	st, now, width := l.t.st, l.t.now(), l.t.opts.Width-1
	fit := st.r.NewStyle().MaxWidth(width)
	var out []string
	if l.phase != "" {
		tally := fmt.Sprintf("  %s · %d hosts · %d steps done", sanitize(l.phase), l.phaseHosts, l.stepsDone)
		if l.stepsBad > 0 {
			tally += fmt.Sprintf(" · %d failed", l.stepsBad)
		}
		tally += " · " + formatDuration(now.Sub(l.phaseStart))
		out = append(out, fit.Render(st.render(st.dim, tally)))
	}
	frame := spinner[int(now.UnixMilli()/100)%len(spinner)]
	shown, more := 0, 0
	for _, name := range l.order {
		h := l.hosts[name]
		if !h.running && now.Sub(h.ended) > lingerFor {
			continue
		}
		if shown == maxLiveHosts {
			more++
			continue
		}
		shown++
		glyph, took := st.render(st.title, frame), formatDuration(now.Sub(h.started))
		if !h.running {
			glyph, took = st.render(st.of(h.status), statusGlyph(h.status)), formatDuration(h.took)
		}
		out = append(out, fit.Render(fmt.Sprintf("  %s %s  %s  %s", glyph, l.t.pad(name), h.step, st.render(st.dim, took))))
	}
	if more > 0 {
		out = append(out, fit.Render(fmt.Sprintf("  … %d more hosts at work", more)))
	}
	return out
}

func statusGlyph(status string) string {
	switch status {
	case journal.StatusOK, journal.StatusChanged:
		return "✓"
	case journal.StatusFailed:
		return "✗"
	case journal.StatusUnreachable:
		return "⚠"
	default:
		return "–"
	}
}

// pause writes the pending lines and erases the block until the next record.
func (l *liveRegion) pause() {
	l.erase()
	l.paused = true
}

func (l *liveRegion) close() {
	l.erase()
	l.halt()
}

func (l *liveRegion) erase() {
	var b bytes.Buffer
	if l.drawn > 0 {
		fmt.Fprintf(&b, cursorUpFmt, l.drawn)
		b.WriteString(eraseDownCode)
	}
	b.Write(l.pending.Bytes())
	l.pending.Reset()
	l.drawn = 0
	if b.Len() > 0 {
		_, _ = l.t.w.Write(b.Bytes())
	}
}

func (l *liveRegion) halt() {
	if !l.stopped {
		l.stopped = true
		close(l.stop)
	}
}
