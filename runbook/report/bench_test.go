package report

import (
	"io"
	"testing"

	"github.com/runbookhq/runbook/runbook/journal"
)

// The engine may run 1,000 hosts × 5 steps; these measure what the reports
// cost at that size (go test -bench . -benchmem ./runbook/report/).

func benchRun(b *testing.B, hosts int) []journal.Record {
	b.Helper()
	return syntheticRun(hosts, 5, 100, map[int]bool{7: true})
}

func benchTerminal(b *testing.B, tty bool) {
	recs := benchRun(b, 1000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		term := NewTerminal(io.Discard, TerminalOptions{TTY: tty, Color: true})
		for _, r := range recs {
			term.Record(r)
		}
		term.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
}

func BenchmarkTerminalPlain1000x5(b *testing.B) { benchTerminal(b, false) }
func BenchmarkTerminalTTY1000x5(b *testing.B)   { benchTerminal(b, true) }

func BenchmarkSummarize1000x5(b *testing.B) {
	recs := benchRun(b, 1000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Summarize(recs)
	}
}

func BenchmarkWriteHTML500x5(b *testing.B) {
	recs := benchRun(b, 500)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := WriteHTML(io.Discard, nil, recs, HTMLOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteJUnit1000x5(b *testing.B) {
	recs := benchRun(b, 1000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := WriteJUnit(io.Discard, nil, recs); err != nil {
			b.Fatal(err)
		}
	}
}
