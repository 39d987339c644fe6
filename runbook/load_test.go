package runbook_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbookhq/runbook/runbook"
	_ "github.com/runbookhq/runbook/steps"
)

const minimal = `runbook: demo
targets: workers
phases:
  - name: Roll out
    kind: batch
    steps:
      - shell: uptime
`

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // each a full line of the error
	}{
		{"typo in a key", strings.Replace(minimal, "    kind: batch", "    kind: batch\n    serail: [1]", 1),
			[]string{`rb.yaml:6:5: unknown key "serail" (did you mean "serial"?)`}},
		{"wrong indentation", "runbook: demo\ntargets: workers\nphases:\n  - name: x\n    kind: batch\n   steps: []\n",
			[]string{`rb.yaml:6:4: YAML syntax: did not find expected '-' indicator (check the indentation of this line and the one before)`}},
		{"unknown step kind", strings.Replace(minimal, "shell: uptime", "shel: uptime", 1),
			[]string{`rb.yaml:7:9: unknown step key "shel" (did you mean "shell"?)`}},
		{"bad percentage", strings.Replace(minimal, "    kind: batch", "    kind: batch\n    serial: [1, \"150%\"]", 1),
			[]string{`rb.yaml:6:17: bad percentage "150%": use a number above 0 and at most 100, like "25%"`}},
		{"undefined param", strings.Replace(minimal, "shell: uptime", "shell: echo {{ quote(params.version) }}", 1),
			[]string{`rb.yaml:7:16: param "version" is not declared in the runbook's params:`}},
		{"two kinds", strings.Replace(minimal, "shell: uptime", "shell: uptime\n        log: hi", 1),
			[]string{`rb.yaml:8:9: a step has exactly one kind, this one has 2: [shell log]`}},
		{"no kind", strings.Replace(minimal, "shell: uptime", "name: nothing", 1),
			[]string{`rb.yaml:7:9: step has no kind: add one of`}},
		{"unknown procedure", strings.Replace(minimal, "    steps:\n      - shell: uptime", "    steps: upgarde\nprocedures:\n  upgrade: [{shell: x}]", 1),
			[]string{`rb.yaml:6:12: unknown procedure "upgarde" (did you mean "upgrade"?)`}},
		{"bad duration", strings.Replace(minimal, "targets: workers", "targets: workers\ntimeout: 10 minutes", 1),
			[]string{`rb.yaml:3:10: bad duration "10 minutes": write it like 30s, 10m or 1h30m`}},
		{"bad on_failure", strings.Replace(minimal, "targets: workers", "targets: workers\non_failure: rollback", 1),
			[]string{`rb.yaml:3:13: on_failure "rollback": use rollback_host, rollback_all or halt`}},
		{"undefined name", strings.Replace(minimal, "shell: uptime", "shell: uptime\n        when: crio_versoin.rc == 0", 1),
			[]string{`rb.yaml:8:15: undefined name "crio_versoin"`}},
		{"phase order", minimal + "  - name: late check\n    kind: check\n    steps: [{shell: x}]\n",
			[]string{`rb.yaml:9:11: a check phase cannot come after a batch phase`}},
		{"field of another phase kind", strings.Replace(minimal, "    kind: batch", "    kind: batch\n    soak: 1m", 1),
			[]string{`rb.yaml:6:5: soak does not apply to a batch phase`}},
		{"missing required", "description: x\n",
			[]string{`rb.yaml:1:1: missing runbook:`, `rb.yaml:1:1: missing targets:`, `rb.yaml:1:1: missing phases:`}},
		{"bad name", strings.Replace(minimal, "runbook: demo", "runbook: Demo_1", 1),
			[]string{`rb.yaml:1:10: runbook name "Demo_1": use lower-case letters, digits and dashes`}},
		{"wrong type", strings.Replace(minimal, "targets: workers", "targets: workers\nconcurrency: many", 1),
			[]string{`rb.yaml:3:14: expected a whole number, got "many"`}},
		{"bad expression", strings.Replace(minimal, "shell: uptime", "shell: uptime\n        when: 'a ==== b'", 1),
			[]string{`rb.yaml:8:15: bad expression "a ==== b"`}},
		{"command not a list", strings.Replace(minimal, "shell: uptime", "command: systemctl restart crio", 1),
			[]string{`rb.yaml:7:18: command: takes a list of arguments`}},
		{"canary without hosts", strings.Replace(minimal, "kind: batch", "kind: canary", 1),
			[]string{`rb.yaml:4:5: canary phase "Roll out" needs hosts:`}},
		{"duplicate key", strings.Replace(minimal, "targets: workers", "targets: workers\ntargets: all", 1),
			[]string{`rb.yaml:3:1: key "targets" appears twice`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runbook.Parse("rb.yaml", []byte(tt.src), nil)
			if err == nil {
				t.Fatal("no error")
			}
			lines := strings.Split(err.Error(), "\n")
			for _, want := range tt.want {
				found := false
				for _, l := range lines {
					if strings.HasPrefix(l, want) {
						found = true
					}
				}
				if !found {
					t.Errorf("no line starting %q in:\n%s", want, err)
				}
			}
			if len(tt.want) == 1 && len(lines) != 1 {
				t.Errorf("want one error line, got:\n%s", err)
			}
		})
	}
}

func TestAllErrorsOfAFileAreReported(t *testing.T) {
	src := `runbook: demo
targets: workers
concurrency: x
phases:
  - name: a
    kind: batchh
    steps: [{shel: x}]
  - name: b
    kind: batch
    serial: ["0%"]
    steps: [{shell: x, retries: -1}]
`
	_, _, err := runbook.Parse("rb.yaml", []byte(src), nil)
	if err == nil {
		t.Fatal("no error")
	}
	if n := len(strings.Split(err.Error(), "\n")); n < 5 {
		t.Fatalf("want every error, got %d:\n%v", n, err)
	}
}

func TestQuoteWarning(t *testing.T) {
	src := `runbook: demo
targets: workers
params:
  version: {default: "1.30"}
phases:
  - name: Roll out
    kind: batch
    steps:
      - shell: apt-get install cri-o={{ params.version }}
      - shell: apt-get install cri-o={{ quote(params.version) }}
      - shell: apt-get install cri-o={{ params.version | quote() }}
`
	_, warns, err := runbook.Parse("rb.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 1 || !strings.HasPrefix(warns[0].Error(), "rb.yaml:9:16: warning: param version reaches a shell unquoted") {
		t.Fatalf("warnings %v", warns)
	}
}

func TestModulesAnchorsAndProcedures(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "modules"), 0o755)
	os.WriteFile(filepath.Join(dir, "modules", "drain.yaml"), []byte(`params:
  node: {required: true}
  grace: {default: "30"}
steps:
  - name: drain
    shell: kubectl drain {{ quote(params.node) }} --grace-period={{ quote(params.grace) }}
`), 0o644)
	src := `runbook: demo
targets: workers
defaults: &retry
  retries: 3
  delay: 1s
procedures:
  up:
    - use: modules/drain.yaml
      with: {node: "{{ host.name }}"}
      name: node
    - <<: *retry
      shell: upgrade
phases:
  - {name: Roll out, kind: batch, steps: up}
`
	path := filepath.Join(dir, "rb.yaml")
	os.WriteFile(path, []byte(src), 0o644)
	_, _, err := runbook.Load(path)
	if err == nil || !strings.Contains(err.Error(), `unknown key "defaults"`) {
		t.Fatalf("anchors live under a known key; got %v", err)
	}
	src = strings.Replace(src, "defaults: &retry\n  retries: 3\n  delay: 1s\n", "vars:\n  retry: &retry\n    retries: 3\n    delay: 1s\n", 1)
	os.WriteFile(path, []byte(src), 0o644)
	rb, _, err := runbook.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	steps := rb.Phases[0].Steps.Steps
	if len(steps) != 2 {
		t.Fatalf("%d steps", len(steps))
	}
	if steps[0].Name != "node: drain" || steps[0].Scope == nil || steps[0].Scope.Module != "modules/drain.yaml" {
		t.Fatalf("module step %+v", steps[0])
	}
	if steps[1].Retries != 3 || steps[1].Delay.D().Seconds() != 1 {
		t.Fatalf("merge key not applied: %+v", steps[1])
	}
	if _, ok := rb.Modules["modules/drain.yaml"]; !ok {
		t.Fatalf("module not kept for freezing: %v", rb.Modules)
	}

	// A missing required module param, an unknown one.
	os.WriteFile(path, []byte(strings.Replace(src, `with: {node: "{{ host.name }}"}`, `with: {nod: x}`, 1)), 0o644)
	_, _, err = runbook.Load(path)
	if err == nil || !strings.Contains(err.Error(), `module modules/drain.yaml has no param "nod" (did you mean "node"?)`) ||
		!strings.Contains(err.Error(), `module modules/drain.yaml needs param "node"`) {
		t.Fatalf("module params: %v", err)
	}
}

func TestExamplesValidate(t *testing.T) {
	files, _ := filepath.Glob("../examples/*.yaml")
	if len(files) == 0 {
		t.Fatal("no examples")
	}
	for _, f := range files {
		if _, warns, err := runbook.Load(f); err != nil {
			t.Errorf("%s: %v", f, err)
		} else if len(warns) > 0 {
			t.Errorf("%s: warnings %v", f, warns)
		}
	}
}

func TestSchemaCoversEveryKind(t *testing.T) {
	b, err := runbook.Schema()
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, k := range runbook.KindNames() {
		if !strings.Contains(s, `"`+k+`"`) {
			t.Errorf("schema misses kind %s", k)
		}
	}
	for _, key := range []string{`"failure_budget"`, `"skip_host_when"`, `"pause_between"`, `"delegate_to"`, `"run_once"`} {
		if !strings.Contains(s, key) {
			t.Errorf("schema misses %s", key)
		}
	}
}

// A module file validates on its own: its params, its steps, the names and
// params its expressions read.
func TestLoadModule(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("drain.yaml", "params:\n  node: {required: true}\nsteps:\n  - shell: kubectl drain {{ quote(params.node) }}\n")
	m, _, err := runbook.LoadModule(good)
	if err != nil || len(m.Params) != 1 || len(m.Steps) != 1 {
		t.Fatalf("LoadModule: %+v, %v", m, err)
	}
	data, _ := os.ReadFile(good)
	if !runbook.IsModule(data) || runbook.IsModule([]byte(minimal)) {
		t.Error("IsModule cannot tell a module from a runbook")
	}
	bad := write("bad.yaml", "params:\n  node: {required: true}\nsteps:\n  - shell: echo {{ quote(params.nod) }}\n  - shell: echo\n    lop: [1]\n")
	_, _, err = runbook.LoadModule(bad)
	for _, want := range []string{
		bad + `:4:12: param "nod" is not declared in the module bad.yaml's params: (did you mean "node"?)`,
		bad + `:6:5: unknown step key "lop" (did you mean "loop"?)`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}
