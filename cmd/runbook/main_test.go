package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// runCLI runs the command line in-process with in-memory streams.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	io := &IO{In: strings.NewReader(""), Out: &out, Err: &errb, Getenv: func(string) string { return "" }}
	code = Main(args, io)
	return code, out.String(), errb.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test ./cmd/runbook -update to accept):\n%s", name, diffLines(string(want), got))
	}
}

func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n- %s\n+ %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}

func TestPlanGolden(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"plan-crio-upgrade.txt", []string{"plan", "../../examples/crio-upgrade.yaml", "-i", "../../inventories/lab.yaml"}},
		{"plan-crio-upgrade.json", []string{"plan", "../../examples/crio-upgrade.yaml", "-i", "../../inventories/lab.yaml", "--output", "json"}},
		{"plan-crio-upgrade-limit.txt", []string{"plan", "../../examples/crio-upgrade.yaml", "-i", "../../inventories/lab.yaml",
			"--limit", "worker-[1:3]", "-e", "target_version=1.30.3-1.1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tt.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			golden(t, tt.name, out)
			// Deterministic: a second plan is the same.
			if _, again, _ := runCLI(t, tt.args...); again != out {
				t.Fatal("plan output differs between two runs")
			}
		})
	}
}

func TestPlanBatching(t *testing.T) {
	dir := t.TempDir()
	inv := filepath.Join(dir, "inv.ini")
	os.WriteFile(inv, []byte("[web]\nh[1:7]\n"), 0o644)
	rb := filepath.Join(dir, "rb.yaml")
	os.WriteFile(rb, []byte(`runbook: b
targets: web
phases:
  - {name: Canary, kind: canary, hosts: 1, steps: [{shell: x}]}
  - {name: Batches, kind: batch, serial: [2, "50%"], steps: [{shell: x}]}
`), 0o644)
	code, out, errOut := runCLI(t, "plan", rb, "-i", inv)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"1. Canary [canary] batches: [h1]", "2. Batches [batch] batches: [h2 h3] [h4 h5 h6] [h7]"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("runbook: demo\ntargets: workers\nphases:\n  - name: x\n    kind: batch\n    serail: [1]\n    steps: [{shell: x}]\n"), 0o644)
	code, out, errOut := runCLI(t, "validate", "../../examples/crio-upgrade.yaml", bad)
	if code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	if !strings.Contains(out, "crio-upgrade.yaml: ok") {
		t.Errorf("stdout %q", out)
	}
	if !strings.Contains(errOut, bad+`:6:5: unknown key "serail" (did you mean "serial"?)`) {
		t.Errorf("stderr %q", errOut)
	}
	code, _, errOut = runCLI(t, "validate", "../../examples/crio-upgrade.yaml", "-i", "../../inventories/lab.yaml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

// Every module of the examples validates on its own, as a module.
func TestModulesValidateOnTheirOwn(t *testing.T) {
	modules, _ := filepath.Glob("../../examples/modules/*.yaml")
	if len(modules) == 0 {
		t.Fatal("no modules")
	}
	code, out, errOut := runCLI(t, append([]string{"validate"}, modules...)...)
	if code != 0 || strings.Count(out, ": ok (a module: ") != len(modules) {
		t.Errorf("exit %d:\n%s\n%s", code, out, errOut)
	}
}

func TestEveryExampleAndInventoryValidates(t *testing.T) {
	runbooks, _ := filepath.Glob("../../examples/*.yaml")
	invs, _ := filepath.Glob("../../inventories/*")
	if len(runbooks) == 0 || len(invs) == 0 {
		t.Fatal("no examples or inventories")
	}
	for _, inv := range invs {
		if strings.HasSuffix(inv, ".md") {
			continue
		}
		// Examples target lab groups: the rbdemo ones the container lab's,
		// the others the simulated lab's; other inventories are checked
		// for loading only.
		args := []string{"validate", "-i", inv}
		for _, rb := range runbooks {
			if strings.Contains(rb, "rbdemo") == strings.Contains(inv, "lab-containers") {
				args = append(args, rb)
			}
		}
		if !strings.Contains(inv, "lab") {
			args = []string{"validate", "-i", inv, "../../examples/crio-upgrade.yaml"}
		}
		code, _, errOut := runCLI(t, args...)
		if code != 0 && !(strings.Contains(errOut, "no host matches") && !strings.Contains(inv, "lab")) {
			t.Errorf("%s: exit %d: %s", inv, code, errOut)
		}
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"plan"},
		{"nosuchcommand"},
		{"plan", "../../examples/crio-upgrade.yaml"},
		{"plan", "../../examples/crio-upgrade.yaml", "-i", "../../inventories/lab.yaml", "-e", "target_version=2.0"},
		{"plan", "../../examples/crio-upgrade.yaml", "-i", "../../inventories/lab.yaml", "-e", "nosuch=1"},
		{"plan", "../../examples/crio-upgrade.yaml", "-i", "../../inventories/lab.yaml", "--limit", "nosuchhost"},
		{"show", "not-a-run-id"},
		{"run", "../../examples/crio-upgrade.yaml", "-i", "../../inventories/lab.yaml", "--output", "yaml"},
		{"run", "../../examples/crio-upgrade.yaml", "-i", "../../inventories/lab.yaml", "--concurrency", "0"},
		{"run", "../../examples/crio-upgrade.yaml", "-i", "../../inventories/lab.yaml", "--concurrency", "-3"},
	} {
		code, _, errOut := runCLI(t, append([]string{"--state-dir", t.TempDir()}, args...)...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errOut)
		}
		if !strings.HasPrefix(errOut, "runbook: ") {
			t.Errorf("%v: stderr %q", args, errOut)
		}
	}
}

func TestSchemaAndVersion(t *testing.T) {
	code, out, _ := runCLI(t, "schema")
	if code != 0 || !strings.Contains(out, `"$schema"`) || !strings.Contains(out, `"apt_repository"`) {
		t.Fatalf("schema: %d %.200s", code, out)
	}
	code, out, _ = runCLI(t, "version")
	if code != 0 || !strings.HasPrefix(out, "runbook ") {
		t.Fatalf("version: %d %q", code, out)
	}
}

// `lab status --archive` lists the lab's apt archive without an inventory.
func TestLabArchiveListed(t *testing.T) {
	code, out, errOut := runCLI(t, "lab", "status", "--archive")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"REPOSITORY", "https://pkgs.k8s.io/addons:/cri-o:/stable:/v1.30/deb /  cri-o", "1.30.4-1.1", "linux-image-5.15.0-122-generic"} {
		if !strings.Contains(out, want) {
			t.Errorf("lab status --archive lacks %q:\n%s", want, out)
		}
	}
}
