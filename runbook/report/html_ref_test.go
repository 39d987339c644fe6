package report

import (
	"bytes"
	"fmt"
	"html/template"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook/journal"
)

// The timeline rows and the host cards used to be rendered by html/template
// from the fragments below, over views built by the functions below; they are
// now written by hand (html_rows.go, html_cards.go). This file keeps the old
// way as the reference: the page's template with the fragments put back,
// executed by html/template, must give the very bytes WriteHTML gives.

const refTimelineFragment = `      {{range .Groups}}
      <details class="grp"{{if .Open}} open{{end}}>
        <summary><span class="lbl grp-lbl">{{.Label}}</span><span class="grp-sum">{{.Summary}}</span></summary>
        {{range .Rows}}
        <div class="row{{if .Attention}} attn{{end}}" data-host="{{.Host}}">
          <a class="lbl host-lbl" href="#{{.Card}}" title="{{.Host}}: {{.Outcome}}"><span class="dot oc-{{.Outcome}}"></span>{{.Host}}</a>
          <div class="track">{{range .Bars}}<a class="bar st-{{.Status}}{{if .Rollback}} rb{{end}}" href="#{{.Target}}" data-host="{{.Host}}" data-step-id="{{.StepID}}" data-target="{{.Target}}" data-status="{{.Status}}" style="--l:{{.Left}};--w:{{.Width}}" title="{{.Title}}"></a>{{end}}</div>
        </div>
        {{end}}
      </details>
      {{end}}
`

const refHostCardsFragment = `  {{range .Hosts}}
  <details class="host" id="{{.ID}}"{{if .Open}} open{{end}}>
    <summary>
      <span class="hname">{{.Name}}</span>
      <span class="badge oc-{{.Outcome}}">{{.Outcome}}</span>
      <span class="hmeta">{{.Group}} · reached {{.Phase}} · {{.Duration}}</span>
      {{if .FailedStep}}<span class="hfail">failed step: {{.FailedStep}}</span>{{end}}
      {{with .Error}}<span class="herr">{{.}}</span>{{end}}
    </summary>
    {{if .Steps}}
    <table class="grid steps">
      <thead><tr><th>Phase</th><th>Step</th><th>Kind</th><th>Status</th><th>Start</th><th>Duration</th><th>rc</th><th>Output</th></tr></thead>
      <tbody>
      {{range .Steps}}
      <tr id="{{.ID}}" class="step-row">
        <td>{{.Phase}}</td>
        <td><span class="slabel">{{.Label}}</span> {{.Name}}{{with .Delegate}} <span class="deleg">on {{.}}</span>{{end}}</td>
        <td>{{.Kind}}</td>
        <td><span class="badge st-{{.Status}}">{{.Status}}</span></td>
        <td>{{.Started}}</td>
        <td>{{.Duration}}</td>
        <td>{{.RC}}</td>
        <td class="outcell">
          <details class="out">
            <summary>{{if .Open}}running when the journal ended{{else if .Stderr}}stderr {{lines .Stderr}}{{with .Stdout}} · stdout {{lines .}}{{end}}{{else if .Stdout}}{{lines .Stdout}}{{else}}no output{{end}}</summary>
            <div class="outbody">
              {{with .Command}}<div class="cmd"><span>$</span> <code>{{.}}</code></div>{{end}}
              {{if .Open}}<p class="openmsg">No <code>step_finished</code> record: the step was running when the journal ended.</p>{{end}}
              {{with .Error}}<p class="errmsg">{{plain .}}</p>{{end}}
              {{range .Attempts}}<p class="attempt">{{.}}</p>{{end}}
              {{if .Stdout}}<pre class="stdout">{{plain .Stdout}}</pre>{{if .StdoutCut}}<p class="cut">stdout cut at the journal's limit</p>{{end}}{{end}}
              {{if .Stderr}}<pre class="stderr">{{plain .Stderr}}</pre>{{if .StderrCut}}<p class="cut">stderr cut at the journal's limit</p>{{end}}{{end}}
            </div>
          </details>
        </td>
      </tr>
      {{end}}
      </tbody>
    </table>
    {{else}}
    <p class="nosteps">No steps ran on this host.</p>
    {{end}}
  </details>
  {{end}}
`

const refPhaseHostsTitle = `{{range $i, $h := .Hosts}}{{if $i}}, {{end}}{{$h}}{{end}}`

// refTemplate is the page's template with the hand-written parts replaced by
// the template fragments they replaced.
var refTemplate = func() *template.Template {
	src, err := assets.ReadFile("assets/report.html.tmpl")
	if err != nil {
		panic(err)
	}
	page := string(src)
	for _, r := range []struct{ placeholder, fragment string }{
		{"      {{.Timeline}}\n", refTimelineFragment},
		{"  {{.HostCards}}\n", refHostCardsFragment},
		{"{{join .Hosts}}", refPhaseHostsTitle},
	} {
		if n := strings.Count(page, r.placeholder); n != 1 {
			panic(fmt.Sprintf("the template holds %q %d times, want once", r.placeholder, n))
		}
		page = strings.Replace(page, r.placeholder, r.fragment, 1)
	}
	return template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
		"lines": func(s string) string { return plural(strings.Count(strings.TrimRight(s, "\n"), "\n")+1, "line") },
		"dur":   formatDuration,
		"clock": formatClock,
		"plain": plainOutput,
	}).Parse(page))
}()

// refView is what refTemplate renders: the page's view, with the groups and
// host cards as views of their own.
type refView struct {
	*htmlView
	Groups []refGroupView
	Hosts  []refHostView
	Bars   int
}

type refGroupView struct {
	Label   string
	Open    bool
	Summary string
	Rows    []refRowView
}

type refRowView struct {
	Host      string
	Card      string // id of the host's card
	Outcome   string
	Attention bool
	Bars      []refBarView
}

type refBarView struct {
	Left, Width string
	Status      string
	Rollback    bool
	Host        string
	StepID      string
	Target      string // id of the step's table row
	Title       string
}

type refHostView struct {
	ID         string
	Name       string
	Outcome    string
	Group      string
	Phase      string
	FailedStep string
	Error      string
	Duration   string
	Open       bool
	Steps      []refStepView
}

type refStepView struct {
	ID, Label, Name, Kind, Phase, Status, RC, Started, Duration, Delegate string
	Command, Stdout, Stderr, Error                                        string
	StdoutCut, StderrCut, Open                                            bool
	Attempts                                                              []string
}

// refHTML renders the page the old way.
func refHTML(t testing.TB, s *Summary) string {
	t.Helper()
	v := &refView{htmlView: buildHTMLView(s)}
	span := s.Ended.Sub(s.Started)
	if span < time.Second {
		span = time.Second
	}
	refBuildHostViews(v, s, timeAxis{start: s.Started, span: span})
	var out bytes.Buffer
	if err := refTemplate.Execute(&out, v); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func refBuildHostViews(v *refView, s *Summary, ax timeAxis) {
	groupIndex := map[string]int{}
	for i := range s.Hosts {
		h := &s.Hosts[i]
		card := fmt.Sprintf("h%d", i+1)
		row := refRowView{Host: h.Name, Card: card, Outcome: outcomeOr(h.Outcome), Attention: h.NeedsAttention()}
		hv := refHostView{ID: card, Name: h.Name, Outcome: outcomeOr(h.Outcome), Group: h.Group, Phase: h.Phase,
			FailedStep: h.FailedStep, Error: h.Error, Duration: formatDuration(h.Duration),
			Open: len(s.Hosts) <= openCardsUpTo || h.NeedsAttention()}
		for _, st := range h.Steps {
			id := fmt.Sprintf("s%d", st.Seq)
			end := st.Ended
			if st.Open() {
				end = s.Ended
			}
			left, width := ax.place(st.Started, end)
			row.Bars = append(row.Bars, refBarView{Left: left, Width: width, Status: st.Status, Rollback: st.PhaseIndex == 0 && st.Phase == "rollback", Host: h.Name,
				StepID: st.StepID, Target: id, Title: refBarTitle(st)})
			hv.Steps = append(hv.Steps, refStepViewOf(id, st))
		}
		v.Bars += len(row.Bars)
		gi, ok := groupIndex[h.Group]
		if !ok {
			v.Groups = append(v.Groups, refGroupView{Label: h.Group})
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

func refBarTitle(st StepSummary) string {
	t := fmt.Sprintf("%s · %s · %s %s · %s", st.Host, st.PhaseLabel(), st.Label(), st.Step, st.Status)
	if st.RC != nil && (st.Status == journal.StatusFailed || st.Status == journal.StatusUnreachable) {
		t += " rc=" + rcString(st.RC)
	}
	if st.Open() {
		return t + " · started " + formatClock(st.Started) + ", never finished"
	}
	return t + " · " + formatClock(st.Started) + " · " + formatDuration(st.Duration)
}

func refStepViewOf(id string, st StepSummary) refStepView {
	sv := refStepView{ID: id, Label: st.Label(), Name: st.Step, Kind: st.Kind, Phase: st.PhaseLabel(),
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

// refRuns are the runs the hand-written report parts are checked on.
func refRuns(t testing.TB) map[string][]journal.Record {
	fixture := func(name string) []journal.Record {
		log, err := journal.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return log.Records
	}
	return map[string][]journal.Record{
		"journal":         fixture("journal.jsonl"),
		"crash":           fixture("crash.jsonl"),
		"hostile":         hostileRun(false),
		"hostile-many":    hostileRun(true),
		"synthetic-3":     syntheticRun(3, 2, 1, nil),
		"synthetic-20":    syntheticRun(20, 5, 7, map[int]bool{3: true, 11: true}),
		"synthetic-300":   syntheticRun(300, 3, 100, map[int]bool{250: true}),
		"empty":           nil,
		"one-record":      {{Seq: 1, Type: journal.StepStarted, Host: "h", StepID: "x"}},
		"negative-values": {{Seq: -4, Time: time.Unix(-1e9, 0), Type: journal.StepFinished, Host: "h", Final: true, Attempt: -3, DurationMS: -5, Index: -2, StepID: "9.-1"}},
	}
}

// The hand-written parts of the page give what the template gave.
func TestHTMLMatchesTemplateReference(t *testing.T) {
	for name, recs := range refRuns(t) {
		t.Run(name, func(t *testing.T) {
			s := Summarize(recs)
			var got bytes.Buffer
			if err := WriteHTML(&got, s, recs); err != nil {
				t.Fatal(err)
			}
			if want := refHTML(t, s); got.String() != want {
				t.Errorf("the page differs from the template's rendering %s", firstDiff(got.String(), want))
			}
		})
	}
}

// firstDiff shows where two renderings part.
func firstDiff(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	from := max(i-200, 0)
	return fmt.Sprintf("at byte %d (of %d, want %d):\n--- got:\n%q\n--- want:\n%q", i, len(got), len(want),
		got[from:min(i+200, len(got))], want[from:min(i+200, len(want))])
}
