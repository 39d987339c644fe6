package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/engine"
	"github.com/runbookhq/runbook/runbook/inventory"
)

type validateOptions struct {
	Runbooks  []string
	Inventory string
}

func newValidateCmd(g *globalOptions, io *IO) *cobra.Command {
	opts := &validateOptions{}
	cmd := &cobra.Command{
		Use:   "validate RUNBOOK...",
		Short: "Check runbooks (and with -i, their targets in an inventory)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			opts.Runbooks = args
			return validateRun(opts, io)
		},
	}
	cmd.Flags().StringVarP(&opts.Inventory, "inventory", "i", "", "inventory file to check the targets against")
	return cmd
}

// validateRun loads every runbook and reports every problem of every file;
// it fails (exit 2) when any has an error.
func validateRun(opts *validateOptions, io *IO) error {
	failed := 0
	var inv *inventory.Inventory
	if opts.Inventory != "" {
		var err error
		if inv, err = loadInventory(opts.Inventory); err != nil {
			fmt.Fprintln(io.Err, err)
			failed++
		}
	}
	for _, path := range opts.Runbooks {
		rb, warns, err := runbook.Load(path)
		for _, w := range warns {
			fmt.Fprintln(io.Err, w)
		}
		if err == nil && inv != nil {
			err = checkTargets(rb, inv, opts.Inventory)
		}
		if err != nil {
			fmt.Fprintln(io.Err, err)
			failed++
			continue
		}
		fmt.Fprintf(io.Out, "%s: ok (%d phases, %d steps)\n", path, len(rb.Phases), len(rb.AllSteps()))
	}
	if failed > 0 {
		return usage(errors.New("validation failed"))
	}
	return nil
}

// checkTargets checks what needs an inventory, as run and plan do before
// anything runs (engine.CheckReferences).
func checkTargets(rb *runbook.Runbook, inv *inventory.Inventory, invPath string) error {
	return engine.CheckReferences(rb, inv, invPath, nil)
}
