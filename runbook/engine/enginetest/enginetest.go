// Package enginetest holds what benchmarks of whole runs share: hosts that
// answer every command at once, and a runbook of trivial steps over an
// inventory of such hosts. What a run costs on them is the engine's own
// work (and what is around it), with no SSH round trip in it.
package enginetest

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"runtime/metrics"
	"strings"
	"syscall"
	"time"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/inventory"
	"github.com/runbookhq/runbook/runbook/transport"
)

// InstantFleet connects to hosts that answer every command at once: the
// lock and facts command with the lock taken, every other with exit 0 and
// no output.
type InstantFleet struct{}

func (InstantFleet) Connect(_ context.Context, h *inventory.Host) (transport.Transport, error) {
	return instantHost(h.Name), nil
}

type instantHost string

func (h instantHost) Run(_ context.Context, cmd transport.Command) (transport.Result, error) {
	if strings.Contains(cmd.Shell, `echo "lock=acquired"`) {
		fmt.Fprintf(cmd.Stdout, "lock=acquired\nhostname=%s\nos_id=ubuntu\nos_version_id=22.04\nos_codename=jammy\nkernel=5.15.0-91-generic\narch=x86_64\nboot_id=b\n", string(h))
	}
	return transport.Result{}, nil
}

func (instantHost) Upload(context.Context, string, io.Reader, fs.FileMode) error { return nil }
func (instantHost) Download(context.Context, string, io.Writer) error            { return nil }
func (instantHost) Stat(context.Context, string) (transport.FileInfo, error) {
	return transport.FileInfo{}, fs.ErrNotExist
}
func (instantHost) Facts(context.Context) (transport.Facts, error) { return transport.Facts{}, nil }
func (instantHost) Close() error                                   { return nil }

// Phase is a phase of a Trivial runbook: Extra holds more of its keys as
// YAML lines (`serial: [10, "25%"]`, "hosts: 1").
type Phase struct {
	Name, Kind string
	Extra      []string
}

// Trivial returns a runbook whose every phase runs the same number of
// trivial steps (command: [true]), with at most concurrency hosts acting at
// once, and an inventory of hosts host1 to hostN.
func Trivial(concurrency int, phases []Phase, steps, hosts int) (*runbook.Runbook, *inventory.Inventory, error) {
	var rb, inv strings.Builder
	fmt.Fprintf(&rb, "runbook: bench\ntargets: all\nconcurrency: %d\nphases:\n", concurrency)
	for _, ph := range phases {
		fmt.Fprintf(&rb, "  - name: %q\n    kind: %s\n", ph.Name, ph.Kind)
		for _, line := range ph.Extra {
			fmt.Fprintf(&rb, "    %s\n", line)
		}
		rb.WriteString("    steps:\n")
		for i := range steps {
			fmt.Fprintf(&rb, "      - {name: step %d, command: [\"true\"]}\n", i+1)
		}
	}
	inv.WriteString("all:\n  hosts:\n")
	for i := range hosts {
		fmt.Fprintf(&inv, "    host%d: {address: 127.0.0.1}\n", i+1)
	}
	book, _, err := runbook.Parse("bench.yaml", []byte(rb.String()), nil)
	if err != nil {
		return nil, nil, err
	}
	fleet, err := inventory.Parse("inventory.yaml", []byte(inv.String()))
	if err != nil {
		return nil, nil, err
	}
	return book, fleet, nil
}

// ProcessCPU is the user plus system CPU time this process has used.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// HeapWatch follows the live heap (what the last collection found in
// use) while a benchmark runs: its peak is the memory a run holds, which
// the allocation count does not show.
type HeapWatch struct {
	done chan struct{}
	peak chan uint64
}

// WatchHeap starts following the live heap; Stop ends it.
func WatchHeap() *HeapWatch {
	w := &HeapWatch{done: make(chan struct{}), peak: make(chan uint64, 1)}
	go func() {
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		var peak uint64
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-w.done:
				w.peak <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

// Stop ends the watch and returns the largest live heap seen, in bytes.
func (w *HeapWatch) Stop() uint64 {
	close(w.done)
	return <-w.peak
}
