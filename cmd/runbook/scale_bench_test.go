package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/engine"
	"github.com/runbookhq/runbook/runbook/inventory"
	"github.com/runbookhq/runbook/runbook/transport"
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
	var rb, inv strings.Builder
	rb.WriteString("runbook: bench\ntargets: all\nconcurrency: 100\nphases:\n" +
		"  - {name: Canary, kind: canary, hosts: 1, steps: [{name: first, command: [\"true\"]}]}\n" +
		"  - name: Steps\n    kind: batch\n    serial: [10, \"25%\"]\n    steps:\n")
	for i := range steps {
		fmt.Fprintf(&rb, "      - {name: step %d, command: [\"true\"]}\n", i+1)
	}
	inv.WriteString("all:\n  hosts:\n")
	for i := range hosts {
		fmt.Fprintf(&inv, "    host%d: {address: 127.0.0.1}\n", i+1)
	}
	book, _, err := runbook.Parse("bench.yaml", []byte(rb.String()), nil)
	if err != nil {
		b.Fatal(err)
	}
	fleet, err := inventory.Parse("inventory.yaml", []byte(inv.String()))
	if err != nil {
		b.Fatal(err)
	}
	g := &globalOptions{NoColor: true}
	out := &IO{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard, Getenv: func(string) string { return "" }}
	b.ReportAllocs()
	c0 := processCPU()
	for b.Loop() {
		state := b.TempDir()
		s := newSession(g, out, state, connectFlags{}, nil, "text", true)
		s.startTerminal(book)
		e, err := engine.New(engine.Options{Runbook: book, Inventory: fleet, StateDir: state, Connector: answeringFleet{},
			Operator: "bench", Now: time.Now, Observer: s.observe, Approver: s.approver})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.wait(e, e.Start); err != nil {
			b.Fatal(err)
		}
		s.term.Close()
	}
	b.ReportMetric(float64((processCPU()-c0).Microseconds())/float64(b.N*hosts*steps), "cpu-µs/host-step")
}

// answeringFleet's hosts answer every command at once: the lock and facts
// command with a lock taken, every other with exit 0 and no output.
type answeringFleet struct{}

func (answeringFleet) Connect(_ context.Context, h *inventory.Host) (transport.Transport, error) {
	return answeringHost(h.Name), nil
}

type answeringHost string

func (h answeringHost) Run(_ context.Context, cmd transport.Command) (transport.Result, error) {
	if strings.Contains(cmd.Shell, `echo "lock=acquired"`) {
		fmt.Fprintf(cmd.Stdout, "lock=acquired\nhostname=%s\nos_id=ubuntu\nos_version_id=22.04\narch=x86_64\nboot_id=b\n", string(h))
	}
	return transport.Result{}, nil
}

func (answeringHost) Upload(context.Context, string, io.Reader, fs.FileMode) error { return nil }
func (answeringHost) Download(context.Context, string, io.Writer) error            { return nil }
func (answeringHost) Stat(context.Context, string) (transport.FileInfo, error) {
	return transport.FileInfo{}, fs.ErrNotExist
}
func (answeringHost) Facts(context.Context) (transport.Facts, error) { return transport.Facts{}, nil }
func (answeringHost) Close() error                                   { return nil }

// processCPU is the user plus system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
