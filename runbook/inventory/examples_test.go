package inventory

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
)

// The inventories shipped in inventories/ must load, and say what their
// comments say.

func loadExample(t *testing.T, name string) *Inventory {
	t.Helper()
	inv, err := Load(filepath.Join("..", "..", "inventories", name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(inv.Warnings) > 0 {
		t.Errorf("%s: warnings: %v", name, warnings(inv))
	}
	return inv
}

func selectNames(t *testing.T, inv *Inventory, pattern string) []string {
	t.Helper()
	hosts, err := inv.Select(pattern)
	if err != nil {
		t.Fatalf("Select(%q): %v", pattern, err)
	}
	return names(hosts)
}

// The lab's inventories are read by the lab too, which checks its own
// variables in them.
func TestLabInventory(t *testing.T) {
	for _, name := range []string{"lab.yaml", "lab-faulty.yaml"} {
		t.Run(name, func(t *testing.T) {
			inv := loadExample(t, name)
			workers := []string{"worker-1", "worker-2", "worker-3", "worker-4", "worker-5"}
			cps := []string{"cp-1", "cp-2", "cp-3"}
			checkEqual(t, "all", selectNames(t, inv, "all"), append(cps, workers...))
			checkEqual(t, "workers", selectNames(t, inv, "workers"), workers)
			checkEqual(t, "control_plane", selectNames(t, inv, "control_plane"), cps)
			checkEqual(t, "kube_nodes", selectNames(t, inv, "kube_nodes"), append(cps, workers...))
			checkEqual(t, "children of kube_nodes", inv.Groups["kube_nodes"].Children, []string{"control_plane", "workers"})
			if inv.Host("cp-1") == nil || inv.Host(inv.Host("worker-1").Vars["kubectl_host"].(string)) == nil {
				t.Errorf("kubectl_host does not name a host of the inventory")
			}
		})
	}
}

// TestStagingExamples checks that the YAML and INI examples describe the
// same fleet, with documentation addresses only.
func TestStagingExamples(t *testing.T) {
	y := loadExample(t, "staging.example.yaml")
	ini := loadExample(t, "hosts.example.ini")
	if len(y.Hosts) != len(ini.Hosts) {
		t.Fatalf("YAML has %v, INI has %v", names(y.Hosts), names(ini.Hosts))
	}
	checkEqual(t, "group order", ini.GroupOrder, y.GroupOrder)
	for i, yh := range y.Hosts {
		ih := ini.Hosts[i]
		yc, ic := *yh, *ih
		yc.File, yc.Line, yc.Col = "", 0, 0
		ic.File, ic.Line, ic.Col = "", 0, 0
		checkEqual(t, "host "+yh.Name, ic, yc)
	}
	for _, g := range y.GroupOrder {
		checkEqual(t, "group "+g, ini.Groups[g], y.Groups[g])
	}

	_, docNet, _ := net.ParseCIDR("192.0.2.0/24")
	for _, h := range y.Hosts {
		if h.User != "ubuntu" || h.IdentityFile == "" || h.ProxyJump != "jump@192.0.2.10" {
			t.Errorf("%s: user %q, identity %q, proxy_jump %q", h.Name, h.User, h.IdentityFile, h.ProxyJump)
		}
		ip := net.ParseIP(h.Address)
		if ip == nil && !strings.HasSuffix(h.Address, ".example.com") || ip != nil && !docNet.Contains(ip) {
			t.Errorf("%s: address %q is not a documentation address", h.Name, h.Address)
		}
	}
	checkEqual(t, "port of stg-worker-5", y.Host("stg-worker-5").Port, 2222)
	checkEqual(t, "drain_timeout", []any{
		y.Host("stg-cp-1").Vars["drain_timeout"],
		y.Host("stg-worker-1").Vars["drain_timeout"],
		y.Host("stg-gpu-1.staging.example.com").Vars["drain_timeout"],
	}, []any{"5m", "10m", "30m"})
	checkEqual(t, "workers", selectNames(t, y, "workers:!stg-worker-5"),
		[]string{"stg-worker-1", "stg-worker-2", "stg-worker-3", "stg-worker-4"})
}
