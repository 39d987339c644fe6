package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const validateFlowRunbook = `runbook: vflow
targets: all
params:
  first: {default: 1}
  wait: {default: 5s}
  pkgs: {default: [a, b]}
phases:
  - name: Roll out
    kind: batch
    serial: ["{{ params.first }}", "100%"]
    pause_between: "{{ params.wait }}"
    steps:
      - shell: echo {{ item }}
        loop: params.pkgs
`

// TestValidateWithParams: validate -e checks what the params decide (a
// batch size, a pause, a loop's list) at the line and column that uses
// them; without -e the defaults are checked.
func TestValidateWithParams(t *testing.T) {
	rb := filepath.Join(t.TempDir(), "rb.yaml")
	os.WriteFile(rb, []byte(validateFlowRunbook), 0o644)
	if code, out, errOut := runCLI(t, "validate", rb); code != 0 {
		t.Fatalf("defaults: exit %d\n%s%s", code, out, errOut)
	}
	for _, tc := range []struct {
		arg, want string
	}{
		{"first=many", `rb.yaml:10:13: serial: [{{ params.first }}, 100%] gave [many, 100%]`},
		{"first=0", "a batch size must be at least 1"},
		{"wait=soon", `rb.yaml:11:20: bad duration "soon"`},
		{"pkgs=oops", `rb.yaml:14:15: loop: "params.pkgs" gives string, not a list`},
	} {
		code, _, errOut := runCLI(t, "validate", rb, "-e", tc.arg)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("-e %s: exit %d\n%s\nwant %q", tc.arg, code, errOut, tc.want)
		}
	}
}
