package main

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runbookhq/runbook/runbook/journal"
	_ "github.com/runbookhq/runbook/steps" // the step kinds
)

// globalOptions are the flags every command has.
type globalOptions struct {
	StateDir string
	NoColor  bool
}

func (g *globalOptions) stateDir() (string, error) { return journal.StateDir(g.StateDir) }

// Main runs the command line args and returns the exit status.
func Main(args []string, io *IO) int {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:   "runbook",
		Short: "Phased upgrades over SSH: canary, batches, failure budget, rollback, and a journal of every step",
		Long: `runbook runs a YAML runbook across an inventory of hosts in phases (backup,
check, canary, batches, verify, rollback) and records every step of every host
in a durable journal that reports and resume are built from.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(io.In)
	root.SetOut(io.Out)
	root.SetErr(io.Err)
	root.SetArgs(args)
	root.PersistentFlags().StringVar(&g.StateDir, "state-dir", "", "state directory (default $RUNBOOK_STATE_DIR, else $XDG_STATE_HOME/runbook)")
	root.PersistentFlags().BoolVar(&g.NoColor, "no-color", false, "no colour in output (also NO_COLOR)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usage(err) })
	root.AddCommand(
		newValidateCmd(g, io),
		newPlanCmd(g, io),
		newRunCmd(g, io),
		newResumeCmd(g, io),
		newRunsCmd(g, io),
		newShowCmd(g, io),
		newLabCmd(g, io),
		newSchemaCmd(io),
		newVersionCmd(io),
	)
	err := root.Execute()
	if err != nil {
		if isCobraUsage(err) {
			err = usage(err)
		}
		fmt.Fprintln(io.Err, "runbook:", err)
	}
	return exitCode(err)
}

// isCobraUsage reports errors cobra raises about the command line itself.
func isCobraUsage(err error) bool {
	s := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires at least", "requires exactly", "invalid argument", "flag needs"} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

// version is set by -ldflags "-X main.version=..."; else the module version.
var version = ""

func newVersionCmd(io *IO) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			v := version
			if v == "" {
				v = "(devel)"
				if bi, ok := debug.ReadBuildInfo(); ok {
					if bi.Main.Version != "" {
						v = bi.Main.Version
					}
					for _, s := range bi.Settings {
						if s.Key == "vcs.revision" && len(s.Value) >= 12 {
							v += " " + s.Value[:12]
						}
					}
				}
			}
			fmt.Fprintln(io.Out, "runbook", v)
			return nil
		},
	}
}
