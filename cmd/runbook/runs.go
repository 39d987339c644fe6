package main

import (
	"fmt"
	goio "io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/runbookhq/runbook/runbook/journal"
	"github.com/runbookhq/runbook/runbook/report"
)

func newRunsCmd(g *globalOptions, io *IO) *cobra.Command {
	return &cobra.Command{
		Use:   "runs",
		Short: "List runs: id, runbook, start, status and host outcomes",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			state, err := g.stateDir()
			if err != nil {
				return usage(err)
			}
			ids, err := journal.ListRuns(state)
			if err != nil {
				return err
			}
			if len(ids) == 0 {
				fmt.Fprintf(io.Err, "no runs in %s\n", state)
				return nil
			}
			tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "RUN ID\tRUNBOOK\tSTARTED\tSTATUS\tHOSTS")
			for _, id := range ids {
				s, err := report.SummarizeFile(filepath.Join(journal.RunDir(state, id), journal.JournalFile))
				if err != nil {
					fmt.Fprintf(tw, "%s\t?\t?\tunreadable: %v\t\n", id, err)
					continue
				}
				status := s.Status
				if status == "" {
					status = "incomplete"
				}
				if s.DryRun {
					status += " (dry run)"
				}
				var counts []string
				for _, o := range journal.Outcomes {
					if n := s.Counts[o]; n > 0 {
						counts = append(counts, fmt.Sprintf("%d %s", n, o))
					}
				}
				started := "?"
				if !s.Started.IsZero() {
					started = s.Started.Local().Format("2006-01-02 15:04:05")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", id, s.Runbook, started, status, strings.Join(counts, ", "))
			}
			return tw.Flush()
		},
	}
}

type showOptions struct {
	RunID  string
	Format string
	Out    string
	Host   string
}

func newShowCmd(g *globalOptions, io *IO) *cobra.Command {
	opts := &showOptions{}
	cmd := &cobra.Command{
		Use:   "show RUN_ID",
		Short: "Show a run from its journal: text, json, junit or html (RUN_ID: an id, a unique prefix, or last)",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			opts.RunID = args[0]
			return showRun(g, opts, io)
		},
	}
	cmd.Flags().StringVar(&opts.Format, "format", "text", "text, json, junit or html")
	cmd.Flags().StringVarP(&opts.Out, "output-file", "o", "", "write to FILE instead of stdout")
	cmd.Flags().StringVar(&opts.Host, "host", "", "one host's every step with its command and whole output (text)")
	return cmd
}

func showRun(g *globalOptions, opts *showOptions, io *IO) error {
	switch opts.Format {
	case "text", "json", "junit", "html":
	default:
		return usage(fmt.Errorf("--format %q: use text, json, junit or html", opts.Format))
	}
	if opts.Host != "" && opts.Format != "text" {
		return usage(fmt.Errorf("--host shows text: it does not go with --format %s", opts.Format))
	}
	state, err := g.stateDir()
	if err != nil {
		return usage(err)
	}
	dir, err := journal.FindRun(state, opts.RunID)
	if err != nil {
		return usage(err)
	}
	path := filepath.Join(dir, journal.JournalFile)
	// The journal is read record by record, into its summary, and again for
	// the JSON's events: a large run's records are never all in memory.
	s, err := report.SummarizeFile(path)
	if err != nil {
		return err
	}
	if opts.Host != "" && s.Host(opts.Host) == nil {
		return usage(report.WriteHostText(goio.Discard, s, opts.Host, report.TextOptions{}))
	}
	w := io.Out
	color := io.color(g.NoColor)
	var out *fileOut
	if opts.Out != "" {
		out, err = createOut(opts.Out)
		if err != nil {
			return err
		}
		w, color = out, false
	}
	width := 0
	if out == nil && io.OutTTY {
		width = io.Width
	}
	switch {
	case opts.Host != "":
		err = report.WriteHostText(w, s, opts.Host, report.TextOptions{Color: color, Width: width, Command: commandFor(state)})
	case opts.Format == "text":
		err = report.WriteText(w, s, report.TextOptions{Color: color, JournalPath: path, Command: commandFor(state), Width: width})
	case opts.Format == "json":
		err = report.WriteJSONFile(w, s, path)
	case opts.Format == "junit":
		err = report.WriteJUnit(w, s, nil)
	case opts.Format == "html":
		err = report.WriteHTML(w, s, nil, report.HTMLOptions{Command: commandFor(state)})
	}
	if out != nil {
		if cerr := out.commit(); err == nil {
			err = cerr
		}
		if err == nil {
			fmt.Fprintf(io.Err, "wrote %s\n", opts.Out)
		}
	}
	return err
}
