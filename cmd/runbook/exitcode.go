package main

import (
	"errors"

	"github.com/runbookhq/runbook/runbook/engine"
	"github.com/runbookhq/runbook/runbook/journal"
)

// Exit codes (SPEC §3).
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitApproval    = 3
	exitLocked      = 4
	exitInterrupted = 130
)

// usageError is a problem with how runbook was called or with its input
// files: exit 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usage(err error) error {
	if err == nil {
		return nil
	}
	return &usageError{err}
}

// exitCode maps an error to the process's exit status. It is the one place
// that does.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var (
		ue *usageError
		pe *engine.ParamError
		ae *engine.ApprovalError
		le *engine.LockHeldError
		rh *journal.RunHeldError
		ce *engine.ChangedRunbookError
		re *engine.RunError
	)
	switch {
	case errors.As(err, &ae):
		return exitApproval
	case errors.As(err, &le), errors.As(err, &rh):
		return exitLocked
	case errors.Is(err, engine.ErrInterrupted):
		return exitInterrupted
	case errors.As(err, &ue), errors.As(err, &pe), errors.As(err, &ce):
		return exitUsage
	case errors.As(err, &re):
		if re.Result.Status == journal.RunStatusInterrupted {
			return exitInterrupted
		}
		return exitFailed
	}
	return exitFailed
}
