package runbook

import (
	"strings"
	"testing"
)

const flowBase = `runbook: flows
targets: all
params:
  n: {default: 2}
  pkgs: {default: [a, b]}
handlers:
  restart crio:
    - shell: systemctl restart crio
  reload:
    - shell: systemctl daemon-reload
phases:
  - name: Check
    kind: check
    targets: workers
    steps: [{shell: patronictl list, register: role}]
  - name: CP canary
    kind: canary
    targets: control_plane
    hosts: "cp-*"
    steps: upgrade
  - name: CP
    kind: batch
    targets: control_plane
    order_by: 'role.stdout contains "Leader" ? 1 : 0'
    serial: ["{{ params.n }}", "100%"]
    pause_between: "{{ params.n }}s"
    steps: upgrade
  - name: Workers
    kind: batch
    targets: workers
    order: reverse
    steps: upgrade
procedures:
  upgrade:
    - apt: {name: "{{ item }}", state: present}
      loop: params.pkgs
      retries: "{{ params.n }}"
    - shell: echo {{ loop_index }} {{ pkg }}
      loop: [x, "{{ params.n }}"]
      loop_var: pkg
      notify: [restart crio, reload]
    - block:
        - shell: kubectl drain x
      rescue:
        - shell: kubectl uncordon x
      always:
        - log: drain attempted
`

func TestFlowRunbookLoads(t *testing.T) {
	rb, _, err := Parse("rb.yaml", []byte(flowBase), nil)
	if err != nil {
		t.Fatal(err)
	}
	cp := rb.Phases[2]
	if cp.Targets != "control_plane" || cp.OrderBy == "" || cp.Templates["serial"] == nil || cp.Templates["pause_between"] == nil {
		t.Fatalf("phase %+v", cp)
	}
	if rb.Phases[1].Hosts.Pattern != "cp-*" {
		t.Errorf("canary hosts %+v", rb.Phases[1].Hosts)
	}
	up := rb.Procedures["upgrade"].Steps
	if up[0].Loop == nil || up[0].Loop.Expr != "params.pkgs" || up[0].Templates["retries"] == nil {
		t.Errorf("step 0 %+v", up[0])
	}
	if up[1].LoopVarName() != "pkg" || len(up[1].Loop.Items) != 2 || len(up[1].Notify) != 2 {
		t.Errorf("step 1 %+v", up[1])
	}
	if !up[2].IsBlock() || len(up[2].Block) != 1 || len(up[2].Rescue) != 1 || len(up[2].Always) != 1 {
		t.Errorf("step 2 %+v", up[2])
	}
	if n := len(rb.AllSteps()); n != 9 {
		t.Errorf("AllSteps: %d, want 9 (3 procedure steps, 3 in the block, a check step, 2 handler steps)", n)
	}
	if err := ResolveTemplates(cp, rb.File, func(s string) (string, error) { return strings.ReplaceAll(s, "{{ params.n }}", "3"), nil }); err != nil {
		t.Fatal(err)
	}
	if cp.Serial[0].Count != 3 || cp.PauseBetween.D().Seconds() != 3 {
		t.Errorf("resolved: serial %v, pause %v", cp.Serial, cp.PauseBetween)
	}
}

func TestFlowBadInput(t *testing.T) {
	for _, tc := range []struct{ name, from, to, want string }{
		{"notify naming no handler", "notify: [restart crio, reload]", "notify: [restart cri]", `rb.yaml:41:15: notify: no handler "restart cri" under handlers: (did you mean "restart crio"?)`},
		{"handler that notifies", "    - shell: systemctl daemon-reload", "    - shell: systemctl daemon-reload\n      notify: reload", "a handler's step cannot notify"},
		{"rescue without block", "    - block:\n        - shell: kubectl drain x\n", "    - name: x\n", "rescue: belongs to a block"},
		{"loop of a constant", "loop: params.pkgs", "loop: 3", `loop: "3" gives int 3, not a list`},
		{"loop var unknown", "echo {{ loop_index }} {{ pkg }}", "echo {{ loop_index }} {{ pgk }}", `undefined name "pgk"`},
		{"loop on a block", "    - block:\n", "    - loop: [1]\n      block:\n", "loop: does not apply to a block"},
		{"bad order", "order: reverse", "order: revers", `order "revers": use one of [inventory reverse sorted shuffle] (did you mean "reverse"?)`},
		{"template reads a host", `pause_between: "{{ params.n }}s"`, `pause_between: "{{ host.name }}s"`, "may read only params and vars"},
		{"kind on a block", "      always:\n", "      shell: x\n      always:\n", "a block has no step kind of its own"},
		{"unknown key", "order: reverse", "ordre: reverse", `unknown key "ordre" (did you mean "order"?)`},
		{"loop with run_once", "      loop: params.pkgs\n", "      loop: params.pkgs\n      run_once: true\n", "run_once and loop: together are not supported"},
		{"check after a change", "  - name: Workers\n    kind: batch", "  - name: Workers\n    kind: check", "a check phase cannot come after a batch phase"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(flowBase, tc.from, tc.to, 1)
			if src == flowBase {
				t.Fatalf("%q not found", tc.from)
			}
			_, _, err := Parse("rb.yaml", []byte(src), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v\nwant %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "rb.yaml:") {
				t.Errorf("no position: %v", err)
			}
		})
	}
}

// TestSchemaHasFlowKeys: runbook schema describes SPEC 4a's keys.
func TestSchemaHasFlowKeys(t *testing.T) {
	b, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"handlers"`, `"order_by"`, `"order"`, `"loop"`, `"loop_var"`, `"notify"`, `"block"`, `"rescue"`, `"always"`,
		"May be a {{ }} template over params and vars."} {
		if !strings.Contains(string(b), key) {
			t.Errorf("schema lacks %s", key)
		}
	}
}
