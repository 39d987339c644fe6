package lab

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/runbookhq/runbook/lab/sim"
	"github.com/runbookhq/runbook/runbook/inventory"
)

// The lab inventories shipped in inventories/ make the fleet their comments
// describe.
func TestShippedLabInventories(t *testing.T) {
	workers := []string{"worker-1", "worker-2", "worker-3", "worker-4", "worker-5"}
	for _, name := range []string{"lab.yaml", "lab-faulty.yaml"} {
		t.Run(name, func(t *testing.T) {
			inv, err := inventory.Options{Transports: []string{Transport}}.Load(filepath.Join("..", "inventories", name))
			if err != nil {
				t.Fatal(err)
			}
			if len(inv.Warnings) > 0 {
				t.Errorf("warnings: %v", inv.Warnings)
			}
			for _, pattern := range []string{"workers", "control_plane", "kube_nodes"} {
				if _, err := inv.Select(pattern); err != nil {
					t.Errorf("Select(%q): %v", pattern, err)
				}
			}
			if inv.Host(inv.Host("worker-1").Vars["kubectl_host"].(string)) == nil {
				t.Errorf("kubectl_host does not name a host of the inventory")
			}
			nodes, err := Nodes(inv)
			if err != nil {
				t.Fatal(err)
			}
			var want []NodeSpec
			for _, cp := range []string{"cp-1", "cp-2", "cp-3"} {
				want = append(want, NodeSpec{Name: cp, Role: sim.RoleControlPlane})
			}
			for _, w := range workers {
				spec := NodeSpec{Name: w, Role: sim.RoleWorker}
				if name == "lab-faulty.yaml" && w == "worker-3" {
					spec.Faults.CrioStartFails = true
				}
				want = append(want, spec)
			}
			if !reflect.DeepEqual(nodes, want) {
				t.Errorf("nodes\n got %+v\nwant %+v", nodes, want)
			}
		})
	}
}

func TestNodesReadTheLabVariables(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []NodeSpec
	}{{
		name: "roles from groups and lab_role",
		src: `
all:
  vars: {transport: lab}
  children:
    masters: {hosts: {m1: }}
    control-plane: {hosts: {cp1: }}
    workers:
      hosts:
        w1:
        w2: {lab_role: control-plane}
    elsewhere:
      hosts:
        real: {transport: ssh, lab_faults: {slow: 1s}}
`,
		want: []NodeSpec{
			{Name: "m1", Role: sim.RoleControlPlane},
			{Name: "cp1", Role: sim.RoleControlPlane},
			{Name: "w1", Role: sim.RoleWorker},
			{Name: "w2", Role: sim.RoleControlPlane},
		},
	}, {
		name: "every fault",
		src: `
all:
  hosts:
    w1:
      transport: lab
      lab_faults: {apt_install_fails: true, crio_start_fails: true, unreachable_after: 7, slow: 250ms}
`,
		want: []NodeSpec{{Name: "w1", Role: sim.RoleWorker, Faults: sim.Faults{
			AptInstallFails: true, CrioStartFails: true, UnreachableAfter: 7, Slow: 250 * time.Millisecond}}},
	}, {
		name: "no lab host",
		src:  "all:\n  hosts:\n    a:\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := inventory.Options{Transports: []string{Transport}}.Parse("inv.yaml", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Nodes(inv)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// A bad lab variable is an error naming the inventory file, the host's
// position and the host.
func TestNodesRefuseBadLabVariables(t *testing.T) {
	tests := []struct {
		vars string
		want string
	}{
		{`lab_faults: [a]`, `inv.yaml:4:5: host w1: lab_faults: expected a mapping like {crio_start_fails: true}`},
		{`lab_faults: {crio_start_fail: true}`, `inv.yaml:4:5: host w1: lab_faults: unknown fault "crio_start_fail" (apt_install_fails, crio_start_fails, unreachable_after, slow)`},
		{`lab_faults: {slow: fast}`, `inv.yaml:4:5: host w1: lab_faults: slow: "fast" is not a duration like 200ms`},
		{`lab_faults: {unreachable_after: many}`, `inv.yaml:4:5: host w1: lab_faults: yaml: unmarshal errors:`},
		{`lab_role: master`, `inv.yaml:4:5: host w1: lab_role: master is not control-plane or worker`},
		{`lab_role: [worker]`, `inv.yaml:4:5: host w1: lab_role: [worker] is not control-plane or worker`},
	}
	for _, tt := range tests {
		t.Run(tt.vars, func(t *testing.T) {
			src := "all:\n  vars: {transport: lab}\n  hosts:\n    w1: {" + tt.vars + "}\n"
			inv, err := inventory.Options{Transports: []string{Transport}}.Parse("inv.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Nodes(inv)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %v, want %s", err, tt.want)
			}
		})
	}
}
