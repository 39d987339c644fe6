package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/runbookhq/runbook/runbook/inventory"
)

// labStarter returns how to start the lab for inv's lab hosts.
func labStarter(state string, inv *inventory.Inventory, io *IO) func() (labFleet, error) {
	return func() (labFleet, error) { return nil, errors.New("the lab is not wired yet") }
}

func newLabCmd(g *globalOptions, io *IO) *cobra.Command {
	return &cobra.Command{Use: "lab", Short: "The built-in lab: a simulated fleet over real SSH"}
}
