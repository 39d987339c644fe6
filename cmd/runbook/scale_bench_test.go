package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/engine"
	"github.com/runbookhq/runbook/runbook/engine/enginetest"
	"github.com/runbookhq/runbook/runbook/inventory"
	"github.com/runbookhq/runbook/runbook/journal"
	"github.com/runbookhq/runbook/runbook/report"
)

// BenchmarkRunSession runs what `runbook run` does around the SSH round
// trips — the engine, the journal (fsynced), the terminal (not a TTY) and
// the end-of-run reports — on hosts that answer every command at once,
// through a canary and batches of [10, "25%"] at concurrency 100, at 1,000
// and 10,000 hosts. cpu-µs/host-step and B/op per host staying level as
// the fleet grows tenfold, and peak-live-MB growing no faster than it, is
// what shows nothing in that path grows worse than linearly:
//
//	go test ./cmd/runbook -run '^$' -bench RunSession -benchtime 1x
func BenchmarkRunSession(b *testing.B) {
	for _, hosts := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("hosts=%d", hosts), func(b *testing.B) { benchRunSession(b, hosts, 5) })
	}
}

// BenchmarkRunSessionShapes is the session at the shapes of the speed
// bench (internal/bench), every host at once, on instant hosts: what runbook
// adds to the round trips there, fsyncs included.
func BenchmarkRunSessionShapes(b *testing.B) {
	for _, sh := range []struct{ hosts, steps int }{{100, 5}, {20, 20}} {
		b.Run(fmt.Sprintf("%dx%d", sh.hosts, sh.steps), func(b *testing.B) {
			book, fleet, err := enginetest.Trivial(sh.hosts, []enginetest.Phase{{Name: "Steps", Kind: "batch", Extra: []string{`serial: ["100%"]`}}}, sh.steps, sh.hosts)
			if err != nil {
				b.Fatal(err)
			}
			benchSession(b, book, fleet, sh.hosts, sh.steps)
		})
	}
}

func benchRunSession(b *testing.B, hosts, steps int) {
	book, fleet, err := sessionBench(hosts, steps)
	if err != nil {
		b.Fatal(err)
	}
	benchSession(b, book, fleet, hosts, steps)
}

func benchSession(b *testing.B, book *runbook.Runbook, fleet *inventory.Inventory, hosts, steps int) {
	b.ReportAllocs()
	c0 := enginetest.ProcessCPU()
	heap := enginetest.WatchHeap()
	for b.Loop() {
		runSession(b, book, fleet, b.TempDir())
	}
	peak := heap.Stop()
	b.ReportMetric(float64((enginetest.ProcessCPU()-c0).Microseconds())/float64(b.N*hosts*steps), "cpu-µs/host-step")
	b.ReportMetric(float64(peak)/(1<<20), "peak-live-MB")
}

// The benchmark's run does what it says: every host upgraded, the journal
// whole, the reports written.
func TestRunSessionOnInstantFleet(t *testing.T) {
	book, fleet, err := sessionBench(30, 2)
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	runSession(t, book, fleet, state)
	ids, err := journal.ListRuns(state)
	if err != nil || len(ids) != 1 {
		t.Fatalf("runs %v, err %v", ids, err)
	}
	dir := filepath.Join(state, "runs", ids[0])
	log, err := journal.ReadFile(filepath.Join(dir, journal.JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	finished, ok := 0, 0
	for _, r := range log.Records {
		switch {
		case r.Type == journal.HostFinished && r.Outcome == journal.OutcomeUpgraded:
			finished++
		case r.Type == journal.StepFinished && (r.Status == journal.StatusOK || r.Status == journal.StatusChanged):
			ok++
		}
	}
	last := log.Records[len(log.Records)-1]
	if finished != 30 || ok != 30*2 || last.Type != journal.RunFinished || last.Status != journal.RunStatusSucceeded {
		t.Errorf("%d hosts upgraded, %d steps done, last record %s %s; want 30, 60, run_finished succeeded", finished, ok, last.Type, last.Status)
	}
	for _, f := range []string{report.HTMLFile, report.JUnitFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}

func sessionBench(hosts, steps int) (*runbook.Runbook, *inventory.Inventory, error) {
	return enginetest.Trivial(100, []enginetest.Phase{
		{Name: "Canary", Kind: "canary", Extra: []string{"hosts: 1"}},
		{Name: "Steps", Kind: "batch", Extra: []string{`serial: [10, "25%"]`}},
	}, steps, hosts)
}

// runSession runs book on fleet as `runbook run --yes` would, the terminal
// writing to nowhere, on instant hosts.
func runSession(tb testing.TB, book *runbook.Runbook, fleet *inventory.Inventory, state string) {
	g := &globalOptions{NoColor: true}
	out := &IO{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard, Getenv: func(string) string { return "" }}
	s := newSession(g, out, state, connectFlags{}, nil, "text", true)
	s.startTerminal(book)
	e, err := engine.New(engine.Options{Runbook: book, Inventory: fleet, StateDir: state, Connector: enginetest.InstantFleet{},
		Operator: "bench", Now: time.Now, Observer: s.observe, Approver: s.approver})
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.wait(e, e.Start); err != nil {
		tb.Fatal(err)
	}
	s.term.Close()
}
