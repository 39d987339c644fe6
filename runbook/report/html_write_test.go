package report

import (
	"bytes"
	"html/template"
	"math"
	"testing"
	"time"
)

// escapeProbe is html/template itself, escaping a value in element text and
// in a double-quoted attribute, the two places the hand-written parts of the
// page put journal text.
var escapeProbe = template.Must(template.New("probe").Parse(`<p title="{{.}}" data-x="{{.}}" class="a-{{.}}">{{.}}</p>`))

func checkEscape(t *testing.T, s string) {
	t.Helper()
	var want bytes.Buffer
	if err := escapeProbe.Execute(&want, s); err != nil {
		t.Fatal(err)
	}
	var w htmlBuf
	for _, markup := range []string{`<p title="`, `" data-x="`, `" class="a-`, `">`} {
		w.raw(markup)
		w.text(s)
	}
	w.raw(`</p>`)
	if got := string(w.html()); got != want.String() {
		t.Errorf("escaping %q:\n got %q\nwant %q", s, got, want.String())
	}
}

func TestHTMLEscapeMatchesTemplate(t *testing.T) {
	inputs := append([]string{"", "plain", "+", "\x00", "\ufdd0\ufdef\ufff0\uffff", "\xff", "\xe2\x82", "a\xc0\x80b",
		"\u2028\u2029", "`=", "&amp;", "<!--", "]]>"}, hostileStrings...)
	for b := 0; b < 256; b++ {
		inputs = append(inputs, string([]byte{'x', byte(b), 'y'}))
	}
	for _, s := range inputs {
		checkEscape(t, s)
	}
}

func FuzzHTMLEscape(f *testing.F) {
	for _, s := range hostileStrings {
		f.Add(s)
	}
	f.Fuzz(checkEscape)
}

func TestAppendDurationMatchesFormat(t *testing.T) {
	ds := []time.Duration{math.MinInt64, -1, 0, 1, 49 * time.Millisecond, 50 * time.Millisecond, 59949 * time.Millisecond,
		59950 * time.Millisecond, time.Minute - 1, time.Minute, 59*time.Minute + 59499*time.Millisecond,
		59*time.Minute + 59500*time.Millisecond, time.Hour - 1, time.Hour, 100*time.Hour + 29*time.Minute + 59*time.Second,
		100*time.Hour + 30*time.Minute, math.MaxInt64}
	for d := time.Duration(1); d < math.MaxInt64/3; d = d*3 + 7 {
		ds = append(ds, d, -d)
	}
	for _, d := range ds {
		if got, want := string(appendDuration(nil, d)), refFormatDuration(d); got != want {
			t.Errorf("appendDuration(%d) = %q, formatDuration %q", d, got, want)
		}
	}
}
