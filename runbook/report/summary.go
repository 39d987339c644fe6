// Package report turns a run's journal records into what an operator and an
// auditor read: live terminal progress, the end-of-run summary, and the HTML,
// JUnit and JSON reports. Everything is computed from journal records alone,
// so the report of a crashed or resumed run is as complete as its journal.
package report

import (
	"time"

	"github.com/runbookhq/runbook/runbook/journal"
)

// StatusOpen is the status of a step with a step_started record and no final
// step_finished: it was running when the journal ended (a crash), or it was cut
// off and run again after a resume.
const StatusOpen = "open"

// StatusIncomplete is the status of a run whose journal has no run_finished
// record after its last start or resume: the controller stopped mid-run.
const StatusIncomplete = "incomplete"

// File names of the reports a run leaves in its directory.
const (
	HTMLFile  = "report.html"
	JUnitFile = "junit.xml"
)

// Summary is a run as its journal tells it. Summarize builds it; every writer
// in this package renders one.
type Summary struct {
	RunID         string            `json:"run_id"`
	Runbook       string            `json:"runbook"`
	RunbookFile   string            `json:"runbook_file,omitempty"`
	RunbookSHA256 string            `json:"runbook_sha256,omitempty"`
	Inventory     string            `json:"inventory,omitempty"`
	Operator      string            `json:"operator,omitempty"`
	Controller    string            `json:"controller,omitempty"`
	Limit         string            `json:"limit,omitempty"`
	Params        map[string]string `json:"params,omitempty"` // as journaled: secrets already "********"
	Targets       []string          `json:"targets"`          // the hosts run_started named, in inventory order
	// DryRun says the run was a dry run (run --check): nothing changed.
	DryRun bool `json:"dry_run,omitempty"`

	// Status is the run status of the last run_finished (succeeded, failed,
	// halted, interrupted), or StatusIncomplete.
	Status     string        `json:"status"`
	Reason     string        `json:"reason,omitempty"`
	Finished   bool          `json:"finished"`
	Started    time.Time     `json:"started"`
	Ended      time.Time     `json:"ended"` // run_finished, else the last record
	Duration   time.Duration `json:"-"`
	DurationMS int64         `json:"duration_ms"`
	LastSeq    int64         `json:"last_seq"`

	// Counts holds the number of hosts per outcome, every outcome present;
	// Unfinished the hosts without one (a run cut off mid-way).
	Counts     map[string]int `json:"counts"`
	Unfinished int            `json:"unfinished"`

	Phases    []PhaseSummary    `json:"phases"`
	Hosts     []HostSummary     `json:"hosts"` // canary first, then batch by batch, then the rest
	Backups   []Backup          `json:"backups"`
	Versions  []VersionChange   `json:"versions"`
	Approvals []ApprovalSummary `json:"approvals"`
	Waits     []WaitSummary     `json:"waits"`
	Messages  []MessageSummary  `json:"messages"`
	Lifecycle []RunEvent        `json:"lifecycle"` // starts, resumes, interruptions, finishes
	// Hooks are the executions of the run's hook steps, which run on the
	// controller and belong to no host.
	Hooks []StepSummary `json:"hooks,omitempty"`
}

// PhaseSummary is one phase, or one batch of a batch phase, or the
// rollbacks of hosts in one of these.
type PhaseSummary struct {
	Index      int           `json:"index"` // 1-based position in the runbook; a rollback's is that of the phase it happened in
	Name       string        `json:"name"`
	Kind       string        `json:"kind"`
	Batch      int           `json:"batch,omitempty"`
	Label      string        `json:"label"` // "Canary", "Roll out, batch 2"
	Hosts      []string      `json:"hosts"`
	Started    time.Time     `json:"started"`
	Ended      time.Time     `json:"ended,omitzero"`
	Finished   bool          `json:"finished"`
	Duration   time.Duration `json:"-"`
	DurationMS int64         `json:"duration_ms"`
}

// HostSummary is one host's part in the run.
type HostSummary struct {
	Name string `json:"name"`
	// Outcome is the last host_finished outcome, "" while the host is not
	// finished.
	Outcome    string        `json:"outcome,omitempty"`
	Phase      string        `json:"phase,omitempty"` // the phase reached
	FailedStep string        `json:"failed_step,omitempty"`
	Error      string        `json:"error,omitempty"`
	Reason     string        `json:"reason,omitempty"` // why a skipped host needed nothing
	Group      string        `json:"group"`            // "Canary", "Roll out, batch 2", "Skipped", "Not started"
	Canary     bool          `json:"canary,omitempty"`
	Started    time.Time     `json:"started,omitzero"`
	Ended      time.Time     `json:"ended,omitzero"`
	Duration   time.Duration `json:"-"` // the host's own work: the sum of its steps' durations
	DurationMS int64         `json:"duration_ms"`
	// Steps are the host's step executions in the order they started, each
	// with its final attempt's result; open ones included.
	Steps []StepSummary `json:"steps"`
}

// StepSummary is one execution of a step on a host: all its attempts, with
// the final attempt's result. A step run again (the canary's verify after the
// soak, or a step re-run on resume) is a separate execution.
type StepSummary struct {
	Seq        int64          `json:"seq"` // the journal record that began it: a unique key
	Host       string         `json:"host"`
	StepID     string         `json:"step_id"`
	Step       string         `json:"step"`
	Index      int            `json:"index"`
	Kind       string         `json:"kind,omitempty"`
	Phase      string         `json:"phase"`
	PhaseIndex int            `json:"phase_index"`
	Batch      int            `json:"batch,omitempty"`
	Command    string         `json:"command,omitempty"`
	DelegateTo string         `json:"delegate_to,omitempty"`
	Status     string         `json:"status"` // a step status, or StatusOpen
	RC         *int           `json:"rc,omitempty"`
	Stdout     string         `json:"stdout,omitempty"`
	Stderr     string         `json:"stderr,omitempty"`
	StdoutCut  bool           `json:"stdout_truncated,omitempty"`
	StderrCut  bool           `json:"stderr_truncated,omitempty"`
	Error      string         `json:"error,omitempty"`
	Data       map[string]any `json:"data,omitempty"`
	Started    time.Time      `json:"started"`
	Ended      time.Time      `json:"ended,omitzero"` // zero while open
	Duration   time.Duration  `json:"-"`              // all attempts included
	DurationMS int64          `json:"duration_ms"`
	Attempts   []Attempt      `json:"attempts,omitempty"` // finished attempts
	// Rescued: the step failed and its block's rescue made up for it; it
	// stays failed, and the host carried on.
	Rescued bool `json:"rescued,omitempty"`
	// DryRun says the status is a dry run's prediction (changed: would
	// change); Reason why a dry run skipped the step; Diff the unified
	// diff of the files it changed or would change (run --diff).
	DryRun bool   `json:"dry_run,omitempty"`
	Reason string `json:"reason,omitempty"`
	Diff   string `json:"diff,omitempty"`

	phase int // 1 + the index in Summary.Phases of its phase or batch; 0 when the journal has none
}

// Label is the short name of a step's place in the runbook, "steps/3",
// "verify/1" or "rollback/2", from its step id and index.
func (s StepSummary) Label() string { return stepLabel(s.StepID, s.Index) }

// Title names the step for a person: "steps/3 install cri-o", or
// "connect" for the engine's connect.
func (s StepSummary) Title() string { return stepTitle(s.StepID, s.Index, s.Step) }

// IsRollback reports whether the step is one of the runbook's rollback
// steps.
func (s StepSummary) IsRollback() bool { return s.PhaseIndex == 0 && s.Phase == "rollback" }

// PhaseLabel names the phase or batch the step ran in: "Roll out, batch 2",
// or "Rollback, batch 2" for a rollback step.
func (s StepSummary) PhaseLabel() string {
	if s.IsRollback() {
		return PhaseLabel("Rollback", s.Batch)
	}
	return PhaseLabel(s.Phase, s.Batch)
}

// Open reports whether the step has no final result.
func (s StepSummary) Open() bool { return s.Status == StatusOpen }

// Attempt is one finished attempt of a step.
type Attempt struct {
	Attempt    int       `json:"attempt"`
	Status     string    `json:"status"`
	RC         *int      `json:"rc,omitempty"`
	Error      string    `json:"error,omitempty"`
	DurationMS int64     `json:"duration_ms"`
	Ended      time.Time `json:"ended"`
}

// Backup is a backup a step made and checksummed.
type Backup struct {
	Host   string    `json:"host"`
	Step   string    `json:"step"`
	Name   string    `json:"name"`
	SHA256 string    `json:"sha256"`
	Remote string    `json:"remote,omitempty"`
	Local  string    `json:"local,omitempty"`
	Time   time.Time `json:"time"`
}

// VersionChange is a package version a step saw before and after it ran.
type VersionChange struct {
	Host     string    `json:"host"`
	Step     string    `json:"step"`
	Phase    string    `json:"phase"`
	Package  string    `json:"package,omitempty"`
	Before   string    `json:"before"`
	After    string    `json:"after"`
	Rollback bool      `json:"rollback,omitempty"`
	Time     time.Time `json:"time"`
}

// ApprovalSummary is one approval decision.
type ApprovalSummary struct {
	Time     time.Time `json:"time"`
	Phase    string    `json:"phase"`
	Prompt   string    `json:"prompt"`
	Decision string    `json:"decision"`
	By       string    `json:"by,omitempty"`
	Via      string    `json:"via,omitempty"`
}

// WaitSummary is a soak or a pause between batches.
type WaitSummary struct {
	Phase    string    `json:"phase"`
	Batch    int       `json:"batch,omitempty"`
	Text     string    `json:"text"` // "soak", "pause_between"
	Seconds  int64     `json:"seconds"`
	Started  time.Time `json:"started"`
	Ended    time.Time `json:"ended,omitzero"`
	Finished bool      `json:"finished"`
}

// MessageSummary is a message record: a log step or an engine notice.
type MessageSummary struct {
	Time time.Time `json:"time"`
	Host string    `json:"host,omitempty"`
	Text string    `json:"text"`
}

// RunEvent is a change in the run's life: started, resumed, interrupted,
// finished.
type RunEvent struct {
	Time   time.Time `json:"time"`
	Type   string    `json:"type"`
	Status string    `json:"status,omitempty"`
	Reason string    `json:"reason,omitempty"`
	Text   string    `json:"text,omitempty"`
	By     string    `json:"by,omitempty"`
}

// Host returns the summary of the named host, nil when the run has none.
func (s *Summary) Host(name string) *HostSummary {
	for i := range s.Hosts {
		if s.Hosts[i].Name == name {
			return &s.Hosts[i]
		}
	}
	return nil
}

// NeedsAttention reports whether the host's outcome asks an operator to look:
// anything but upgraded or skipped, an unfinished host included.
func (h *HostSummary) NeedsAttention() bool {
	return h.Outcome != journal.OutcomeUpgraded && h.Outcome != journal.OutcomeSkipped
}
