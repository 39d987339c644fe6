package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/runbookhq/runbook/runbook"
)

func newSchemaCmd(io *IO) *cobra.Command {
	var module bool
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of the runbook format, for editors",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			schema := runbook.Schema
			if module {
				schema = runbook.ModuleSchema
			}
			b, err := schema()
			if err != nil {
				return err
			}
			fmt.Fprintln(io.Out, string(b))
			return nil
		},
	}
	cmd.Flags().BoolVar(&module, "module", false, "the schema of a module file (params + steps) instead")
	return cmd
}
