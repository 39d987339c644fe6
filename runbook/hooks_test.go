package runbook_test

import (
	"strings"
	"testing"

	"github.com/runbookhq/runbook/runbook"
)

func TestHooksLoad(t *testing.T) {
	src := minimal + `procedures:
  tell: [{notify_webhook: {url: "https://chat.example/hook", text: "{{ hook.summary }}"}}]
hooks:
  on_start: tell
  on_failure:
    - log: "failed: {{ hook.failed_hosts }}"
  on_finish:
    - block:
        - log: "{{ hook.status }}"
`
	rb, _, err := runbook.Parse("rb.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rb.Hooks.Steps(runbook.HookOnStart)); n != 1 {
		t.Errorf("on_start: %d steps, want the procedure's 1", n)
	}
	if rb.Hooks.Steps(runbook.HookOnCanaryDone) != nil {
		t.Error("on_canary_done has steps")
	}
	if n := len(rb.AllSteps()); n != 5 {
		t.Errorf("AllSteps: %d, want the phase's, the procedure's and the hooks' 5", n)
	}
}

func TestHooksErrors(t *testing.T) {
	tests := []struct {
		name, hooks, want string
	}{
		{"typo", "hooks:\n  on_finsh: [{log: x}]\n", `rb.yaml:9:3: unknown key "on_finsh" (did you mean "on_finish"?)`},
		{"delegate_to", "hooks:\n  on_start: [{log: x, delegate_to: worker-1}]\n",
			`rb.yaml:9:36: hooks.on_start: a hook's steps run on the controller; delegate_to does not apply`},
		{"hook outside hooks", "", `rb.yaml:7:14: hook is defined only in the steps of hooks: (in "hook.status")`},
		{"unknown procedure", "hooks:\n  on_start: tel\n", `rb.yaml:9:13: unknown procedure "tel"`},
		{"undefined name", "hooks:\n  on_finish: [{log: '{{ hook.status + stauts }}'}]\n", `rb.yaml:9:21: undefined name "stauts"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := minimal + tt.hooks
			if tt.hooks == "" {
				src = strings.Replace(minimal, "shell: uptime", `log: "{{ hook.status }}"`, 1)
			}
			_, _, err := runbook.Parse("rb.yaml", []byte(src), nil)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || strings.Count(err.Error(), "\n") > 0 {
				t.Errorf("got %v, want one line starting %q", err, tt.want)
			}
		})
	}
}
