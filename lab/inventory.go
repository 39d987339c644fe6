package lab

import (
	"fmt"
	"slices"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/runbookhq/runbook/lab/sim"
	"github.com/runbookhq/runbook/runbook/diag"
	"github.com/runbookhq/runbook/runbook/inventory"
)

// What the lab reads from an inventory. The product knows none of these: the
// inventory carries them as it carries any variable, and the CLI asks the
// lab which hosts it serves.
const (
	// Transport marks the hosts the lab serves (`transport: lab`); the CLI
	// adds it to the transports an inventory may name.
	Transport = "lab"
	// VarRole makes a host a control-plane or worker node whatever its
	// groups.
	VarRole = "lab_role"
	// VarFaults is a mapping of the faults a node shows (sim.Faults).
	VarFaults = "lab_faults"
)

// Vars are the inventory variables the lab reads.
var Vars = []string{VarRole, VarFaults}

// controlPlaneGroups make their hosts control-plane nodes.
var controlPlaneGroups = []string{"control_plane", "control-plane", "masters"}

// faultNames are the keys of lab_faults, as an error lists them.
const faultNames = "apt_install_fails, crio_start_fails, unreachable_after, slow"

// Serves reports whether the lab serves the inventory host h.
func Serves(h *inventory.Host) bool { return h.Transport == Transport }

// Nodes returns the hosts of inv that the lab serves, as nodes: a worker
// unless a control-plane group or lab_role says otherwise, with the faults
// of lab_faults. None is no error. A bad variable is, naming where the
// inventory defines the host.
func Nodes(inv *inventory.Inventory) ([]NodeSpec, error) {
	var specs []NodeSpec
	for _, h := range inv.Hosts {
		if !Serves(h) {
			continue
		}
		spec, err := nodeSpec(h)
		if err != nil {
			return nil, &diag.Error{File: h.File, Line: h.Line, Col: h.Col, Msg: fmt.Sprintf("host %s: %v", h.Name, err)}
		}
		specs = append(specs, spec)
	}
	return specs, nil
}

// nodeSpec reads the lab's variables of one host.
func nodeSpec(h *inventory.Host) (NodeSpec, error) {
	spec := NodeSpec{Name: h.Name, Role: sim.RoleWorker}
	for _, g := range h.Groups {
		if slices.Contains(controlPlaneGroups, g) {
			spec.Role = sim.RoleControlPlane
		}
	}
	if v, ok := h.Vars[VarRole]; ok && v != nil && v != "" {
		r, _ := v.(string)
		if r != sim.RoleControlPlane && r != sim.RoleWorker {
			return spec, fmt.Errorf("%s: %v is not %s or %s", VarRole, v, sim.RoleControlPlane, sim.RoleWorker)
		}
		spec.Role = r
	}
	if v, ok := h.Vars[VarFaults]; ok {
		f, err := decodeFaults(v)
		if err != nil {
			return spec, fmt.Errorf("%s: %w", VarFaults, err)
		}
		spec.Faults = f
	}
	return spec, nil
}

// decodeFaults reads lab_faults (a mapping) strictly.
func decodeFaults(v any) (sim.Faults, error) {
	var f sim.Faults
	m, ok := v.(map[string]any)
	if !ok {
		return f, fmt.Errorf("expected a mapping like {crio_start_fails: true}")
	}
	raw := map[string]any{}
	for k, x := range m {
		switch k {
		case "apt_install_fails", "crio_start_fails", "unreachable_after":
			raw[k] = x
		case "slow":
			d, err := time.ParseDuration(fmt.Sprint(x))
			if err != nil {
				return f, fmt.Errorf("slow: %q is not a duration like 200ms", x)
			}
			f.Slow = d
		default:
			return f, fmt.Errorf("unknown fault %q (%s)", k, faultNames)
		}
	}
	b, err := yaml.Marshal(raw)
	if err != nil {
		return f, err
	}
	slow := f.Slow
	if err := yaml.Unmarshal(b, &f); err != nil {
		return f, err
	}
	f.Slow = slow
	return f, nil
}
