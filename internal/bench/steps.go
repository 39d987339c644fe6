package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Workload kinds: what every step of a workload is.
const (
	// kindShell steps are `shell:` steps, what nearly every runbook is
	// made of: a line of shell (`echo step N; true`) that the host's
	// /bin/sh runs.
	kindShell = "shell"
	// kindArgv steps run one program without a shell (runbook's
	// `command: [true]`).
	kindArgv = "argv"
	// kindMix cycles through a shell step, an argv step, a shell step
	// printing 4 KB (as a package listing or a service's status does) and
	// a shell step through sudo (become).
	kindMix = "mix"
)

var kinds = []string{kindShell, kindArgv, kindMix}

// workload is hosts × steps, all hosts at once, every step of one kind.
type workload struct {
	Hosts, Steps int
	Kind         string
	// Split, when not 0, is a second step count: the same hosts are also
	// measured with Split steps each, in the same rounds, so that the
	// difference splits each tool's CPU into a cost per host-step and a
	// cost per host (see splitRows).
	Split int
}

func (w workload) String() string {
	if w.Split != 0 {
		return fmt.Sprintf("%d hosts × %d and %d %s steps", w.Hosts, w.Steps, w.Split, w.Kind)
	}
	return fmt.Sprintf("%d hosts × %d %s steps", w.Hosts, w.Steps, w.Kind)
}

// variants are the workloads measured for w: w itself, and with Split
// steps when it has a split.
func (w workload) variants() []workload {
	if w.Split == 0 {
		return []workload{w}
	}
	return []workload{{Hosts: w.Hosts, Steps: w.Steps, Kind: w.Kind}, {Hosts: w.Hosts, Steps: w.Split, Kind: w.Kind}}
}

// slug names the workload's files: "100x5-shell".
func (w workload) slug() string { return fmt.Sprintf("%dx%d-%s", w.Hosts, w.Steps, w.Kind) }

// needsBecome reports whether some step runs through sudo, at either step
// count of a split.
func (w workload) needsBecome() bool {
	for _, v := range w.variants() {
		for _, s := range v.steps() {
			if s.Become {
				return true
			}
		}
	}
	return false
}

// parseWorkloads reads HOSTSxSTEPS[/STEPS][:KIND], comma-separated; KIND
// is shell when left out.
func parseWorkloads(s string) ([]workload, error) {
	var out []workload
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		size, kind, hasKind := strings.Cut(part, ":")
		if !hasKind {
			kind = kindShell
		}
		h, st, ok := strings.Cut(size, "x")
		st, sp, hasSplit := strings.Cut(st, "/")
		hosts, err1 := strconv.Atoi(h)
		steps, err2 := strconv.Atoi(st)
		split, err3 := 0, error(nil)
		if hasSplit {
			split, err3 = strconv.Atoi(sp)
		}
		if !ok || err1 != nil || err2 != nil || err3 != nil || hosts < 1 || steps < 1 || hasSplit && split <= steps {
			return nil, fmt.Errorf("workload %q: want HOSTSxSTEPS[/STEPS][:KIND], e.g. 20x20, 100x5:argv or 100x1/9 (a second, larger step count)", part)
		}
		if !slices.Contains(kinds, kind) {
			return nil, fmt.Errorf("workload %q: kind %q: want one of %s", part, kind, strings.Join(kinds, ", "))
		}
		out = append(out, workload{Hosts: hosts, Steps: steps, Kind: kind, Split: split})
	}
	return out, nil
}

// parseSizes reads -scale-hosts: fleet sizes, comma-separated, the first
// the one the others are compared with.
func parseSizes(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n < 1 || n > 99999 || slices.Contains(out, n) {
			return nil, fmt.Errorf("-scale-hosts: %q: want different host counts from 1 to 99999, comma-separated", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// benchStep is one step of a workload, as every tool is told to run it.
type benchStep struct {
	Name string
	// Script is the shell line of a shell step; empty for an argv step.
	Script string
	// Program is what an argv step runs (no shell, no arguments).
	Program string
	// Become runs the step through sudo, as root.
	Become bool
}

// outputScript prints 4 KB (4,095 digits and a newline) with a shell
// builtin, so that the step costs the host no more processes than a
// trivial one and the difference is the output's way back.
// It has no single quote: spot wraps a script in sh -c '...' as it is.
const outputScript = `printf "%04095d\n" 0`

// steps lists the workload's steps: step N of a shell workload runs `echo
// step N; true`; an argv workload's run the program true; a mix cycles
// through the two, a shell step with 4 KB of output and a shell step with
// become.
func (w workload) steps() []benchStep {
	out := make([]benchStep, w.Steps)
	for i := range out {
		n := i + 1
		s := benchStep{Name: fmt.Sprintf("step %d", n), Script: fmt.Sprintf("echo step %d; true", n)}
		kind := w.Kind
		if kind == kindMix {
			kind = []string{kindShell, kindArgv, "output", "become"}[i%4]
		}
		switch kind {
		case kindArgv:
			s.Script, s.Program = "", trivialProgram
		case "output":
			s.Script = outputScript
		case "become":
			s.Become = true
		}
		out[i] = s
	}
	return out
}

// The program of every argv step is true: runbook's `command: [true]`
// reaches the host as one exec of /usr/bin/true, never the shell's builtin
// true, so every other tool is told `exec true` for it too.
const trivialProgram = "true"

// wire is the command line a minimal SSH client sends for the step, as it
// would type it: sshd runs it with the login shell's -c, so a shell step is
// its script (one shell), an argv step `exec PROGRAM` (the shell execs it),
// and become puts `sudo -n sh -c` in front.
func (s benchStep) wire() string {
	cmd := s.Script
	if cmd == "" {
		cmd = "exec " + s.Program
	}
	if s.Become {
		return "sudo -n sh -c " + shellQuote(cmd)
	}
	return cmd
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
