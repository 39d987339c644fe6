package steps

import (
	"context"
	"regexp"
	"strings"
	"sync"

	"github.com/runbookhq/runbook/runbook/transport"
)

// Predict implements Predictor: the same run as Run, with every change
// withheld. apt-get runs in simulation (-s: it reads, locks nothing and
// changes nothing) and its plan stands for the versions after; apt-mark
// and apt-get update do not run (the lists are read as they are), and
// what they would have done is recorded.
func (a *Apt) Predict(ctx context.Context, x *Exec) Result {
	return a.run(ctx, x, true)
}

var simLineRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(Inst|Remv|Purg) (\S+)(?: \[([^\]]*)\])?(?: \((\S+))?`)
})

// simulated reads apt-get -s's plan: the version each package would have
// after it ("" when it would be removed).
func simulated(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		sub := simLineRe().FindStringSubmatch(strings.TrimSpace(line))
		if sub == nil {
			continue
		}
		name := baseName(sub[2])
		if name == "" {
			continue
		}
		if sub[1] == "Inst" {
			m[name] = sub[4]
		} else {
			m[name] = ""
		}
	}
	return m
}

// simulateCommand is cmd (apt-get VERB ...) as a simulation that may
// change held packages, as Run would after unholding them.
func simulateCommand(cmd string) string {
	verb, rest, _ := strings.Cut(strings.TrimPrefix(cmd, "apt-get "), " ")
	return "apt-get " + verb + " -s --allow-change-held-packages " + rest
}

// withheld runs, in check mode, what stands for cmd: a simulation of an
// apt-get change, nothing for the rest. ok is false when the simulation
// says the change would fail.
func (r *aptRun) withheld(ctx context.Context, cmd string) (Result, bool) {
	switch {
	case strings.HasPrefix(cmd, "apt-get update"):
		r.data["cache_update_withheld"] = true
	case strings.HasPrefix(cmd, "apt-mark "):
		words := strings.Fields(cmd)
		for _, n := range afterDoubleDash(words) {
			r.simHolds[strings.Trim(n, "'")] = words[1] == "hold"
		}
	case strings.HasPrefix(cmd, "apt-get "):
		sim := simulateCommand(cmd)
		r.cmds = append(r.cmds, sim)
		out, errOut, rc, err := r.x.Output(ctx, transport.Command{Shell: sim, Env: aptEnv})
		if err != nil {
			return r.failed(err), false
		}
		r.rc = &rc
		if rc != 0 && strings.Contains(errOut+out, dpkgInterrupted) {
			r.data["would_configure_interrupted"], r.simUnknown = true, true
			return Result{}, true
		}
		if rc != 0 {
			return r.failed(aptError(rc, out, errOut)), false
		}
		for name, v := range simulated(out) {
			r.simVersions[name] = v
		}
	}
	return Result{}, true
}

func afterDoubleDash(words []string) []string {
	for i, w := range words {
		if w == "--" {
			return words[i+1:]
		}
	}
	return nil
}

// predictedAfter is the packages' state once the withheld changes were
// made.
func (r *aptRun) predictedAfter(before map[string]pkgState) map[string]pkgState {
	after := make(map[string]pkgState, len(before))
	for k, v := range before {
		after[k] = v
	}
	for name, v := range r.simVersions {
		st := after[name]
		st.Installed, st.Version = v != "", v
		after[name] = st
	}
	for name, held := range r.simHolds {
		st := after[baseName(name)]
		st.Held = held
		after[baseName(name)] = st
	}
	return after
}
