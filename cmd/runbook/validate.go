package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/engine"
	"github.com/runbookhq/runbook/runbook/inventory"
)

type validateOptions struct {
	Runbooks  []string
	Inventory string
	Extra     []string
}

func newValidateCmd(g *globalOptions, io *IO) *cobra.Command {
	opts := &validateOptions{}
	cmd := &cobra.Command{
		Use:   "validate RUNBOOK...",
		Short: "Check runbooks and modules (and with -i, the runbooks' targets in an inventory)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			opts.Runbooks = args
			return validateRun(opts, io)
		},
	}
	cmd.Flags().StringVarP(&opts.Inventory, "inventory", "i", "", "inventory file to check the targets against")
	cmd.Flags().StringArrayVarP(&opts.Extra, "extra", "e", nil, "params as a run would get them (name=value or @file.yaml), to check what they decide: counts, durations, loops")
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
	given, err := parseExtra(opts.Extra)
	if err != nil {
		return err
	}
	for _, path := range opts.Runbooks {
		if data, err := os.ReadFile(path); err == nil && runbook.IsModule(data) {
			if !validateModule(path, io) {
				failed++
			}
			continue
		}
		rb, warns, err := runbook.Load(path)
		for _, w := range warns {
			fmt.Fprintln(io.Err, w)
		}
		if err == nil && inv != nil {
			err = engine.CheckReferences(rb, inv, opts.Inventory, given)
		}
		if err == nil {
			err = checkGiven(rb, given)
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

// checkGiven checks what the params decide, when every required param has
// a value (given with -e, or its default): -e names params or vars, and
// the counts, durations and loops they decide are what they must be.
func checkGiven(rb *runbook.Runbook, given map[string]any) error {
	if len(given) > 0 {
		if err := engine.CheckGiven(rb, given); err != nil {
			return fmt.Errorf("%s: %w", rb.File, err)
		}
	}
	for _, p := range rb.Params {
		if _, ok := given[p.Name]; !ok && p.Required && p.Default == nil {
			return nil // the run checks them once it has them
		}
	}
	return engine.CheckTemplates(rb, given)
}

// validateModule checks a module file on its own (params: and steps:, as
// `use:` includes it) and reports whether it is valid.
func validateModule(path string, io *IO) bool {
	m, warns, err := runbook.LoadModule(path)
	for _, w := range warns {
		fmt.Fprintln(io.Err, w)
	}
	if err != nil {
		fmt.Fprintln(io.Err, err)
		return false
	}
	fmt.Fprintf(io.Out, "%s: ok (a module: %s, %s)\n", path, count(len(m.Params), "param"), count(len(m.Steps), "step"))
	return true
}

// count is "1 step", "3 steps".
func count(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
