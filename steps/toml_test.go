package steps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// editLoadErrors are bad specs of the file-editing kinds, refused at load
// time at their position (the step is on line 7, after `      - `).
var editLoadErrors = []struct{ step, want string }{
	{`toml: {path: /etc/x.toml}`, "t.yaml:7:15: toml: give set: (keys and values) or unset: (keys)"},
	{`toml: {path: etc/x.toml, unset: [a]}`, `t.yaml:7:22: toml: path "etc/x.toml" must be an absolute path`},
	{`toml: {set: {a: 1}}`, "toml: needs path:"},
	{`toml: {path: /x, set: {"a b": 1}}`, `t.yaml:7:31: toml: set: key "a b"`},
	{`toml: {path: /x, set: {a: null}}`, "toml: set: a has no value"},
	{`toml: {path: /x, unset: ["a..b"]}`, `t.yaml:7:33: toml: unset: key "a..b"`},
	{`toml: {path: /x, set: {a: 1}, unset: [a]}`, "toml: a is both set and unset"},
	{`toml: {path: /x, set: {a: 1}, mode: "999"}`, `toml: mode "999": write it in octal`},
	{`toml: {path: /x, sett: {a: 1}}`, `unknown key "sett" (did you mean "set"?)`},
}

func TestEditLoadErrors(t *testing.T) {
	for _, tc := range editLoadErrors {
		t.Run(tc.step, func(t *testing.T) {
			_, err := parseStep(t, tc.step)
			if err == nil {
				t.Fatalf("loaded without error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n%v\nwant it to contain\n%s", err, tc.want)
			}
		})
	}
}

// crioDropIn is a CRI-O drop-in as an operator left it on a node.
const crioDropIn = `# Local CRI-O settings (ops ticket 4711).
[crio.runtime]
default_runtime = "crun" # keep crun: see CRIO.md
log_level = "info"

[crio.runtime.runtimes.crun]
runtime_path = "/usr/libexec/crio/crun"
`

func TestTOML(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			dir := tg.scratch(t)
			x := newExec(t, tg.tr, tg.become)
			x.Diff = true
			dropIn := filepath.Join(dir, "99-local.conf")
			pin := mustKind(t, `toml: {path: "`+dropIn+`", set: {crio.runtime.default_runtime: runc, crio.metrics.enable_metrics: true}, create: true, mode: "0644"}`)

			// A new drop-in.
			r := predict(t, pin, x, dir)
			wantStatus(t, r, Changed)
			golden(t, "toml-create.diff", dir, r.Diff)
			r = run(t, pin, x)
			wantStatus(t, r, Changed)
			golden(t, "toml-create.diff", dir, r.Diff)
			wantStatus(t, run(t, pin, x), OK)
			wantStatus(t, predict(t, pin, x, dir), OK)

			// An operator's drop-in keeps its comments and other keys.
			if err := os.WriteFile(dropIn, []byte(crioDropIn), 0o640); err != nil {
				t.Fatal(err)
			}
			r = predict(t, pin, x, dir)
			wantStatus(t, r, Changed)
			golden(t, "toml-edit.diff", dir, r.Diff)
			wantStatus(t, run(t, pin, x), Changed)
			golden(t, "toml-edited.toml", "", readFile(t, dropIn))
			if m := fileMode(t, dropIn); m != 0o644 {
				t.Errorf("mode %v, want 0644", m)
			}
			wantStatus(t, run(t, pin, x), OK)

			r = run(t, mustKind(t, `toml: {path: "`+dropIn+`", unset: [crio.runtime.runtimes.crun, crio.nothing]}`), x)
			wantStatus(t, r, Changed)
			if got := readFile(t, dropIn); strings.Contains(got, "runtimes.crun") || !strings.Contains(got, "# keep crun") {
				t.Errorf("after unset:\n%s", got)
			}

			// Unset on a missing file: nothing to do.
			wantStatus(t, run(t, mustKind(t, `toml: {path: "`+dir+`/none.toml", unset: [a]}`), x), OK)
			// Set on a missing file without create: refused.
			wantErr(t, run(t, mustKind(t, `toml: {path: "`+dir+`/none.toml", set: {a: 1}}`), x), dir+"/none.toml does not exist (create: true makes it)")
		})
	}
}

// TestTOMLBadFile checks that a file that does not parse fails the step
// with its line and column, in check mode too, and is left untouched.
func TestTOMLBadFile(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			dir := tg.scratch(t)
			x := newExec(t, tg.tr, tg.become)
			bad := filepath.Join(dir, "bad.toml")
			content := "[crio.runtime]\ndefault_runtime = crun\n"
			if err := os.WriteFile(bad, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			k := mustKind(t, `toml: {path: "`+bad+`", set: {crio.runtime.log_level: debug}}`)
			want := bad + ":2:19: unexpected character"
			wantErr(t, predict(t, k, x, dir), want, "left as it was")
			wantErr(t, run(t, k, x), want)
			if got := readFile(t, bad); got != content {
				t.Errorf("the bad file changed: %q", got)
			}
			// A key inside an inline table cannot be set alone.
			os.WriteFile(bad, []byte("[a]\nt = {x = 1}\n"), 0o644)
			wantErr(t, run(t, mustKind(t, `toml: {path: "`+bad+`", set: {a.t.y: 2}}`), x), "a.t.y is inside the value of a.t (line 2)")
		})
	}
}

// TestTOMLThroughSymlink edits the target of a link, as a link to a
// shared config is meant.
func TestTOMLThroughSymlink(t *testing.T) {
	tg := targets(t)[0]
	dir := tg.scratch(t)
	x := newExec(t, tg.tr, false)
	target := filepath.Join(dir, "real.toml")
	os.WriteFile(target, []byte("a = 1\n"), 0o644)
	link := filepath.Join(dir, "link.toml")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	r := run(t, mustKind(t, `toml: {path: "`+link+`", set: {a: 2}}`), x)
	wantStatus(t, r, Changed)
	if got := readFile(t, target); got != "a = 2\n" || fileMode(t, link)&os.ModeSymlink == 0 || r.Data["target"] != target {
		t.Errorf("target %q, link kept: %v, data %v", got, fileMode(t, link)&os.ModeSymlink != 0, r.Data)
	}
	os.Symlink(filepath.Join(dir, "nothing"), filepath.Join(dir, "dangling.toml"))
	wantErr(t, run(t, mustKind(t, `toml: {path: "`+dir+`/dangling.toml", set: {a: 2}}`), x), "symbolic link to nothing")
}
