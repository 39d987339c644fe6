package report

import (
	"bufio"
	"encoding/xml"
	"strconv"
	"strings"
)

// writeJUnitXML writes doc as xml.Encoder with Indent("", "  ") writes it
// (junit_ref_test.go compares the two), without the encoder's reflective walk
// per element and attribute. Values are escaped by encoding/xml's own
// EscapeText unless they are plain printable ASCII, which it leaves as is;
// element text goes in CDATA sections, split where it holds "]]>", as the
// encoder does for ",cdata" fields.
func writeJUnitXML(w *bufio.Writer, doc *junitSuites) error {
	x := xmlWriter{w: w}
	x.start(0, "testsuites")
	x.attr("name", doc.Name)
	x.intAttr("tests", doc.Tests)
	x.intAttr("failures", doc.Failures)
	x.intAttr("errors", doc.Errors)
	x.attr("time", doc.Time)
	x.w.WriteByte('>')
	for i := range doc.Suites {
		x.suite(&doc.Suites[i])
	}
	x.end(0, "testsuites", len(doc.Suites) > 0)
	return x.err
}

type xmlWriter struct {
	w   *bufio.Writer
	err error
	tmp []byte
}

func (x *xmlWriter) suite(su *junitSuite) {
	x.start(1, "testsuite")
	x.attr("name", su.Name)
	x.intAttr("tests", su.Tests)
	x.intAttr("failures", su.Failures)
	x.intAttr("errors", su.Errors)
	x.intAttr("skipped", su.Skipped)
	x.attr("time", su.Time)
	x.attr("timestamp", su.Timestamp)
	if su.Hostname != "" {
		x.attr("hostname", su.Hostname)
	}
	x.intAttr("id", su.ID)
	if su.Package != "" {
		x.attr("package", su.Package)
	}
	x.w.WriteByte('>')
	if p := su.Properties; p != nil {
		x.start(2, "properties")
		x.w.WriteByte('>')
		for _, prop := range p.Props {
			x.start(3, "property")
			x.attr("name", prop.Name)
			x.attr("value", prop.Value)
			x.w.WriteString("></property>")
		}
		x.end(2, "properties", len(p.Props) > 0)
	}
	for i := range su.Cases {
		x.testCase(&su.Cases[i])
	}
	x.end(1, "testsuite", su.Properties != nil || len(su.Cases) > 0)
}

func (x *xmlWriter) testCase(tc *junitTestCase) {
	x.start(2, "testcase")
	x.attr("name", tc.Name)
	x.attr("classname", tc.Classname)
	x.attr("time", tc.Time)
	x.w.WriteByte('>')
	children := false
	for _, p := range []struct {
		name string
		p    *junitProblem
	}{{"failure", tc.Failure}, {"error", tc.Error}, {"skipped", tc.Skipped}} {
		if p.p == nil {
			continue
		}
		children = true
		x.start(3, p.name)
		if p.p.Message != "" {
			x.attr("message", p.p.Message)
		}
		if p.p.Type != "" {
			x.attr("type", p.p.Type)
		}
		x.w.WriteByte('>')
		x.cdata(p.p.Text)
		x.end(3, p.name, false)
	}
	for _, t := range []struct {
		name string
		t    *junitText
	}{{"system-out", tc.SystemOut}, {"system-err", tc.SystemErr}} {
		if t.t == nil {
			continue
		}
		children = true
		x.start(3, t.name)
		x.w.WriteByte('>')
		x.cdata(t.t.Text)
		x.end(3, t.name, false)
	}
	x.end(2, "testcase", children)
}

// start opens a start tag on a new line, indented by depth; the caller adds
// the attributes and the '>'.
func (x *xmlWriter) start(depth int, name string) {
	if depth > 0 {
		x.newline(depth)
	}
	x.w.WriteByte('<')
	x.w.WriteString(name)
}

// end closes an element: on a line of its own after child elements, right
// after the start tag (or its text) otherwise.
func (x *xmlWriter) end(depth int, name string, children bool) {
	if children {
		x.newline(depth)
	}
	x.w.WriteString("</")
	x.w.WriteString(name)
	x.w.WriteByte('>')
}

func (x *xmlWriter) newline(depth int) {
	x.w.WriteByte('\n')
	for range depth {
		x.w.WriteString("  ")
	}
}

func (x *xmlWriter) attr(name, value string) {
	x.w.WriteByte(' ')
	x.w.WriteString(name)
	x.w.WriteString(`="`)
	if plainXML(value) {
		x.w.WriteString(value)
	} else if err := xml.EscapeText(x.w, []byte(value)); err != nil && x.err == nil {
		x.err = err
	}
	x.w.WriteByte('"')
}

func (x *xmlWriter) intAttr(name string, n int) {
	x.w.WriteByte(' ')
	x.w.WriteString(name)
	x.w.WriteString(`="`)
	x.tmp = strconv.AppendInt(x.tmp[:0], int64(n), 10)
	x.w.Write(x.tmp)
	x.w.WriteByte('"')
}

// cdata writes s as a CDATA section, nothing when s is empty.
func (x *xmlWriter) cdata(s string) {
	if s == "" {
		return
	}
	x.w.WriteString("<![CDATA[")
	for {
		before, after, ok := strings.Cut(s, "]]>")
		if !ok {
			break
		}
		x.w.WriteString(before)
		x.w.WriteString("]]]]><![CDATA[>")
		s = after
	}
	x.w.WriteString(s)
	x.w.WriteString("]]>")
}

// plainXML reports whether s is printable ASCII that xml.EscapeText leaves
// as it is: no quotes, '&', '<', '>', control characters or non-ASCII bytes.
func plainXML(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= 0x80:
			return false
		case c == '"' || c == '\'' || c == '&' || c == '<' || c == '>':
			return false
		}
	}
	return true
}
