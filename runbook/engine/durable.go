package engine

import "time"

// durableFor makes sure that the host's records, those AppendLazy buffered
// included, are on disk before the engine acts on the host without
// journaling first: taking its lock (its lock_acquired can only follow)
// and releasing it. Syncing up to the host's last lazy record takes every
// record before it along. Another host's lazy records wait for that host's
// next record, whose sync they share, as emitLazy says: syncing them here
// too cost an fsync more per host, at its connect and at its release. For
// up to grace it lets another host's sync take them (Writer.FlushAlong). A
// journal that cannot be written stops the run here, before the action
// (SPEC §9: each record is written and fsynced before the next action).
func (e *Engine) durableFor(host string, grace time.Duration) error {
	e.pendingMu.Lock()
	seq := e.lazySeq[host]
	e.pendingMu.Unlock()
	if err := e.j.FlushAlong(seq, grace); err != nil {
		e.abort(&JournalError{Err: err})
		return err
	}
	e.observe(e.j.Synced(), nil)
	return nil
}

// durableToLock is durableFor before taking host's lock, which also writes
// out (without a sync) what other hosts' lazy records are buffered: a
// journal that can no longer be written (a full disk) stops the run
// before it takes a new host's lock it could not record.
func (e *Engine) durableToLock(host string) error {
	if err := e.durableFor(host, 0); err != nil {
		return err
	}
	if err := e.j.WriteOut(); err != nil {
		e.abort(&JournalError{Err: err})
		return err
	}
	return nil
}

// releaseGrace is how long a host about to release its lock waits for
// another host's step to sync its last records, while other hosts are at
// work: its release waits on nothing else, and a sync of its own is an
// fsync more per host. The last host at work syncs at once, taking every
// waiting host's records along, so that a batch or a run never ends later
// for it.
const releaseGrace = 50 * time.Millisecond

// durableForRelease is durableFor before releasing host's lock.
func (e *Engine) durableForRelease(host string) error {
	e.releasing.Add(1)
	defer e.releasing.Add(-1)
	var grace time.Duration
	if e.atWork.Load() > e.releasing.Load() {
		grace = releaseGrace
	}
	return e.durableFor(host, grace)
}
