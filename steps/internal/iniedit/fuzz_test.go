package iniedit

import (
	"reflect"
	"strings"
	"testing"
)

// options lists every option of d but opt in section, in order.
func options(d *Doc, section, opt string) []string {
	var out []string
	for _, ln := range d.lines {
		if ln.kind == option && !(ln.section == section && ln.key == opt) {
			out = append(out, ln.section+"\x00"+ln.key+"\x00"+ln.value)
		}
	}
	return out
}

// validName says whether s can be written as an option name or value
// that reads back as itself.
func validName(s string, value bool) bool {
	if s != strings.TrimSpace(s) || strings.ContainsAny(s, "\r\n") {
		return false
	}
	if value {
		return true
	}
	return s != "" && !strings.ContainsAny(s, "=:[]") && s[0] != '#' && s[0] != ';'
}

// FuzzEdit sets and unsets an option of any file that parses: the option
// must read back, every other option stay as it was, and a second pass
// change nothing. Seeds: testdata/fuzz/FuzzEdit.
func FuzzEdit(f *testing.F) {
	f.Add(php, "PHP", "memory_limit", "256M")
	f.Add("[s]\nlist = a\n  b\nx: 1\n", "s", "list", "")
	f.Add("a = 1\r\n", "", "b", "2")
	f.Fuzz(func(t *testing.T, src, section, opt, value string) {
		d, err := Parse([]byte(src))
		if err != nil || !validName(opt, false) || !validName(value, true) ||
			(section != "" && (!validName(section, false) || strings.ContainsAny(section, "#;"))) {
			return
		}
		others := options(d, section, opt)
		d.Set(section, opt, value, false)
		back, err := Parse(d.Bytes())
		if err != nil {
			t.Fatalf("the edit broke the file: %v\n%q", err, d.Bytes())
		}
		if v, ok := back.Value(section, opt); !ok || v != value {
			t.Fatalf("[%s] %s = %q read back as %q, %v\n%q", section, opt, value, v, ok, d.Bytes())
		}
		if got := options(back, section, opt); !reflect.DeepEqual(got, others) {
			t.Fatalf("other options changed:\n%q\nwant\n%q\n%q", got, others, d.Bytes())
		}
		if back.Set(section, opt, value, false) {
			t.Fatalf("a second set changed the file: %q", d.Bytes())
		}
		back.Unset(section, opt)
		again, err := Parse(back.Bytes())
		if err != nil {
			t.Fatalf("the unset broke the file: %v", err)
		}
		if _, ok := again.Value(section, opt); ok {
			t.Fatalf("%s still there after unset: %q", opt, back.Bytes())
		}
	})
}
