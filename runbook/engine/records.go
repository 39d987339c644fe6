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
	if e.opts.Observer != nil {
		e.opts.Observer(rec)
	}
	return nil
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
	hosts []string
	once  *onceTable
}

func (pc *phaseCtx) record(typ string) journal.Record {
	return journal.Record{Type: typ, Phase: pc.name, PhaseIndex: pc.idx, PhaseKind: pc.kind, Batch: pc.batch}
}
