package report

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook/journal"
)

func renderHTML(t testing.TB, recs []journal.Record) string {
	t.Helper()
	var out bytes.Buffer
	if err := WriteHTML(&out, nil, recs, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

var (
	barTag   = regexp.MustCompile(`<a class="bar st-([a-z_]+)(?: rb)?" href="#(s\d+)" data-host="([^"]*)" data-step-id="([^"]*)" data-target="(s\d+)"`)
	rowID    = regexp.MustCompile(`<tr id="(s\d+)" class="step-row">`)
	external = regexp.MustCompile(`(?i)(src|href)\s*=\s*"(https?:|//)|url\(\s*['"]?(https?:|//)|@import|<link[^>]+stylesheet`)
)

// expectedBars lists, from the records alone, "host|step_id|status" for every
// step execution, sorted.
func expectedBars(recs []journal.Record) []string {
	var keys []string
	open := map[string]bool{}
	for _, r := range recs {
		key := r.Host + "|" + r.StepID
		switch {
		case r.PhaseKind == hookPhaseKind && r.Host == "": // a hook's steps have no host, so no bar
		case r.Type == journal.StepStarted && r.Attempt <= 1:
			open[key] = true
		case r.Type == journal.StepFinished && r.Final:
			delete(open, key)
			keys = append(keys, key+"|"+r.Status)
		}
	}
	for key := range open {
		keys = append(keys, key+"|"+StatusOpen)
	}
	sort.Strings(keys)
	return keys
}

func TestHTMLReport(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			recs := loadJournal(t, name+".jsonl")
			page := renderHTML(t, recs)
			if m := external.FindString(page); m != "" {
				t.Errorf("the page reaches for the network: %q", m)
			}
			if !strings.Contains(page, `http-equiv="Content-Security-Policy" content="default-src 'none';`) {
				t.Error("no Content-Security-Policy forbidding fetches")
			}
			rows := map[string]bool{}
			for _, m := range rowID.FindAllStringSubmatch(page, -1) {
				rows[m[1]] = true
			}
			var got []string
			for _, m := range barTag.FindAllStringSubmatch(page, -1) {
				got = append(got, m[3]+"|"+m[4]+"|"+m[1])
				if m[2] != m[5] || !rows[m[5]] {
					t.Errorf("bar %v points at no step row", m[0])
				}
			}
			sort.Strings(got)
			if want := expectedBars(recs); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("bars:\n%v\nwant one per host × step execution:\n%v", got, want)
			}
			for _, want := range []string{"20261127-101500-crio-upgrade-3f2a", "alice", "become_password", "********",
				"soak 2m00s", "approved", "sha256", "1.29.6-1.1", "Canary"} {
				if !strings.Contains(page, want) {
					t.Errorf("the page lacks %q", want)
				}
			}
		})
	}
	crash := renderHTML(t, loadJournal(t, "crash.jsonl"))
	if n := strings.Count(crash, `class="bar st-open"`); n != 2 {
		t.Errorf("%d open bars in the crash report, want 2", n)
	}
	if !strings.Contains(crash, "no <code>run_finished</code> record") {
		t.Error("the crash report does not say the run is unfinished")
	}
}

// Journal strings are data, never markup, wherever they land.
func TestHTMLEscapesJournalText(t *testing.T) {
	evil := `<script>alert(1)</script>"><img src=x onerror=alert(2)>`
	b := newRecords()
	start := runStart("h1")
	start.Params = journal.Params{"p": evil}
	start.Operator = evil
	b.add(start, journal.Record{Type: journal.PhaseStarted, Phase: evil, PhaseIndex: 2, PhaseKind: "batch", Batch: 1, Hosts: []string{"h1"}})
	r := finished("h1", `x" onclick="alert(3)`, evil, 1, journal.StatusFailed, true)
	r.Stdout, r.Stderr, r.Error, r.Command = evil, evil+"</pre></details>", evil, evil
	b.add(r, journal.Record{Type: journal.Message, Text: evil},
		journal.Record{Type: journal.HostFinished, Host: "h1", Outcome: journal.OutcomeFailed, FailedStep: evil, Error: evil},
		journal.Record{Type: journal.RunFinished, Status: journal.RunStatusFailed, Reason: evil})
	page := renderHTML(t, b.list)
	for _, bad := range []string{"<script>alert", "<img src=x", `onclick="alert`, "</pre></details>"} {
		if strings.Contains(page, bad) {
			t.Errorf("journal text reached the page as markup: %q", bad)
		}
	}
	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the escaped text is not on the page")
	}
}

// Output written for a terminal shows in report.html and junit.xml as its
// text, without the escape sequences (which would show as "[31m") or other
// control characters; the journal keeps it as it came.
func TestReportsShowTerminalOutputAsText(t *testing.T) {
	b := newRecords()
	b.add(runStart("h1"), journal.Record{Type: journal.PhaseStarted, Phase: "Roll out", PhaseIndex: 2, PhaseKind: "batch", Batch: 1, Hosts: []string{"h1"}})
	r := finished("h1", "2.1", "upgrade", 1, journal.StatusFailed, true)
	r.Stdout = "\x1b[1;32mReading package lists...\x1b[0m Done\r\nProgress: [ 40%]\x1b[K\x07\n"
	r.Stderr = "\x1b]0;title\x07\x1b[31mE: Unable to locate package cri-o\x1b[0m\tx\x00\n"
	r.Error = "exit status 100: \x1b[31mE: Unable to locate package\x1b[0m"
	b.add(r, journal.Record{Type: journal.HostFinished, Host: "h1", Outcome: journal.OutcomeFailed},
		journal.Record{Type: journal.RunFinished, Status: journal.RunStatusFailed})
	page := renderHTML(t, b.list)
	var junit bytes.Buffer
	if err := WriteJUnit(&junit, nil, b.list); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		doc  string
		want []string
	}{
		"report.html": {page, []string{
			"Reading package lists... Done\r\nProgress: [ 40%]\n</pre>",
			">E: Unable to locate package cri-o\tx\n</pre>",
			">exit status 100: E: Unable to locate package</p>",
		}},
		"junit.xml": {junit.String(), []string{
			"<system-out><![CDATA[Reading package lists... Done\r\nProgress: [ 40%]\n]]></system-out>",
			"<system-err><![CDATA[E: Unable to locate package cri-o\tx\n]]></system-err>",
			`message="failed: rc=1: exit status 100: E: Unable to locate package"`,
		}},
	} {
		for _, want := range c.want {
			if !strings.Contains(c.doc, want) {
				t.Errorf("%s lacks %q", name, want)
			}
		}
		for _, bad := range []string{"\x1b", "[31m", "[0m", "\x07", "\x00", "0;title", "\ufffd"} {
			if strings.Contains(c.doc, bad) {
				t.Errorf("%s holds %q", name, bad)
			}
		}
	}
}

// A large run renders with the groups and cards of healthy hosts folded.
func TestHTMLLargeRunFolds(t *testing.T) {
	recs := syntheticRun(500, 5, 50, map[int]bool{123: true})
	page := renderHTML(t, recs)
	if n := strings.Count(page, `<a class="bar `); n != 500*5 {
		t.Errorf("%d bars, want %d", n, 500*5)
	}
	if n := strings.Count(page, `<details class="host" id="h`); n != 500 {
		t.Errorf("%d host cards", n)
	}
	if open := regexp.MustCompile(`<details class="host" id="h\d+" open>`).FindAllString(page, -1); len(open) != 1 {
		t.Errorf("%d host cards open, want only the failed host's", len(open))
	}
	openGroups := strings.Count(page, `<details class="grp" open>`)
	if openGroups != 1 {
		t.Errorf("%d timeline groups open, want only the one with the failed host", openGroups)
	}
}

// syntheticRun makes a run of n hosts × steps steps in batches of batch
// hosts; the hosts in fail fail their last step and are rolled back.
func syntheticRun(n, steps, batch int, fail map[int]bool) []journal.Record {
	b := newRecords()
	hosts := make([]string, n)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("node-%04d", i)
	}
	b.add(runStart(hosts...))
	for first := 0; first < n; first += batch {
		members := hosts[first:min(first+batch, n)]
		num := first/batch + 1
		b.add(journal.Record{Type: journal.PhaseStarted, Phase: "Roll out", PhaseIndex: 2, PhaseKind: "batch", Batch: num, Hosts: members})
		for s := 0; s < steps; s++ {
			for i, h := range members {
				id := fmt.Sprintf("2.steps.%d", s)
				status := journal.StatusChanged
				if fail[first+i] && s == steps-1 {
					status = journal.StatusFailed
				}
				st := started(h, id, fmt.Sprintf("step %d", s), 1)
				st.Batch, st.Index = num, s+1
				fin := finished(h, id, fmt.Sprintf("step %d", s), 1, status, true)
				fin.Batch, fin.Index, fin.Stdout = num, s+1, "some output\nof two lines\n"
				b.add(st, fin)
			}
		}
		for i, h := range members {
			outcome := journal.OutcomeUpgraded
			if fail[first+i] {
				outcome = journal.OutcomeRolledBack
			}
			b.add(journal.Record{Type: journal.HostFinished, Host: h, Outcome: outcome, Phase: "Roll out"})
		}
		b.add(journal.Record{Type: journal.PhaseFinished, Phase: "Roll out", PhaseIndex: 2, PhaseKind: "batch", Batch: num, Hosts: members})
	}
	b.add(journal.Record{Type: journal.RunFinished, Status: journal.RunStatusFailed})
	// Spread the records over a plausible hour rather than a second each.
	for i := range b.list {
		b.list[i].Time = b.list[0].Time.Add(time.Duration(i) * 3600 * time.Second / time.Duration(len(b.list)))
	}
	return b.list
}

func TestAxisTicks(t *testing.T) {
	start := time.Date(2026, 11, 27, 10, 15, 0, 0, time.UTC)
	for _, span := range []time.Duration{time.Second, 90 * time.Second, 4*time.Minute + 46*time.Second, 3 * time.Hour,
		40 * 24 * time.Hour, 1<<63 - 1} {
		ticks := axisTicks(timeAxis{start: start, span: span})
		if len(ticks) == 0 || len(ticks) > 13 {
			t.Errorf("span %v: %d ticks", span, len(ticks))
		}
	}
	ticks := axisTicks(timeAxis{start: start, span: 4*time.Minute + 46*time.Second})
	if ticks[0].Label != "10:15:00" || ticks[1].Label != "10:15:30" || ticks[1].Left != "10.490%" {
		t.Errorf("ticks %+v", ticks[:2])
	}
}

// The time axis skips, as a marked break, a stretch in which no step ran
// (a soak, a pause, an approval), so that the work is readable at 1×; the
// soak is a thin band on the canary's row only.
func TestHTMLTimeAxisBreaksAndWaits(t *testing.T) {
	recs := fleetRun(20, 7)
	s := Summarize(recs)
	ax := newTimeAxis(s)
	var gaps, gapWidth float64
	for _, sg := range ax.segs {
		if sg.gap {
			gaps++
			gapWidth += sg.width
		}
	}
	// A soak of 2m and an approval of 40s, then no pause (20 hosts: one batch).
	if gaps != 1 || gapWidth > maxGapsWidth {
		t.Errorf("%v breaks taking %.1f%% of the axis, want 1: %+v", gaps, gapWidth, ax.segs)
	}
	// The canary's five steps (about 10 s of a run of 3 minutes) take a
	// readable share of the axis.
	h := s.Host("node-0000")
	first, last := h.Steps[0], h.Steps[len(h.Steps)-1]
	if share := ax.pct(last.Ended) - ax.pct(first.Started); share < 20 {
		t.Errorf("the canary's work takes %.1f%% of the axis", share)
	}
	page := renderHTML(t, recs)
	waits := regexp.MustCompile(`<span class="row-wait" style="[^"]*" title="soak 2m00s \(Canary\)[^"]*">`).FindAllString(page, -1)
	if len(waits) != 1 || strings.Contains(page, `<div class="wait"`) {
		t.Errorf("the soak is drawn %d times on a row (want once, the canary's), or across every row", len(waits))
	}
	if !strings.Contains(page, `<span class="brk-label" style="--l:`) || !strings.Contains(page, `>soak 2m00s</span>`) {
		t.Error("the axis does not mark its break with the soak")
	}
	// Phase labels that would run into each other go on two lines.
	if !strings.Contains(page, `class="phase-label row0"`) {
		t.Error("no phase label on the axis's first line")
	}
}

// The failed host's card is open with the whole error, line breaks kept,
// and its failed step's stderr; the cards of the hosts that succeeded are
// folded.
func TestHTMLFailedHostCard(t *testing.T) {
	page := renderHTML(t, loadJournal(t, "faulty.jsonl"))
	open := regexp.MustCompile(`<details class="host" id="(h\d+)"( open)?>\s*<summary>\s*<span class="hname">([^<]*)</span>`).FindAllStringSubmatch(page, -1)
	if len(open) != 5 {
		t.Fatalf("%d host cards", len(open))
	}
	for _, m := range open {
		if (m[2] != "") != (m[3] == "worker-3") {
			t.Errorf("%s's card open=%v; want only worker-3's open", m[3], m[2] != "")
		}
	}
	box := regexp.MustCompile(`(?s)<div class="failure">(.*?)</div>`).FindStringSubmatch(page)
	if box == nil {
		t.Fatal("no failure box in worker-3's card")
	}
	for _, want := range []string{
		`Failed: <a class="goto" href="#s`,
		"for details.\n× crio.service - Container Runtime Interface for OCI (CRI-O)\n",
		"(lab fault crio_start_fails)",
		`<pre class="stderr">Job for crio.service failed because the control process exited with error code.` + "\n",
	} {
		if !strings.Contains(box[1], want) {
			t.Errorf("the failure box lacks %q:\n%s", want, box[1])
		}
	}
	ticks := axisTicks(newTimeAxis(Summarize(loadJournal(t, "faulty.jsonl"))))
	if len(ticks) < 2 {
		t.Errorf("ticks %+v", ticks)
	}
}
