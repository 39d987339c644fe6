// Package journal is runbook's durable record of a run: an append-only file of
// JSON lines, each written and fsynced before the engine takes its next
// action, inside a private run directory. Reports and `resume` are built from
// it alone.
package journal

import "time"

// Record types, in the order a run writes them.
const (
	RunStarted    = "run_started"
	RunResumed    = "run_resumed"
	LockAcquired  = "lock_acquired"
	LockReleased  = "lock_released"
	PhaseStarted  = "phase_started"
	PhaseFinished = "phase_finished"
	StepStarted   = "step_started"
	StepFinished  = "step_finished"
	// LoopItems holds a looped step's items (Data["items"]), evaluated
	// once: a resume goes on over the same list.
	LoopItems = "loop_items"
	// StepRescued marks a failed step (StepID) whose block's rescue
	// succeeded: the failure stays, and the host carried on.
	StepRescued    = "step_rescued"
	HostFinished   = "host_finished"
	WaitStarted    = "wait_started" // soak and pause_between waits
	WaitFinished   = "wait_finished"
	Approval       = "approval"
	Message        = "message" // log steps and engine notices
	RunInterrupted = "run_interrupted"
	RunFinished    = "run_finished"
)

// Step statuses.
const (
	StatusOK          = "ok"
	StatusChanged     = "changed"
	StatusFailed      = "failed"
	StatusSkipped     = "skipped"
	StatusUnreachable = "unreachable"
)

// Host outcomes.
const (
	OutcomeUpgraded       = "upgraded"
	OutcomeSkipped        = "skipped"
	OutcomeFailed         = "failed"
	OutcomeRolledBack     = "rolled_back"
	OutcomeRollbackFailed = "rollback_failed"
	OutcomeUnreachable    = "unreachable"
	OutcomeNotStarted     = "not_started"
	// OutcomeRescued: the host upgraded after a block's rescue made up
	// for a failed step (which stays failed in the journal).
	OutcomeRescued = "rescued"
)

// Outcomes lists every host outcome in report order.
var Outcomes = []string{OutcomeUpgraded, OutcomeRescued, OutcomeSkipped, OutcomeFailed, OutcomeRolledBack,
	OutcomeRollbackFailed, OutcomeUnreachable, OutcomeNotStarted}

// Run statuses.
const (
	RunStatusSucceeded   = "succeeded"
	RunStatusFailed      = "failed"
	RunStatusHalted      = "halted"
	RunStatusInterrupted = "interrupted"
)

// Record is one journal line. Every record has Seq, Time and Type; the other
// fields are set according to Type and left out of the JSON when empty.
//
// It is the journal's schema: its encoder, its UTF-8 check and its tests'
// random records follow from it (go generate writes them; recordgen's test
// fails when they are not current).
//
//go:generate go run ./internal/recordgen
type Record struct {
	Seq  int64     `json:"seq"`
	Time time.Time `json:"time"`
	Type string    `json:"type"`

	// run_started, run_resumed
	RunID         string   `json:"run_id,omitempty"`
	Runbook       string   `json:"runbook,omitempty"`
	RunbookFile   string   `json:"runbook_file,omitempty"`
	RunbookSHA256 string   `json:"runbook_sha256,omitempty"`
	Inventory     string   `json:"inventory,omitempty"`
	Operator      string   `json:"operator,omitempty"`
	Controller    string   `json:"controller,omitempty"`
	Params        Params   `json:"params,omitempty"`
	Limit         string   `json:"limit,omitempty"`
	Hosts         []string `json:"hosts,omitempty"`
	// DryRun marks a dry run (run --check): on run_started and
	// run_resumed, nothing on any host was changed or locked; on a
	// step_finished, the status is a prediction (changed: would change).
	DryRun bool `json:"dry_run,omitempty"`

	// phase_started, phase_finished; also on step and host records
	Phase      string `json:"phase,omitempty"`
	PhaseIndex int    `json:"phase_index,omitempty"` // 1-based; 0 = not in a phase (rollback)
	PhaseKind  string `json:"phase_kind,omitempty"`
	Batch      int    `json:"batch,omitempty"` // 1-based batch number within a batch phase

	// step_started, step_finished
	Host       string         `json:"host,omitempty"`
	StepID     string         `json:"step_id,omitempty"` // stable key of the step in the runbook, e.g. "4.steps.2"
	Step       string         `json:"step,omitempty"`    // the step's name
	Index      int            `json:"index,omitempty"`   // 1-based position in its list
	Attempt    int            `json:"attempt,omitempty"`
	Kind       string         `json:"kind,omitempty"`
	Command    string         `json:"command,omitempty"` // what ran, secrets redacted
	DelegateTo string         `json:"delegate_to,omitempty"`
	Status     string         `json:"status,omitempty"` // step status, or run status on run_finished
	RC         *int           `json:"rc,omitempty"`
	Stdout     string         `json:"stdout,omitempty"`
	Stderr     string         `json:"stderr,omitempty"`
	StdoutCut  bool           `json:"stdout_truncated,omitempty"`
	StderrCut  bool           `json:"stderr_truncated,omitempty"`
	DurationMS int64          `json:"duration_ms,omitempty"`
	Error      string         `json:"error,omitempty"`
	Final      bool           `json:"final,omitempty"` // the last attempt: the step's result
	Data       map[string]any `json:"data,omitempty"`  // what a step kind recorded (versions, checksums, snapshots, set values)
	Diff       string         `json:"diff,omitempty"`  // run --diff: unified diff of the files the step changed or would change, redacted

	// host_finished
	Outcome    string `json:"outcome,omitempty"`
	FailedStep string `json:"failed_step,omitempty"`

	// approval, wait_started, message, lock_*
	Prompt   string `json:"prompt,omitempty"`
	Decision string `json:"decision,omitempty"` // approved | refused | unanswered
	By       string `json:"by,omitempty"`
	Via      string `json:"via,omitempty"` // tty | --yes | no-tty
	Seconds  int64  `json:"seconds,omitempty"`
	Path     string `json:"path,omitempty"`
	Text     string `json:"text,omitempty"`

	// run_finished; Reason also says why a step was skipped (a dry run)
	Counts map[string]int `json:"counts,omitempty"`
	Reason string         `json:"reason,omitempty"` // also why a skipped host (host_finished) needs nothing
}
