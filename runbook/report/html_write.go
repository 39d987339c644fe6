package report

import (
	"html/template"
	"strconv"
	"strings"
	"time"
)

// The parts of the HTML report repeated per host and per host × step (the
// timeline rows and bars, the host cards and their step rows) are written by
// hand rather than by html/template, whose reflective walk over thousands of
// rows was most of the report's cost. They produce byte for byte what the
// template produced (html_ref_test.go keeps the template as the reference and
// compares), and they escape the same way:
//
//   - every journal string lands in element text or in a double-quoted
//     attribute value of a plain attribute (class, title, id, data-*), and
//     goes through htmlBuf.text, html/template's escaping for both contexts;
//   - the only values placed in a URL (href="#…") or a style attribute are
//     made here from numbers alone: "h12", "s345", "12.345%".
//
// Nothing journal-derived is ever written into a URL, a style, a script or
// an event handler attribute.

// htmlBuf accumulates a hand-written fragment of the page.
type htmlBuf struct {
	sb  strings.Builder
	tmp []byte // scratch for numbers and times
}

// raw appends markup written in this package, never journal text.
func (w *htmlBuf) raw(s string) { w.sb.WriteString(s) }

// text appends s escaped for HTML text or a double-quoted attribute value.
func (w *htmlBuf) text(s string) { writeHTMLEscaped(&w.sb, s) }

// stepLabel appends st.Label(), escaped.
func (w *htmlBuf) stepLabel(st *StepSummary) {
	list, index := stepLabelParts(st.StepID, st.Index)
	w.text(list)
	w.raw("/")
	w.int(int64(index))
}

// int appends a decimal number.
func (w *htmlBuf) int(n int64) {
	w.tmp = strconv.AppendInt(w.tmp[:0], n, 10)
	w.sb.Write(w.tmp)
}

// pct appends a percentage of the time axis as pctString prints it: digits,
// a point and "%" only, so it is safe in a style attribute.
func (w *htmlBuf) pct(p float64) {
	w.tmp = strconv.AppendFloat(w.tmp[:0], p, 'f', 3, 64)
	w.tmp = append(w.tmp, '%')
	w.sb.Write(w.tmp)
}

// clock appends formatClock(t).
func (w *htmlBuf) clock(t time.Time) {
	if t.IsZero() {
		w.raw("-")
		return
	}
	w.tmp = t.UTC().AppendFormat(w.tmp[:0], "15:04:05")
	w.sb.Write(w.tmp)
}

// duration appends formatDuration(d).
func (w *htmlBuf) duration(d time.Duration) {
	w.tmp = appendDuration(w.tmp[:0], d)
	w.sb.Write(w.tmp)
}

// appendDuration appends formatDuration(d) to b.
func appendDuration(b []byte, d time.Duration) []byte {
	switch {
	case d < 0:
		return append(b, '-')
	case d < time.Minute:
		b = strconv.AppendFloat(b, d.Seconds(), 'f', 1, 64)
		return append(b, 's')
	case d < time.Hour:
		d = d.Round(time.Second)
		b = strconv.AppendInt(b, int64(d.Minutes()), 10)
		return append(appendTwoDigits(append(b, 'm'), int(d.Seconds())%60), 's')
	default:
		d = d.Round(time.Minute)
		b = strconv.AppendInt(b, int64(d.Hours()), 10)
		return append(appendTwoDigits(append(b, 'h'), int(d.Minutes())%60), 'm')
	}
}

// appendTwoDigits appends 0 <= n < 100 as %02d does.
func appendTwoDigits(b []byte, n int) []byte {
	return append(b, byte('0'+n/10), byte('0'+n%10))
}

// html hands the fragment to the template as markup.
func (w *htmlBuf) html() template.HTML { return template.HTML(w.sb.String()) }

// htmlEscapes is what html/template replaces in element text and in quoted
// attribute values (its htmlReplacementTable, used by htmlEscaper and
// attrEscaper). Every replaced character is ASCII and html/template leaves
// every other byte alone, invalid UTF-8 included, so the escaping works byte
// by byte.
var htmlEscapes = [256]string{
	0:    "\uFFFD",
	'"':  "&#34;",
	'&':  "&amp;",
	'\'': "&#39;",
	'+':  "&#43;",
	'<':  "&lt;",
	'>':  "&gt;",
}

// writeHTMLEscaped writes s escaped exactly as html/template escapes a string
// for element text or a double-quoted attribute value.
func writeHTMLEscaped(sb *strings.Builder, s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		if r := htmlEscapes[s[i]]; r != "" {
			sb.WriteString(s[last:i])
			sb.WriteString(r)
			last = i + 1
		}
	}
	sb.WriteString(s[last:])
}
