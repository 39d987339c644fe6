package main

import (
	"context"
	"encoding/json"
	"fmt"
	goio "io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runbookhq/runbook/runbook/engine"
	"github.com/runbookhq/runbook/runbook/inventory"
	"github.com/runbookhq/runbook/runbook/journal"
	"github.com/runbookhq/runbook/runbook/report"
	"github.com/runbookhq/runbook/runbook/transport"
)

type planOptions struct {
	connectFlags
	targetFlags
	Check  bool
	Output string
}

func newPlanCmd(g *globalOptions, io *IO) *cobra.Command {
	opts := &planOptions{}
	cmd := &cobra.Command{
		Use:   "plan RUNBOOK -i INVENTORY",
		Short: "Show what a run would do: phases, batches and each step per host",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			opts.Runbook = args[0]
			return planRun(g, opts, io)
		},
	}
	opts.targetFlags.add(cmd)
	f := cmd.Flags()
	f.BoolVar(&opts.Check, "check", false, "connect and run the check phase (read-only) to find hosts already done")
	f.StringVar(&opts.Output, "output", "text", "text or json")
	addConnectFlags(cmd, &opts.connectFlags)
	return cmd
}

// noConnect refuses to connect: plan without --check touches no host.
type noConnect struct{}

func (noConnect) Connect(_ context.Context, h *inventory.Host) (transport.Transport, error) {
	return nil, fmt.Errorf("%s: plan does not connect", h.Name)
}

// planReport is plan's output: the plan and, with --check, what the check
// found. In JSON the plan's fields come first, then "check".
type planReport struct {
	*engine.Plan
	Check *checkResult `json:"check,omitempty"`
}

// checkResult is what plan --check found: the run's status had it been a
// run (succeeded, or halted before any change), and every host the checks
// failed on, with its reason in full.
type checkResult struct {
	Status string       `json:"status"`
	Reason string       `json:"reason,omitempty"`
	Failed []hostFailed `json:"failed"`
}

type hostFailed struct {
	Host    string `json:"host"`
	Outcome string `json:"outcome"`
	Step    string `json:"step,omitempty"`
	Error   string `json:"error"`
}

// checkFailed is plan --check's error when a check failed: exit 1.
type checkFailed struct{ hosts []string }

func (e *checkFailed) Error() string {
	return fmt.Sprintf("plan --check: the checks failed on %s; a run would halt before any change", strings.Join(e.hosts, ", "))
}

func planRun(g *globalOptions, opts *planOptions, io *IO) error {
	if err := checkOutput(opts.Output); err != nil {
		return err
	}
	base, err := opts.targetFlags.load(io.Err)
	if err != nil {
		return err
	}
	base.Connector = noConnect{}
	e, err := engine.New(base)
	if err != nil {
		return err
	}
	var skipped []string
	var check *checkResult
	if opts.Check {
		if skipped, check, err = planCheck(g, opts, io, base); err != nil {
			return err
		}
	}
	p, err := e.MakePlan(skipped)
	if err != nil {
		return usage(err)
	}
	out := planReport{Plan: p, Check: check}
	if opts.Output == "json" {
		enc := json.NewEncoder(io.Out)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		p.WriteText(io.Out)
		writeCheckText(io.Out, check)
	}
	if check != nil && len(check.Failed) > 0 {
		hosts := make([]string, len(check.Failed))
		for i, f := range check.Failed {
			hosts[i] = f.Host
		}
		return &checkFailed{hosts: hosts}
	}
	return nil
}

// writeCheckText writes the hosts the checks failed on, each with its
// reason in full (a changed host key with both fingerprints).
func writeCheckText(w goio.Writer, check *checkResult) {
	if check == nil || len(check.Failed) == 0 {
		return
	}
	fmt.Fprintf(w, "\nplan --check: the checks failed on %d of the hosts; a run would halt before any change:\n", len(check.Failed))
	for _, f := range check.Failed {
		fmt.Fprintf(w, "  %s  %s", f.Host, f.Outcome)
		if f.Step != "" {
			fmt.Fprintf(w, " at %s", f.Step)
		}
		fmt.Fprintln(w)
		for _, line := range strings.Split(strings.TrimRight(f.Error, "\n"), "\n") {
			fmt.Fprintf(w, "    %s\n", line)
		}
	}
}

// planCheck connects and runs only the check phases, read-only (no lock,
// nothing changed), and returns the hosts they would skip and what they
// found. Its journal goes to a scratch state directory that is removed
// after.
func planCheck(g *globalOptions, opts *planOptions, io *IO, base engine.Options) ([]string, *checkResult, error) {
	scratch, err := os.MkdirTemp("", "runbook-plan-check-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(scratch)
	becomePass, err := becomePassword(io, opts.AskBecomePass, base.Runbook, base.Given)
	if err != nil {
		return nil, nil, err
	}
	state, err := g.stateDir()
	if err != nil {
		return nil, nil, usage(err)
	}
	conn := newFleetConnector(io, opts.connectFlags, becomePass)
	conn.useInventory(state, base.Inventory, io)
	defer conn.Close()
	base.Connector, base.StateDir, base.CheckOnly = conn, scratch, true
	base.Secrets = []string{string(becomePass)}
	e, err := engine.New(base)
	if err != nil {
		return nil, nil, err
	}
	res, err := e.Start(context.Background())
	if res == nil {
		return nil, nil, err
	}
	s, rerr := report.SummarizeFile(res.Journal)
	if rerr != nil {
		return nil, nil, rerr
	}
	return e.Skipped(), checkFound(res, s), nil
}

// checkFound is what the check run's journal says: every host that failed
// with its reason, the connect's error in full included.
func checkFound(res *engine.Result, s *report.Summary) *checkResult {
	c := &checkResult{Status: res.Status, Reason: res.Reason, Failed: []hostFailed{}}
	for i := range s.Hosts {
		h := &s.Hosts[i]
		switch h.Outcome {
		case journal.OutcomeFailed, journal.OutcomeUnreachable:
		default:
			continue
		}
		f := hostFailed{Host: h.Name, Outcome: h.Outcome, Step: h.FailedStep, Error: h.Error}
		if st := report.FailedStep(h); st != nil && f.Error == "" {
			f.Error = st.Error
		}
		f.Error = report.DisplayError(h.Name, f.Error)
		c.Failed = append(c.Failed, f)
	}
	return c
}
