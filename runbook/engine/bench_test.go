package engine

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
	"github.com/runbookhq/runbook/runbook/inventory"
	"github.com/runbookhq/runbook/runbook/transport"
)

// instantFleet answers every command at once, as a host would that takes
// no time: the lock script with "acquired" and the facts, everything else
// with exit 0. What a run costs on it is the engine's own work per step:
// rendering, the journal (written and fsynced), locks, the observer.
type instantFleet struct{}

func (instantFleet) Connect(_ context.Context, h *inventory.Host) (transport.Transport, error) {
	return instantTransport{host: h.Name}, nil
}

type instantTransport struct{ host string }

func (t instantTransport) Run(_ context.Context, cmd transport.Command) (transport.Result, error) {
	if strings.Contains(cmd.Shell, `echo "lock=acquired"`) {
		fmt.Fprintf(cmd.Stdout, "lock=acquired\nhostname=%s\nos_id=ubuntu\nos_version_id=22.04\nos_codename=jammy\nkernel=5.15.0-91-generic\narch=x86_64\nboot_id=b\n", t.host)
	}
	return transport.Result{}, nil
}

func (instantTransport) Upload(context.Context, string, io.Reader, fs.FileMode) error { return nil }
func (instantTransport) Download(context.Context, string, io.Writer) error            { return nil }
func (instantTransport) Stat(context.Context, string) (transport.FileInfo, error) {
	return transport.FileInfo{}, fs.ErrNotExist
}
func (instantTransport) Facts(context.Context) (transport.Facts, error) {
	return transport.Facts{}, nil
}
func (instantTransport) Close() error { return nil }

// BenchmarkEngineHostStep runs 20 hosts × 20 trivial steps in one batch on
// an instant fleet, the journal in a temporary directory (fsynced), and
// reports the engine's time per host-step, the SSH round trips left out.
func BenchmarkEngineHostStep(b *testing.B) {
	const hosts, steps = 20, 20
	var rb strings.Builder
	fmt.Fprintf(&rb, "runbook: bench\ntargets: all\nconcurrency: %d\nphases:\n  - name: Steps\n    kind: batch\n    steps:\n", hosts)
	for i := range steps {
		fmt.Fprintf(&rb, "      - {name: step %d, command: [\"true\"]}\n", i+1)
	}
	var inv strings.Builder
	inv.WriteString("all:\n  hosts:\n")
	for i := range hosts {
		fmt.Fprintf(&inv, "    host%d: {address: 127.0.0.1}\n", i+1)
	}
	book, _, err := runbook.Parse("bench.yaml", []byte(rb.String()), nil)
	if err != nil {
		b.Fatal(err)
	}
	hostsInv, err := inventory.Parse("inv.yaml", []byte(inv.String()))
	if err != nil {
		b.Fatal(err)
	}
	state := b.TempDir()
	b.ReportAllocs()
	b.ResetTimer()
	c0 := cpuTime()
	for b.Loop() {
		e, err := New(Options{Runbook: book, Inventory: hostsInv, StateDir: state, Connector: instantFleet{},
			Operator: "bench", Now: time.Now})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*hosts*steps), "µs/host-step")
	b.ReportMetric(float64((cpuTime()-c0).Microseconds())/float64(b.N*hosts*steps), "cpu-µs/host-step")
}

// cpuTime is the user plus system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
