package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/runbookhq/runbook/runbook/journal"
)

// finals returns the final step_finished records of host by step id.
func finals(recs []journal.Record, host string) map[string]journal.Record {
	out := map[string]journal.Record{}
	for _, r := range recs {
		if r.Type == journal.StepFinished && r.Final && r.Host == host {
			out[r.StepID] = r
		}
	}
	return out
}

func recordsOf(recs []journal.Record, typ string) []journal.Record {
	var out []journal.Record
	for _, r := range recs {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// A dry run walks every phase but changes nothing: the check phase runs
// (it is read-only) and decides which hosts would be skipped; the shell
// steps that would change hosts are skipped, saying they cannot predict;
// no lock is taken, no approval asked, no soak waited.
func TestDryRunWithholdsEveryChange(t *testing.T) {
	src := strings.Replace(upgradeRunbook(""), "    verify:\n      - shell: healthy\n  - name: Roll out",
		"    verify:\n      - shell: healthy\n    soak: 1h\n    approve: Go on?\n  - name: Roll out", 1)
	f := newFakeFleet(func(host, cmd string) (string, int, error) {
		if cmd == "version" && host == "worker-2" {
			return "new", 0, nil
		}
		return "", 0, nil
	})
	ap := &approver{answer: false}
	r := runFake(t, src, f, func(o *Options) { o.DryRun, o.Approver = true, ap })
	if r.err != nil || !r.res.DryRun {
		t.Fatalf("dry run: %v (dry run %v)", r.err, r.res.DryRun)
	}
	if start := r.records[0]; start.Type != journal.RunStarted || !start.DryRun {
		t.Errorf("run_started does not say dry run: %+v", start)
	}
	for _, host := range []string{"worker-1", "worker-3", "worker-6"} {
		if got := f.ran(host); !slices.Equal(got, []string{"version"}) {
			t.Errorf("%s ran %q; a dry run runs only the check phase's steps", host, got)
		}
	}
	if len(f.locks) != 0 || f.readOnlyHellos != 6 || len(recordsOf(r.records, journal.LockAcquired)) != 0 {
		t.Errorf("locks %v, %d read-only hellos, want none and 6", f.locks, f.readOnlyHellos)
	}
	if len(ap.asked) != 0 {
		t.Errorf("a dry run asked for approval: %q", ap.asked)
	}
	approvals := recordsOf(r.records, journal.Approval)
	if len(approvals) != 1 || approvals[0].Decision != "skipped" || !approvals[0].DryRun {
		t.Errorf("approvals %+v, want one skipped", approvals)
	}
	if len(recordsOf(r.records, journal.WaitStarted)) != 0 {
		t.Error("a dry run waited its soak")
	}
	want := map[string]string{"worker-1": "upgraded", "worker-2": "skipped", "worker-3": "upgraded", "worker-6": "upgraded"}
	for h, o := range want {
		if got := r.outcomes()[h]; got != o {
			t.Errorf("%s: outcome %q, want %q", h, got, o)
		}
	}
	up := finals(r.records, "worker-3")["3.steps.0"]
	if up.Status != journal.StatusSkipped || !up.DryRun || !strings.Contains(up.Reason, "dry run: shell cannot predict its effect") {
		t.Errorf("the upgrade step: %s dry_run=%v reason %q", up.Status, up.DryRun, up.Reason)
	}
	if check := finals(r.records, "worker-3")["1.steps.0"]; check.Status != journal.StatusChanged || check.DryRun {
		t.Errorf("the check step ran: %s dry_run=%v, want changed (a shell step) as a real step", check.Status, check.DryRun)
	}
}

// A dry run predicts the kinds that can: a file that would change is
// "changed" with a diff, one already right is ok, and neither is touched;
// a no_log step's diff says only that the file differs; a secret in a
// diff is redacted.
func TestDryRunPredictsWithDiffs(t *testing.T) {
	dir := t.TempDir()
	for _, h := range []string{"worker-1", "worker-2"} {
		content := "port = 1\ntoken = s3cr3t\n"
		if h == "worker-2" {
			content = "port = 2\n"
		}
		if err := os.WriteFile(filepath.Join(dir, h+".conf"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src := `runbook: files
targets: worker-1:worker-2
params:
  token: {secret: true, default: s3cr3t}
phases:
  - name: Write
    kind: batch
    steps:
      - name: config
        local: true
        copy: {dest: "` + dir + `/{{ host.name }}.conf", content: "port = 2\n"}
      - name: hidden
        local: true
        no_log: true
        copy: {dest: "` + dir + `/{{ host.name }}.hidden", content: "x\n"}
`
	r := runFake(t, src, newFakeFleet(okReply), func(o *Options) { o.DryRun, o.Diff = true, true })
	if r.err != nil {
		t.Fatal(r.err)
	}
	one, two := finals(r.records, "worker-1"), finals(r.records, "worker-2")
	c := one["1.steps.0"]
	if c.Status != journal.StatusChanged || !c.DryRun {
		t.Errorf("worker-1 config: %s dry_run=%v, want a predicted change", c.Status, c.DryRun)
	}
	if !strings.Contains(c.Diff, "-port = 1\n") || !strings.Contains(c.Diff, "-token = ********\n") || strings.Contains(c.Diff, "s3cr3t") {
		t.Errorf("worker-1 diff:\n%s", c.Diff)
	}
	if c := two["1.steps.0"]; c.Status != journal.StatusOK || c.Diff != "" {
		t.Errorf("worker-2 config (already right): %s, diff %q", c.Status, c.Diff)
	}
	h := one["1.steps.1"]
	if h.Status != journal.StatusChanged || !strings.Contains(h.Diff, "worker-1.hidden differs") || strings.Contains(h.Diff, "+x") {
		t.Errorf("no_log step: %s, diff %q", h.Status, h.Diff)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "worker-1.conf"))
	if string(got) != "port = 1\ntoken = s3cr3t\n" {
		t.Errorf("the dry run changed worker-1.conf: %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "worker-1.hidden")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the dry run created worker-1.hidden: %v", err)
	}
}

// What a step a dry run skips would register is unknown: what reads it is
// skipped with that reason (a when:, a template, an assert, a set: and
// what reads that, a loop, a block), while what does not read it goes on,
// and a name registered again by a step that ran is known again.
func TestDryRunUnknownValues(t *testing.T) {
	src := `runbook: unknowns
targets: worker-1
phases:
  - name: Change
    kind: batch
    steps:
      - {name: read, shell: cat /etc/x, register: v}
      - {name: by when, log: hello, when: 'v.rc == 0'}
      - {name: by template, log: "{{ v.stdout }}"}
      - {name: by assert, assert: {that: ['v.stdout != ""']}}
      - {name: by set, set: {y: 'v.stdout'}}
      - {name: by chain, log: hi, when: 'y == ""'}
      - {name: by loop, log: "{{ item }}", loop: 'split(v.stdout, ",")'}
      - name: by block
        when: 'v.rc == 0'
        block:
          - {log: inside, register: w}
      - {name: by register, log: "{{ w.stdout }}"}
      - {name: unrelated, log: "{{ host.name }}"}
      - {name: known again, set: {v: '"fresh"'}}
      - {name: reads it, log: "{{ v }}"}
      - {name: by until, log: x, until: 'w.rc == 0', retries: 1}
      - {name: own result, log: y, register: w, until: 'w.failed == false'}
`
	r := runFake(t, src, newFakeFleet(okReply), func(o *Options) { o.DryRun = true })
	if r.err != nil {
		for _, rec := range recordsOf(r.records, journal.StepFinished) {
			t.Logf("%s %s %s %q %q", rec.StepID, rec.Step, rec.Status, rec.Reason, rec.Error)
		}
		t.Fatal(r.err)
	}
	got := finals(r.records, "worker-1")
	for _, tc := range []struct {
		id, status, reason string
	}{
		{"1.steps.0", "skipped", "shell cannot predict"},
		{"1.steps.1", "skipped", "unknown value: when reads v"},
		{"1.steps.2", "skipped", "unknown value: {{ v.stdout }} reads v"},
		{"1.steps.3", "skipped", "reads v"},
		{"1.steps.4", "skipped", "reads v"},
		{"1.steps.5", "skipped", `when reads y, set by step "by set"`},
		{"1.steps.6", "skipped", "unknown value: loop reads v"},
		{"1.steps.7", "skipped", "unknown value: when reads v"},
		{"1.steps.8", "skipped", "reads w"},
		{"1.steps.9", "ok", ""},
		{"1.steps.10", "ok", ""},
		{"1.steps.11", "ok", ""},
		{"1.steps.12", "skipped", "unknown value: until reads w"},
		{"1.steps.13", "ok", ""},
	} {
		rec, ok := got[tc.id]
		if !ok || rec.Status != tc.status || !strings.Contains(rec.Reason, tc.reason) || (tc.reason == "") != (rec.Reason == "") {
			t.Errorf("%s (%s): %s %q, want %s %q", tc.id, rec.Step, rec.Status, rec.Reason, tc.status, tc.reason)
		}
	}
	if r.outcomes()["worker-1"] != journal.OutcomeUpgraded {
		t.Errorf("outcome %v", r.outcomes())
	}
}

// A host a dry run predicts would fail is failed and not rolled back (it
// changed nothing), and the run halts where a real one would.
func TestDryRunPredictedFailureRollsNothingBack(t *testing.T) {
	src := strings.Replace(upgradeRunbook(""), "    steps:\n      - shell: upgrade\n    verify:\n      - shell: healthy\n  - name: Roll out",
		"    steps:\n      - assert: {that: ['host.name != \"worker-1\"']}\n  - name: Roll out", 1)
	f := newFakeFleet(okReply)
	r := runFake(t, src, f, func(o *Options) { o.DryRun = true })
	wantRunError(t, r.err, journal.RunStatusHalted)
	if got := r.outcomes()["worker-1"]; got != journal.OutcomeFailed {
		t.Errorf("worker-1: %s, want failed", got)
	}
	if n := f.count("undo"); n != 0 || len(recordsOf(r.records, journal.PhaseStarted)) != 2 {
		t.Errorf("undo ran %d times; phases started %d, want the check and the canary only", n, len(recordsOf(r.records, journal.PhaseStarted)))
	}
}

// A dry run resumes as a dry run, and a real run cannot go on as one.
func TestDryRunResumesAsADryRun(t *testing.T) {
	f := newFakeFleet(okReply)
	records := stopAndResumeDryRun(t, upgradeRunbook(""), f, func(r journal.Record) bool {
		return r.Type == journal.PhaseStarted && r.PhaseKind == "canary"
	})
	resumed := recordsOf(records, journal.RunResumed)
	if len(resumed) != 1 || !resumed[0].DryRun || len(f.locks) != 0 || f.count("upgrade") != 0 {
		t.Errorf("resumed %+v, locks %v, upgrade ran %d times", resumed, f.locks, f.count("upgrade"))
	}

	real := runFake(t, upgradeRunbook(""), newFakeFleet(okReply), nil)
	_, err := Resume(context.Background(), ResumeOptions{Options: Options{StateDir: filepath.Dir(filepath.Dir(real.res.RunDir)),
		Connector: f, DryRun: true}, RunID: real.res.RunID})
	var pe *ParamError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "cannot go on as a dry run") {
		t.Errorf("resuming a real run as a dry run: %v", err)
	}
}

// A dry run holds no lock, yet a finished host's connection is closed at
// once, as in a run: a large fleet's dry run holds only the connections
// of the hosts at work.
func TestDryRunClosesFinishedHostsConnections(t *testing.T) {
	cc := &closeCounter{fakeFleet: newFakeFleet(okReply), closed: map[string]int{}}
	var atEnd map[string]int
	r := runFake(t, upgradeRunbook(""), nil, func(o *Options) {
		o.Connector, o.DryRun = cc, true
		o.Observer = func(rec journal.Record) {
			if rec.Type == journal.RunFinished {
				atEnd = cc.closes()
			}
		}
	})
	if r.err != nil {
		t.Fatal(r.err)
	}
	for _, h := range []string{"worker-1", "worker-2", "worker-3", "worker-4", "worker-5", "worker-6"} {
		if atEnd[h] != 1 {
			t.Errorf("%s: %d transports closed by the end of the dry run, want 1", h, atEnd[h])
		}
	}
}

// A prediction reads the host as it is: once a step before it would
// change the host, a predicted failure of a kind that reads the host is
// uncertain (the change could be what it needs), and is skipped saying
// what it predicted, its register unknown; before any change (a skipped
// snapshot changes nothing), or for a kind that reads only names, a
// predicted failure is a failure. A resumed dry run still knows which
// changes it withheld.
func TestDryRunDoubtsFailuresAfterAWithheldChange(t *testing.T) {
	dir := t.TempDir()
	for h, content := range map[string]string{"worker-1": "old\n", "worker-2": "new\n", "worker-3": "old\n"} {
		if err := os.WriteFile(filepath.Join(dir, h+".conf"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "broken.toml"), []byte("[crio\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := `runbook: doubts
targets: worker-1:worker-2:worker-3
concurrency: 3
failure_budget: 2
phases:
  - name: Change
    kind: batch
    serial: [3]
    steps:
      - {name: config, local: true, copy: {dest: "` + dir + `/{{ host.name }}.conf", content: "new\n"}}
      - {name: not worker-3, assert: {that: ['host.name != "worker-3"']}}
      - {name: record, snapshot: {name: before, shell: cat /etc/x}}
      - {name: pin, local: true, toml: {path: "` + dir + `/broken.toml", set: {crio.x: "1"}}, register: pinned}
      - {name: reads it, log: "{{ pinned.changed }}"}
`
	check := func(t *testing.T, recs []journal.Record) {
		t.Helper()
		one := finals(recs, "worker-1")
		if pin := one["1.steps.3"]; pin.Status != journal.StatusSkipped || pin.Error != "" ||
			!strings.Contains(pin.Reason, "cannot predict: would fail") || !strings.Contains(pin.Reason, "broken.toml") ||
			!strings.Contains(pin.Reason, `step "config" before it would change the host first`) {
			t.Errorf("worker-1 pin: %s %q %q", pin.Status, pin.Reason, pin.Error)
		}
		if after := one["1.steps.4"]; after.Status != journal.StatusSkipped || !strings.Contains(after.Reason, "reads pinned") {
			t.Errorf("worker-1 after pin: %s %q", after.Status, after.Reason)
		}
	}
	t.Run("one run", func(t *testing.T) {
		r := runFake(t, src, newFakeFleet(okReply), func(o *Options) { o.DryRun = true })
		check(t, r.records)
		if pin := finals(r.records, "worker-2")["1.steps.3"]; pin.Status != journal.StatusFailed || !strings.Contains(pin.Error, "broken.toml") {
			t.Errorf("worker-2 pin, nothing withheld before it: %s %q", pin.Status, pin.Error)
		}
		if a := finals(r.records, "worker-3")["1.steps.1"]; a.Status != journal.StatusFailed {
			t.Errorf("worker-3's assert, which reads only names: %s %q", a.Status, a.Reason)
		}
		want := map[string]string{"worker-1": journal.OutcomeUpgraded, "worker-2": journal.OutcomeFailed, "worker-3": journal.OutcomeFailed}
		for h, o := range want {
			if got := r.outcomes()[h]; got != o {
				t.Errorf("%s: %s, want %s", h, got, o)
			}
		}
	})
	// Stopped once the change it withheld was predicted, or once the
	// step it skipped was.
	for _, stopAt := range []string{"1.steps.0", "1.steps.3"} {
		t.Run("resumed after "+stopAt, func(t *testing.T) {
			check(t, resumedDryRun(t, strings.Replace(src, "worker-1:worker-2:worker-3", "worker-1", 1), stopAt))
		})
	}
}

// resumedDryRun stops a dry run of src when step stopAt starts (it
// finishes, the next does not start), resumes it to its end and returns
// its journal.
func resumedDryRun(t *testing.T, src, stopAt string) []journal.Record {
	t.Helper()
	return stopAndResumeDryRun(t, src, newFakeFleet(okReply), func(r journal.Record) bool {
		return r.Type == journal.StepStarted && r.StepID == stopAt
	})
}

// stopAndResumeDryRun runs a dry run of src on f, stops it at the first
// record stop holds true of, resumes it (as itself: no DryRun asked) to
// its end on f, and returns the run's whole journal.
func stopAndResumeDryRun(t *testing.T, src string, f *fakeFleet, stop func(journal.Record) bool) []journal.Record {
	t.Helper()
	state := t.TempDir()
	var e *Engine
	opts := Options{Runbook: loadRunbook(t, src), Inventory: loadInventory(t, fleetInventory), StateDir: state,
		Connector: f, Operator: "tester", DryRun: true, Observer: func(r journal.Record) {
			if stop(r) {
				e.Stop()
			}
		}}
	var err error
	if e, err = New(opts); err != nil {
		t.Fatal(err)
	}
	res, err := e.Start(context.Background())
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("stopped dry run: %v", err)
	}
	r2, err := Resume(context.Background(), ResumeOptions{Options: Options{StateDir: state, Connector: f, Operator: "tester"}, RunID: res.RunID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r2.Continue(context.Background()); err != nil {
		t.Fatal(err)
	}
	log, err := journal.ReadFile(res.Journal)
	if err != nil {
		t.Fatal(err)
	}
	if len(recordsOf(log.Records, journal.RunResumed)) != 1 {
		t.Fatal("the dry run was not resumed")
	}
	return log.Records
}

// TestDryRunDoubtedUntilNamesIt: an until: still false after a withheld
// change is doubted like a failure, and the reason names the until:.
func TestDryRunDoubtedUntilNamesIt(t *testing.T) {
	dir := t.TempDir()
	src := `runbook: until
targets: worker-1
phases:
  - name: Change
    kind: batch
    steps:
      - {name: config, local: true, copy: {dest: "` + dir + `/{{ host.name }}.conf", content: "new\n"}}
      - {name: ready, local: true, stat: {path: "` + dir + `/{{ host.name }}.conf"}, register: st, until: st.data.exists, retries: 3, delay: 1s}
`
	r := runFake(t, src, newFakeFleet(okReply), func(o *Options) { o.DryRun = true })
	ready := finals(r.records, "worker-1")["1.steps.1"]
	if ready.Status != journal.StatusSkipped || !strings.Contains(ready.Reason, `until "st.data.exists" would be false`) ||
		!strings.Contains(ready.Reason, `step "config" before it would change the host first`) {
		t.Errorf("ready: %s %q", ready.Status, ready.Reason)
	}
}
