package engine

import (
	"slices"
	"strings"

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
	// retried are the hosts --retry-failed gives another go.
	retried []RetryDecision
	// phaseHosts are the hosts each changing phase (by index) started,
	// in the order it started them: a resume assigns them alike.
	phaseHosts map[int][]string
	// loopItems are the items a looped step ran over, by host and step id.
	loopItems map[string][]any
	// rescued are the failed steps a rescue made up for, by host and id.
	rescued map[string]bool
	// changedOrder are the hosts a canary or batch phase started, in the
	// order they first did (rollback_all goes newest first).
	changedOrder []string
	// cutOff are the steps, by host and id, that an earlier session
	// started and ended without a result: the attempt the kill cut off
	// may have changed the host whatever the step reports when it runs
	// again, so their notify: handlers are queued anyway.
	cutOff map[string]bool
}

// RetryDecision is what resume --retry-failed does with one host.
type RetryDecision struct {
	Host    string
	Outcome string // the outcome it had
	// StartsOver: it was rolled back, so it runs from its first step;
	// otherwise it continues at its first unfinished step, and Kept steps
	// that finished stay finished.
	StartsOver bool
	Kept       int
}

// newReplay reads the records of an earlier session. Hosts in retry lose
// their outcome; a rolled-back host also loses every step result (its
// changes were undone: it starts over), any other keeps the results of the
// steps that succeeded and continues at its first unfinished one.
func newReplay(recs []journal.Record, retry func(outcome string) bool) *replayState {
	r := &replayState{finals: map[string]journal.Record{}, outcomes: map[string]journal.Record{},
		waits: map[string]bool{}, approvals: map[string]bool{}, locks: map[string]string{},
		phaseHosts: map[int][]string{}, loopItems: map[string][]any{}, rescued: map[string]bool{},
		cutOff: map[string]bool{}}
	// open are the steps started in the current session with no result yet.
	open := map[string]bool{}
	closeSession := func() {
		for k := range open {
			r.cutOff[k] = true
		}
		clear(open)
	}
	seenInPhase := map[int]map[string]bool{}
	changedSeen := map[string]bool{}
	for _, rec := range recs {
		switch rec.Type {
		case journal.RunResumed:
			closeSession()
		case journal.StepStarted:
			if !rec.DryRun && rec.PhaseKind != hookPhaseKind {
				open[rec.Host+"\x00"+rec.StepID] = true
			}
		case journal.PhaseStarted:
			if rec.PhaseKind != runbook.KindCanary && rec.PhaseKind != runbook.KindBatch {
				continue
			}
			seen := seenInPhase[rec.PhaseIndex]
			if seen == nil {
				seen = map[string]bool{}
				seenInPhase[rec.PhaseIndex] = seen
			}
			for _, h := range rec.Hosts {
				if !seen[h] {
					seen[h] = true
					r.phaseHosts[rec.PhaseIndex] = append(r.phaseHosts[rec.PhaseIndex], h)
				}
				if !changedSeen[h] {
					changedSeen[h] = true
					r.changedOrder = append(r.changedOrder, h)
				}
			}
		case journal.LoopItems:
			if items, ok := rec.Data["items"].([]any); ok {
				r.loopItems[rec.Host+"\x00"+rec.StepID] = items
			}
		case journal.StepRescued:
			r.rescued[rec.Host+"\x00"+rec.StepID] = true
		case journal.LockAcquired:
			r.locks[rec.Host] = rec.Path
		case journal.LockReleased:
			delete(r.locks, rec.Host)
		case journal.StepFinished:
			if rec.Final && rec.PhaseKind != hookPhaseKind { // each session runs its own hooks
				r.finals[rec.Host+"\x00"+rec.StepID] = rec
				delete(open, rec.Host+"\x00"+rec.StepID)
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
	closeSession()
	for _, host := range sortedHosts(r.outcomes) {
		rec := r.outcomes[host]
		if rec.Outcome == journal.OutcomeNotStarted {
			delete(r.outcomes, host)
			continue
		}
		if retry == nil || !retry(rec.Outcome) {
			continue
		}
		delete(r.outcomes, host)
		d := RetryDecision{Host: host, Outcome: rec.Outcome,
			StartsOver: rec.Outcome == journal.OutcomeRolledBack || rec.Outcome == journal.OutcomeRollbackFailed}
		for k, fin := range r.finals {
			if len(k) <= len(host) || k[:len(host)+1] != host+"\x00" {
				continue
			}
			if d.StartsOver || fin.Status == statusFailed || fin.Status == statusUnreachable {
				delete(r.finals, k)
			} else {
				d.Kept++
			}
		}
		if d.StartsOver { // the rollback undid what a cut-off step did
			for k := range r.cutOff {
				if strings.HasPrefix(k, host+"\x00") {
					delete(r.cutOff, k)
				}
			}
		}
		r.retried = append(r.retried, d)
	}
	return r
}

func sortedHosts(m map[string]journal.Record) []string {
	out := make([]string, 0, len(m))
	for h := range m {
		out = append(out, h)
	}
	slices.Sort(out)
	return out
}

// Retried says what resume --retry-failed does with each host it gives
// another go, in host name order.
func (e *Engine) Retried() []RetryDecision {
	if e.replay == nil {
		return nil
	}
	return e.replay.retried
}

func (r *replayState) final(host, stepID string) (journal.Record, bool) {
	if r == nil {
		return journal.Record{}, false
	}
	rec, ok := r.finals[host+"\x00"+stepID]
	return rec, ok
}

// wasCutOff reports whether an earlier session started the step on the
// host and ended without its result.
func (r *replayState) wasCutOff(host, stepID string) bool {
	return r != nil && r.cutOff[host+"\x00"+stepID]
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
	}
	for _, name := range e.replay.changedOrder {
		if hs := e.hosts[name]; hs != nil && !hs.changed {
			hs.changed = true
			hs.seq = e.seq.Add(1)
		}
	}
	for key := range e.replay.rescued {
		host, _, _ := strings.Cut(key, "\x00")
		if hs := e.hosts[host]; hs != nil {
			hs.rescued = true
		}
	}
}

// startedHosts are the hosts phase i (0-based) started in an earlier
// session, in order; nil when it started none.
func (r *replayState) startedHosts(i int) []string {
	if r == nil {
		return nil
	}
	return r.phaseHosts[i+1]
}
