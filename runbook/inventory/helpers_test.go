package inventory

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/runbookhq/runbook/runbook/diag"
)

// withRehearsal loads inventories as a caller that adds a transport of its
// own, "rehearsal", would.
var withRehearsal = Options{Transports: []string{"rehearsal"}}

// dedent strips the common leading tabs of a raw-string test fixture, so
// fixtures can be indented with the code (YAML itself is indented with
// spaces after the tabs).
func dedent(s string) string {
	s = strings.TrimPrefix(s, "\n")
	lines := strings.Split(s, "\n")
	indent := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, "\t"))
		if indent < 0 || n < indent {
			indent = n
		}
	}
	for i, l := range lines {
		if strings.TrimSpace(l) == "" {
			lines[i] = ""
		} else if indent > 0 {
			lines[i] = l[indent:]
		}
	}
	return strings.Join(lines, "\n")
}

func mustParse(t *testing.T, name, src string) *Inventory {
	t.Helper()
	inv, err := Parse(name, []byte(dedent(src)))
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return inv
}

// errLines returns the lines of err's message.
func errLines(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

func names(hosts []*Host) []string {
	out := []string{}
	for _, h := range hosts {
		out = append(out, h.Name)
	}
	return out
}

func warnings(inv *Inventory) []string {
	var out []string
	for _, w := range inv.Warnings {
		out = append(out, w.Error())
	}
	return out
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(dedent(content)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func checkEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %#v\n want %#v", what, got, want)
	}
}

// checkPositioned checks that every error of err names file and a line.
func checkPositioned(t *testing.T, err error, file string) {
	t.Helper()
	for _, e := range diag.Errors(err) {
		if !strings.HasPrefix(e.Error(), file+":") {
			t.Errorf("error without the file name: %q", e.Error())
		}
	}
}
