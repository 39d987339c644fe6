package engine

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/runbookhq/runbook/runbook/inventory"
	"github.com/runbookhq/runbook/runbook/journal"
	"github.com/runbookhq/runbook/runbook/transport"
)

// closeCounter wraps a fake fleet and counts the transports closed.
type closeCounter struct {
	*fakeFleet
	mu     sync.Mutex
	closed map[string]int
}

func (c *closeCounter) Connect(ctx context.Context, h *inventory.Host) (transport.Transport, error) {
	t, err := c.fakeFleet.Connect(ctx, h)
	return &countedTransport{Transport: t, c: c, host: h.Name}, err
}

func (c *closeCounter) closes() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.closed {
		out[k] = v
	}
	return out
}

type countedTransport struct {
	transport.Transport
	c    *closeCounter
	host string
}

func (t *countedTransport) Close() error {
	t.c.mu.Lock()
	t.c.closed[t.host]++
	t.c.mu.Unlock()
	return t.Transport.Close()
}

// closedAtRunFinished runs rbSrc and returns, per host, how many of its
// transports were closed when run_finished was journaled, and the run.
func closedAtRunFinished(t *testing.T, rbSrc string) (map[string]int, runResult) {
	t.Helper()
	cc := &closeCounter{fakeFleet: newFakeFleet(okReply), closed: map[string]int{}}
	var atEnd map[string]int
	r := runFake(t, rbSrc, nil, func(o *Options) {
		o.Connector = cc
		o.Observer = func(rec journal.Record) {
			if rec.Type == journal.RunFinished {
				atEnd = cc.closes()
			}
		}
	})
	return atEnd, r
}

func TestFinishedHostsConnectionIsClosedAtOnce(t *testing.T) {
	closed, r := closedAtRunFinished(t, upgradeRunbook(""))
	if r.res.Status != journal.RunStatusSucceeded {
		t.Fatalf("run %s: %v", r.res.Status, r.err)
	}
	for _, h := range []string{"worker-1", "worker-2", "worker-3", "worker-4", "worker-5", "worker-6"} {
		if closed[h] != 1 {
			t.Errorf("%s: %d transports closed by the end of the run, want 1 (closed when the host finished)", h, closed[h])
		}
	}
}

func TestConnectionsAreKeptWhenALaterPartMayUseThem(t *testing.T) {
	const batch = `runbook: upgrade
targets: workers
%s
phases:
  - name: Roll out
    kind: batch
    serial: [3]
    steps:
      - shell: upgrade
%s`
	tests := []struct{ name, top, rest string }{
		{"fleet verify", "", `  - name: Fleet check
    kind: verify
    steps:
      - shell: healthy
`},
		{"delegate_to", "", `      - shell: uncordon
        delegate_to: worker-1
`},
		{"rollback_all", "on_failure: rollback_all", `rollback:
  steps:
    - shell: undo
`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			closed, r := closedAtRunFinished(t, fmt.Sprintf(batch, tc.top, tc.rest))
			if r.res.Status != journal.RunStatusSucceeded {
				t.Fatalf("run %s: %v", r.res.Status, r.err)
			}
			if len(closed) != 0 {
				t.Errorf("transports closed before the run ended: %v, want none", closed)
			}
		})
	}
}
