package report

import (
	"bytes"
	"fmt"
	"html/template"
	"regexp"
	"strings"
	"testing"

	"github.com/runbookhq/runbook/runbook/journal"
)

// hostileStrings are journal strings that would be markup, quoting, entity or
// terminal-control trouble if they reached a report unescaped.
var hostileStrings = []string{
	`<script>alert(1)</script>`,
	`"><img src=x onerror=alert(2)>`,
	`it's 'quoted'`,
	`a & b &amp; c`,
	`</textarea><textarea>`,
	"\x1b[31mred\x1b[0m \x1b]0;title\x07",
	"nul\x00byte + plus",
	"bad utf-8 \xff\xfe and \ufdd0 \uffff",
	"cdata ]]> end\r\nline",
	`</pre></details></script><!--`,
}

// hostileRun is a run whose host names, step names, commands, outputs,
// errors, phases, params and messages are all hostileStrings; with many, it
// has enough hosts for the page to start folded.
func hostileRun(many bool) []journal.Record {
	evil := func(i int) string { return hostileStrings[i%len(hostileStrings)] }
	n := len(hostileStrings)
	if many {
		n = 3 * len(hostileStrings)
	}
	hosts := make([]string, n)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("%s-%d", evil(i), i)
	}
	b := newRecords()
	start := runStart(hosts...)
	start.Operator, start.Controller, start.Inventory, start.Limit = evil(0), evil(1), evil(2), evil(3)
	start.RunbookFile, start.RunbookSHA256 = evil(4), evil(5)
	start.Params = journal.Params{}
	for i, s := range hostileStrings {
		start.Params[fmt.Sprintf("p%d%s", i, s)] = s
	}
	b.add(start)
	canary := journal.Record{Type: journal.PhaseStarted, Phase: evil(6), PhaseIndex: 1, PhaseKind: "canary", Hosts: hosts[:1]}
	b.add(canary)
	b.add(journal.Record{Type: journal.Approval, Phase: evil(6), Prompt: evil(0), Decision: "approved", By: evil(3), Via: evil(4)})
	b.add(journal.Record{Type: journal.WaitStarted, Phase: evil(6), Text: evil(1), Seconds: 60})
	b.add(journal.Record{Type: journal.WaitFinished, Phase: evil(6), Text: evil(1)})
	canary.Type = journal.PhaseFinished
	b.add(canary)
	for first := 1; first < n; first += 4 {
		members := hosts[first:min(first+4, n)]
		batch := first/4 + 1
		b.add(journal.Record{Type: journal.PhaseStarted, Phase: evil(batch), PhaseIndex: 2, PhaseKind: "batch", Batch: batch, Hosts: members})
		for i, h := range members {
			k := first + i
			for s := 0; s < 3; s++ {
				id := fmt.Sprintf("2.steps.%d", s)
				st := started(h, id, evil(k+s), 1)
				st.Phase, st.Batch, st.Index = evil(batch), batch, s+1
				st.Command, st.DelegateTo, st.Kind = evil(k+s+1), evil(k+s+2), evil(k+s+3)
				fin := st
				fin.Type, fin.Final, fin.RC, fin.DurationMS = journal.StepFinished, true, intp(s), int64(100*k+s)
				fin.Status = []string{journal.StatusChanged, journal.StatusFailed, journal.StatusSkipped, journal.StatusUnreachable, journal.StatusOK}[(k+s)%5]
				fin.Stdout, fin.Stderr, fin.Error = evil(k+s+4), evil(k+s+5), evil(k+s+6)
				fin.StdoutCut, fin.StderrCut = k%2 == 0, k%3 == 0
				fin.Data = map[string]any{"sha256": evil(k), "backup": evil(k + 1), "remote": evil(k + 2), "local": evil(k + 3),
					"package": evil(k + 4), "version_before": evil(k + 5), "version_after": evil(k + 6)}
				switch {
				case k%4 == 1 && s == 1:
					// Retried: the first attempt failed, the second is final.
					first := fin
					first.Final, first.Status, first.Error = false, journal.StatusFailed, evil(k+7)
					again := st
					again.Attempt = 2
					fin.Attempt = 2
					b.add(st, first, again, fin)
				case k%5 == 2 && s == 2:
					b.add(st) // still running when the journal ends
				default:
					b.add(st, fin)
				}
			}
			if k%3 == 0 {
				rb := finished(h, "rollback.0", evil(k), 1, journal.StatusChanged, true)
				rb.Phase, rb.PhaseIndex, rb.Batch, rb.Stdout = "rollback", 0, batch, evil(k+1)
				b.add(rb)
			}
			b.add(journal.Record{Type: journal.Message, Host: h, Text: evil(k)})
			outcome := []string{journal.OutcomeUpgraded, journal.OutcomeRolledBack, journal.OutcomeFailed, journal.OutcomeUnreachable, ""}[k%5]
			if outcome != "" {
				b.add(journal.Record{Type: journal.HostFinished, Host: h, Outcome: outcome, Phase: evil(batch), FailedStep: evil(k + 1), Error: evil(k + 2)})
			}
		}
	}
	b.add(journal.Record{Type: journal.RunInterrupted, Reason: evil(2), Text: evil(3), Operator: evil(4)})
	if many {
		b.add(journal.Record{Type: journal.RunFinished, Status: journal.RunStatusFailed, Reason: evil(7)})
	}
	return b.list
}

func renderReports(t *testing.T, recs []journal.Record) (page, junit string) {
	t.Helper()
	s := Summarize(recs)
	var h, j bytes.Buffer
	if err := WriteHTML(&h, s, recs, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := WriteJUnit(&j, s, recs); err != nil {
		t.Fatal(err)
	}
	return h.String(), j.String()
}

// textEscape is html/template's escaping of s in element text.
func textEscape(t *testing.T, s string) string {
	t.Helper()
	var out bytes.Buffer
	if err := template.Must(template.New("").Parse("{{.}}")).Execute(&out, s); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// Host names, step names, commands, outputs and errors holding markup,
// quotes, entities, NULs and terminal escapes reach the HTML report only in
// html/template's escaped form, and junit.xml only as valid XML.
func TestReportsEscapeHostileJournal(t *testing.T) {
	for _, many := range []bool{false, true} {
		recs := hostileRun(many)
		page, junit := renderReports(t, recs)
		for _, h := range hostileStrings {
			esc := textEscape(t, h)
			if !strings.Contains(page, esc) {
				t.Errorf("many=%v: the page lacks %q escaped as %q", many, h, esc)
			}
			if esc != h && strings.Contains(page, h) {
				t.Errorf("many=%v: %q reached the page unescaped", many, h)
			}
		}
		// Markup the hostile strings would add, were they not escaped.
		for markup, n := range map[string]int{"<script": 2, "</script>": 2, "<textarea": 0, "</textarea": 0, "<img": 0,
			"<!--": 0, "</pre></details>": 0, "\x00": 0, `&amp;amp;amp;`: 0, "it's": 0} {
			if got := strings.Count(page, markup); got != n {
				t.Errorf("many=%v: %q %d times in the page, want %d", many, markup, got, n)
			}
		}
		for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", `&#34;&gt;&lt;img src=x onerror=alert(2)&gt;`,
			"it&#39;s &#39;quoted&#39;", "a &amp; b &amp;amp; c", "&lt;/textarea&gt;&lt;textarea&gt;",
			"nul\uFFFDbyte &#43; plus", `data-host="&lt;script&gt;alert(1)&lt;/script&gt;-0"`,
			`title="&#34;&gt;&lt;img src=x onerror=alert(2)&gt;-1: `} {
			if !strings.Contains(page, want) {
				t.Errorf("many=%v: the page lacks %q", many, want)
			}
		}
		// The values in URLs and styles are made from numbers alone.
		for _, m := range regexp.MustCompile(`(href|style)="([^"]*)"`).FindAllStringSubmatch(page, -1) {
			if !regexp.MustCompile(`^(#[hs]-?\d+|--l:\d+\.\d{3}%(;--w:\d+\.\d{3}%)?|data:,)$`).MatchString(m[2]) {
				t.Errorf("many=%v: %s=%q is not made of numbers alone", many, m[1], m[2])
			}
		}
		parseJUnit(t, []byte(junit))
		if strings.ContainsAny(junit, "\x00\x1b") {
			t.Errorf("many=%v: junit.xml carries control characters", many)
		}
		// Outside CDATA sections, journal text is escaped.
		markup := regexp.MustCompile(`(?s)<!\[CDATA\[.*?\]\]>`).ReplaceAllString(junit, "")
		for _, bad := range []string{"<script", "<img", "<textarea", "</textarea", "<!--", "alert(2)>"} {
			if strings.Contains(markup, bad) {
				t.Errorf("many=%v: %q outside CDATA in junit.xml", many, bad)
			}
		}
	}
}
