package iniedit

import (
	"errors"
	"strings"
	"testing"
)

const php = `; PHP settings
[PHP]
engine = On
; how long a script may run
max_execution_time = 30
memory_limit=128M

[Date]
;date.timezone =
`

type op struct {
	kind                string // set, unset, remove
	section, opt, value string
	tight               bool
}

func apply(t *testing.T, src string, ops ...op) (string, bool) {
	t.Helper()
	d, err := Parse([]byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	changed := false
	for _, o := range ops {
		switch o.kind {
		case "set":
			changed = d.Set(o.section, o.opt, o.value, o.tight) || changed
		case "unset":
			changed = d.Unset(o.section, o.opt) || changed
		case "remove":
			changed = d.RemoveSection(o.section) || changed
		}
	}
	return string(d.Bytes()), changed
}

func set(sec, opt, val string) op { return op{kind: "set", section: sec, opt: opt, value: val} }

func TestEdits(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		ops  []op
		want string // "" = unchanged
	}{
		{"a value replaced", php, []op{set("PHP", "memory_limit", "256M")},
			strings.Replace(php, "memory_limit=128M", "memory_limit = 256M", 1)},
		{"the same value is no change", php, []op{set("PHP", "max_execution_time", "30"), set("PHP", "memory_limit", "128M")}, ""},
		{"a new option after the section's last option", php, []op{set("PHP", "display_errors", "Off")},
			strings.Replace(php, "memory_limit=128M\n", "memory_limit=128M\ndisplay_errors = Off\n", 1)},
		{"tight", php, []op{{kind: "set", section: "PHP", opt: "display_errors", value: "Off", tight: true}},
			strings.Replace(php, "memory_limit=128M\n", "memory_limit=128M\ndisplay_errors=Off\n", 1)},
		{"a section with only comments", php, []op{set("Date", "date.timezone", "UTC")},
			strings.Replace(php, "[Date]\n", "[Date]\ndate.timezone = UTC\n", 1)},
		{"a new section at the end", php, []op{set("Session", "session.save_path", "/var/lib/php")},
			php + "\n[Session]\nsession.save_path = /var/lib/php\n"},
		{"a global option before the first section's comments", php, []op{set("", "zend.enable_gc", "1")},
			"zend.enable_gc = 1\n\n" + php},
		{"a global option after the global ones", "a = 1\n[s]\nb = 2\n", []op{set("", "c", "3")}, "a = 1\nc = 3\n[s]\nb = 2\n"},
		{"duplicates collapse to the first", "[s]\nx = 1\ny = 2\nx = 3\n", []op{set("s", "x", "1")}, "[s]\nx = 1\ny = 2\n"},
		{"indented options keep their indentation", "[global]\n   workgroup = WG\n   log level = 1\n", []op{set("global", "security", "user")},
			"[global]\n   workgroup = WG\n   log level = 1\n   security = user\n"},
		{"colon separator read", "[s]\nkey: old\n", []op{set("s", "key", "new")}, "[s]\nkey = new\n"},
		{"a continued value is replaced whole", "[s]\nlist = a\n  b\n  c\nnext = 1\n", []op{set("s", "list", "x")}, "[s]\nlist = x\nnext = 1\n"},
		{"a bare option", "[mysqld]\nskip-name-resolve\n", []op{set("mysqld", "port", "3306")}, "[mysqld]\nskip-name-resolve\nport = 3306\n"},
		{"no newline at the end", "[s]\na = 1", []op{set("s", "b", "2")}, "[s]\na = 1\nb = 2\n"},
		{"CRLF", "[s]\r\na = 1\r\n", []op{set("s", "b", "2"), set("t", "c", "3")}, "[s]\r\na = 1\r\nb = 2\r\n\r\n[t]\r\nc = 3\r\n"},
		{"empty file", "", []op{set("s", "a", "1")}, "[s]\na = 1\n"},
		{"unset", php, []op{{kind: "unset", section: "PHP", opt: "engine"}}, strings.Replace(php, "engine = On\n", "", 1)},
		{"unset nothing", php, []op{{kind: "unset", section: "PHP", opt: "nope"}, {kind: "unset", section: "Nope", opt: "engine"}}, ""},
		{"remove a section", php, []op{{kind: "remove", section: "Date"}}, strings.Replace(php, "[Date]\n;date.timezone =\n", "", 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := apply(t, tc.src, tc.ops...)
			want := tc.want
			if want == "" {
				want = tc.src
			}
			if got != want {
				t.Errorf("got:\n%q\nwant:\n%q", got, want)
			}
			if changed != (tc.want != "") {
				t.Errorf("changed = %v", changed)
			}
			if again, changed := apply(t, got, tc.ops...); changed || again != got {
				t.Errorf("not idempotent: %q", again)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		src  string
		line int
		want string
	}{
		{"[ok]\na = 1\n[broken\n", 3, "has no closing ]"},
		{"= value\n", 1, "an option needs a name"},
		{"[a] junk\n", 1, `unexpected "junk" after the section header`},
		{"[]\n", 1, "empty section name"},
	} {
		_, err := Parse([]byte(tc.src))
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line != tc.line || !strings.Contains(pe.Msg, tc.want) {
			t.Errorf("%q: %v, want line %d: %s", tc.src, err, tc.line, tc.want)
		}
	}
	if _, err := Parse([]byte("[a] ; comment\n# x\n; y\n")); err != nil {
		t.Errorf("a comment after a header: %v", err)
	}
}

func TestValue(t *testing.T) {
	d, _ := Parse([]byte(php))
	if v, ok := d.Value("PHP", "memory_limit"); !ok || v != "128M" {
		t.Errorf("Value = %q, %v", v, ok)
	}
	if !d.HasSection("Date") || d.HasSection("Nope") || !d.HasSection("") {
		t.Error("HasSection")
	}
}
