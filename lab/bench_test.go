package lab

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/runbookhq/runbook/lab/sim"
)

// BenchmarkIdleNodes serves 1,000 idle nodes in one process and reports
// what they hold: heap per node, goroutines per node and the whole heap.
// Run with -benchtime=1x (each iteration starts and stops the whole lab).
func BenchmarkIdleNodes(b *testing.B) {
	const count = 1000
	nodes := make([]NodeSpec, count)
	for i := range nodes {
		role := sim.RoleWorker
		if i == 0 {
			role = sim.RoleControlPlane
		}
		nodes[i] = NodeSpec{Name: fmt.Sprintf("node-%04d", i), Role: role}
	}
	dir := b.TempDir()
	// The first start creates keys and node trees; measure a warm start,
	// as `runbook lab serve` has after its first run.
	warm, err := Start(context.Background(), Options{Dir: dir, Nodes: nodes})
	if err != nil {
		b.Fatal(err)
	}
	warm.Close()
	for b.Loop() {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		g0 := runtime.NumGoroutine()
		start := time.Now()
		l, err := Start(context.Background(), Options{Dir: dir, Nodes: nodes})
		if err != nil {
			b.Fatal(err)
		}
		startTime := time.Since(start)
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		g1 := runtime.NumGoroutine()
		b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/count, "heap-B/node")
		b.ReportMetric(float64(after.HeapInuse)/(1<<20), "heap-MiB")
		b.ReportMetric(float64(after.StackInuse)/(1<<20), "stack-MiB")
		b.ReportMetric(float64(g1-g0)/count, "goroutines/node")
		b.ReportMetric(startTime.Seconds(), "start-s")
		// One round trip on the last node: the fleet is really served.
		c := dialBench(b, l, nodes[count-1].Name)
		s, err := c.NewSession()
		if err != nil {
			b.Fatal(err)
		}
		if out, err := s.Output("hostname"); err != nil || string(out) != nodes[count-1].Name+"\n" {
			b.Fatalf("hostname: %q, %v", out, err)
		}
		c.Close()
		l.Close()
	}
}
