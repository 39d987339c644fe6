package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/inventory"
	"github.com/runbookhq/runbook/runbook/journal"
)

// ResumeOptions are the inputs of `runbook resume`.
type ResumeOptions struct {
	Options
	RunID string
	// RetryFailed gives hosts that failed, were rolled back or were
	// unreachable another go from the start.
	RetryFailed bool
	// AllowChangedRunbook resumes with a runbook that changed since the run
	// started.
	AllowChangedRunbook bool
	// AskSecret asks the operator for a secret param that was not journaled
	// and not given again (nil: no one to ask, the resume is refused).
	AskSecret func(name string) (string, error)
}

// ChangedRunbookError refuses to resume with a changed runbook.
type ChangedRunbookError struct{ File string }

func (e *ChangedRunbookError) Error() string {
	return fmt.Sprintf("%s changed since the run started; resume with --allow-changed-runbook to use it as it is now", e.File)
}

// Resume continues run opts.RunID from its journal alone: finished hosts
// stay finished, finished steps are not run again, a step that was cut off
// runs again.
func Resume(ctx context.Context, opts ResumeOptions) (*Engine, error) {
	dir, err := journal.FindRun(opts.StateDir, opts.RunID)
	if err != nil {
		return nil, &ParamError{err.Error()}
	}
	// Held before the journal is read: what it says is only final while no
	// other process appends to it.
	runLock, err := journal.LockRun(dir)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			runLock.Release()
		}
	}()
	w, log, err := journal.OpenAppend(filepath.Join(dir, journal.JournalFile))
	if err != nil {
		return nil, err
	}
	defer func() {
		if !ok {
			w.Close()
		}
	}()
	if len(log.Records) == 0 || log.Records[0].Type != journal.RunStarted {
		return nil, fmt.Errorf("%s: the journal does not start with run_started", log.Path)
	}
	start := log.Records[0]
	rb, err := resumeRunbook(dir, start, opts.AllowChangedRunbook)
	if err != nil {
		return nil, err
	}
	inv, err := inventory.Load(filepath.Join(dir, FrozenInventory))
	if err != nil {
		return nil, fmt.Errorf("frozen inventory: %w", err)
	}
	given, err := resumeGiven(rb, start, opts)
	if err != nil {
		return nil, err
	}
	if opts.DryRun && !start.DryRun {
		return nil, &ParamError{fmt.Sprintf("run %s made changes: it cannot go on as a dry run", start.RunID)}
	}
	o := opts.Options
	o.Runbook, o.Inventory, o.Given, o.Limit = rb, inv, given, start.Limit
	o.DryRun = start.DryRun // a dry run goes on as a dry run, never as a real one
	if o.InventoryFile == "" {
		o.InventoryFile = start.Inventory
	}
	e, err := New(o)
	if err != nil {
		return nil, err
	}
	if !slices.Equal(e.targets, start.Hosts) && !opts.AllowChangedRunbook {
		return nil, fmt.Errorf("the targets are now %v, the run started with %v", e.targets, start.Hosts)
	}
	e.runID, e.runDir, e.j, e.runLock = start.RunID, dir, w, runLock
	e.operator = start.Operator
	if opts.Operator != "" {
		e.operator = opts.Operator
	}
	var retry func(string) bool
	if opts.RetryFailed {
		retry = needsRetry
	}
	e.replay = newReplay(log.Records, retry)
	e.preload()
	note := ""
	if log.TornBytes > 0 {
		note = fmt.Sprintf("cut a torn last journal line (%d bytes) left by a crash", log.TornBytes)
	}
	if err := e.emit(journal.Record{Type: journal.RunResumed, RunID: e.runID, Operator: currentUserOr(opts.Operator),
		RunbookSHA256: RunbookDigest(rb), Text: note, DryRun: start.DryRun}); err != nil {
		return nil, err
	}
	ok = true
	return e, nil
}

// Continue runs the resumed engine to its end.
func (e *Engine) Continue(ctx context.Context) (*Result, error) {
	defer e.runLock.Release()
	defer e.j.Close()
	e.releaseFinishedLocks(ctx)
	return e.run(ctx)
}

func currentUserOr(op string) string {
	if op != "" {
		return op
	}
	return currentUser()
}

// resumeRunbook loads the runbook the run started with: the file where it
// was, when it is unchanged (or changes are allowed), else the frozen copy.
func resumeRunbook(dir string, start journal.Record, allowChanged bool) (*runbook.Runbook, error) {
	frozen := filepath.Join(dir, FrozenRunbookDir, filepath.Base(start.RunbookFile))
	rb, _, err := runbook.Load(start.RunbookFile)
	switch {
	case err == nil && RunbookDigest(rb) == start.RunbookSHA256:
		return rb, nil
	case err == nil && allowChanged:
		return rb, nil
	case err == nil:
		return nil, &ChangedRunbookError{File: start.RunbookFile}
	case errors.Is(err, fs.ErrNotExist) || isNotExist(start.RunbookFile):
		rb, _, err = runbook.Load(frozen)
		if err != nil {
			return nil, fmt.Errorf("the runbook %s is gone and its frozen copy does not load: %w", start.RunbookFile, err)
		}
		if RunbookDigest(rb) != start.RunbookSHA256 && !allowChanged {
			return nil, &ChangedRunbookError{File: frozen}
		}
		return rb, nil
	default:
		if allowChanged {
			return nil, err
		}
		return nil, fmt.Errorf("%w (the run started with a version that loaded; restore it or resume with --allow-changed-runbook)", err)
	}
}

func isNotExist(path string) bool {
	_, err := os.Stat(path)
	return errors.Is(err, fs.ErrNotExist)
}

// needsRetry says which outcomes --retry-failed gives another go.
func needsRetry(outcome string) bool {
	switch outcome {
	case journal.OutcomeFailed, journal.OutcomeUnreachable, journal.OutcomeRolledBack, journal.OutcomeRollbackFailed:
		return true
	}
	return false
}

// resumeGiven are the params of a resumed run: as journaled (typed), then
// as given again with -e; a secret, never journaled, is asked for when it
// was not given again.
func resumeGiven(rb *runbook.Runbook, start journal.Record, opts ResumeOptions) (map[string]any, error) {
	given := map[string]any{}
	for k, v := range start.Params {
		p := rb.Params.Get(k)
		if v == redacted && p != nil && p.Secret {
			continue // secrets are never journaled: they must be given again
		}
		given[k] = v
	}
	for k, v := range opts.Given {
		given[k] = v
	}
	for _, p := range rb.Params {
		if _, has := given[p.Name]; !p.Secret || has || !(p.Required || start.Params[p.Name] == redacted) || p.Default != nil {
			continue
		}
		if opts.AskSecret == nil {
			return nil, &ParamError{fmt.Sprintf("param %s is secret and was not journaled: give it again from a file, "+
				"-e @FILE with a line `%s: VALUE` (a file readable by you only), or run resume on a terminal to be asked for it", p.Name, p.Name)}
		}
		v, err := opts.AskSecret(p.Name)
		if err != nil {
			return nil, &ParamError{fmt.Sprintf("param %s is secret and was not journaled: %v", p.Name, err)}
		}
		given[p.Name] = v
	}
	return given, nil
}
