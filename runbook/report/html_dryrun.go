package report

import (
	"fmt"
	"strings"

	"github.com/runbookhq/runbook/runbook/journal"
)

// What report.html shows of a dry run, of diffs and of hooks, in sections
// of their own: the page's host cards and timeline stay as for any run.

// Diffs past this many start folded.
const openDiffsUpTo = 20

// predictionView is one step of a dry run across its hosts.
type predictionView struct {
	Phase, Step string
	Change      []string // hosts where it would change
	OK          int
	Skipped     int
	Why         string // why a dry run skipped it (the first reason seen)
	Fail        []string
	// ChangeHosts and FailHosts name the first hosts of Change and Fail.
	ChangeHosts, FailHosts string
}

type diffView struct {
	Host, Step, Status, Word string
	Open                     bool
	Lines                    []diffLine
}

type diffLine struct{ Class, Text string }

type hookView struct {
	Time, Label, Status, Word, Note, Output string
}

// dryRunViews adds the dry run's predictions, the diffs and the hooks to v.
func dryRunViews(v *htmlView, s *Summary) {
	if s.DryRun {
		v.Title += " (dry run)"
		v.Predictions = predictionsOf(s)
	}
	for _, h := range s.Hosts {
		for _, st := range h.Steps {
			if st.Diff == "" {
				continue
			}
			v.Diffs = append(v.Diffs, diffView{Host: h.Name, Step: st.Label() + " " + st.Step + " (" + st.PhaseLabel() + ")",
				Status: st.Status, Word: statusWord(st.Status, st.DryRun), Open: len(v.Diffs) < openDiffsUpTo, Lines: diffLinesOf(st.Diff)})
		}
	}
	for _, st := range s.Hooks {
		out := strings.TrimSpace(joinNonEmpty("\n", st.Stdout, st.Stderr))
		v.Hooks = append(v.Hooks, hookView{Time: formatClock(st.Started), Label: st.HookLabel(), Status: st.Status,
			Word: statusWord(st.Status, st.DryRun), Note: plainOutput(joinNonEmpty(": ", st.Error, st.Reason)), Output: plainOutput(out)})
	}
}

// diffLinesOf splits a diff into lines classed for colour (nil for none).
func diffLinesOf(diff string) []diffLine {
	if diff == "" {
		return nil
	}
	var out []diffLine
	for _, line := range strings.Split(strings.TrimRight(plainOutput(diff), "\n"), "\n") {
		out = append(out, diffLine{Class: diffClass(line), Text: line})
	}
	return out
}

func diffClass(line string) string {
	switch {
	case strings.HasPrefix(line, "+++ "), strings.HasPrefix(line, "--- "):
		return "df-file"
	case strings.HasPrefix(line, "+"):
		return "df-add"
	case strings.HasPrefix(line, "-"):
		return "df-del"
	case strings.HasPrefix(line, "@@"), strings.HasPrefix(line, "#"):
		return "df-meta"
	}
	return "df-ctx"
}

// predictionsOf is, per step of the runbook in the order the run reached
// them, what a dry run predicted it would do on each host.
func predictionsOf(s *Summary) []predictionView {
	var out []predictionView
	index := map[string]int{}
	for _, h := range s.Hosts {
		for _, st := range h.Steps {
			if !st.DryRun || st.Open() {
				continue
			}
			key := fmt.Sprint(st.PhaseIndex, " ", st.StepID)
			i, ok := index[key]
			if !ok {
				i = len(out)
				index[key] = i
				out = append(out, predictionView{Phase: st.Phase, Step: st.Label() + " " + st.Step})
			}
			p := &out[i]
			switch st.Status {
			case journal.StatusChanged:
				p.Change = append(p.Change, h.Name)
			case journal.StatusOK:
				p.OK++
			case journal.StatusSkipped:
				p.Skipped++
				if p.Why == "" {
					p.Why = st.Reason
				}
			default:
				p.Fail = append(p.Fail, h.Name)
			}
		}
	}
	for i := range out {
		out[i].ChangeHosts, out[i].FailHosts = someHosts(out[i].Change), someHosts(out[i].Fail)
	}
	return out
}

// someHosts names up to eight hosts and counts the rest.
func someHosts(hosts []string) string {
	if len(hosts) <= 8 {
		return strings.Join(hosts, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(hosts[:8], ", "), len(hosts)-8)
}
