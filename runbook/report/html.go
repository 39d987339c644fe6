package report

import (
	"bufio"
	"embed"
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/runbookhq/runbook/runbook/journal"
)

//go:embed assets/report.html.tmpl assets/report.css assets/report.js
var assets embed.FS

var htmlTemplate = template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
	"dur":   formatDuration,
	"clock": formatClock,
	// join lists hosts in a title: one string for html/template to escape,
	// rather than a range over every host of the phase.
	"join": func(list []string) string { return strings.Join(list, ", ") },
}).ParseFS(assets, "assets/report.html.tmpl"))

var (
	reportCSS = mustAsset("assets/report.css")
	reportJS  = mustAsset("assets/report.js")
)

func mustAsset(name string) string {
	b, err := assets.ReadFile(name)
	if err != nil {
		panic(fmt.Sprintf("report: embedded %s: %v", name, err))
	}
	return string(b)
}

// HTMLOptions shape WriteHTML's page.
type HTMLOptions struct {
	// Command is how to invoke runbook in the commands the page suggests,
	// e.g. "runbook --state-dir /srv/rb"; "runbook" when empty.
	Command string
}

// WriteHTML writes the run as one self-contained HTML page: no network (CSS
// and script are inline, and the page's Content-Security-Policy forbids
// fetching anything). It holds the header, what to do next, a timeline with
// a bar per host × step execution, the events, a table per host with every
// step and its folded output, the backups and the version changes. The
// whole page goes through html/template: journal text comes from remote
// hosts, and its contextual escaping is the page's safety net. s may be nil;
// it is then computed from recs.
func WriteHTML(w io.Writer, s *Summary, recs []journal.Record, opts HTMLOptions) error {
	if s == nil {
		s = Summarize(recs)
	}
	v := buildHTMLView(s, opts)
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := htmlTemplate.Execute(bw, v); err != nil {
		return fmt.Errorf("write HTML report: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write HTML report: %w", err)
	}
	return nil
}
