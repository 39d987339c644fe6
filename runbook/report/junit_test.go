package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/runbookhq/runbook/runbook/journal"
)

// The JUnit document read back generically: every attribute kept by name, so
// the checks see exactly what a CI system would.
type xmlNode struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Children []xmlNode  `xml:",any"`
	Text     string     `xml:",chardata"`
}

func (n xmlNode) attr(name string) (string, bool) {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

func (n xmlNode) children(name string) []xmlNode {
	var out []xmlNode
	for _, c := range n.Children {
		if c.XMLName.Local == name {
			out = append(out, c)
		}
	}
	return out
}

// The common JUnit schema's allowed attributes and children (Ant's shape as
// Jenkins' junit XSD states it), and its time pattern.
var (
	junitAttrs = map[string][]string{
		"testsuites": {"name", "time", "tests", "failures", "errors"},
		"testsuite": {"name", "tests", "failures", "errors", "group", "time", "skipped", "timestamp", "hostname",
			"id", "package", "file", "log", "url"},
		"testcase":   {"name", "time", "classname", "group"},
		"failure":    {"type", "message"},
		"error":      {"type", "message"},
		"skipped":    {"type", "message"},
		"properties": {},
		"property":   {"name", "value"},
		"system-out": {},
		"system-err": {},
	}
	junitRequired = map[string][]string{
		"testsuite": {"name", "tests", "failures", "errors"},
		"testcase":  {"name"},
		"property":  {"name", "value"},
	}
	junitChildren = map[string][]string{
		"testsuites": {"testsuite"},
		"testsuite":  {"testsuite", "properties", "testcase", "system-out", "system-err"},
		"testcase":   {"skipped", "error", "failure", "system-out", "system-err"},
		"properties": {"property"},
	}
	junitTime        = regexp.MustCompile(`^(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?$`)
	junitTimestampRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$`)
)

// checkSchema walks the document and reports every element, attribute or
// value the schema would refuse.
func checkSchema(t *testing.T, n xmlNode, path string) {
	t.Helper()
	name := n.XMLName.Local
	allowed, known := junitAttrs[name]
	if !known {
		t.Errorf("%s: element <%s> is not in the schema", path, name)
		return
	}
	for _, a := range n.Attrs {
		if !contains(allowed, a.Name.Local) {
			t.Errorf("%s: attribute %q is not allowed on <%s>", path, a.Name.Local, name)
		}
		if a.Name.Local == "time" && !junitTime.MatchString(a.Value) {
			t.Errorf("%s: time %q does not match the schema's pattern", path, a.Value)
		}
		if a.Name.Local == "timestamp" && !junitTimestampRE.MatchString(a.Value) {
			t.Errorf("%s: timestamp %q is not an ISO 8601 date-time without zone", path, a.Value)
		}
	}
	for _, req := range junitRequired[name] {
		if _, ok := n.attr(req); !ok {
			t.Errorf("%s: <%s> lacks required attribute %q", path, name, req)
		}
	}
	for _, c := range n.Children {
		if !contains(junitChildren[name], c.XMLName.Local) {
			t.Errorf("%s: <%s> may not contain <%s>", path, name, c.XMLName.Local)
			continue
		}
		checkSchema(t, c, path+"/"+c.XMLName.Local)
	}
}

func parseJUnit(t *testing.T, data []byte) xmlNode {
	t.Helper()
	var root xmlNode
	if err := xml.Unmarshal(data, &root); err != nil {
		t.Fatalf("the JUnit XML does not parse: %v", err)
	}
	if root.XMLName.Local != "testsuites" {
		t.Fatalf("root element <%s>, want <testsuites>", root.XMLName.Local)
	}
	return root
}

func atoi(t *testing.T, n xmlNode, name string) int {
	t.Helper()
	v, _ := n.attr(name)
	i, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("<%s %s=%q>: %v", n.XMLName.Local, name, v, err)
	}
	return i
}

// expectedCases counts, from the records alone, the step executions a JUnit
// report must list per host, and how many ended in each status.
func expectedCases(recs []journal.Record) (perHost map[string]int, byStatus map[string]int) {
	perHost, byStatus = map[string]int{}, map[string]int{}
	running := map[string]bool{}
	for _, r := range recs {
		key := r.Host + "|" + r.StepID
		switch {
		case r.Type == journal.StepStarted && r.Attempt <= 1:
			running[key] = true
		case r.Type == journal.StepFinished && r.Final:
			delete(running, key)
			perHost[r.Host]++
			byStatus[r.Status]++
		}
	}
	for key := range running {
		perHost[strings.Split(key, "|")[0]]++
		byStatus[StatusOpen]++
	}
	return perHost, byStatus
}

func TestJUnitStructure(t *testing.T) {
	for _, tt := range []struct {
		fixture string
		suites  []string
	}{
		{"journal", []string{"Back up CRI-O config", "Check versions", "Canary", "Roll out, batch 1", "Roll out, batch 2", "Rollback, batch 2", "Fleet check"}},
		{"crash", []string{"Back up CRI-O config", "Check versions", "Canary", "Roll out, batch 1"}},
	} {
		t.Run(tt.fixture, func(t *testing.T) {
			recs := loadJournal(t, tt.fixture+".jsonl")
			var out bytes.Buffer
			if err := WriteJUnit(&out, nil, recs); err != nil {
				t.Fatal(err)
			}
			root := parseJUnit(t, out.Bytes())
			checkSchema(t, root, "testsuites")

			perHost, byStatus := expectedCases(recs)
			gotPerHost := map[string]int{}
			var names []string
			var tests, failures, errors int
			for _, su := range root.children("testsuite") {
				name, _ := su.attr("name")
				names = append(names, name)
				cases := su.children("testcase")
				var f, e, s int
				for _, c := range cases {
					host, _ := c.attr("classname")
					gotPerHost[host]++
					f += len(c.children("failure"))
					e += len(c.children("error"))
					s += len(c.children("skipped"))
				}
				if atoi(t, su, "tests") != len(cases) || atoi(t, su, "failures") != f || atoi(t, su, "errors") != e || atoi(t, su, "skipped") != s {
					t.Errorf("suite %q: attributes %v disagree with its %d cases (%d failures, %d errors, %d skipped)", name, su.Attrs, len(cases), f, e, s)
				}
				tests, failures, errors = tests+len(cases), failures+f, errors+e
			}
			if fmt.Sprint(names) != fmt.Sprint(tt.suites) {
				t.Errorf("suites %q, want %q", names, tt.suites)
			}
			if fmt.Sprint(gotPerHost) != fmt.Sprint(perHost) {
				t.Errorf("test cases per host %v, want one per host × step execution: %v", gotPerHost, perHost)
			}
			if atoi(t, root, "tests") != tests || atoi(t, root, "failures") != failures || atoi(t, root, "errors") != errors {
				t.Errorf("root attributes %v, sums %d/%d/%d", root.Attrs, tests, failures, errors)
			}
			if failures != byStatus[journal.StatusFailed]+byStatus[journal.StatusUnreachable] || errors != byStatus[StatusOpen] {
				t.Errorf("%d failures and %d errors, want %v", failures, errors, byStatus)
			}
		})
	}
}

func TestJUnitFailureCarriesRCAndStderr(t *testing.T) {
	recs := loadJournal(t, "journal.jsonl")
	var out bytes.Buffer
	if err := WriteJUnit(&out, nil, recs); err != nil {
		t.Fatal(err)
	}
	root := parseJUnit(t, out.Bytes())
	var found int
	for _, su := range root.children("testsuite") {
		for _, c := range su.children("testcase") {
			for _, f := range c.children("failure") {
				found++
				host, _ := c.attr("classname")
				msg, _ := f.attr("message")
				if host != "worker-4" || !strings.Contains(msg, "rc=1") || !strings.Contains(f.Text, "Job for crio.service failed") {
					t.Errorf("failure on %s: message %q text %q", host, msg, f.Text)
				}
				if len(c.children("system-err")) != 1 {
					t.Errorf("failed case has no system-err")
				}
			}
		}
	}
	if found != 1 {
		t.Errorf("%d failures, want 1", found)
	}
}

// Hostile output must not break the document: CDATA terminators, control
// characters, markup.
func TestJUnitHostileText(t *testing.T) {
	nasty := "]]><x/>&\x1b[31m\x00\x07 end"
	b := newRecords().add(runStart("h<1>"),
		journal.Record{Type: journal.PhaseStarted, Phase: "Roll out", PhaseIndex: 2, PhaseKind: "batch", Batch: 1, Hosts: []string{"h<1>"}})
	r := finished("h<1>", "1.steps.0", "step & <name>", 1, journal.StatusFailed, true)
	r.Stdout, r.Stderr, r.Error = nasty, nasty, nasty
	b.add(r, finished("h<1>", "1.steps.1", "skip]]>", 1, journal.StatusSkipped, true))
	var out bytes.Buffer
	if err := WriteJUnit(&out, nil, b.list); err != nil {
		t.Fatal(err)
	}
	root := parseJUnit(t, out.Bytes())
	checkSchema(t, root, "testsuites")
	cases := root.children("testsuite")[0].children("testcase")
	if len(cases) != 2 {
		t.Fatalf("%d cases", len(cases))
	}
	if cn, _ := cases[0].attr("classname"); cn != "h<1>" {
		t.Errorf("classname %q", cn)
	}
	if got := cases[0].children("system-err")[0].Text; !strings.Contains(got, "]]><x/>&") || strings.ContainsAny(got, "\x00\x1b\x07") {
		t.Errorf("stderr read back as %q", got)
	}
	if len(cases[1].children("skipped")) != 1 {
		t.Errorf("skipped step without <skipped>")
	}
}
