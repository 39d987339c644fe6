package engine

import (
	"sync"

	"github.com/runbookhq/runbook/runbook/inventory"
	"github.com/runbookhq/runbook/runbook/journal"
	"github.com/runbookhq/runbook/runbook/transport"
	"github.com/runbookhq/runbook/steps"
)

// hostState is what the run knows about one target host. Only the host's
// own flow writes it while the host runs; run_once results are copied in
// under mu.
type hostState struct {
	h      *inventory.Host
	params map[string]any
	vars   map[string]any

	mu           sync.Mutex
	names        map[string]any // register: and set: results
	snapshots    map[string]any
	snapshotCmds map[string]string
	backups      map[string]steps.BackupRecord
	queued       map[int]bool      // handlers queued by notify:, by index
	unknown      map[string]string // names a dry run cannot know, and why (checkmode.go)
	withheldBy   string            // the first step whose change a dry run withheld on the host (checkmode.go)
	hook         map[string]any    // the controller's pseudo-host of hooks: what they read as hook (hooks.go)

	outcome     string // "" until the host is finished
	pending     string // outcome to journal when a backup/check phase ends
	phase       string // phase reached
	phaseIdx    int
	phaseKind   string
	failedStep  string
	err         string
	excluded    bool  // failed in a backup/check phase
	changed     bool  // started a canary or batch phase
	rescued     bool  // a block's rescue made up for a failed step
	seq         int64 // order in which it started changing (rollback_all goes newest first)
	fleetFailed bool  // failed the final verify phase

	// What expressions read as host and facts, made once rather than at
	// every step (envFor); expressions do not change them. factsOf is
	// the facts factsVal was made of: they change on reconnecting.
	hostVal  map[string]any
	factsVal map[string]any
	factsOf  transport.Facts
}

func newHostState(h *inventory.Host, params, vars map[string]any) *hostState {
	return &hostState{h: h, params: params, vars: vars, names: map[string]any{}, snapshots: map[string]any{},
		snapshotCmds: map[string]string{}, backups: map[string]steps.BackupRecord{}}
}

func (hs *hostState) setName(k string, v any) {
	hs.mu.Lock()
	hs.names[k] = v
	hs.mu.Unlock()
}

// finishHost records the host's outcome. The record is lazy: what may
// follow it on the host, the lock's release, first makes everything
// appended durable (Engine.durable), so it costs no fsync of its own.
func (e *Engine) finishHost(hs *hostState, outcome, failedStep, errText string) {
	hs.outcome, hs.failedStep, hs.err = outcome, failedStep, errText
	hs.pending = ""
	e.emitLazy(journal.Record{Type: journal.HostFinished, Host: hs.h.Name, Outcome: outcome, Phase: hs.phase,
		PhaseIndex: hs.phaseIdx, PhaseKind: hs.phaseKind, FailedStep: failedStep, Error: e.rd.String(errText)})
}

// finishSkipped records that the host needs nothing, and why.
func (e *Engine) finishSkipped(hs *hostState, reason string) {
	hs.outcome, hs.pending = journal.OutcomeSkipped, ""
	e.emitLazy(journal.Record{Type: journal.HostFinished, Host: hs.h.Name, Outcome: journal.OutcomeSkipped, Phase: hs.phase,
		PhaseIndex: hs.phaseIdx, PhaseKind: hs.phaseKind, Reason: e.rd.String(reason)})
}

// unfinished lists the hosts of names that have no outcome yet.
func (e *Engine) unfinished(names []string) []string {
	var out []string
	for _, n := range names {
		if e.hosts[n].outcome == "" {
			out = append(out, n)
		}
	}
	return out
}

// failures counts the hosts that count against the failure budget.
func (e *Engine) failures() int {
	n := 0
	for _, name := range e.targets {
		switch e.hosts[name].outcome {
		case journal.OutcomeFailed, journal.OutcomeRolledBack, journal.OutcomeRollbackFailed, journal.OutcomeUnreachable:
			n++
		}
	}
	return n
}

// budget is how many hosts may fail across the whole run.
func (e *Engine) budget() int { return e.rb.FailureBudget.Of(len(e.targets)) }

// forEachHost runs fn for each host with at most n at once, and waits.
func (e *Engine) forEachHost(names []string, n int, fn func(name string)) {
	if n < 1 {
		n = 1
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, name := range names {
		sem <- struct{}{}
		wg.Add(1)
		e.atWork.Add(1)
		go func(name string) {
			defer func() { e.atWork.Add(-1); <-sem; wg.Done() }()
			fn(name)
		}(name)
	}
	wg.Wait()
}
