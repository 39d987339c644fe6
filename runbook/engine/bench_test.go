package engine

import (
	"context"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook/engine/enginetest"
)

// BenchmarkEngineHostStep runs 20 hosts × 20 trivial steps in one batch on
// an instant fleet, the journal in a temporary directory (fsynced), and
// reports the engine's time per host-step, the SSH round trips left out.
func BenchmarkEngineHostStep(b *testing.B) {
	const hosts, steps = 20, 20
	book, hostsInv, err := enginetest.Trivial(hosts, []enginetest.Phase{{Name: "Steps", Kind: "batch"}}, steps, hosts)
	if err != nil {
		b.Fatal(err)
	}
	state := b.TempDir()
	b.ReportAllocs()
	b.ResetTimer()
	c0 := enginetest.ProcessCPU()
	for b.Loop() {
		e, err := New(Options{Runbook: book, Inventory: hostsInv, StateDir: state, Connector: enginetest.InstantFleet{},
			Operator: "bench", Now: time.Now})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*hosts*steps), "µs/host-step")
	b.ReportMetric(float64((enginetest.ProcessCPU()-c0).Microseconds())/float64(b.N*hosts*steps), "cpu-µs/host-step")
}
