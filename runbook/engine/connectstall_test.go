package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook/inventory"
	"github.com/runbookhq/runbook/runbook/journal"
	"github.com/runbookhq/runbook/runbook/transport"
)

// stallingFleet is a fake fleet on which one host's connection stalls, then
// fails.
type stallingFleet struct {
	*fakeFleet
	host  string
	stall time.Duration
}

func (f stallingFleet) Connect(ctx context.Context, h *inventory.Host) (transport.Transport, error) {
	if h.Name == f.host {
		time.Sleep(f.stall)
		return nil, transport.Unreachable(h.Name, errors.New("dial tcp 127.0.9.1:22: i/o timeout"))
	}
	return f.fakeFleet.Connect(ctx, h)
}

// A connect that fails is journaled with the time it took.
func TestFailedConnectKeepsItsDuration(t *testing.T) {
	const stall = 300 * time.Millisecond
	f := stallingFleet{fakeFleet: newFakeFleet(okReply), host: "worker-3", stall: stall}
	r := runFake(t, upgradeRunbook(""), f.fakeFleet, func(o *Options) { o.Connector = f })
	var got *journal.Record
	for i, rec := range r.records {
		if rec.Type == journal.StepFinished && rec.Host == "worker-3" && rec.StepID == "connect" {
			got = &r.records[i]
		}
	}
	if got == nil {
		t.Fatal("no connect step_finished for worker-3")
	}
	if got.Status != journal.StatusUnreachable || got.DurationMS < stall.Milliseconds() {
		t.Errorf("connect: %s after %d ms, want unreachable after at least %d ms", got.Status, got.DurationMS, stall.Milliseconds())
	}
}
