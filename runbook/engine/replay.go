package engine

import (
	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/journal"
)

// replayState is what an interrupted run's journal says was done: the final
// result of every finished step, host outcomes, finished waits and given
// approvals. A resumed run takes these instead of acting again.
type replayState struct {
	finals    map[string]journal.Record // host + "\x00" + step id
	outcomes  map[string]journal.Record // last host_finished per host
	waits     map[string]bool
	approvals map[string]bool
	// locks are the lock paths the journal says are held: a
	// lock_acquired with no lock_released after it.
	locks map[string]string
}

// newReplay reads the records of an earlier session. Hosts in retry lose
// their outcome and their step results, so that they run again from the
// start.
func newReplay(recs []journal.Record, retry func(outcome string) bool) *replayState {
	r := &replayState{finals: map[string]journal.Record{}, outcomes: map[string]journal.Record{},
		waits: map[string]bool{}, approvals: map[string]bool{}, locks: map[string]string{}}
	for _, rec := range recs {
		switch rec.Type {
		case journal.LockAcquired:
			r.locks[rec.Host] = rec.Path
		case journal.LockReleased:
			delete(r.locks, rec.Host)
		case journal.StepFinished:
			if rec.Final {
				r.finals[rec.Host+"\x00"+rec.StepID] = rec
			}
		case journal.HostFinished:
			r.outcomes[rec.Host] = rec
		case journal.WaitFinished:
			r.waits[rec.StepID] = true
		case journal.Approval:
			if rec.Decision == "approved" {
				r.approvals[rec.StepID] = true
			}
		}
	}
	for host, rec := range r.outcomes {
		if rec.Outcome == journal.OutcomeNotStarted || (retry != nil && retry(rec.Outcome)) {
			delete(r.outcomes, host)
			if rec.Outcome != journal.OutcomeNotStarted {
				for k := range r.finals {
					if len(k) > len(host) && k[:len(host)+1] == host+"\x00" {
						delete(r.finals, k)
					}
				}
			}
		}
	}
	return r
}

func (r *replayState) final(host, stepID string) (journal.Record, bool) {
	if r == nil {
		return journal.Record{}, false
	}
	rec, ok := r.finals[host+"\x00"+stepID]
	return rec, ok
}

func (r *replayState) waited(key string) bool { return r != nil && r.waits[key] }

func (r *replayState) approved(key string) bool { return r != nil && r.approvals[key] }

// preload gives hosts the outcomes the journal recorded: finished hosts stay
// finished.
func (e *Engine) preload() {
	if e.replay == nil {
		return
	}
	for _, name := range e.targets {
		rec, ok := e.replay.outcomes[name]
		if !ok {
			continue
		}
		hs := e.hosts[name]
		hs.outcome, hs.phase, hs.phaseIdx, hs.phaseKind = rec.Outcome, rec.Phase, rec.PhaseIndex, rec.PhaseKind
		hs.failedStep, hs.err = rec.FailedStep, rec.Error
		preChange := rec.PhaseKind == runbook.KindBackup || rec.PhaseKind == runbook.KindCheck
		switch rec.Outcome {
		case journal.OutcomeFailed, journal.OutcomeUnreachable:
			hs.excluded = preChange
		}
		if rec.PhaseKind == runbook.KindCanary || rec.PhaseKind == runbook.KindBatch {
			hs.changed = true
			hs.seq = e.seq.Add(1)
		}
	}
}
