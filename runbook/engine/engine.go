// Package engine runs a runbook across an inventory: phases in order, canary
// then batches, the failure budget, rollback, approvals, host locks, signals,
// and resume from the journal alone. It does not care which kind a step is.
package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/inventory"
	"github.com/runbookhq/runbook/runbook/journal"
	"github.com/runbookhq/runbook/steps"
)

// Options are the inputs of a run.
type Options struct {
	Runbook   *runbook.Runbook
	Inventory *inventory.Inventory
	// InventoryFile names the inventory in the journal.
	InventoryFile string
	// Given are the -e values.
	Given map[string]any
	// Limit narrows the runbook's targets (--limit).
	Limit    string
	StateDir string
	// Connector opens transports to hosts.
	Connector Connector
	// Approver answers approval gates (approve:, pause prompts).
	Approver Approver
	// Observer sees every journal record once it is on disk.
	Observer func(journal.Record)
	// Operator is who runs it (default: the OS user).
	Operator string
	// Concurrency overrides the runbook's (--concurrency).
	Concurrency     int
	BreakStaleLocks bool
	// Secrets are further values to redact (e.g. the become password).
	Secrets []string
	// CheckOnly runs only the check phases and takes no lock: plan --check.
	CheckOnly bool
	// DryRun is run --check: every phase, every change withheld
	// (checkmode.go).
	DryRun bool
	// Diff asks the file-editing kinds for a unified diff of what they
	// change or would change (run --diff).
	Diff bool
	// Now is the clock (tests).
	Now func() time.Time
}

// Approver answers approval gates.
type Approver interface {
	// Approve asks an operator to approve prompt. Via says how it was
	// answered ("tty", "--yes"). An error means it could not be asked.
	Approve(ctx context.Context, prompt string) (approved bool, via string, err error)
}

// Result is how a run ended.
type Result struct {
	RunID   string
	RunDir  string
	Journal string
	Status  string
	Reason  string
	Counts  map[string]int
	// DryRun says the run was a dry run: nothing changed.
	DryRun bool
}

// JournalError means the journal could not be written: the run stopped
// before its next action.
type JournalError struct{ Err error }

func (e *JournalError) Error() string {
	return fmt.Sprintf("the journal could not be written, so the run stopped before its next action: %v", e.Err)
}
func (e *JournalError) Unwrap() error { return e.Err }

// ApprovalError means an approval was refused or could not be asked (exit 3).
type ApprovalError struct {
	Prompt  string
	Refused bool
	Cause   error
	RunID   string
}

func (e *ApprovalError) Error() string {
	if e.Refused {
		return fmt.Sprintf("approval refused: %q", e.Prompt)
	}
	return fmt.Sprintf("approval needed: %q, but %v", e.Prompt, e.Cause)
}

// ErrInterrupted says the run was interrupted (exit 130).
var ErrInterrupted = errors.New("interrupted")

// RunError is returned when a run did not succeed; Status is the run's
// status and Cause the reason it stopped (an *ApprovalError,
// *LockHeldError, *JournalError, ErrInterrupted, or nil when hosts failed).
type RunError struct {
	Result *Result
	Cause  error
}

func (e *RunError) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("run %s %s: %v", e.Result.RunID, e.Result.Status, e.Cause)
	}
	return fmt.Sprintf("run %s %s: %s", e.Result.RunID, e.Result.Status, e.Result.Reason)
}
func (e *RunError) Unwrap() error { return e.Cause }

// Engine is one run in progress.
type Engine struct {
	opts       Options
	rb         *runbook.Runbook
	inv        *inventory.Inventory
	runID      string
	runDir     string
	operator   string
	controller string
	j          *journal.Writer
	runLock    *journal.RunLock // this process's hold on the run directory
	pool       *pool
	rd         *Redactor
	now        func() time.Time

	targets []string              // target host names, inventory order
	hosts   map[string]*hostState // by name
	hookHS  *hostState            // the controller's pseudo-host of hooks (hooks.go)
	replay  *replayState

	invIndexOnce sync.Once
	invIndex     map[string]*inventory.Host // every inventory host by name (delegate_to)

	retireOnce sync.Once
	retire     bool // close a host's connection once it is finished (see retires)

	// phaseTargets are each phase's targets (the run's targets its
	// targets: pattern narrows), inventory order; fullPhaseTargets the same
	// before --limit (canary names and patterns are read against them).
	phaseTargets     [][]string
	fullPhaseTargets [][]string
	phaseTargetSet   []map[string]bool
	// walk assigns phases their hosts (walk.go); plannedSkip are the hosts
	// plan --check found done.
	walk        *walk
	plannedSkip map[string]bool
	// orderKeys are the order_by keys by phase index and host, evaluated
	// once before the first change.
	orderKeys map[int]map[string]any
	// groups is what expressions see as groups; hostvars is built from the
	// facts known when an expression asks (hostvars.go).
	groups       map[string]any
	hostvars     hostvarsCache
	usesHostvars bool         // some expression may read hostvars
	seq          atomic.Int64 // order in which hosts started changing

	stopping atomic.Bool // no new step starts

	pendingMu sync.Mutex
	pending   []journal.Record // lazily appended, shown once on disk
	// pendingSpare is an emptied pending slice kept for reuse, so that
	// taking every pending record does not make the next ones grow a new one.
	pendingSpare []journal.Record
	// lazySeq is, by host (lazy records all name theirs), the seq of the
	// host's last lazily appended record: what must be on disk before the
	// engine acts on the host again (durableFor).
	lazySeq map[string]int64
	// atWork counts the hosts whose flows run (forEachHost), releasing
	// those of them waiting to release their locks (releaseLock).
	atWork, releasing atomic.Int64

	mu       sync.Mutex
	abortErr error  // why the run must stop (lock held, journal failure, approval)
	halted   string // why the run halted, "" while it goes on
}

// Stop asks the run to start no new step; steps running finish. The run
// then ends as interrupted and can be resumed.
func (e *Engine) Stop() { e.stopping.Store(true) }

func (e *Engine) abort(err error) {
	e.mu.Lock()
	if e.abortErr == nil {
		e.abortErr = err
	}
	e.mu.Unlock()
	e.stopping.Store(true)
}

func (e *Engine) aborted() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.abortErr
}

func (e *Engine) halt(reason string) {
	e.mu.Lock()
	if e.halted == "" {
		e.halted = reason
	}
	e.mu.Unlock()
}

func (e *Engine) haltReason() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.halted
}

// New prepares a run: it resolves targets and params and checks them, but
// writes nothing yet.
func New(opts Options) (*Engine, error) {
	if opts.Connector == nil {
		return nil, errors.New("engine: no connector")
	}
	e := &Engine{opts: opts, rb: opts.Runbook, inv: opts.Inventory, hosts: map[string]*hostState{}}
	e.now = opts.Now
	if e.now == nil {
		e.now = time.Now
	}
	e.operator = opts.Operator
	if e.operator == "" {
		e.operator = currentUser()
	}
	e.controller, _ = os.Hostname()
	if err := CheckGiven(e.rb, opts.Given); err != nil {
		return nil, err
	}
	given, err := typedGiven(e.rb, opts.Given)
	if err != nil {
		return nil, err
	}
	opts.Given = given
	e.opts.Given = given
	targets, err := SelectTargets(e.rb, e.inv, opts.Limit)
	if err != nil {
		return nil, err
	}
	invFile := opts.InventoryFile
	if invFile == "" {
		invFile = "the inventory"
	}
	if err := CheckReferences(e.rb, e.inv, invFile, opts.Given); err != nil {
		return nil, &ParamError{err.Error()}
	}
	for _, h := range targets {
		params, err := resolveParams(e.rb.Params, opts.Given, h.Vars)
		if err != nil {
			return nil, err
		}
		e.targets = append(e.targets, h.Name)
		e.hosts[h.Name] = newHostState(h, params, hostVars(e.rb, h, opts.Given))
	}
	e.rd = NewRedactor(append(secretValues(e.rb, opts.Given), opts.Secrets...))
	e.pool = newPool(e)
	if err := e.prepareFlow(); err != nil {
		return nil, err
	}
	return e, nil
}

// SelectTargets returns the runbook's target hosts, narrowed by limit.
func SelectTargets(rb *runbook.Runbook, inv *inventory.Inventory, limit string) ([]*inventory.Host, error) {
	hosts, err := inv.Select(rb.Targets)
	if err != nil {
		return nil, &ParamError{fmt.Sprintf("targets %q: %v", rb.Targets, err)}
	}
	if limit != "" {
		hosts, err = inv.Limit(hosts, limit)
		if err != nil {
			return nil, &ParamError{fmt.Sprintf("--limit %q: %v", limit, err)}
		}
	}
	if len(hosts) == 0 {
		return nil, &ParamError{fmt.Sprintf("no host matches targets %q%s", rb.Targets, limitNote(limit))}
	}
	return hosts, nil
}

func limitNote(limit string) string {
	if limit == "" {
		return ""
	}
	return fmt.Sprintf(" with --limit %q", limit)
}

func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}

// RunID is the run's id (set once Start or Resume began it).
func (e *Engine) RunID() string { return e.runID }

// Start begins a new run: run directory, frozen runbook and inventory,
// journal, then the phases.
func (e *Engine) Start(ctx context.Context) (*Result, error) {
	e.runID = journal.NewRunID(e.rb.Name, e.now())
	dir, err := journal.CreateRunDir(e.opts.StateDir, e.runID)
	if err != nil {
		return nil, err
	}
	e.runDir = dir
	if e.runLock, err = journal.LockRun(dir); err != nil {
		return nil, err
	}
	defer e.runLock.Release()
	if err := freeze(dir, e.rb, e.inv, e.targets); err != nil {
		return nil, err
	}
	e.j, err = journal.Create(dir + "/" + journal.JournalFile)
	if err != nil {
		return nil, err
	}
	defer e.j.Close()
	params := journal.Params{}
	for _, p := range e.rb.Params {
		v, given := e.opts.Given[p.Name]
		switch {
		case p.Secret && (given || p.Default != nil):
			params[p.Name] = redacted
		case given:
			params[p.Name] = e.rd.Value(v)
		case p.Default != nil:
			params[p.Name] = e.rd.Value(p.Default)
		}
	}
	for k, v := range e.opts.Given {
		if e.rb.Params.Get(k) == nil {
			params[k] = e.rd.Value(v)
		}
	}
	if err := e.emit(journal.Record{Type: journal.RunStarted, RunID: e.runID, Runbook: e.rb.Name,
		RunbookFile: absPath(e.rb.File), RunbookSHA256: RunbookDigest(e.rb), Inventory: absPath(e.opts.InventoryFile),
		Operator: e.operator, Controller: e.controller, Params: params, Limit: e.opts.Limit, Hosts: e.targets,
		DryRun: e.opts.DryRun}); err != nil {
		return nil, err
	}
	return e.run(ctx)
}

// run executes the phases and finishes the run.
func (e *Engine) run(ctx context.Context) (*Result, error) {
	defer e.pool.closeAll()
	// A cancelled ctx (the CLI's second interrupt) also stops the run, so
	// that no host is settled as if the steps it cut off had finished.
	defer context.AfterFunc(ctx, e.Stop)()
	e.walk = e.runWalk()
	e.runHook(ctx, runbook.HookOnStart, 0, nil)
	ordered := false
	for _, i := range walkOrder(e.rb.Phases) {
		ph := e.rb.Phases[i]
		if e.stopping.Load() || e.haltReason() != "" {
			break
		}
		if e.opts.CheckOnly && ph.Kind != runbook.KindCheck {
			continue
		}
		changing := ph.Kind == runbook.KindCanary || ph.Kind == runbook.KindBatch
		if changing && !ordered {
			ordered = true
			if err := e.evalOrderKeys(); err != nil {
				e.halt(err.Error())
				break
			}
		}
		pc := &phaseCtx{idx: i + 1, key: fmt.Sprint(i + 1), name: ph.Name, kind: ph.Kind}
		kind := kindOfPhase(ph)
		a, err := kind.assign(e.walk, i, ph)
		if err != nil {
			e.halt(err.Error())
			break
		}
		kind.run(ctx, e, pc, ph, a)
		if changing {
			e.settle(ctx, i)
		}
	}
	return e.finish(ctx)
}

// finish settles every host's outcome, releases locks and writes
// run_finished.
func (e *Engine) finish(ctx context.Context) (*Result, error) {
	res := &Result{RunID: e.runID, RunDir: e.runDir, Journal: e.j.Path(), DryRun: e.opts.DryRun}
	cause := e.aborted()
	interrupted := e.stopping.Load() && cause == nil
	var approval *ApprovalError
	if errors.As(cause, &approval) {
		interrupted = false
	}
	if interrupted || ctx.Err() != nil && cause == nil {
		res.Status = journal.RunStatusInterrupted
		res.Reason = "interrupted by a signal"
		e.emit(journal.Record{Type: journal.RunInterrupted, Text: "interrupted by signal"})
		e.endHooks(ctx, res)
		res.Counts = e.counts()
		e.emit(journal.Record{Type: journal.RunFinished, Status: res.Status, Counts: res.Counts, Reason: res.Reason})
		return res, &RunError{Result: res, Cause: ErrInterrupted}
	}
	var je *JournalError
	if errors.As(cause, &je) {
		res.Status, res.Reason = journal.RunStatusFailed, je.Error()
		res.Counts = e.counts()
		return res, &RunError{Result: res, Cause: cause}
	}
	// Hosts never finished did not start, or stopped before changing. One
	// that began changing and was cut off by the halt keeps no outcome: its
	// journal shows the steps it ran (a report says unfinished) and a resume
	// continues it.
	for _, name := range e.targets {
		hs := e.hosts[name]
		if hs.outcome == "" && !hs.changed {
			e.finishHost(hs, journal.OutcomeNotStarted, "", "")
		}
	}
	cleanup := context.WithoutCancel(ctx)
	e.forEachHost(e.targets, e.concurrency(nil), func(name string) { // a round trip each, where still held
		e.releaseLock(cleanup, e.hosts[name].h)
	})
	res.Counts = e.counts()
	reason := e.haltReason()
	switch {
	case cause != nil:
		res.Status = journal.RunStatusHalted
		res.Reason = cause.Error()
	case reason != "":
		res.Status, res.Reason = journal.RunStatusHalted, reason
	case res.Counts[journal.OutcomeFailed]+res.Counts[journal.OutcomeRolledBack]+res.Counts[journal.OutcomeRollbackFailed]+res.Counts[journal.OutcomeUnreachable] > 0 || e.fleetFailed():
		res.Status = journal.RunStatusFailed
		res.Reason = e.failureReason()
	default:
		res.Status = journal.RunStatusSucceeded
	}
	e.endHooks(ctx, res)
	e.emit(journal.Record{Type: journal.RunFinished, Status: res.Status, Counts: res.Counts, Reason: res.Reason})
	if res.Status == journal.RunStatusSucceeded {
		return res, nil
	}
	return res, &RunError{Result: res, Cause: cause}
}

func (e *Engine) counts() map[string]int {
	c := map[string]int{}
	for _, name := range e.targets {
		if o := e.hosts[name].outcome; o != "" {
			c[o]++
		}
	}
	return c
}

func (e *Engine) fleetFailed() bool {
	for _, name := range e.targets {
		if e.hosts[name].fleetFailed {
			return true
		}
	}
	return false
}

func (e *Engine) failureReason() string {
	var bad []string
	for _, name := range e.targets {
		hs := e.hosts[name]
		switch hs.outcome {
		case journal.OutcomeFailed, journal.OutcomeRolledBack, journal.OutcomeRollbackFailed, journal.OutcomeUnreachable:
			bad = append(bad, name+" "+hs.outcome)
		default:
			if hs.fleetFailed {
				bad = append(bad, name+" failed the fleet verify")
			}
		}
	}
	return "hosts need attention: " + joinMax(bad, 10)
}

func joinMax(list []string, n int) string {
	if len(list) <= n {
		return fmt.Sprint(slices.Clip(list))
	}
	return fmt.Sprintf("%v and %d more", list[:n], len(list)-n)
}

// concurrency is how many hosts act at once in phase ph.
func (e *Engine) concurrency(ph *runbook.Phase) int {
	switch {
	case e.opts.Concurrency > 0:
		return e.opts.Concurrency
	case ph != nil && ph.Concurrency > 0:
		return ph.Concurrency
	case e.rb.Concurrency > 0:
		return e.rb.Concurrency
	}
	return 10
}

// become is the effective become of a step (nil: the runbook's default).
func (e *Engine) become(st *runbook.Step) bool {
	if st != nil && st.Become != nil {
		return *st.Become
	}
	return e.rb.Become != nil && *e.rb.Become
}

func (e *Engine) becomeUser(st *runbook.Step) string {
	if st != nil && st.BecomeUser != "" {
		return st.BecomeUser
	}
	return e.rb.BecomeUser
}

func (e *Engine) stepTimeout(st *runbook.Step) time.Duration {
	if st.Timeout > 0 {
		return st.Timeout.D()
	}
	if e.rb.Timeout > 0 {
		return e.rb.Timeout.D()
	}
	return 10 * time.Minute
}

// kindOf returns the step's kind implementation.
func kindOf(st *runbook.Step) (steps.Kind, error) {
	k, ok := st.Spec.(steps.Kind)
	if !ok {
		return nil, fmt.Errorf("step kind %s cannot run", st.Kind)
	}
	return k, nil
}

// Runbook is the runbook the engine runs.
func (e *Engine) Runbook() *runbook.Runbook { return e.rb }

// Inventory is the inventory the engine runs against.
func (e *Engine) Inventory() *inventory.Inventory { return e.inv }

// Skipped lists the hosts the check phase found needing nothing.
func (e *Engine) Skipped() []string {
	var out []string
	for _, name := range e.targets {
		if e.hosts[name].outcome == journal.OutcomeSkipped {
			out = append(out, name)
		}
	}
	return out
}
