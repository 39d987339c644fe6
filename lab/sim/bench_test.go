package sim

import (
	"fmt"
	"testing"
)

// BenchmarkOpenSeed measures creating a fleet's state from nothing.
func BenchmarkOpenSeed(b *testing.B) {
	for i := 0; i < b.N; i++ {
		w, err := OpenWorld(b.TempDir(), testFleet())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Status(); err != nil {
			b.Fatal(err)
		}
		w.Close()
	}
}

// BenchmarkCommand measures one read-only program call on a node of a
// 100-node fleet (the transaction overhead of the lab).
func BenchmarkCommand(b *testing.B) {
	var nodes []NodeConfig
	nodes = append(nodes, NodeConfig{Name: "cp-1", Role: RoleControlPlane})
	for i := 1; i < 100; i++ {
		nodes = append(nodes, NodeConfig{Name: fmt.Sprintf("worker-%d", i), Role: RoleWorker})
	}
	w, err := OpenWorld(b.TempDir(), nodes)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	t := &testing.T{}
	if _, err := w.Status(); err != nil { // creates every node
		b.Fatal(err)
	}
	for i := 1; i < 100; i++ {
		w.Machine(fmt.Sprintf("worker-%d", i%99+1))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		call(t, w, fmt.Sprintf("worker-%d", 1+i%99), "", "systemctl", "is-active", "crio")
	}
}

// BenchmarkRestartCrio measures a changing call: a crio restart (config
// read, wipe check, version file, kubelet reconcile, state written).
func BenchmarkRestartCrio(b *testing.B) {
	w, err := OpenWorld(b.TempDir(), testFleet())
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	t := &testing.T{}
	call(t, w, "worker-1", "", "systemctl", "is-active", "crio")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		call(t, w, "worker-1", "", "systemctl", "restart", "crio")
	}
}
