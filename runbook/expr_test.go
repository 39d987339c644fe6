package runbook_test

import (
	"strings"
	"testing"

	"github.com/runbookhq/runbook/runbook"
)

func TestExpressions(t *testing.T) {
	env := map[string]any{
		"params":       map[string]any{"target_minor": "1.30", "v": "it's"},
		"crio_version": map[string]any{"stdout": "crio version 1.29.9\nGitCommit: abc", "rc": 0},
		"pods":         map[string]any{"stdout": `{"items":[{"id":"a"},{"id":"b"}]}`},
	}
	tests := []struct {
		src  string
		want string
	}{
		{`crio_version.stdout startsWith "crio version 1.29"`, "true"},
		{`regexFind(crio_version.stdout, "crio version ([0-9.]+)")`, "1.29.9"},
		{`semverMatch("1.29.9", ">=1.29.0 <1.30.0")`, "true"},
		{`semverMatch("1.30.1", ">=1.29.0 <1.30.0")`, "false"},
		{`semver("1.30.4").minor`, "30"},
		{`semverCompare("1.30.4", "1.29.9")`, "1"},
		{`quote(params.v)`, `'it'\''s'`},
		{`params.v | quote()`, `'it'\''s'`},
		{`quote("plain-1.30")`, `plain-1.30`},
		{`len(lines("a\nb\n"))`, "2"},
		{`fromJSON(pods.stdout).items[1].id`, "b"},
		{`jq(pods.stdout, "[.items[].id]")`, `["a","b"]`},
		{`regexMatch("worker-3", "^worker-[0-9]+$")`, "true"},
		{`trim("  x ")`, "x"},
		{`toJSON({"a": 1})`, `{"a":1}`},
		{`missing == nil`, "true"},
	}
	for _, tt := range tests {
		x, err := runbook.CompileExpr(tt.src)
		if err != nil {
			t.Errorf("%s: %v", tt.src, err)
			continue
		}
		v, err := x.Eval(env)
		if err != nil {
			t.Errorf("%s: %v", tt.src, err)
			continue
		}
		if got := runbook.Stringify(v); got != tt.want {
			t.Errorf("%s = %q, want %q", tt.src, got, tt.want)
		}
	}
}

func TestEvalBoolRefusesNonBool(t *testing.T) {
	x, _ := runbook.CompileExpr(`"yes"`)
	if _, err := x.EvalBool(nil); err == nil || !strings.Contains(err.Error(), "expected true or false") {
		t.Fatalf("err %v", err)
	}
}

func TestRender(t *testing.T) {
	r := &runbook.Renderer{Env: map[string]any{"host": map[string]any{"name": "worker-1"}, "n": 3, "l": []any{"a", "b"}}}
	for src, want := range map[string]string{
		"kubectl drain {{ host.name }}": "kubectl drain worker-1",
		"{{n}} and {{ n + 1 }}":         "3 and 4",
		"{{ l }}":                       `["a","b"]`,
		"no templates {":                "no templates {",
	} {
		got, err := r.Render(src)
		if err != nil || got != want {
			t.Errorf("Render(%q) = %q, %v; want %q", src, got, err, want)
		}
	}
	for _, bad := range []string{"{{ unclosed", "{{ }}", "{{ 1 + }}"} {
		if _, err := r.Render(bad); err == nil {
			t.Errorf("Render(%q) gave no error", bad)
		}
	}
}

func TestExprNames(t *testing.T) {
	names, err := runbook.ExprNames(`let x = params.a; x + crio.stdout + len(filter(items, # > 1)) + semver(v).major`)
	if err != nil {
		t.Fatal(err)
	}
	want := "crio items params v"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("names %q, want %q", got, want)
	}
}
