package report

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/runbookhq/runbook/runbook/journal"
)

// The JUnit document, in the shape of the common schema (Ant's, as Jenkins
// and most CI systems read it): testsuites > testsuite > testcase >
// failure | error | skipped | system-out | system-err. The schema has no
// "skipped" on testsuites, so the root carries tests, failures, errors and
// time only; each testsuite carries its skipped count.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Hostname   string          `xml:"hostname,attr,omitempty"`
	ID         int             `xml:"id,attr"`
	Package    string          `xml:"package,attr,omitempty"`
	Properties *junitProps     `xml:"properties,omitempty"`
	Cases      []junitTestCase `xml:"testcase"`

	key      suiteKey
	duration time.Duration
	start    time.Time
}

type junitProps struct {
	Props []junitProp `xml:"property"`
}

type junitProp struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitTestCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitProblem `xml:"skipped,omitempty"`
	SystemOut *junitText    `xml:"system-out,omitempty"`
	SystemErr *junitText    `xml:"system-err,omitempty"`
}

// junitText is element text written as CDATA, so that output keeps its line
// breaks readable.
type junitText struct {
	Text string `xml:",cdata"`
}

func cdata(s string) *junitText {
	if s == "" {
		return nil
	}
	return &junitText{Text: xmlText(s)}
}

type junitProblem struct {
	Message string `xml:"message,attr,omitempty"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",cdata"`
}

type suiteKey struct {
	index, batch int
	phase        string
}

// WriteJUnit writes the run as JUnit XML: a testsuite per phase and batch
// (rollback steps in a "rollback" suite of their batch), a testcase per host
// × step execution with the host as classname, a failure for failed and
// unreachable steps (rc and stderr), an error for steps still open when the
// journal ended, and skipped for skipped steps. s may be nil; it is then
// computed from recs.
func WriteJUnit(w io.Writer, s *Summary, recs []journal.Record) error {
	if s == nil {
		s = Summarize(recs)
	}
	doc := buildJUnit(s)
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString(xml.Header)
	enc := xml.NewEncoder(bw)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write JUnit report: %w", err)
	}
	bw.WriteString("\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write JUnit report: %w", err)
	}
	return nil
}

func buildJUnit(s *Summary) *junitSuites {
	doc := &junitSuites{Name: fmt.Sprintf("%s %s", s.Runbook, s.RunID)}
	index := map[suiteKey]int{}
	addSuite := func(k suiteKey, label string, started time.Time) *junitSuite {
		doc.Suites = append(doc.Suites, junitSuite{Name: label, Package: s.Runbook, Hostname: s.Controller,
			Timestamp: junitTimestamp(started), key: k, start: started})
		index[k] = len(doc.Suites) - 1
		return &doc.Suites[len(doc.Suites)-1]
	}
	// A suite per phase, batch and rollback; phaseSuite[i] is that of
	// s.Phases[i].
	phaseSuite := make([]int, len(s.Phases))
	for i, p := range s.Phases {
		k := suiteKey{p.Index, p.Batch, p.Name}
		if !hasKey(index, k) {
			addSuite(k, p.Label, p.Started)
		}
		phaseSuite[i] = index[k]
	}
	// Cases go in host order (canary first) within each suite; a step run
	// twice on a host (verify after a soak, a re-run on resume) gets "#2".
	type caseKey struct {
		suite           suiteKey
		classname, name string
	}
	steps := 0
	for i := range s.Hosts {
		steps += len(s.Hosts[i].Steps)
	}
	seen := make(map[caseKey]int, steps)
	for i := range s.Hosts {
		for j := range s.Hosts[i].Steps {
			st := &s.Hosts[i].Steps[j]
			k := suiteKey{st.PhaseIndex, st.Batch, st.Phase}
			var su *junitSuite
			if st.phase > 0 {
				su = &doc.Suites[phaseSuite[st.phase-1]]
				k = su.key
			} else if i, ok := index[k]; ok {
				su = &doc.Suites[i]
			} else {
				su = addSuite(k, st.PhaseLabel(), st.Started)
			}
			tc := junitCase(st)
			dup := caseKey{k, tc.Classname, tc.Name}
			seen[dup]++
			if n := seen[dup]; n > 1 {
				tc.Name += fmt.Sprintf(" #%d", n)
			}
			su.Cases = append(su.Cases, tc)
			su.Tests++
			su.duration += st.Duration
			switch {
			case tc.Failure != nil:
				su.Failures++
			case tc.Error != nil:
				su.Errors++
			case tc.Skipped != nil:
				su.Skipped++
			}
		}
	}
	// Suites in the order they began: a batch's rollback right after it.
	sort.SliceStable(doc.Suites, func(i, j int) bool { return doc.Suites[i].start.Before(doc.Suites[j].start) })
	var total time.Duration
	for i := range doc.Suites {
		su := &doc.Suites[i]
		su.ID = i
		su.Time = junitSeconds(su.duration)
		if su.Timestamp == "" {
			su.Timestamp = junitTimestamp(s.Started)
		}
		doc.Tests += su.Tests
		doc.Failures += su.Failures
		doc.Errors += su.Errors
		total += su.duration
	}
	if len(doc.Suites) > 0 {
		doc.Suites[0].Properties = junitProperties(s)
	}
	doc.Time = junitSeconds(s.Duration)
	if s.Duration == 0 {
		doc.Time = junitSeconds(total)
	}
	return doc
}

func hasKey(m map[suiteKey]int, k suiteKey) bool {
	_, ok := m[k]
	return ok
}

func junitCase(st *StepSummary) junitTestCase {
	list, index := stepLabelParts(st.StepID, st.Index)
	tc := junitTestCase{
		Name:      xmlText(list + "/" + strconv.Itoa(index) + " " + st.Step),
		Classname: xmlText(st.Host),
		Time:      junitSeconds(st.Duration),
	}
	// Output as report.html shows it: without terminal escape sequences,
	// which XML cannot carry (they would read as U+FFFD and "[31m").
	stdout, stderr, errText := plainOutput(st.Stdout), plainOutput(st.Stderr), plainOutput(st.Error)
	out := stdout
	if st.Command != "" || st.DelegateTo != "" || st.StdoutCut {
		var b strings.Builder
		if st.Command != "" {
			b.WriteString("$ " + st.Command + "\n")
		}
		if st.DelegateTo != "" {
			b.WriteString("(ran on " + st.DelegateTo + ")\n")
		}
		b.WriteString(stdout)
		if st.StdoutCut {
			b.WriteString("\n[output cut at the journal's limit]\n")
		}
		out = b.String()
	}
	tc.SystemOut = cdata(out)
	tc.SystemErr = cdata(stderr)
	switch st.Status {
	case journal.StatusFailed, journal.StatusUnreachable:
		msg := fmt.Sprintf("%s: rc=%s", st.Status, rcString(st.RC))
		if st.Rescued {
			msg = "rescued " + msg
		}
		if errText != "" {
			msg += ": " + firstLine(errText, 200)
		} else if line := firstLine(stderr, 200); line != "" {
			msg += ": " + line
		}
		body := fmt.Sprintf("rc: %s\n", rcString(st.RC))
		if errText != "" {
			body += "error: " + errText + "\n"
		}
		if stderr != "" {
			body += "stderr:\n" + stderr
		}
		tc.Failure = &junitProblem{Message: xmlText(msg), Type: st.Status, Text: xmlText(body)}
	case StatusOpen:
		tc.Error = &junitProblem{Message: "the step did not finish: no step_finished in the journal (still running, or the controller stopped)",
			Type: StatusOpen}
	case journal.StatusSkipped:
		msg := "skipped"
		if errText != "" {
			msg = xmlText(firstLine(errText, 200))
		}
		tc.Skipped = &junitProblem{Message: msg}
	}
	return tc
}

func junitProperties(s *Summary) *junitProps {
	p := &junitProps{}
	add := func(name, value string) {
		if value != "" {
			p.Props = append(p.Props, junitProp{Name: name, Value: xmlText(value)})
		}
	}
	add("run_id", s.RunID)
	add("runbook", s.Runbook)
	add("runbook_file", s.RunbookFile)
	add("runbook_sha256", s.RunbookSHA256)
	add("inventory", s.Inventory)
	add("operator", s.Operator)
	add("status", s.Status)
	add("reason", s.Reason)
	for _, k := range sortedKeys(s.Params) {
		add("param."+k, s.Params[k])
	}
	return p
}

// junitTimestamp is the schema's timestamp: ISO 8601 without a zone, UTC.
func junitTimestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05")
}

func junitSeconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) // as %.3f prints it
}

// xmlText drops the characters XML 1.0 cannot carry at all (most control
// characters); encoding/xml escapes the rest.
func xmlText(s string) string {
	if plainText(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return r
		case r < 0x20, r == 0xFFFE, r == 0xFFFF, r >= 0xD800 && r <= 0xDFFF:
			return -1
		}
		return r
	}, s)
}

// plainText reports whether s is ASCII without control characters other
// than tab and line breaks: xmlText keeps such a string as it is.
func plainText(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 || c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}
