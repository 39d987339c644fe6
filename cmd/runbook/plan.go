package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/runbookhq/runbook/runbook/engine"
	"github.com/runbookhq/runbook/runbook/inventory"
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
	if opts.Check {
		if skipped, err = planCheck(g, opts, io, base); err != nil {
			return err
		}
	}
	p, err := e.MakePlan(skipped)
	if err != nil {
		return usage(err)
	}
	if opts.Output == "json" {
		enc := json.NewEncoder(io.Out)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(p)
	}
	p.WriteText(io.Out)
	return nil
}

// planCheck connects and runs only the check phases, read-only (no lock,
// nothing changed), and returns the hosts they would skip. Its journal goes
// to a scratch state directory that is removed after.
func planCheck(g *globalOptions, opts *planOptions, io *IO, base engine.Options) ([]string, error) {
	scratch, err := os.MkdirTemp("", "runbook-plan-check-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)
	becomePass, err := becomePassword(io, opts.AskBecomePass, base.Runbook, base.Given)
	if err != nil {
		return nil, err
	}
	state, err := g.stateDir()
	if err != nil {
		return nil, usage(err)
	}
	conn := newFleetConnector(io, opts.connectFlags, becomePass)
	conn.useInventory(state, base.Inventory, io)
	defer conn.Close()
	base.Connector, base.StateDir, base.CheckOnly = conn, scratch, true
	base.Secrets = []string{string(becomePass)}
	e, err := engine.New(base)
	if err != nil {
		return nil, err
	}
	res, err := e.Start(context.Background())
	if res == nil {
		return nil, err
	}
	if err != nil {
		fmt.Fprintf(io.Err, "runbook: plan --check: %s: %s\n", res.Status, res.Reason)
	}
	return e.Skipped(), nil
}
