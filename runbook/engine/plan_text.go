package engine

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// WriteText prints the plan for people: phases, batches with host names,
// and each step as it will run on each host.
func (p *Plan) WriteText(w io.Writer) {
	fmt.Fprintf(w, "runbook %s", p.Runbook)
	if p.Description != "" {
		fmt.Fprintf(w, ": %s", p.Description)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "targets %s%s: %d hosts: %s\n", p.Targets, limitNote(p.Limit), len(p.Hosts), strings.Join(p.Hosts, " "))
	if len(p.Skipped) > 0 {
		fmt.Fprintf(w, "skipped by the check phase (already done): %s\n", strings.Join(p.Skipped, " "))
	}
	if len(p.Params) > 0 {
		names := make([]string, 0, len(p.Params))
		for k := range p.Params {
			names = append(names, k)
		}
		sort.Strings(names)
		parts := make([]string, len(names))
		for i, n := range names {
			parts[i] = n + "=" + p.Params[n]
		}
		fmt.Fprintf(w, "params: %s\n", strings.Join(parts, " "))
	}
	fmt.Fprintf(w, "on failure: %s; failure budget: %s host(s) across the whole run\n", p.OnFailure, p.Budget)
	for i, ph := range p.Phases {
		fmt.Fprintf(w, "\n%d. %s [%s]", i+1, ph.Name, ph.Kind)
		switch {
		case len(ph.Batches) > 0:
			bs := make([]string, len(ph.Batches))
			for j, b := range ph.Batches {
				bs[j] = "[" + strings.Join(b, " ") + "]"
			}
			fmt.Fprintf(w, " batches: %s", strings.Join(bs, " "))
		case len(ph.Hosts) > 0:
			fmt.Fprintf(w, " on %d hosts", len(ph.Hosts))
		default:
			fmt.Fprint(w, " on no host")
		}
		fmt.Fprintln(w)
		if ph.Targets != "" {
			fmt.Fprintf(w, "   - targets %s\n", ph.Targets)
		}
		if ph.Order != "" {
			fmt.Fprintf(w, "   - hosts in order: %s\n", ph.Order)
		}
		for _, n := range ph.Notes {
			fmt.Fprintf(w, "   - %s\n", n)
		}
		writePlanSteps(w, "steps", ph.Steps, len(ph.Hosts))
		writePlanSteps(w, "verify", ph.Verify, len(ph.Hosts))
	}
	if len(p.Rollback) > 0 {
		fmt.Fprintf(w, "\nrollback (per failed host, on_failure %s):\n", p.OnFailure)
		writePlanSteps(w, "", p.Rollback, len(p.Hosts))
	}
	if len(p.Handlers) > 0 {
		fmt.Fprintf(w, "\nhandlers (each runs once per host, after the step list that notified it):\n")
		for _, h := range p.Handlers {
			writePlanSteps(w, h.Name, h.Steps, len(p.Hosts))
		}
	}
}

func writePlanSteps(w io.Writer, title string, steps []PlanStep, nHosts int) {
	if len(steps) == 0 {
		return
	}
	if title != "" {
		fmt.Fprintf(w, "   %s:\n", title)
	}
	writeStepList(w, "     ", steps, nHosts)
}

func writeStepList(w io.Writer, indent string, steps []PlanStep, nHosts int) {
	for i, s := range steps {
		fmt.Fprintf(w, "%s%d. %s", indent, i+1, s.Name)
		var extra []string
		if s.When != "" {
			extra = append(extra, "when "+s.When)
		}
		if s.Loop != "" {
			extra = append(extra, "loop "+s.Loop)
		}
		extra = append(extra, s.Flags...)
		if len(s.Notify) > 0 {
			extra = append(extra, "notifies "+strings.Join(s.Notify, ", "))
		}
		if len(extra) > 0 {
			fmt.Fprintf(w, "  (%s)", strings.Join(extra, "; "))
		}
		fmt.Fprintln(w)
		if s.Kind == "block" {
			for _, part := range []struct {
				name  string
				steps []PlanStep
			}{{"block", s.Block}, {"rescue (when a block step fails)", s.Rescue}, {"always", s.Always}} {
				if len(part.steps) > 0 {
					fmt.Fprintf(w, "%s   %s:\n", indent, part.name)
					writeStepList(w, indent+"     ", part.steps, nHosts)
				}
			}
			continue
		}
		write := writeIndented
		if s.Loop != "" {
			write = writeLines // one line per item, all alike
		}
		if len(s.Rendered) == 1 && len(s.Rendered[0].Hosts) == nHosts {
			write(w, indent+"   ", s.Rendered[0].Text)
			continue
		}
		for _, r := range s.Rendered {
			if s.Loop == "" {
				writeIndented(w, indent+"   ", strings.Join(r.Hosts, ",")+": "+r.Text)
				continue
			}
			writeLines(w, indent+"   ", strings.Join(r.Hosts, ",")+":")
			writeLines(w, indent+"     ", r.Text)
		}
	}
}

func writeIndented(w io.Writer, indent, text string) {
	for i, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if i == 1 {
			indent += "  " // continuation lines of a multi-line command
		}
		fmt.Fprintf(w, "%s%s\n", indent, line)
	}
}

// writeLines writes each line of text with indent.
func writeLines(w io.Writer, indent, text string) {
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		fmt.Fprintf(w, "%s%s\n", indent, line)
	}
}
