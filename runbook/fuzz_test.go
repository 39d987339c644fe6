package runbook_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/runbookhq/runbook/runbook"
)

// FuzzParse feeds arbitrary bytes to the runbook loader: it may refuse them
// but must never panic, and an error must name the file.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../examples/*.yaml")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(minimal))
	f.Add([]byte("runbook: x\ntargets: a\nphases: [{name: a, kind: batch, serial: [1, \"50%\"], steps: [{shell: x, when: 'a.b'}]}]\n"))
	f.Add([]byte(minimal + "procedures: {p: [{log: x}]}\nhooks: {on_start: p, on_finish: [{block: [{log: '{{ hook.status }}'}], when: 'hook.failed_hosts'}]}\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("x: &x {<<: *x}\n"))
	read := func(string) ([]byte, error) { return []byte("params: {n: {}}\nsteps: [{use: m.yaml}]\n"), nil }
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _, err := runbook.Parse("fuzz.yaml", data, read)
		if err != nil && len(err.Error()) < len("fuzz.yaml") {
			t.Fatalf("error without the file name: %v", err)
		}
	})
}

// FuzzRender renders arbitrary templates: errors are fine, panics are not.
func FuzzRender(f *testing.F) {
	for _, s := range []string{"kubectl drain {{ host.name }}", "{{ quote(params.v) }}", "{{ jq(x, '.a') }}",
		"{{ fromJSON('{') }}", "{{ semver('x').major }}", "{{ 1/0 }}", "{{ lines(nil) }}", "{{ {a: 1}.a }}{{", "{{ regexFind('a', '(') }}"} {
		f.Add(s)
	}
	env := map[string]any{"host": map[string]any{"name": "w"}, "params": map[string]any{"v": "1.30"}, "x": `{"a":[1]}`}
	f.Fuzz(func(t *testing.T, s string) {
		r := &runbook.Renderer{Env: env}
		_, _ = r.Render(s)
	})
}
