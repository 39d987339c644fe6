package engine

import (
	"github.com/runbookhq/runbook/runbook/journal"
)

// Step statuses as the journal names them.
const (
	statusOK          = journal.StatusOK
	statusChanged     = journal.StatusChanged
	statusFailed      = journal.StatusFailed
	statusSkipped     = journal.StatusSkipped
	statusUnreachable = journal.StatusUnreachable
)

// emit appends r to the journal (written and fsynced) and shows it to the
// observer. After a journal error the engine stops before its next action:
// every later emit fails and the run winds down.
func (e *Engine) emit(r journal.Record) error {
	rec, err := e.j.Append(r)
	if err != nil {
		e.abort(&JournalError{Err: err})
		return err
	}
	e.observe(rec.Seq, &rec)
	return nil
}

// emitLazy appends a record on which no action depends until the engine's
// next record: a finished step. It reaches the disk in the fsync of that
// next record (the following step's step_started, the host's host_finished,
// ...), which has to happen before the next action anyway, so that a step
// costs one fsync rather than two. The observer sees it only once it is on
// disk, so that the terminal never shows a result the journal may lose.
func (e *Engine) emitLazy(r journal.Record) error {
	rec, err := e.j.AppendLazy(r)
	if err != nil {
		e.abort(&JournalError{Err: err})
		return err
	}
	e.pendingMu.Lock()
	if e.opts.Observer != nil {
		e.pending = append(e.pending, rec)
	}
	if e.lazySeq == nil {
		e.lazySeq = map[string]int64{}
	}
	e.lazySeq[rec.Host] = rec.Seq
	e.pendingMu.Unlock()
	return nil
}

// observe shows the observer the records now on disk: the lazily appended
// ones up to seq synced, then rec (nil after a flush).
func (e *Engine) observe(synced int64, rec *journal.Record) {
	if e.opts.Observer == nil {
		return
	}
	e.pendingMu.Lock()
	n := 0
	for i := range e.pending {
		if e.pending[i].Seq <= synced {
			n++
		}
	}
	var waiting []journal.Record
	switch {
	case n == 0:
	case n == len(e.pending): // the usual case: a flush took them all
		waiting, e.pending, e.pendingSpare = e.pending, e.pendingSpare, nil
	default:
		waiting = make([]journal.Record, 0, n)
		keep := e.pending[:0]
		for _, p := range e.pending {
			if p.Seq <= synced {
				waiting = append(waiting, p)
			} else {
				keep = append(keep, p)
			}
		}
		clear(e.pending[len(keep):])
		e.pending = keep
	}
	e.pendingMu.Unlock()
	for _, w := range waiting {
		e.opts.Observer(w)
	}
	if rec != nil {
		e.opts.Observer(*rec)
	}
	if cap(waiting) > 0 && cap(waiting) <= 4096 {
		clear(waiting) // let go of what the records point to
		e.pendingMu.Lock()
		if e.pendingSpare == nil {
			e.pendingSpare = waiting[:0]
		}
		e.pendingMu.Unlock()
	}
}

func (e *Engine) emitMessage(host, text string) {
	e.emit(journal.Record{Type: journal.Message, Host: host, Text: e.rd.String(text)})
}

func recLock(typ, host, path string) journal.Record {
	return journal.Record{Type: typ, Host: host, Path: path}
}

// phaseCtx is where a step runs: which phase, which batch, and the batch's
// shared run_once results.
type phaseCtx struct {
	idx   int    // 1-based phase index; 0 for rollback
	key   string // step id prefix: the phase index, or "rollback"
	name  string
	kind  string
	batch int
	once  *onceTable
}

func (pc *phaseCtx) record(typ string) journal.Record {
	return journal.Record{Type: typ, Phase: pc.name, PhaseIndex: pc.idx, PhaseKind: pc.kind, Batch: pc.batch}
}
