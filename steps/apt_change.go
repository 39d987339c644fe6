package steps

import (
	"context"
	"fmt"
	"strings"

	"github.com/runbookhq/runbook/runbook/transport"
)

// install brings the named packages to the version asked (present,
// latest or pinned) and their holds to what was asked.
func (r *aptRun) install(ctx context.Context, ts []aptTarget, before map[string]pkgState) Result {
	a := r.a
	var candidates map[string]string
	if a.State == "latest" {
		var err error
		if candidates, err = r.candidates(ctx, ts); err != nil {
			return r.failed(err)
		}
	}
	var change []aptTarget
	heldNow, wanted := map[string]bool{}, map[string]bool{}
	var unhold, names []string
	for _, t := range ts {
		st := before[baseName(t.Name)]
		names = append(names, t.Name)
		heldNow[t.Name], wanted[t.Name] = st.Held, st.Held
		if a.Hold != nil {
			wanted[t.Name] = *a.Hold
		}
		want := t.Version
		if a.State == "latest" {
			want = candidates[t.Name]
		}
		if r.needsInstall(st, want) {
			change = append(change, t)
			if st.Held {
				unhold = append(unhold, t.Name)
				heldNow[t.Name] = false
			}
		}
	}
	if len(change) > 0 {
		if res, ok := r.setHolds(ctx, nil, unhold); !ok {
			return res
		}
		if res, ok := r.apt(ctx, a.installCommand(change, r.x.Timeout)); !ok {
			r.rehold(ctx, unhold)
			return res
		}
	}
	hold, unholdAfter := holdsFor(names, heldNow, wanted)
	if a.OnlyUpgrade { // a package only_upgrade left out cannot be held
		hold = installedOnly(hold, before)
	}
	if res, ok := r.setHolds(ctx, hold, unholdAfter); !ok {
		return res
	}
	res := r.finish(ctx, before, len(change) > 0 || len(hold)+len(unholdAfter) > 0, names...)
	if res.Status != Failed {
		if err := r.verifyInstalled(ts, candidates, wanted, before); err != nil {
			res.Status, res.Err = Failed, err
		}
	}
	return res
}

// needsInstall says whether a package in state st must be installed to
// be at version want ("" for any version).
func (r *aptRun) needsInstall(st pkgState, want string) bool {
	if !st.Installed {
		return !r.a.OnlyUpgrade
	}
	return want != "" && st.Version != want
}

func installedOnly(names []string, before map[string]pkgState) []string {
	var out []string
	for _, n := range names {
		if before[baseName(n)].Installed {
			out = append(out, n)
		}
	}
	return out
}

// rehold puts back the holds taken off for a change that failed.
func (r *aptRun) rehold(ctx context.Context, names []string) {
	if len(names) == 0 || r.check {
		return
	}
	cctx, cancel := cleanupCtx(ctx)
	defer cancel()
	r.x.Output(cctx, transport.Command{Shell: aptMarkCommand("hold", names), Env: aptEnv})
}

// verifyInstalled checks the named packages against what was asked, from
// the versions finish recorded.
func (r *aptRun) verifyInstalled(ts []aptTarget, candidates map[string]string, wanted map[string]bool, before map[string]pkgState) error {
	pkgs, _ := r.data["packages"].(map[string]any)
	var problems []string
	for _, t := range ts {
		e, _ := pkgs[baseName(t.Name)].(map[string]any)
		after, _ := e["after"].(string)
		held, _ := e["held"].(bool)
		want := t.Version
		if r.a.State == "latest" {
			want = candidates[t.Name]
		}
		switch {
		case after == "" && r.a.OnlyUpgrade && !before[baseName(t.Name)].Installed:
			continue // only_upgrade: not installed, left so
		case after == "":
			problems = append(problems, t.Name+" is not installed after apt-get install")
		case want != "" && after != want:
			problems = append(problems, fmt.Sprintf("%s is at %s after apt-get install, not %s", t.Name, after, want))
		case held != wanted[t.Name]:
			problems = append(problems, fmt.Sprintf("%s hold is %v after apt-mark, want %v", t.Name, held, wanted[t.Name]))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("apt: %s", strings.Join(problems, "; "))
	}
	return nil
}

// candidates asks apt which version state: latest installs.
func (r *aptRun) candidates(ctx context.Context, ts []aptTarget) (map[string]string, error) {
	cmd := "apt-cache policy --"
	for _, t := range ts {
		cmd += " " + quote(t.Name)
	}
	out, errOut, rc, err := r.x.Output(ctx, transport.Command{Shell: cmd, Env: aptEnv})
	if err != nil {
		return nil, fmt.Errorf("apt: %s: %w", cmd, err)
	}
	if rc != 0 {
		return nil, aptError(rc, out, errOut)
	}
	c := parseCandidates(out)
	for _, t := range ts {
		if v := c[t.Name]; v == "" || v == "(none)" {
			return nil, fmt.Errorf("apt: %s has no installation candidate (apt-get update? a missing repository?)", t.Name)
		}
	}
	return c, nil
}

// remove removes the named packages that are installed.
func (r *aptRun) remove(ctx context.Context, ts []aptTarget, before map[string]pkgState) Result {
	var names, installed, held []string
	for _, t := range ts {
		names = append(names, t.Name)
		if st := before[baseName(t.Name)]; st.Installed {
			installed = append(installed, t.Name)
			if st.Held {
				held = append(held, t.Name)
			}
		}
	}
	if len(installed) > 0 {
		if res, ok := r.setHolds(ctx, nil, held); !ok {
			return res
		}
		if res, ok := r.apt(ctx, r.a.removeCommand(installed, r.x.Timeout)); !ok {
			r.rehold(ctx, held)
			return res
		}
	}
	res := r.finish(ctx, before, len(installed) > 0, names...)
	if res.Status == Failed {
		return res
	}
	pkgs, _ := r.data["packages"].(map[string]any)
	for _, n := range names {
		e, _ := pkgs[baseName(n)].(map[string]any)
		if after, _ := e["after"].(string); after != "" {
			res.Status, res.Err = Failed, fmt.Errorf("apt: %s is still installed (%s) after apt-get remove", n, after)
		}
	}
	return res
}

// upgrade upgrades the system as upgrade: asks.
func (r *aptRun) upgrade(ctx context.Context, before map[string]pkgState) Result {
	if res, ok := r.apt(ctx, r.a.changeCommand(upgradeVerb[r.a.Upgrade], r.x.Timeout)); !ok {
		return res
	}
	return r.finish(ctx, before, true)
}
