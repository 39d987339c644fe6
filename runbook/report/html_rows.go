package report

import (
	"fmt"
	"html/template"
	"strings"

	"github.com/runbookhq/runbook/runbook/journal"
)

// timelineGroup is a canary or batch group of the timeline: its hosts as
// indexes into Summary.Hosts, in order.
type timelineGroup struct {
	label string
	hosts []int
}

// timelineGroups groups the hosts by Group, groups in order of their first
// host.
func timelineGroups(s *Summary) []timelineGroup {
	var groups []timelineGroup
	index := map[string]int{}
	for i := range s.Hosts {
		g := s.Hosts[i].Group
		gi, ok := index[g]
		if !ok {
			groups = append(groups, timelineGroup{label: g})
			gi = len(groups) - 1
			index[g] = gi
		}
		groups[gi].hosts = append(groups[gi].hosts, i)
	}
	return groups
}

// renderTimeline writes the timeline's groups, a row per host and a bar per
// host × step execution, and returns them with the number of bars.
func renderTimeline(s *Summary, ax timeAxis) (template.HTML, int) {
	steps := 0
	for i := range s.Hosts {
		steps += len(s.Hosts[i].Steps)
	}
	w := &htmlBuf{}
	w.sb.Grow(320 * (len(s.Hosts) + steps)) // about what a row and a bar take
	for _, g := range timelineGroups(s) {
		open := len(s.Hosts) <= openGroupsUpTo
		for _, i := range g.hosts {
			if s.Hosts[i].NeedsAttention() {
				open = true
			}
		}
		w.raw("\n      <details class=\"grp\"")
		if open {
			w.raw(" open")
		}
		w.raw(">\n        <summary><span class=\"lbl grp-lbl\">")
		w.text(g.label)
		w.raw("</span><span class=\"grp-sum\">")
		w.text(groupSummary(s, g))
		w.raw("</span></summary>\n        ")
		for _, i := range g.hosts {
			writeTimelineRow(w, s, i, ax)
		}
		w.raw("\n      </details>\n      ")
	}
	return w.html(), steps
}

// groupSummary is "12 hosts · 11 upgraded, 1 rolled_back", outcomes in the
// order their first host has them.
func groupSummary(s *Summary, g timelineGroup) string {
	counts := map[string]int{}
	var order []string
	for _, i := range g.hosts {
		o := outcomeOr(s.Hosts[i].Outcome)
		if counts[o] == 0 {
			order = append(order, o)
		}
		counts[o]++
	}
	parts := make([]string, len(order))
	for j, o := range order {
		parts[j] = fmt.Sprintf("%d %s", counts[o], o)
	}
	return fmt.Sprintf("%s · %s", plural(len(g.hosts), "host"), strings.Join(parts, ", "))
}

// writeTimelineRow writes the row of s.Hosts[i]: its label, linking to its
// card, and a bar per step execution.
func writeTimelineRow(w *htmlBuf, s *Summary, i int, ax timeAxis) {
	h := &s.Hosts[i]
	outcome := outcomeOr(h.Outcome)
	w.raw("\n        <div class=\"row")
	if h.NeedsAttention() {
		w.raw(" attn")
	}
	w.raw("\" data-host=\"")
	w.text(h.Name)
	w.raw("\">\n          <a class=\"lbl host-lbl\" href=\"#h")
	w.int(int64(i + 1))
	w.raw("\" title=\"")
	w.text(h.Name)
	w.raw(": ")
	w.text(outcome)
	w.raw("\"><span class=\"dot oc-")
	w.text(outcome)
	w.raw("\"></span>")
	w.text(h.Name)
	w.raw("</a>\n          <div class=\"track\">")
	for j := range h.Steps {
		writeBar(w, s, h, &h.Steps[j], ax)
	}
	w.raw("</div>\n        </div>\n        ")
}

// writeBar writes the bar of one step execution, linking to its table row.
func writeBar(w *htmlBuf, s *Summary, h *HostSummary, st *StepSummary, ax timeAxis) {
	end := st.Ended
	if st.Open() {
		end = s.Ended
	}
	l, r := ax.pct(st.Started), ax.pct(end)
	w.raw("<a class=\"bar st-")
	w.text(st.Status)
	if st.PhaseIndex == 0 && st.Phase == "rollback" {
		w.raw(" rb")
	}
	w.raw("\" href=\"#s")
	w.int(st.Seq)
	w.raw("\" data-host=\"")
	w.text(h.Name)
	w.raw("\" data-step-id=\"")
	w.text(st.StepID)
	w.raw("\" data-target=\"s")
	w.int(st.Seq)
	w.raw("\" data-status=\"")
	w.text(st.Status)
	w.raw("\" style=\"--l:")
	w.pct(l)
	w.raw(";--w:")
	w.pct(max(r-l, 0))
	w.raw("\" title=\"")
	writeBarTitle(w, st)
	w.raw("\"></a>")
}

// writeBarTitle writes the bar's tooltip, escaped: "worker-1 · Canary ·
// steps/2 restart crio · changed · 10:15:04 · 1.2s".
func writeBarTitle(w *htmlBuf, st *StepSummary) {
	w.text(st.Host)
	w.raw(" · ")
	writePhaseLabel(w, st)
	w.raw(" · ")
	w.stepLabel(st)
	w.raw(" ")
	w.text(st.Step)
	w.raw(" · ")
	w.text(st.Status)
	if st.RC != nil && (st.Status == journal.StatusFailed || st.Status == journal.StatusUnreachable) {
		w.raw(" rc=")
		w.int(int64(*st.RC))
	}
	if st.Open() {
		w.raw(" · started ")
		w.clock(st.Started)
		w.raw(", never finished")
		return
	}
	w.raw(" · ")
	w.clock(st.Started)
	w.raw(" · ")
	w.duration(st.Duration)
}

// writePhaseLabel writes st.PhaseLabel(), escaped.
func writePhaseLabel(w *htmlBuf, st *StepSummary) {
	if st.PhaseIndex == 0 && st.Phase == "rollback" {
		w.raw("Rollback")
	} else {
		w.text(st.Phase)
	}
	if st.Batch > 0 {
		w.raw(", batch ")
		w.int(int64(st.Batch))
	}
}
