package main

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook/engine"
	"github.com/runbookhq/runbook/runbook/engine/enginetest"
)

// BenchmarkRunSession runs what `runbook run` does around the SSH round
// trips — the engine, the journal (fsynced), the terminal (not a TTY) and
// the end-of-run reports — on hosts that answer every command at once,
// through a canary and batches of [10, "25%"] at concurrency 100, for
// growing fleets. cpu-µs/host-step staying level as hosts grow is what
// shows nothing in that path grows worse than linearly:
//
//	go test ./cmd/runbook -run '^$' -bench RunSession -benchtime 3x
func BenchmarkRunSession(b *testing.B) {
	for _, hosts := range []int{500, 2000, 8000} {
		b.Run(fmt.Sprintf("hosts=%d", hosts), func(b *testing.B) { benchRunSession(b, hosts, 5) })
	}
}

func benchRunSession(b *testing.B, hosts, steps int) {
	book, fleet, err := enginetest.Trivial(100, []enginetest.Phase{
		{Name: "Canary", Kind: "canary", Extra: []string{"hosts: 1"}},
		{Name: "Steps", Kind: "batch", Extra: []string{`serial: [10, "25%"]`}},
	}, steps, hosts)
	if err != nil {
		b.Fatal(err)
	}
	g := &globalOptions{NoColor: true}
	out := &IO{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard, Getenv: func(string) string { return "" }}
	b.ReportAllocs()
	c0 := enginetest.ProcessCPU()
	for b.Loop() {
		state := b.TempDir()
		s := newSession(g, out, state, connectFlags{}, nil, "text", true)
		s.startTerminal(book)
		e, err := engine.New(engine.Options{Runbook: book, Inventory: fleet, StateDir: state, Connector: enginetest.InstantFleet{},
			Operator: "bench", Now: time.Now, Observer: s.observe, Approver: s.approver})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.wait(e, e.Start); err != nil {
			b.Fatal(err)
		}
		s.term.Close()
	}
	b.ReportMetric(float64((enginetest.ProcessCPU()-c0).Microseconds())/float64(b.N*hosts*steps), "cpu-µs/host-step")
}
