package engine

import (
	"context"
	"fmt"
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

// BenchmarkEngineFleet runs the engine alone (journal fsynced, no
// terminal, no reports) on 1,000 and 10,000 hosts that answer every
// command at once, 5 trivial steps each, through a canary and batches of
// [10, "25%"] at concurrency 100: the engine's own cost per host-step, the
// SSH round trips left out. cpu-µs/host-step and B/op per host staying
// level from 1,000 to 10,000 hosts, and peak-live-MB growing no faster
// than the fleet, say nothing in the engine grows faster than it:
//
//	go test ./runbook/engine -run '^$' -bench EngineFleet -benchtime 1x
func BenchmarkEngineFleet(b *testing.B) {
	for _, hosts := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("hosts=%d", hosts), func(b *testing.B) {
			const steps = 5
			book, fleet, err := enginetest.Trivial(100, []enginetest.Phase{
				{Name: "Canary", Kind: "canary", Extra: []string{"hosts: 1"}},
				{Name: "Steps", Kind: "batch", Extra: []string{`serial: [10, "25%"]`}},
			}, steps, hosts)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			c0 := enginetest.ProcessCPU()
			heap := enginetest.WatchHeap()
			for b.Loop() {
				e, err := New(Options{Runbook: book, Inventory: fleet, StateDir: b.TempDir(), Connector: enginetest.InstantFleet{},
					Operator: "bench", Now: time.Now})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := e.Start(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			peak := heap.Stop()
			b.ReportMetric(float64((enginetest.ProcessCPU()-c0).Microseconds())/float64(b.N*hosts*steps), "cpu-µs/host-step")
			b.ReportMetric(float64(peak)/(1<<20), "peak-live-MB")
		})
	}
}
