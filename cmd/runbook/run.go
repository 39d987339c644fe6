package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	goio "io"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/engine"
	"github.com/runbookhq/runbook/runbook/journal"
	"github.com/runbookhq/runbook/runbook/report"
)

type runOptions struct {
	connectFlags
	targetFlags
	Yes             bool
	Concurrency     int
	Output          string
	BreakStaleLocks bool
	Check           bool
	Diff            bool
}

func newRunCmd(g *globalOptions, io *IO) *cobra.Command {
	opts := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run RUNBOOK -i INVENTORY",
		Short: "Run a runbook across the inventory",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Runbook = args[0]
			if cmd.Flags().Changed("concurrency") && opts.Concurrency < 1 {
				return usage(fmt.Errorf("--concurrency %d: at least one host must act at once (leave the flag out for the runbook's concurrency)", opts.Concurrency))
			}
			return runRun(g, opts, io)
		},
	}
	opts.targetFlags.add(cmd)
	f := cmd.Flags()
	f.BoolVar(&opts.Yes, "yes", false, "approve every approval gate")
	f.IntVar(&opts.Concurrency, "concurrency", 0, "hosts acting at once inside a batch (overrides the runbook)")
	f.StringVar(&opts.Output, "output", "text", "text, or json: the journal events as JSON lines")
	f.BoolVar(&opts.BreakStaleLocks, "break-stale-locks", false, "take host locks older than lock_stale_after")
	f.BoolVar(&opts.Check, "check", false, "dry run: change nothing, lock nothing; say what each step would do")
	f.BoolVar(&opts.Diff, "diff", false, "show and journal a unified diff of every file a step changes (or would change, with --check)")
	addConnectFlags(cmd, &opts.connectFlags)
	return cmd
}

func addConnectFlags(cmd *cobra.Command, f *connectFlags) {
	cmd.Flags().BoolVar(&f.AcceptNewHostKeys, "accept-new-host-keys", false, "add unknown hosts to known_hosts (changed keys are still refused)")
	cmd.Flags().BoolVar(&f.AskBecomePass, "ask-become-pass", false, "ask for the sudo password")
	cmd.Flags().BoolVar(&f.SessionPerCommand, "session-per-command", false,
		"open an SSH session for every command, as ssh does, instead of running a host's commands through one session")
}

func runRun(g *globalOptions, opts *runOptions, io *IO) error {
	if err := checkOutput(opts.Output); err != nil {
		return err
	}
	state, err := g.stateDir()
	if err != nil {
		return usage(err)
	}
	o, err := opts.targetFlags.load(io.Err)
	if err != nil {
		return err
	}
	becomePass, err := becomePassword(io, opts.AskBecomePass, o.Runbook, o.Given)
	if err != nil {
		return err
	}
	s := newSession(g, io, state, opts.connectFlags, becomePass, opts.Output, opts.Yes)
	defer s.close()
	o.StateDir, o.Connector, o.Approver, o.Observer = state, s.conn, s.approver, s.observe
	o.Concurrency, o.BreakStaleLocks, o.Secrets = opts.Concurrency, opts.BreakStaleLocks, []string{string(becomePass)}
	o.DryRun, o.Diff = opts.Check, opts.Diff
	e, err := engine.New(o)
	if err != nil {
		return err
	}
	s.conn.useInventory(state, o.Inventory, io)
	s.startTerminal(o.Runbook)
	return s.wait(e, e.Start)
}

type resumeOptions struct {
	connectFlags
	RunID               string
	Yes                 bool
	RetryFailed         bool
	AllowChangedRunbook bool
	Extra               []string
	Output              string
	BreakStaleLocks     bool
	Diff                bool
}

func newResumeCmd(g *globalOptions, io *IO) *cobra.Command {
	opts := &resumeOptions{}
	cmd := &cobra.Command{
		Use:   "resume RUN_ID",
		Short: "Continue an interrupted or halted run from its journal",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			opts.RunID = args[0]
			return resumeRun(g, opts, io)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.Yes, "yes", false, "approve every approval gate")
	f.BoolVar(&opts.RetryFailed, "retry-failed", false, "give failed, rolled back and unreachable hosts another go")
	f.BoolVar(&opts.AllowChangedRunbook, "allow-changed-runbook", false, "resume although the runbook changed since the run started")
	f.StringArrayVarP(&opts.Extra, "extra", "e", nil, "secret params again (they are never journaled): @file.yaml, or name=value (which puts it in argv)")
	f.StringVar(&opts.Output, "output", "text", "text, or json: the journal events as JSON lines")
	f.BoolVar(&opts.BreakStaleLocks, "break-stale-locks", false, "take host locks older than lock_stale_after")
	f.BoolVar(&opts.Diff, "diff", false, "show and journal a unified diff of every file a step changes (a dry run goes on as a dry run)")
	addConnectFlags(cmd, &opts.connectFlags)
	return cmd
}

func resumeRun(g *globalOptions, opts *resumeOptions, io *IO) error {
	if err := checkOutput(opts.Output); err != nil {
		return err
	}
	state, err := g.stateDir()
	if err != nil {
		return usage(err)
	}
	given, err := parseExtra(opts.Extra)
	if err != nil {
		return err
	}
	becomePass, err := becomePassword(io, opts.AskBecomePass, nil, given)
	if err != nil {
		return err
	}
	s := newSession(g, io, state, opts.connectFlags, becomePass, opts.Output, opts.Yes)
	defer s.close()
	e, err := engine.Resume(context.Background(), engine.ResumeOptions{
		Options: engine.Options{StateDir: state, Given: given, Connector: s.conn, Approver: s.approver,
			Observer: s.observe, BreakStaleLocks: opts.BreakStaleLocks, Secrets: []string{string(becomePass)}, Diff: opts.Diff},
		RunID: opts.RunID, RetryFailed: opts.RetryFailed, AllowChangedRunbook: opts.AllowChangedRunbook,
		AskSecret: askSecret(io)})
	if err != nil {
		return err
	}
	if opts.RetryFailed {
		out := io.Out
		if opts.Output == "json" {
			out = io.Err
		}
		printRetried(out, e.Retried())
	}
	s.conn.useInventory(state, e.Inventory(), io)
	s.startTerminal(e.Runbook())
	if err := s.seedTerminal(journal.RunDir(state, e.RunID())); err != nil {
		return err
	}
	return s.wait(e, e.Continue)
}

// seedTerminal shows a resumed run's terminal the journal so far: the
// records of the earlier sessions, for the end-of-run summary (the whole
// run's), then the run_resumed that Resume wrote and what follows it,
// printed. The journal is read twice, one record at a time, rather than
// held whole: first for where the latest run_resumed is.
func (s *session) seedTerminal(runDir string) error {
	if s.term == nil {
		return nil
	}
	path := filepath.Join(runDir, journal.JournalFile)
	var resumed int64
	if err := journal.ReadEach(path, func(r journal.Record) error {
		if r.Type == journal.RunResumed {
			resumed = r.Seq
		}
		return nil
	}); err != nil {
		return err
	}
	return journal.ReadEach(path, func(r journal.Record) error {
		if resumed == 0 || r.Seq < resumed {
			s.term.Seed([]journal.Record{r})
		} else {
			s.term.Record(r)
		}
		return nil
	})
}

// askSecret asks for a secret param on the terminal, never echoing it, so
// that it need not be given in argv (nil without a terminal).
func askSecret(io *IO) func(string) (string, error) {
	if !io.InTTY {
		return nil
	}
	return func(name string) (string, error) {
		b, err := readSecret(io, fmt.Sprintf("Secret param %s (not journaled; give it again): ", name))
		return string(b), err
	}
}

// becomePassword is the sudo password: asked with --ask-become-pass, or the
// runbook's secret param become_password.
func becomePassword(io *IO, ask bool, rb *runbook.Runbook, given map[string]any) ([]byte, error) {
	if ask {
		b, err := readSecret(io, "BECOME password: ")
		if err != nil {
			return nil, usage(fmt.Errorf("--ask-become-pass: %w", err))
		}
		return b, nil
	}
	if v, ok := given["become_password"]; ok && (rb == nil || (rb.Params.Get("become_password") != nil && rb.Params.Get("become_password").Secret)) {
		return []byte(runbook.Stringify(v)), nil
	}
	return nil, nil
}

// session is the plumbing of a run: connector, approver, output, signals.
type session struct {
	g        *globalOptions
	io       *IO
	state    string
	conn     *fleetConnector
	approver *ttyApprover
	output   string
	term     *report.Terminal
	jsonMu   sync.Mutex
	enc      *json.Encoder
	kept     runSummary // of the records shown, for the end-of-run reports
}

func newSession(g *globalOptions, io *IO, state string, cf connectFlags, becomePass []byte, output string, yes bool) *session {
	s := &session{g: g, io: io, state: state, conn: newFleetConnector(io, cf, becomePass), output: output}
	s.approver = &ttyApprover{yes: yes, io: io}
	if output == "json" {
		s.enc = json.NewEncoder(io.Out)
	}
	return s
}

func (s *session) startTerminal(rb *runbook.Runbook) {
	if s.output == "json" {
		return
	}
	names := make([]string, len(rb.Phases))
	for i, ph := range rb.Phases {
		names[i] = ph.Name
	}
	s.term = report.NewTerminal(s.io.Out, report.TerminalOptions{TTY: s.io.OutTTY, Color: s.io.color(s.g.NoColor),
		Width: s.io.Width, Phases: names, Command: s.command(), StateDir: s.state, Summary: s.kept.summary})
	s.approver.pause = s.term.Pause
}

// command is how to call runbook again in suggested commands.
func (s *session) command() string { return commandFor(s.state) }

func (s *session) observe(r journal.Record) {
	s.kept.add(r)
	if s.enc != nil {
		s.jsonMu.Lock()
		s.enc.Encode(r)
		s.jsonMu.Unlock()
		return
	}
	if s.term != nil {
		s.term.Record(r)
	}
}

func (s *session) close() {
	if s.term != nil {
		s.term.Close()
	}
	s.conn.Close()
}

// wait runs the engine with signal handling: the first SIGINT or SIGTERM
// starts no new step and lets running ones finish; a second cancels them.
func (s *session) wait(e *engine.Engine, run func(context.Context) (*engine.Result, error)) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		n := 0
		for range sigs {
			n++
			if n == 1 {
				fmt.Fprintf(s.io.Err, "\nrunbook: stopping: no new step starts; running steps finish (again to cancel them); continue later with `%s resume %s`\n",
					s.command(), e.RunID())
				e.Stop()
				continue
			}
			fmt.Fprintln(s.io.Err, "runbook: cancelling running steps")
			cancel()
			return
		}
	}()
	res, err := run(ctx)
	if res != nil && res.RunDir != "" {
		if rerr := s.writeRunReports(res.Journal); rerr != nil {
			fmt.Fprintf(s.io.Err, "runbook: reports: %v\n", rerr)
		}
	}
	return s.withContinue(err)
}

// withContinue adds to the error of a run that a plain resume continues (an
// interrupted run, or one halted on an approval it could not ask) the
// command that does, as this session was called.
func (s *session) withContinue(err error) error {
	var re *engine.RunError
	if !errors.As(err, &re) {
		return err
	}
	var ae *engine.ApprovalError
	switch {
	case errors.As(err, &ae) && !ae.Refused:
		return fmt.Errorf("%w; continue with `%s resume %s --yes`", err, s.command(), re.Result.RunID)
	case re.Result.Status == journal.RunStatusInterrupted:
		return fmt.Errorf("%w; continue with `%s resume %s`", err, s.command(), re.Result.RunID)
	}
	return err
}

// writeRunReports writes report.html and junit.xml beside the journal,
// holding the run directory again: a resume that took it in the meantime
// writes them itself, from a longer journal.
func (s *session) writeRunReports(journalPath string) error {
	held, err := journal.LockRun(filepath.Dir(journalPath))
	if err != nil {
		return err
	}
	defer held.Release()
	sum, err := s.kept.summary(journalPath)
	if err != nil {
		return err
	}
	return report.WriteSummaryReports(filepath.Dir(journalPath), sum, s.command())
}

// printRetried says what --retry-failed does with each host: a rolled-back
// host starts over, any other continues at its first unfinished step.
func printRetried(w goio.Writer, list []engine.RetryDecision) {
	if len(list) == 0 {
		fmt.Fprintln(w, "--retry-failed: no host failed, was rolled back or was unreachable")
		return
	}
	fmt.Fprintf(w, "--retry-failed gives %d host(s) another go:\n", len(list))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, d := range list {
		what := "starts over from its first step (its changes were rolled back)"
		if !d.StartsOver {
			what = fmt.Sprintf("continues at its first unfinished step (%d finished step(s) stay finished)", d.Kept)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", d.Host, d.Outcome, what)
	}
	tw.Flush()
}
