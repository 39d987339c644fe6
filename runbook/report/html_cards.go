package report

import (
	"html/template"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// renderHostCards writes the Hosts section's cards: per host its outcome and
// a table with a row per step execution, output folded.
func renderHostCards(s *Summary) template.HTML {
	size := 0
	for i := range s.Hosts {
		size += 512
		for j := range s.Hosts[i].Steps {
			st := &s.Hosts[i].Steps[j]
			size += 768 + len(st.Command) + len(st.Error) + len(st.Stdout) + len(st.Stderr)
		}
	}
	w := &htmlBuf{}
	w.sb.Grow(size)
	for i := range s.Hosts {
		writeHostCard(w, s, i)
	}
	return w.html()
}

func writeHostCard(w *htmlBuf, s *Summary, i int) {
	h := &s.Hosts[i]
	outcome := outcomeOr(h.Outcome)
	w.raw("\n  <details class=\"host\" id=\"h")
	w.int(int64(i + 1))
	w.raw("\"")
	if len(s.Hosts) <= openCardsUpTo || h.NeedsAttention() {
		w.raw(" open")
	}
	w.raw(">\n    <summary>\n      <span class=\"hname\">")
	w.text(h.Name)
	w.raw("</span>\n      <span class=\"badge oc-")
	w.text(outcome)
	w.raw("\">")
	w.text(outcome)
	w.raw("</span>\n      <span class=\"hmeta\">")
	w.text(h.Group)
	w.raw(" · reached ")
	w.text(h.Phase)
	w.raw(" · ")
	w.duration(h.Duration)
	w.raw("</span>\n      ")
	if h.FailedStep != "" {
		w.raw("<span class=\"hfail\">failed step: ")
		w.text(h.FailedStep)
		w.raw("</span>")
	}
	w.raw("\n      ")
	if h.Error != "" {
		w.raw("<span class=\"herr\">")
		w.text(h.Error)
		w.raw("</span>")
	}
	w.raw("\n    </summary>\n    ")
	if len(h.Steps) == 0 {
		w.raw("\n    <p class=\"nosteps\">No steps ran on this host.</p>\n    ")
	} else {
		w.raw("\n    <table class=\"grid steps\">\n      <thead><tr><th>Phase</th><th>Step</th><th>Kind</th><th>Status</th>" +
			"<th>Start</th><th>Duration</th><th>rc</th><th>Output</th></tr></thead>\n      <tbody>\n      ")
		for j := range h.Steps {
			writeStepRow(w, &h.Steps[j])
		}
		w.raw("\n      </tbody>\n    </table>\n    ")
	}
	w.raw("\n  </details>\n  ")
}

// writeStepRow writes the table row of one step execution: the bars link to
// its id, "s" and the seq of the record that began it.
func writeStepRow(w *htmlBuf, st *StepSummary) {
	open := st.Open()
	w.raw("\n      <tr id=\"s")
	w.int(st.Seq)
	w.raw("\" class=\"step-row\">\n        <td>")
	writePhaseLabel(w, st)
	w.raw("</td>\n        <td><span class=\"slabel\">")
	w.stepLabel(st)
	w.raw("</span> ")
	w.text(st.Step)
	if st.DelegateTo != "" {
		w.raw(" <span class=\"deleg\">on ")
		w.text(st.DelegateTo)
		w.raw("</span>")
	}
	w.raw("</td>\n        <td>")
	w.text(st.Kind)
	w.raw("</td>\n        <td><span class=\"badge st-")
	w.text(st.Status)
	w.raw("\">")
	w.text(st.Status)
	w.raw("</span></td>\n        <td>")
	w.clock(st.Started)
	w.raw("</td>\n        <td>")
	if open {
		w.raw("—")
	} else {
		w.duration(st.Duration)
	}
	w.raw("</td>\n        <td>")
	if st.RC == nil {
		w.raw("-")
	} else {
		w.int(int64(*st.RC))
	}
	w.raw("</td>\n        <td class=\"outcell\">\n          <details class=\"out\">\n            <summary>")
	switch {
	case open:
		w.raw("running when the journal ended")
	case st.Stderr != "":
		w.raw("stderr ")
		w.lines(st.Stderr)
		if st.Stdout != "" {
			w.raw(" · stdout ")
			w.lines(st.Stdout)
		}
	case st.Stdout != "":
		w.lines(st.Stdout)
	default:
		w.raw("no output")
	}
	w.raw("</summary>\n            <div class=\"outbody\">\n              ")
	writeStepOutput(w, st)
	w.raw("\n            </div>\n          </details>\n        </td>\n      </tr>\n      ")
}

// writeStepOutput writes the folded body of a step row: command, error,
// attempts, stdout and stderr, each on the template's line.
func writeStepOutput(w *htmlBuf, st *StepSummary) {
	open := st.Open()
	if st.Command != "" {
		w.raw("<div class=\"cmd\"><span>$</span> <code>")
		w.text(st.Command)
		w.raw("</code></div>")
	}
	w.raw("\n              ")
	if open {
		w.raw("<p class=\"openmsg\">No <code>step_finished</code> record: the step was running when the journal ended.</p>")
	}
	w.raw("\n              ")
	if st.Error != "" {
		w.raw("<p class=\"errmsg\">")
		w.text(plainOutput(st.Error))
		w.raw("</p>")
	}
	w.raw("\n              ")
	if len(st.Attempts) > 1 || (open && len(st.Attempts) > 0) {
		for _, a := range st.Attempts {
			w.raw("<p class=\"attempt\">attempt ")
			w.int(int64(a.Attempt))
			w.raw(": ")
			w.text(a.Status)
			w.raw(", rc ")
			if a.RC == nil {
				w.raw("-")
			} else {
				w.int(int64(*a.RC))
			}
			w.raw(", ")
			w.duration(time.Duration(a.DurationMS) * time.Millisecond)
			if a.Error != "" {
				w.raw(": ")
				w.text(a.Error)
			}
			w.raw("</p>")
		}
	}
	w.raw("\n              ")
	if st.Stdout != "" {
		w.raw("<pre class=\"stdout\">")
		w.text(plainOutput(st.Stdout))
		w.raw("</pre>")
		if st.StdoutCut {
			w.raw("<p class=\"cut\">stdout cut at the journal's limit</p>")
		}
	}
	w.raw("\n              ")
	if st.Stderr != "" {
		w.raw("<pre class=\"stderr\">")
		w.text(plainOutput(st.Stderr))
		w.raw("</pre>")
		if st.StderrCut {
			w.raw("<p class=\"cut\">stderr cut at the journal's limit</p>")
		}
	}
}

// plainOutput is a step's output (or error) as the page shows it: without
// the escape sequences a program writes for a terminal (colours, cursor
// moves), which a browser would show as stray text like "[31m", and
// without the other control characters but tab and line ends. The journal
// keeps the output as it came.
func plainOutput(s string) string {
	if strings.IndexFunc(s, strayControl) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if strayControl(r) {
			return -1
		}
		return r
	}, ansi.Strip(s))
}

func strayControl(r rune) bool { return isControl(r) && r != '\n' && r != '\t' && r != '\r' }

// lines appends the template's "lines" of s: "1 line", "3 lines".
func (w *htmlBuf) lines(s string) {
	n := strings.Count(strings.TrimRight(s, "\n"), "\n") + 1
	w.int(int64(n))
	if n == 1 {
		w.raw(" line")
	} else {
		w.raw(" lines")
	}
}
