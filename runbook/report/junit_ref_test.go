package report

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook/journal"
)

// junit.xml used to be built by the functions below and written by
// encoding/xml's Encoder; it is now built with fewer allocations and written
// by writeJUnitXML. This file keeps the old way as the reference: both must
// give the very same bytes.

// refJUnit writes the JUnit report the old way.
func refJUnit(t testing.TB, s *Summary) string {
	t.Helper()
	var out bytes.Buffer
	out.WriteString(xml.Header)
	enc := xml.NewEncoder(&out)
	enc.Indent("", "  ")
	if err := enc.Encode(refBuildJUnit(s)); err != nil {
		t.Fatal(err)
	}
	out.WriteString("\n")
	return out.String()
}

func TestJUnitMatchesEncoderReference(t *testing.T) {
	for name, recs := range refRuns(t) {
		t.Run(name, func(t *testing.T) {
			s := Summarize(recs)
			var got bytes.Buffer
			if err := WriteJUnit(&got, s, recs); err != nil {
				t.Fatal(err)
			}
			if want := refJUnit(t, s); got.String() != want {
				t.Errorf("junit.xml differs from encoding/xml's %s", firstDiff(got.String(), want))
			}
			parseJUnit(t, got.Bytes())
		})
	}
}

// writeJUnitXML and the Encoder agree on one document, whatever its values.
func TestJUnitWriterMatchesEncoder(t *testing.T) {
	doc := &junitSuites{Name: "x", Suites: []junitSuite{
		{Name: "empty"},
		{Name: "props only", Properties: &junitProps{}},
		{Name: "a", Hostname: "c", Package: "p", Properties: &junitProps{Props: []junitProp{{"n", "v"}}}, Cases: []junitTestCase{
			{Name: "bare"},
			{Name: "empty texts", SystemOut: &junitText{}, SystemErr: &junitText{}, Skipped: &junitProblem{}},
			{Name: "all", Failure: &junitProblem{Message: "m", Type: "t", Text: "x"}, Error: &junitProblem{Text: "e"},
				Skipped: &junitProblem{Message: "s"}, SystemOut: &junitText{Text: "o"}, SystemErr: &junitText{Text: "e"}},
		}},
	}}
	var cases []junitTestCase
	for _, v := range append(append([]string{}, hostileStrings...), "]]>", "]]]]>>", "a]]>b]]>", "\t\n\r", "\x7f\u0080\ufffe\U0001F600", "\xed\xa0\x80") {
		cases = append(cases, junitTestCase{Name: v, Classname: v, Time: v,
			Failure: &junitProblem{Message: v, Type: v, Text: v}, SystemOut: &junitText{Text: v}})
	}
	doc.Suites = append(doc.Suites, junitSuite{Name: "values", Cases: cases})
	var want bytes.Buffer
	enc := xml.NewEncoder(&want)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	bw := bufio.NewWriter(&got)
	if err := writeJUnitXML(bw, doc); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Errorf("writeJUnitXML differs from encoding/xml's %s", firstDiff(got.String(), want.String()))
	}
}

func refBuildJUnit(s *Summary) *junitSuites {
	doc := &junitSuites{Name: fmt.Sprintf("%s %s", s.Runbook, s.RunID)}
	index := map[suiteKey]int{}
	suite := func(k suiteKey, label string, started time.Time) *junitSuite {
		if i, ok := index[k]; ok {
			return &doc.Suites[i]
		}
		doc.Suites = append(doc.Suites, junitSuite{Name: label, Package: s.Runbook, Hostname: s.Controller,
			Timestamp: junitTimestamp(started), key: k, start: started})
		index[k] = len(doc.Suites) - 1
		return &doc.Suites[len(doc.Suites)-1]
	}
	for _, p := range s.Phases {
		suite(suiteKey{p.Index, p.Batch, p.Name}, p.Label, p.Started)
	}
	// Cases go in host order (canary first) within each suite; a step run
	// twice on a host (verify after a soak, a re-run on resume) gets "#2".
	seen := map[string]int{}
	for _, h := range s.Hosts {
		for _, st := range h.Steps {
			k := suiteKey{st.PhaseIndex, st.Batch, st.Phase}
			su := suite(k, st.PhaseLabel(), st.Started)
			tc := refJUnitCase(st)
			dup := fmt.Sprintf("%v\x00%s\x00%s", k, tc.Classname, tc.Name)
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
		su.Time = refJUnitSeconds(su.duration)
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
	doc.Time = refJUnitSeconds(s.Duration)
	if s.Duration == 0 {
		doc.Time = refJUnitSeconds(total)
	}
	return doc
}

func refJUnitCase(st StepSummary) junitTestCase {
	st.Stdout, st.Stderr, st.Error = plainOutput(st.Stdout), plainOutput(st.Stderr), plainOutput(st.Error)
	tc := junitTestCase{
		Name:      refXMLText(st.Label() + " " + st.Step),
		Classname: refXMLText(st.Host),
		Time:      refJUnitSeconds(st.Duration),
	}
	var out strings.Builder
	if st.Command != "" {
		fmt.Fprintf(&out, "$ %s\n", st.Command)
	}
	if st.DelegateTo != "" {
		fmt.Fprintf(&out, "(ran on %s)\n", st.DelegateTo)
	}
	out.WriteString(st.Stdout)
	if st.StdoutCut {
		out.WriteString("\n[output cut at the journal's limit]\n")
	}
	tc.SystemOut = refCDATA(out.String())
	tc.SystemErr = refCDATA(st.Stderr)
	switch st.Status {
	case journal.StatusFailed, journal.StatusUnreachable:
		msg := fmt.Sprintf("%s: rc=%s", st.Status, rcString(st.RC))
		if st.Error != "" {
			msg += ": " + firstLine(st.Error, 200)
		} else if line := firstLine(st.Stderr, 200); line != "" {
			msg += ": " + line
		}
		body := fmt.Sprintf("rc: %s\n", rcString(st.RC))
		if st.Error != "" {
			body += "error: " + st.Error + "\n"
		}
		if st.Stderr != "" {
			body += "stderr:\n" + st.Stderr
		}
		tc.Failure = &junitProblem{Message: refXMLText(msg), Type: st.Status, Text: refXMLText(body)}
	case StatusOpen:
		tc.Error = &junitProblem{Message: "the step did not finish: no step_finished in the journal (still running, or the controller stopped)",
			Type: StatusOpen}
	case journal.StatusSkipped:
		msg := "skipped"
		if st.Error != "" {
			msg = refXMLText(firstLine(st.Error, 200))
		}
		tc.Skipped = &junitProblem{Message: msg}
	}
	return tc
}

func refJUnitSeconds(d time.Duration) string {
	return fmt.Sprintf("%.3f", d.Seconds())
}

func refXMLText(s string) string {
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

func refCDATA(s string) *junitText {
	if s == "" {
		return nil
	}
	return &junitText{Text: refXMLText(s)}
}
