package engine

import (
	"context"
	"fmt"

	"github.com/runbookhq/runbook/runbook/journal"
)

// releaseFinishedLocks releases the locks that an earlier session of a
// resumed run took on hosts it finished but did not release: it was killed
// between the host's host_finished and its lock_released. Nothing else in
// the resumed run touches a finished host, so without this its lock would
// outlive the run. An unreachable host is left alone, as the live run
// leaves it; a host that cannot be reached now keeps its lock and the
// journal says so.
func (e *Engine) releaseFinishedLocks(ctx context.Context) {
	if e.replay == nil {
		return
	}
	var names []string
	for _, name := range e.targets {
		hs := e.hosts[name]
		if _, held := e.replay.locks[name]; held && hs.outcome != "" && hs.outcome != journal.OutcomeUnreachable {
			names = append(names, name)
		}
	}
	e.forEachHost(names, e.concurrency(nil), func(name string) {
		if e.stopping.Load() {
			return
		}
		h := e.hosts[name].h
		if _, err := e.pool.transport(ctx, h); err != nil {
			e.emitMessage(name, fmt.Sprintf("could not release the run lock %s of the finished host: %v", e.replay.locks[name], err))
			return
		}
		c := e.pool.get(name)
		c.locked, c.lock = true, e.replay.locks[name]
		e.releaseLock(ctx, h)
	})
}
