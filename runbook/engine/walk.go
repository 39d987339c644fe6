package engine

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/journal"
)

// phaseKind is one kind of phase: which of the walk's hosts it takes, in
// which batches (the same code for plan, plan --check and run), and how a
// run runs them.
type phaseKind interface {
	// assign picks the phase's hosts from the walk and says why it picked
	// what it picked (canary substitutions, a skipped phase).
	assign(w *walk, i int, ph *runbook.Phase) (assignment, error)
	// run runs an assignment.
	run(ctx context.Context, e *Engine, pc *phaseCtx, ph *runbook.Phase, a assignment)
	// notes describe the phase for a plan.
	notes(ph *runbook.Phase) []string
}

// assignment is what a phase works on.
type assignment struct {
	hosts   []string   // every host of the phase, in its order
	batches [][]string // canary and batch phases: the hosts in batches
	notes   []string   // what the walk decided and why
}

func kindOfPhase(ph *runbook.Phase) phaseKind {
	switch ph.Kind {
	case runbook.KindCanary:
		return canaryKind{}
	case runbook.KindBatch:
		return batchKind{}
	case runbook.KindVerify:
		return verifyKind{}
	}
	return preChangeKind{}
}

// walk is the state the phases are assigned from, alike for a plan and a
// run: which hosts are still to change, and which hosts canaries took.
type walk struct {
	e *Engine
	// open reports whether a host may still act in a changing phase: not
	// skipped, not failed, rolled back or unreachable.
	open func(host string) bool
	// sortKey gives a host's order_by key in phase i (nil: order_by is not
	// known, as in a plan before the check phases ran).
	sortKey func(i int, host string) (any, bool)
	// taken are the hosts canaries took, by the canary's targets: a batch
	// of the same targets leaves them out.
	taken map[string]map[string]bool
}

func newWalk(e *Engine, open func(string) bool) *walk {
	return &walk{e: e, open: open, taken: map[string]map[string]bool{}}
}

// runWalk is the walk of a run: hosts are open while they have no outcome
// and were not left out by a backup or check phase.
func (e *Engine) runWalk() *walk {
	w := newWalk(e, func(name string) bool {
		hs := e.hosts[name]
		return hs.outcome == "" && !hs.excluded
	})
	w.sortKey = e.orderKey
	return w
}

// targetsKey names a phase's targets for the canary/batch pairing.
func targetsKey(ph *runbook.Phase) string { return ph.Targets }

// openTargets lists the phase's targets still open, in the phase's order,
// leaving out those a canary of the same targets took when skipTaken.
func (w *walk) openTargets(i int, ph *runbook.Phase, skipTaken bool) []string {
	var out []string
	taken := w.taken[targetsKey(ph)]
	for _, h := range w.e.phaseTargets[i] {
		if w.open(h) && !(skipTaken && taken[h]) {
			out = append(out, h)
		}
	}
	return w.order(i, ph, out)
}

// order sorts hosts by the phase's order: or order_by:.
func (w *walk) order(i int, ph *runbook.Phase, hosts []string) []string {
	switch {
	case ph.OrderBy != "" && w.sortKey != nil:
		type keyed struct {
			host string
			key  any
		}
		ks := make([]keyed, 0, len(hosts))
		for _, h := range hosts {
			k, _ := w.sortKey(i, h)
			ks = append(ks, keyed{h, k})
		}
		slices.SortStableFunc(ks, func(a, b keyed) int { return compareKeys(a.key, b.key) })
		out := make([]string, len(ks))
		for j, k := range ks {
			out[j] = k.host
		}
		return out
	case ph.Order == runbook.OrderReverse:
		out := slices.Clone(hosts)
		slices.Reverse(out)
		return out
	case ph.Order == runbook.OrderSorted:
		out := slices.Clone(hosts)
		slices.Sort(out)
		return out
	case ph.Order == runbook.OrderShuffle:
		// Seeded by the run and the phase: a resume shuffles alike.
		h := fnv.New64a()
		fmt.Fprintf(h, "%s/%d", w.e.runID, i)
		out := slices.Clone(hosts)
		rand.New(rand.NewPCG(h.Sum64(), 0)).Shuffle(len(out), func(a, b int) { out[a], out[b] = out[b], out[a] })
		return out
	}
	return hosts
}

// compareKeys orders order_by keys: numbers by value, texts as text, false
// before true; keys of different types by their type's name.
func compareKeys(a, b any) int {
	fa, aNum := toNumber(a)
	fb, bNum := toNumber(b)
	switch {
	case aNum && bNum:
		switch {
		case fa < fb:
			return -1
		case fa > fb:
			return 1
		}
		return 0
	case aNum != bNum:
		if aNum {
			return -1
		}
		return 1
	}
	sa, bs := runbook.Stringify(a), runbook.Stringify(b)
	switch {
	case sa < bs:
		return -1
	case sa > bs:
		return 1
	}
	return 0
}

func toNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float64:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// preChangeKind is a backup or check phase: every open target, before any
// change.
type preChangeKind struct{}

func (preChangeKind) assign(w *walk, i int, ph *runbook.Phase) (assignment, error) {
	var hosts []string
	for _, h := range w.e.phaseTargets[i] {
		if w.open(h) {
			hosts = append(hosts, h)
		}
	}
	return assignment{hosts: hosts}, nil
}

func (preChangeKind) run(ctx context.Context, e *Engine, pc *phaseCtx, ph *runbook.Phase, a assignment) {
	e.preChangePhase(ctx, pc, ph, a.hosts)
}

func (preChangeKind) notes(ph *runbook.Phase) []string {
	var n []string
	if ph.SkipHostWhen != "" {
		n = append(n, "skip hosts where: "+ph.SkipHostWhen)
	}
	if ph.ExcludeFailedHosts {
		return append(n, "hosts that fail are left out; the others go on")
	}
	return append(n, "any failure halts the run before any change")
}

// canaryKind takes the first hosts of its targets (a count, a percentage,
// names or a pattern), alone.
type canaryKind struct{}

func (canaryKind) assign(w *walk, i int, ph *runbook.Phase) (assignment, error) {
	chosen, notes := w.e.replay.startedHosts(i), []string(nil)
	if chosen == nil { // a resume keeps the canary an earlier session chose
		var err error
		chosen, notes, err = w.e.canaryHosts(i, ph, w.openTargets(i, ph, true))
		if err != nil {
			return assignment{}, err
		}
	}
	if len(chosen) == 0 {
		notes = append(notes, "no host of its targets is left to change: the canary phase is skipped")
	}
	taken := w.taken[targetsKey(ph)]
	if taken == nil {
		taken = map[string]bool{}
		w.taken[targetsKey(ph)] = taken
	}
	for _, h := range chosen {
		taken[h] = true
	}
	a := assignment{hosts: chosen, notes: notes}
	if len(chosen) > 0 {
		a.batches = [][]string{chosen}
	}
	return a, nil
}

func (canaryKind) run(ctx context.Context, e *Engine, pc *phaseCtx, ph *runbook.Phase, a assignment) {
	for _, n := range a.notes {
		e.emitMessage("", fmt.Sprintf("%s: %s", ph.Name, n))
	}
	e.canaryPhase(ctx, pc, ph, a.hosts)
}

func (canaryKind) notes(ph *runbook.Phase) []string {
	n := []string{"any failure halts the run"}
	if ph.Soak > 0 {
		n = append(n, fmt.Sprintf("soak %s, then verify again", ph.Soak))
	}
	if ph.Approve != "" {
		n = append(n, fmt.Sprintf("ask for approval: %q", ph.Approve))
	}
	return n
}

// canaryHosts picks the canary hosts among open (the phase's targets still
// to change, in order): the first N or N%, or the named or matching ones.
// A named or matching host that is no longer open (skipped as done, left
// out by --limit, failed) is replaced by the next open host, and the notes
// say so.
func (e *Engine) canaryHosts(i int, ph *runbook.Phase, open []string) ([]string, []string, error) {
	sel := ph.Hosts
	if sel.Size != nil {
		n := min(sel.Size.Of(len(open)), len(open))
		return slices.Clone(open[:n]), nil, nil
	}
	var wanted []string
	switch {
	case len(sel.Names) > 0:
		wanted = sel.Names
	case sel.Pattern != "":
		hosts, err := e.inv.Select(sel.Pattern)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: hosts %q: %v", ph, sel.Pattern, err)
		}
		for _, h := range hosts {
			if slices.Contains(e.fullPhaseTargets[i], h.Name) {
				wanted = append(wanted, h.Name)
			}
		}
	default:
		return nil, nil, nil
	}
	var chosen, missing, notes []string
	for _, n := range wanted {
		if slices.Contains(open, n) {
			chosen = append(chosen, n)
		} else {
			missing = append(missing, n)
		}
	}
	for _, n := range missing {
		next := ""
		for _, h := range open {
			if !slices.Contains(chosen, h) && !slices.Contains(wanted, h) {
				next = h
				break
			}
		}
		why := e.whyNotOpen(n)
		if next == "" {
			notes = append(notes, fmt.Sprintf("canary host %s %s, and no other host is left to stand in", n, why))
			continue
		}
		chosen = append(chosen, next)
		notes = append(notes, fmt.Sprintf("canary host %s %s: %s stands in", n, why, next))
	}
	return chosen, notes, nil
}

// whyNotOpen says why a host is not among those still to change.
func (e *Engine) whyNotOpen(name string) string {
	hs, ok := e.hosts[name]
	switch {
	case !ok:
		return "is left out by --limit"
	case hs.outcome == journal.OutcomeSkipped || e.plannedSkip[name]:
		return "is skipped (already done)"
	case hs.outcome != "":
		return "is " + hs.outcome
	case hs.excluded:
		return "failed a check"
	}
	return "is not open"
}

// batchKind takes the open hosts of its targets that no canary of the
// same targets took, in batches of serial.
type batchKind struct{}

func (batchKind) assign(w *walk, i int, ph *runbook.Phase) (assignment, error) {
	// A resume keeps the hosts the batches an earlier session started
	// had, first and in their order, so that the rest splits the same way.
	hosts := slices.Clone(w.e.replay.startedHosts(i))
	for _, h := range w.openTargets(i, ph, true) {
		if !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	return assignment{hosts: hosts, batches: Batches(ph.Serial, hosts)}, nil
}

func (batchKind) run(ctx context.Context, e *Engine, pc *phaseCtx, ph *runbook.Phase, a assignment) {
	e.batchPhase(ctx, pc, ph, a.batches)
}

func (batchKind) notes(ph *runbook.Phase) []string {
	var n []string
	if len(ph.Serial) > 0 {
		sizes := make([]string, len(ph.Serial))
		for j, s := range ph.Serial {
			sizes[j] = s.String()
		}
		n = append(n, "serial ["+strings.Join(sizes, ", ")+"]")
	}
	if ph.PauseBetween > 0 {
		n = append(n, fmt.Sprintf("pause %s between batches", ph.PauseBetween))
	}
	return n
}

// verifyKind checks every target that has not failed.
type verifyKind struct{}

func (verifyKind) assign(w *walk, i int, ph *runbook.Phase) (assignment, error) {
	var hosts []string
	for _, h := range w.e.phaseTargets[i] {
		if w.e.verifiable(h, w) {
			hosts = append(hosts, h)
		}
	}
	return assignment{hosts: hosts}, nil
}

func (verifyKind) run(ctx context.Context, e *Engine, pc *phaseCtx, ph *runbook.Phase, a assignment) {
	e.fleetVerifyPhase(ctx, pc, ph, a.hosts)
}

func (verifyKind) notes(*runbook.Phase) []string {
	return []string{"a failure fails the run; nothing is rolled back this late"}
}

// verifiable reports whether a verify phase checks host: one that is done
// (upgraded, rescued, skipped as already done) or still open.
func (e *Engine) verifiable(name string, w *walk) bool {
	hs := e.hosts[name]
	switch hs.outcome {
	case journal.OutcomeUpgraded, journal.OutcomeRescued, journal.OutcomeSkipped:
		return true
	case "":
		return w.open(name) || e.plannedSkip[name]
	}
	return false
}

// actsLater reports whether a canary or batch phase after phase i may still
// act on host: one whose targets hold it, unless it is a batch whose
// same-targets canary took the host already.
func (e *Engine) actsLater(w *walk, i int, host string) bool {
	for j := i + 1; j < len(e.rb.Phases); j++ {
		ph := e.rb.Phases[j]
		if ph.Kind != runbook.KindCanary && ph.Kind != runbook.KindBatch {
			continue
		}
		if !e.inPhaseTargets(j, host) {
			continue
		}
		if ph.Kind == runbook.KindBatch && w.taken[targetsKey(ph)][host] {
			continue
		}
		return true
	}
	return false
}

func (e *Engine) inPhaseTargets(i int, host string) bool {
	return e.phaseTargetSet[i][host]
}
