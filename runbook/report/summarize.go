package report

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/runbookhq/runbook/runbook/journal"
)

// Summarize builds a run's summary from its journal records. It accepts any
// journal, a partial one included: a step without a final step_finished is
// open, a host without host_finished is unfinished, and a run without
// run_finished is StatusIncomplete. Records it does not know are ignored.
func Summarize(recs []journal.Record) *Summary {
	b := newBuilder()
	for i := range recs {
		b.add(&recs[i])
	}
	b.finish()
	return b.s
}

func newBuilder() *builder {
	return &builder{
		s:            &Summary{Status: StatusIncomplete, Counts: map[string]int{}},
		hosts:        map[string]*hostState{},
		phases:       map[phaseKey]int{},
		current:      -1,
		inRollback:   map[string]int{},
		rollbackLeft: map[int]int{},
	}
}

// groupNotReached groups the hosts of an unfinished run that no canary or
// batch phase has taken yet.
const groupNotReached = "Not reached yet"

type phaseKey struct {
	index, batch int
	name         string
}

// hostState is a host being summarised.
type hostState struct {
	sum        HostSummary
	order      int            // position among the targets, or after them
	groupOrder int            // position of its canary or batch phase; 0 = none
	open       map[string]int // step id -> index in sum.Steps of an unfinished execution
	pending    map[string]bool
	finishedAt time.Time
}

type builder struct {
	s      *Summary
	hosts  map[string]*hostState
	phases map[phaseKey]int // index into s.Phases
	groups int
	last   time.Time
	// phaseHosts holds, for a phase with many hosts, the set of its hosts.
	phaseHosts map[int]map[string]bool
	// maxSteps is the most step executions a host has had so far: a host's
	// first step reserves room for as many, rather than growing its list
	// (StepSummary is large) one doubling at a time.
	maxSteps int
	// current is the index in s.Phases of the last phase or batch started
	// other than a rollback, -1 before the first.
	current int
	// inRollback holds, for a host being rolled back, the index in s.Phases
	// of its rollback; rollbackLeft counts the hosts of each rollback not
	// finished yet. The engine journals no phase_finished for a rollback:
	// it is over when its hosts are.
	inRollback   map[string]int
	rollbackLeft map[int]int
}

func (b *builder) add(r *journal.Record) {
	if r.Time.After(b.last) {
		b.last = r.Time
	}
	b.s.LastSeq = r.Seq
	switch r.Type {
	case journal.RunStarted:
		b.runStarted(r)
	case journal.RunResumed, journal.RunInterrupted:
		b.s.Lifecycle = append(b.s.Lifecycle, RunEvent{Time: r.Time, Type: r.Type, Text: r.Text, Reason: r.Reason, By: r.Operator})
		if r.Type == journal.RunResumed {
			b.s.Finished = false
			b.s.Status = StatusIncomplete
			b.s.Reason = ""
		}
	case journal.RunFinished:
		b.s.Lifecycle = append(b.s.Lifecycle, RunEvent{Time: r.Time, Type: r.Type, Status: r.Status, Reason: r.Reason})
		b.s.Finished = true
		b.s.Status = r.Status
		b.s.Reason = r.Reason
		b.s.Ended = r.Time
	case journal.PhaseStarted, journal.PhaseFinished:
		b.phase(r)
	case journal.StepStarted:
		b.stepStarted(r)
	case journal.StepFinished:
		b.stepFinished(r)
	case journal.HostFinished:
		h := b.host(r.Host)
		b.closeFinishedAttempts(h)
		h.sum.Outcome = r.Outcome
		h.sum.Phase = r.Phase
		h.sum.FailedStep = r.FailedStep
		h.sum.Error = r.Error
		h.sum.Reason = r.Reason
		h.finishedAt = r.Time
		b.rollbackOver(r.Host, r.Time)
	case journal.Approval:
		b.s.Approvals = append(b.s.Approvals, ApprovalSummary{Time: r.Time, Phase: r.Phase, Prompt: r.Prompt,
			Decision: r.Decision, By: r.By, Via: r.Via})
	case journal.WaitStarted:
		b.s.Waits = append(b.s.Waits, WaitSummary{Phase: r.Phase, Batch: r.Batch, Text: r.Text, Seconds: r.Seconds, Started: r.Time})
	case journal.WaitFinished:
		for i := len(b.s.Waits) - 1; i >= 0; i-- {
			w := &b.s.Waits[i]
			if !w.Finished && w.Phase == r.Phase && w.Text == r.Text {
				w.Finished, w.Ended = true, r.Time
				break
			}
		}
	case journal.Message:
		b.s.Messages = append(b.s.Messages, MessageSummary{Time: r.Time, Host: r.Host, Text: r.Text})
	case journal.StepRescued:
		h := b.host(r.Host)
		for i := len(h.sum.Steps) - 1; i >= 0; i-- {
			if h.sum.Steps[i].StepID == r.StepID {
				h.sum.Steps[i].Rescued = true
				break
			}
		}
	}
}

func (b *builder) runStarted(r *journal.Record) {
	s := b.s
	if s.RunID == "" {
		s.RunID, s.Runbook, s.RunbookFile, s.RunbookSHA256 = r.RunID, r.Runbook, r.RunbookFile, r.RunbookSHA256
		s.Inventory, s.Operator, s.Controller, s.Limit = r.Inventory, r.Operator, r.Controller, r.Limit
		s.Params, s.Started = r.Params.Strings(), r.Time
		s.Targets = append([]string(nil), r.Hosts...)
		s.DryRun = r.DryRun
	}
	s.Lifecycle = append(s.Lifecycle, RunEvent{Time: r.Time, Type: r.Type, By: r.Operator})
	for _, h := range r.Hosts {
		b.host(h)
	}
}

func (b *builder) host(name string) *hostState {
	h, ok := b.hosts[name]
	if !ok {
		h = &hostState{sum: HostSummary{Name: name}, order: len(b.hosts), open: map[string]int{}, pending: map[string]bool{}}
		b.hosts[name] = h
	}
	return h
}

// PhaseLabel names a phase or one batch of it: "Canary", "Roll out, batch 2".
func PhaseLabel(name string, batch int) string {
	if batch > 0 {
		return fmt.Sprintf("%s, batch %d", name, batch)
	}
	return name
}

func isRollbackPhase(r *journal.Record) bool { return r.PhaseIndex == 0 && r.Phase == "rollback" }

func (b *builder) phase(r *journal.Record) {
	if isRollbackPhase(r) {
		b.rollbackPhase(r)
		return
	}
	key := phaseKey{r.PhaseIndex, r.Batch, r.Phase}
	i, ok := b.phases[key]
	if !ok {
		b.s.Phases = append(b.s.Phases, PhaseSummary{Index: r.PhaseIndex, Name: r.Phase, Kind: r.PhaseKind, Batch: r.Batch,
			Label: PhaseLabel(r.Phase, r.Batch), Started: r.Time})
		i = len(b.s.Phases) - 1
		b.phases[key] = i
	}
	p := &b.s.Phases[i]
	b.addPhaseHosts(i, r.Hosts)
	if r.Type == journal.PhaseStarted {
		b.current = i
	}
	if r.Type == journal.PhaseFinished {
		p.Finished, p.Ended = true, r.Time
		return
	}
	if r.PhaseKind != "canary" && r.PhaseKind != "batch" {
		return
	}
	b.groups++
	for _, name := range r.Hosts {
		h := b.host(name)
		if h.groupOrder == 0 {
			h.groupOrder = b.groups
			h.sum.Group = p.Label
			h.sum.Canary = r.PhaseKind == "canary"
		}
	}
}

// rollbackPhase summarises a rollback as a phase of its own, numbered and
// named after the phase or batch it happened in ("Rollback (Roll out, batch
// 2)"): the journal numbers every rollback 0.
func (b *builder) rollbackPhase(r *journal.Record) {
	var in PhaseSummary
	if b.current >= 0 {
		in = b.s.Phases[b.current]
	}
	key := phaseKey{in.Index, in.Batch, "rollback"}
	i, ok := b.phases[key]
	if !ok {
		label := "Rollback"
		if in.Label != "" {
			label += " (" + in.Label + ")"
		}
		b.s.Phases = append(b.s.Phases, PhaseSummary{Index: in.Index, Name: "rollback", Kind: "rollback", Batch: in.Batch,
			Label: label, Started: r.Time})
		i = len(b.s.Phases) - 1
		b.phases[key] = i
	}
	p := &b.s.Phases[i]
	b.addPhaseHosts(i, r.Hosts)
	if r.Type == journal.PhaseFinished {
		p.Finished, p.Ended = true, r.Time
		return
	}
	p.Finished = false
	for _, h := range r.Hosts {
		if _, already := b.inRollback[h]; !already {
			b.rollbackLeft[i]++
		}
		b.inRollback[h] = i
	}
}

// rollbackOver notes that host finished; the rollback it was in, if any, is
// over once all its hosts are.
func (b *builder) rollbackOver(host string, at time.Time) {
	i, ok := b.inRollback[host]
	if !ok {
		return
	}
	delete(b.inRollback, host)
	if b.rollbackLeft[i]--; b.rollbackLeft[i] == 0 {
		p := &b.s.Phases[i]
		p.Finished, p.Ended = true, at
	}
}

// stepPhase places a step record in its phase: a rollback step in its
// host's rollback (its batch is that of the phase it happened in), any
// other in the phase or batch of its record.
func (b *builder) stepPhase(r *journal.Record, st *StepSummary) {
	if r.PhaseIndex == 0 && r.Phase == "rollback" {
		if i, ok := b.inRollback[r.Host]; ok {
			st.Batch = b.s.Phases[i].Batch
			st.phase = i + 1
		}
		return
	}
	if i, ok := b.phases[phaseKey{r.PhaseIndex, r.Batch, r.Phase}]; ok {
		st.phase = i + 1
	}
}

// addPhaseHosts adds hosts to phase i's hosts, each once, in order. A large
// phase keeps a set of its hosts, rather than searching its list for each.
func (b *builder) addPhaseHosts(i int, hosts []string) {
	p := &b.s.Phases[i]
	set := b.phaseHosts[i]
	if set == nil && len(p.Hosts)+len(hosts) > 16 {
		set = make(map[string]bool, len(p.Hosts)+len(hosts))
		for _, h := range p.Hosts {
			set[h] = true
		}
		if b.phaseHosts == nil {
			b.phaseHosts = map[int]map[string]bool{}
		}
		b.phaseHosts[i] = set
	}
	for _, h := range hosts {
		if set != nil {
			if set[h] {
				continue
			}
			set[h] = true
		} else if contains(p.Hosts, h) {
			continue
		}
		p.Hosts = append(p.Hosts, h)
	}
}

func (b *builder) stepStarted(r *journal.Record) {
	h := b.host(r.Host)
	if i, ok := h.open[r.StepID]; ok {
		if r.Attempt > 1 && !h.pending[r.StepID] {
			// The next attempt of a step being retried.
			h.pending[r.StepID] = true
			return
		}
		// Started again from its first attempt: the earlier execution was cut
		// off (a crash, then resume) and stays open.
		h.sum.Steps[i].Status = StatusOpen
		delete(h.open, r.StepID)
	}
	b.closeFinishedAttempts(h)
	st := StepSummary{
		Seq: r.Seq, Host: r.Host, StepID: r.StepID, Step: r.Step, Index: r.Index, Kind: r.Kind,
		Phase: r.Phase, PhaseIndex: r.PhaseIndex, Batch: r.Batch, Command: r.Command, DelegateTo: r.DelegateTo,
		Status: StatusOpen, Started: r.Time, DryRun: r.DryRun,
	}
	b.stepPhase(r, &st)
	b.appendStep(h, st)
	h.open[r.StepID] = len(h.sum.Steps) - 1
	h.pending[r.StepID] = true
}

// appendStep adds a step execution to h.
func (b *builder) appendStep(h *hostState, st StepSummary) {
	if h.sum.Steps == nil {
		h.sum.Steps = make([]StepSummary, 0, max(b.maxSteps, 1))
	}
	h.sum.Steps = append(h.sum.Steps, st)
	b.maxSteps = max(b.maxSteps, len(h.sum.Steps))
}

// closeFinishedAttempts settles the steps of h whose last attempt finished
// without being marked final, now that the host has moved on (a later step
// started, or the host finished): no further attempt will come, so the last
// one is the result.
func (b *builder) closeFinishedAttempts(h *hostState) {
	for id, i := range h.open {
		if h.pending[id] {
			continue
		}
		st := &h.sum.Steps[i]
		if n := len(st.Attempts); n > 0 {
			st.Status = st.Attempts[n-1].Status
			st.Ended = st.Attempts[n-1].Ended
		}
		delete(h.open, id)
	}
}

func (b *builder) stepFinished(r *journal.Record) {
	h := b.host(r.Host)
	i, ok := h.open[r.StepID]
	if !ok {
		// A step finished without a start of its own (skipped by `when`).
		b.closeFinishedAttempts(h)
		st := StepSummary{
			Seq: r.Seq, Host: r.Host, StepID: r.StepID, Step: r.Step, Index: r.Index, Kind: r.Kind,
			Phase: r.Phase, PhaseIndex: r.PhaseIndex, Batch: r.Batch, Command: r.Command, DelegateTo: r.DelegateTo,
			Status: StatusOpen, Started: r.Time.Add(-time.Duration(r.DurationMS) * time.Millisecond),
		}
		b.stepPhase(r, &st)
		b.appendStep(h, st)
		i = len(h.sum.Steps) - 1
	}
	st := &h.sum.Steps[i]
	st.RC, st.Stdout, st.Stderr, st.StdoutCut, st.StderrCut = r.RC, r.Stdout, r.Stderr, r.StdoutCut, r.StderrCut
	st.Error, st.Data = r.Error, r.Data
	st.DryRun, st.Reason, st.Diff = r.DryRun, r.Reason, r.Diff
	if r.Command != "" {
		st.Command = r.Command
	}
	st.Attempts = append(st.Attempts, Attempt{Attempt: r.Attempt, Status: r.Status, RC: r.RC, Error: r.Error,
		DurationMS: r.DurationMS, Ended: r.Time})
	delete(h.pending, r.StepID)
	if r.Final {
		st.Status, st.Ended = r.Status, r.Time
		delete(h.open, r.StepID)
		return
	}
	h.open[r.StepID] = i
}

func (b *builder) finish() {
	s := b.s
	if !s.Finished {
		s.Status = StatusIncomplete
		s.Ended = b.last
	}
	if s.Started.IsZero() {
		s.Started = firstTime(b)
	}
	s.Duration = nonNegative(s.Ended.Sub(s.Started))
	s.DurationMS = s.Duration.Milliseconds()
	for i := range s.Phases {
		p := &s.Phases[i]
		end := p.Ended
		if !p.Finished {
			end = s.Ended
		}
		p.Duration = nonNegative(end.Sub(p.Started))
		p.DurationMS = p.Duration.Milliseconds()
	}

	b.takeHooks()
	hosts := make([]*hostState, 0, len(b.hosts))
	for _, h := range b.hosts {
		hosts = append(hosts, h)
	}
	slices.SortStableFunc(hosts, func(a, c *hostState) int {
		if a.sum.Canary != c.sum.Canary {
			if a.sum.Canary {
				return -1
			}
			return 1
		}
		if ga, gc := groupRank(a), groupRank(c); ga != gc {
			return cmp.Compare(ga, gc)
		}
		return cmp.Compare(a.order, c.order)
	})
	for _, k := range journal.Outcomes {
		s.Counts[k] = 0
	}
	s.Hosts = make([]HostSummary, 0, len(hosts))
	for _, h := range hosts {
		b.finishHost(h)
		s.Hosts = append(s.Hosts, h.sum)
	}
	for _, h := range s.Hosts {
		for _, st := range h.Steps {
			collectData(s, st)
		}
	}
	nonNil(s)
}

func groupRank(h *hostState) int {
	if h.groupOrder > 0 {
		return h.groupOrder
	}
	if h.sum.Outcome == journal.OutcomeSkipped {
		return 1 << 30
	}
	return 1<<30 + 1
}

func (b *builder) finishHost(h *hostState) {
	s, sum := b.s, &h.sum
	for _, i := range h.open {
		// Still open at the end of the journal; a run that finished has no
		// further attempt to come for a step whose last attempt finished.
		st := &sum.Steps[i]
		if s.Finished && !h.pending[st.StepID] && len(st.Attempts) > 0 {
			a := st.Attempts[len(st.Attempts)-1]
			st.Status, st.Ended = a.Status, a.Ended
		}
	}
	if sum.Outcome == "" && s.Finished && sum.Group == "" {
		// Never scheduled into a canary or batch before the run ended.
		sum.Outcome = journal.OutcomeNotStarted
	}
	if sum.Group == "" {
		switch sum.Outcome {
		case journal.OutcomeSkipped:
			sum.Group = "Skipped"
		case "":
			sum.Group = groupNotReached
		default:
			sum.Group = "Not started"
		}
	}
	for i := range sum.Steps {
		finishStep(&sum.Steps[i])
	}
	if n := len(sum.Steps); n > 0 {
		sum.Started = sum.Steps[0].Started
		sum.Ended = sum.Steps[n-1].Ended
		for _, st := range sum.Steps {
			if st.Ended.After(sum.Ended) {
				sum.Ended = st.Ended
			}
		}
	}
	if !h.finishedAt.IsZero() {
		sum.Ended = h.finishedAt
	}
	if sum.Phase == "" && len(sum.Steps) > 0 {
		sum.Phase = sum.Steps[len(sum.Steps)-1].Phase
	}
	// A host's duration is its own work: the time its steps took, not the
	// time it waited for other hosts, soaks and approvals.
	sum.Duration = 0
	for i := range sum.Steps {
		sum.Duration += sum.Steps[i].Duration
	}
	sum.DurationMS = sum.Duration.Milliseconds()
	if sum.Outcome == "" {
		s.Unfinished++
	} else {
		s.Counts[sum.Outcome]++
	}
}

func finishStep(st *StepSummary) {
	switch {
	case st.Open():
		st.Duration = 0
		if n := len(st.Attempts); n > 0 {
			st.Duration = nonNegative(st.Attempts[n-1].Ended.Sub(st.Started))
		}
	case len(st.Attempts) == 1 && st.Attempts[0].DurationMS > 0:
		st.Duration = time.Duration(st.Attempts[0].DurationMS) * time.Millisecond
	default:
		st.Duration = nonNegative(st.Ended.Sub(st.Started))
	}
	if !st.Open() && st.Duration > st.Ended.Sub(st.Started) {
		// Journaled once the work was over (a failed connect): it began
		// before its step_started.
		st.Started = st.Ended.Add(-st.Duration)
	}
	st.DurationMS = st.Duration.Milliseconds()
}
