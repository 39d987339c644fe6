package tomledit

import (
	"errors"
	"strings"
	"testing"
)

// crioDropIn is a CRI-O drop-in as operators write them: comments above
// and beside keys, a quoted key, blank lines between tables.
const crioDropIn = `# Local settings: the packaged 10-crio.conf is overwritten by upgrades.
[crio.runtime]
default_runtime = "crun" # pinned, see CRIO.md
conmon_cgroup = "pod"

# runc stays available for old pods
[crio.runtime.runtimes.runc]
runtime_path = "/usr/libexec/crio/runc"  # packaged path
runtime_root = "/run/runc"

[crio.runtime.runtimes."kata.v2"]
runtime_path = "/opt/kata/bin/containerd-shim-kata-v2"

[crio.metrics]
enable_metrics = false
`

type op struct {
	unset bool
	key   string
	value any
}

func set(k string, v any) op { return op{key: k, value: v} }
func unset(k string) op      { return op{unset: true, key: k} }

func apply(t *testing.T, src string, ops ...op) (string, bool) {
	t.Helper()
	d, err := Parse([]byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	changed := false
	for _, o := range ops {
		k, err := ParseKey(o.key)
		if err != nil {
			t.Fatalf("ParseKey(%q): %v", o.key, err)
		}
		var c bool
		if o.unset {
			c, err = d.Unset(k)
		} else {
			c, err = d.Set(k, o.value)
		}
		if err != nil {
			t.Fatalf("%+v: %v", o, err)
		}
		changed = changed || c
	}
	return string(d.Bytes()), changed
}

func TestEdits(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		ops  []op
		want string // "" = unchanged
	}{
		{
			name: "a value replaced in place keeps the comment beside it",
			src:  crioDropIn,
			ops:  []op{set("crio.runtime.default_runtime", "runc")},
			want: strings.Replace(crioDropIn, `default_runtime = "crun" # pinned`, `default_runtime = "runc" # pinned`, 1),
		},
		{
			name: "the same value is no change",
			src:  crioDropIn,
			ops:  []op{set("crio.runtime.default_runtime", "crun"), set("crio.metrics.enable_metrics", false)},
		},
		{
			name: "a new key goes after the last key of its table",
			src:  crioDropIn,
			ops:  []op{set("crio.runtime.log_level", "debug")},
			want: strings.Replace(crioDropIn, "conmon_cgroup = \"pod\"\n", "conmon_cgroup = \"pod\"\nlog_level = \"debug\"\n", 1),
		},
		{
			name: "a quoted key part",
			src:  crioDropIn,
			ops:  []op{set(`crio.runtime.runtimes."kata.v2".runtime_type`, "vm")},
			want: strings.Replace(crioDropIn, "kata-v2\"\n", "kata-v2\"\nruntime_type = \"vm\"\n", 1),
		},
		{
			name: "a new table goes at the end",
			src:  crioDropIn,
			ops:  []op{set("crio.image.pause_image", "registry.k8s.io/pause:3.9")},
			want: crioDropIn + "\n[crio.image]\npause_image = \"registry.k8s.io/pause:3.9\"\n",
		},
		{
			name: "a mapping sets each of its keys",
			src:  crioDropIn,
			ops:  []op{set("crio.metrics", map[string]any{"enable_metrics": true, "metrics_port": 9090})},
			want: strings.Replace(crioDropIn, "enable_metrics = false\n", "enable_metrics = true\nmetrics_port = 9090\n", 1),
		},
		{
			name: "numbers, lists and booleans",
			src:  "[a]\nn = 1\n",
			ops:  []op{set("a.n", 2), set("a.f", 1.5), set("a.l", []any{"x", 2}), set("a.b", true), set("a.t", []any{map[string]any{"k": "v", "n": 1}})},
			want: "[a]\nn = 2\nf = 1.5\nl = [\"x\", 2]\nb = true\nt = [{k = \"v\", n = 1}]\n",
		},
		{
			name: "an int is not the float it equals",
			src:  "x = 1.0\n",
			ops:  []op{set("x", 1)},
			want: "x = 1\n",
		},
		{
			name: "a root key goes before the first table and its comments",
			src:  "# header\n\n# about a\n[a]\nk = 1\n",
			ops:  []op{set("top", "v")},
			want: "# header\n\ntop = \"v\"\n\n# about a\n[a]\nk = 1\n",
		},
		{
			name: "a root key after the root's keys",
			src:  "x = 1\n[a]\nk = 1\n",
			ops:  []op{set("y", 2)},
			want: "x = 1\ny = 2\n[a]\nk = 1\n",
		},
		{
			name: "indentation of the table's keys is kept",
			src:  "[plugins]\n  [plugins.cri]\n    sandbox_image = \"pause:3.8\"\n",
			ops:  []op{set("plugins.cri.max_container_log_line_size", 16384)},
			want: "[plugins]\n  [plugins.cri]\n    sandbox_image = \"pause:3.8\"\n    max_container_log_line_size = 16384\n",
		},
		{
			name: "a table defined by dotted keys gets a dotted key",
			src:  "[crio]\nruntime.default_runtime = \"crun\"\n\n[other]\nx = 1\n",
			ops:  []op{set("crio.runtime.log_level", "info")},
			want: "[crio]\nruntime.default_runtime = \"crun\"\nruntime.log_level = \"info\"\n\n[other]\nx = 1\n",
		},
		{
			name: "a file without a last newline",
			src:  "[a]\nk = 1",
			ops:  []op{set("a.j", 2)},
			want: "[a]\nk = 1\nj = 2\n",
		},
		{
			name: "CRLF line endings are kept",
			src:  "[a]\r\nk = 1\r\n",
			ops:  []op{set("a.j", 2), set("b.c", "x")},
			want: "[a]\r\nk = 1\r\nj = 2\r\n\r\n[b]\r\nc = \"x\"\r\n",
		},
		{
			name: "an empty document",
			src:  "",
			ops:  []op{set("crio.runtime.default_runtime", "runc")},
			want: "[crio.runtime]\ndefault_runtime = \"runc\"\n",
		},
		{
			name: "unset a key keeps the rest",
			src:  crioDropIn,
			ops:  []op{unset("crio.runtime.conmon_cgroup")},
			want: strings.Replace(crioDropIn, "conmon_cgroup = \"pod\"\n", "", 1),
		},
		{
			name: "unset a missing key is no change",
			src:  crioDropIn,
			ops:  []op{unset("crio.runtime.nothing"), unset("nothing.at.all"), unset("crio.runtime.default_runtime.deeper")},
		},
		{
			name: "unset a table removes it and its sub-tables",
			src:  crioDropIn,
			ops:  []op{unset("crio.runtime.runtimes")},
			want: "# Local settings: the packaged 10-crio.conf is overwritten by upgrades.\n[crio.runtime]\ndefault_runtime = \"crun\" # pinned, see CRIO.md\nconmon_cgroup = \"pod\"\n\n# runc stays available for old pods\n[crio.metrics]\nenable_metrics = false\n",
		},
		{
			name: "unset the only table under an implicit one",
			src:  "[a.b]\nx = 1\n\n[c]\ny = 2\n",
			ops:  []op{unset("a.b")},
			want: "[c]\ny = 2\n",
		},
		{
			name: "a multi-line value is replaced whole",
			src:  "[a]\nl = [\n  1,\n  2, # two\n]\nk = 1\n",
			ops:  []op{set("a.l", []any{3})},
			want: "[a]\nl = [3]\nk = 1\n",
		},
		{
			name: "unset a multi-line value",
			src:  "[a]\nl = \"\"\"\nx\ny\"\"\"\nk = 1\n",
			ops:  []op{unset("a.l")},
			want: "[a]\nk = 1\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := apply(t, tc.src, tc.ops...)
			want := tc.want
			if want == "" {
				want = tc.src
			}
			if got != want {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
			if changed != (tc.want != "") {
				t.Errorf("changed = %v", changed)
			}
			// Applying the same edits again changes nothing.
			if again, changed := apply(t, got, tc.ops...); changed || again != got {
				t.Errorf("not idempotent: a second pass gave\n%s", again)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		op   op
		want string
	}{
		{"inside an inline table", "[a]\nt = {x = 1}\n", set("a.t.y", 2), "a.t.y is inside the value of a.t (line 2), an inline table or array"},
		{"inside an array of tables", "[[a]]\nx = 1\n", set("a.x", 2), "a is an array"},
		{"through a value", "a = 1\n", set("a.b", 2), "a holds a value, not a table"},
		{"a table replaced by a value", "[a.b]\nx = 1\n", set("a.b", "v"), "a.b is a table"},
		{"null", "", set("a", nil), "no value (null)"},
		{"a value too large", "", set("a", uint64(1<<63)), "cannot encode an unsigned integer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Parse([]byte(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			k, _ := ParseKey(tc.op.key)
			_, err = d.Set(k, tc.op.value)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
			if string(d.Bytes()) != tc.src {
				t.Errorf("the document changed: %q", d.Bytes())
			}
		})
	}
}

func TestParseErrorPosition(t *testing.T) {
	for _, tc := range []struct {
		src       string
		line, col int
		msg       string
	}{
		{"[crio.runtime]\ndefault_runtime = crun\n", 2, 19, "unexpected character"},
		{"[a]\nx = 1\n[a]\ny = 2\n", 3, 2, "table a already exists"},
		{"a = \"unterminated\n", 1, 18, "new lines"},
		{"x = 1\nx = 2\n", 2, 1, ""},
	} {
		_, err := Parse([]byte(tc.src))
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%q: error %v, want a ParseError", tc.src, err)
			continue
		}
		if pe.Line != tc.line || (tc.col > 0 && pe.Col != tc.col) || !strings.Contains(pe.Msg, tc.msg) {
			t.Errorf("%q: %v, want %d:%d ...%s...", tc.src, pe, tc.line, tc.col, tc.msg)
		}
	}
}

func TestParseKey(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // parts joined by |, or "error"
	}{
		{"crio.runtime.default_runtime", "crio|runtime|default_runtime"},
		{`crio.runtime.runtimes."my.rt".path`, "crio|runtime|runtimes|my.rt|path"},
		{"a . b", "a|b"},
		{"'lit.eral'.x", "lit.eral|x"},
		{"", "error"},
		{"a = 1", "error"},
		{"a.", "error"},
		{"a b", "error"},
		{"a # c", "error"},
		{"a\nb", "error"},
		{"[a]", "error"},
	} {
		k, err := ParseKey(tc.in)
		got := strings.Join(k, "|")
		if err != nil {
			got = "error"
		}
		if got != tc.want {
			t.Errorf("ParseKey(%q) = %q (%v), want %q", tc.in, got, err, tc.want)
		}
	}
	if s := (Key{"crio", "my.rt", "a b", `q"`}).String(); s != `crio."my.rt"."a b"."q\""` {
		t.Errorf("String: %s", s)
	}
}
