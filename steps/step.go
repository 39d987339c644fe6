// Package steps holds runbook's step kinds, one file per kind. Every kind is
// one small interface: it decodes and validates itself (runbook.StepSpec),
// describes itself in one line for `plan`, and runs against a host through
// the transport. The engine does not care which kind a step is.
package steps

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/transport"
)

// Kind is a step kind. Its value is the step's spec, already rendered (every
// {{ }} in its template fields replaced) when Describe and Run are called.
type Kind interface {
	runbook.StepSpec
	// Describe says in one line what the step will do, for plan and logs,
	// e.g. `apt: cri-o = 1.30.4-1.1, hold`.
	Describe() string
	// Run performs the step on x.Host and reports what happened. It never
	// panics on bad remote output; it returns StatusFailed with a message.
	Run(ctx context.Context, x *Exec) Result
}

// Statuses a step reports.
const (
	OK      = "ok"
	Changed = "changed"
	Failed  = "failed"
	Skipped = "skipped"
)

// Result is what one run of a step did.
type Result struct {
	// Status is OK, Changed, Failed or Skipped.
	Status string
	// RC is the exit status of the step's main command, when it ran one.
	RC *int
	// Err explains a failure. An error wrapping transport.ErrUnreachable
	// makes the engine record the step as unreachable.
	Err error
	// Command is what ran, for the journal (the engine redacts secrets).
	Command string
	// Data is recorded in the journal with the step: versions before and
	// after, checksums, paths.
	Data map[string]any
	// Set are names the step defines for later expressions (`set:`).
	Set map[string]any
	// Snapshots are snapshot outputs to record under snapshots.NAME.
	Snapshots map[string]string
	// SnapshotCommands are the commands that produced Snapshots, by name,
	// so that compare can run them again (Exec.SnapshotCommand).
	SnapshotCommands map[string]string
	// Diff is the unified diff of every file the step changed or would
	// change, set only when Exec.Diff asks for it (see Predictor). It is
	// the raw text: the engine redacts it like any other output.
	Diff string
}

// Exec is what a step acts on: one host, through one transport, with the
// step's common settings applied.
type Exec struct {
	// Host is the inventory name of the target host.
	Host string
	// RunsOn is the inventory name of the host the step runs on (differs
	// from Host with delegate_to; "localhost" for local steps).
	RunsOn string
	// T reaches RunsOn.
	T transport.Transport
	// Local says the step runs on the controller (`local: true`): kinds
	// that can act from the controller without a command (uri) do so.
	Local bool
	// Become, BecomeUser, Env and Timeout come from the step and runbook.
	Become     bool
	BecomeUser string
	Env        map[string]string
	Timeout    time.Duration
	// Sensitive says the step's text carries a secret (its commands must
	// stay out of process lists).
	Sensitive bool
	// Diff asks the file kinds for Result.Diff (run --diff).
	Diff bool
	// Stdout and Stderr collect the step's output (capped and redacted by
	// the engine).
	Stdout io.Writer
	Stderr io.Writer
	// RunID and RunDir identify the run (backups and fetches go under RunDir).
	RunID  string
	RunDir string
	// BaseDir is the directory of the file the step was written in (for
	// script, copy and template sources).
	BaseDir string
	// Eval evaluates an expression in the host's environment.
	Eval func(src string) (any, error)
	// Render renders a template string in the host's environment.
	Render func(s string) (string, error)
	// Snapshot returns the recorded output of snapshot name on this host.
	Snapshot func(name string) (string, bool)
	// SnapshotCommand returns the command that took snapshot name on this
	// host (what a snapshot step reported in Result.SnapshotCommands).
	SnapshotCommand func(name string) (string, bool)
	// Backup returns what was recorded about backup name on this host
	// (remote path, local path, sha256) by an earlier backup step.
	Backup func(name string) (BackupRecord, bool)
	// Approve asks an operator to approve prompt (pause steps).
	Approve func(ctx context.Context, prompt string) (bool, error)
	// Logf writes a line to the run's output (log steps).
	Logf func(format string, args ...any)
}

// BackupRecord is what a backup step leaves for restore.
type BackupRecord struct {
	Remote string `json:"remote"`
	Local  string `json:"local"`
	SHA256 string `json:"sha256"`
}

// Run runs cmd with the step's settings (become, env, timeout) and its
// output going to the step's Stdout and Stderr.
func (x *Exec) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	x.apply(&cmd)
	if cmd.Stdout == nil {
		cmd.Stdout = x.Stdout
	}
	if cmd.Stderr == nil {
		cmd.Stderr = x.Stderr
	}
	return x.T.Run(ctx, cmd)
}

// Output runs a helper command of the step (not its main output) and
// returns its stdout and stderr.
func (x *Exec) Output(ctx context.Context, cmd transport.Command) (stdout, stderr string, rc int, err error) {
	x.apply(&cmd)
	var out, errb limitedBuffer
	out.max, errb.max = 1<<20, 64<<10
	cmd.Stdout, cmd.Stderr = &out, &errb
	res, err := x.T.Run(ctx, cmd)
	return out.String(), errb.String(), res.ExitCode, err
}

func (x *Exec) apply(cmd *transport.Command) {
	if !cmd.Become {
		cmd.Become, cmd.BecomeUser = x.Become, x.BecomeUser
	}
	if len(x.Env) > 0 {
		env := make(map[string]string, len(x.Env)+len(cmd.Env))
		for k, v := range x.Env {
			env[k] = v
		}
		for k, v := range cmd.Env {
			env[k] = v
		}
		cmd.Env = env
	}
	if cmd.Timeout == 0 {
		cmd.Timeout = x.Timeout
	}
	cmd.Sensitive = cmd.Sensitive || (x.Sensitive && cmd.Stdin == nil)
}

// Exit builds a Result from a finished command: failed when rc != 0,
// else status.
func Exit(rc int, status, command string) Result {
	r := Result{Status: status, RC: &rc, Command: command}
	if rc != 0 {
		r.Status = Failed
		r.Err = fmt.Errorf("exit status %d", rc)
	}
	return r
}

// Fail builds a failed Result.
func Fail(command string, format string, args ...any) Result {
	return Result{Status: Failed, Command: command, Err: fmt.Errorf(format, args...)}
}

// Broken builds the Result of a command that could not run to its end.
func Broken(command string, err error) Result {
	return Result{Status: Failed, Command: command, Err: err}
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	buf []byte
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - len(b.buf); room > 0 {
		if len(p) < room {
			room = len(p)
		}
		b.buf = append(b.buf, p[:room]...)
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string { return string(b.buf) }

// register adds a kind to the runbook loader.
func register[T any, PT interface {
	*T
	Kind
}](name string) {
	runbook.RegisterKind(name, func() runbook.StepSpec { return PT(new(T)) })
}
