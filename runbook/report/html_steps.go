package report

import (
	"html/template"
	"strings"
)

// stepRowsHTML writes a host card's step rows. They are the page's bulk (a
// row per step execution, a dozen values each), and html/template, which
// calls its escapers by reflection for every value, spent most of the
// report's time on them; so they are written here, every journal string
// escaped by template.HTMLEscapeString, html/template's own escaper of
// text, which serves both element text and a double-quoted attribute. The
// markup is the one the page's styles and script expect (see
// assets/report.html.tmpl for the rest of the page).
func stepRowsHTML(steps []stepView) template.HTML {
	var w htmlWriter
	w.Grow(len(steps) * 768) // a row of a step with a line of output, about
	for i := range steps {
		w.stepRow(&steps[i])
	}
	return template.HTML(w.String())
}

type htmlWriter struct{ strings.Builder }

// raw writes markup as it is; text writes s escaped.
func (w *htmlWriter) raw(s ...string) {
	for _, p := range s {
		w.WriteString(p)
	}
}

func (w *htmlWriter) text(s string) { w.WriteString(template.HTMLEscapeString(s)) }

func (w *htmlWriter) stepRow(st *stepView) {
	w.raw(`<tr id="`)
	w.text(st.ID)
	w.raw(`" class="step-row"><td>`)
	w.text(st.Phase)
	w.raw(`</td><td><span class="slabel">`)
	w.text(st.Label)
	w.raw(`</span> `)
	w.text(st.Name)
	if st.Delegate != "" {
		w.raw(` <span class="deleg">on `)
		w.text(st.Delegate)
		w.raw(`</span>`)
	}
	w.raw(`</td><td>`)
	w.text(st.Kind)
	w.raw(`</td><td><span class="badge st-`)
	w.text(st.Status)
	w.raw(`">`)
	w.text(st.Word)
	w.raw(`</span>`)
	if st.Rescued {
		w.raw(` <span class="badge oc-rescued">rescued</span>`)
	}
	for _, cell := range [...]string{st.Started, st.Duration, st.RC} {
		w.raw(`</td><td>`)
		w.text(cell)
	}
	w.raw("</td>\n<td class=\"outcell\"><details class=\"out\"><summary>")
	w.text(outputSummary(st))
	w.raw("</summary>\n<div class=\"outbody\">")
	w.stepOutput(st)
	w.raw("</div></details></td></tr>\n")
}

// lines says how many lines s has ("3 lines").
func lines(s string) string { return plural(strings.Count(strings.TrimRight(s, "\n"), "\n")+1, "line") }

// outputSummary is what the folded output of a step says of it.
func outputSummary(st *stepView) string {
	switch {
	case st.Open:
		return "running when the journal ended"
	case st.Stderr != "" && st.Stdout != "":
		return "stderr " + lines(st.Stderr) + " · stdout " + lines(st.Stdout)
	case st.Stderr != "":
		return "stderr " + lines(st.Stderr)
	case st.Stdout != "":
		return lines(st.Stdout)
	case len(st.Diff) > 0:
		return "diff"
	case st.Reason != "":
		return "why skipped"
	}
	return "no output"
}

func (w *htmlWriter) stepOutput(st *stepView) {
	if st.Reason != "" {
		w.raw(`<p class="why">`)
		w.text(st.Reason)
		w.raw("</p>\n")
	}
	if st.Command != "" {
		w.raw(`<div class="cmd"><span>$</span> <code>`)
		w.text(st.Command)
		w.raw("</code></div>\n")
	}
	if st.Open {
		w.raw("<p class=\"openmsg\">No <code>step_finished</code> record: the step was running when the journal ended.</p>\n")
	}
	if st.Error != "" {
		w.raw(`<p class="errmsg">`)
		w.text(plainOutput(st.Error))
		w.raw("</p>\n")
	}
	for _, a := range st.Attempts {
		w.raw(`<p class="attempt">`)
		w.text(a)
		w.raw("</p>\n")
	}
	for _, out := range [...]struct {
		class, text string
		cut         bool
	}{{"stdout", st.Stdout, st.StdoutCut}, {"stderr", st.Stderr, st.StderrCut}} {
		if out.text == "" {
			continue
		}
		w.raw(`<pre class="`, out.class, `">`)
		w.text(plainOutput(out.text))
		w.raw("</pre>")
		if out.cut {
			w.raw(`<p class="cut">`, out.class, " cut at the journal's limit</p>")
		}
		w.raw("\n")
	}
	if len(st.Diff) > 0 {
		w.raw(`<pre class="diff">`)
		for _, l := range st.Diff {
			w.raw(`<span class="`)
			w.text(l.Class)
			w.raw(`">`)
			w.text(l.Text)
			w.raw("</span>\n")
		}
		w.raw("</pre>\n")
	}
}
