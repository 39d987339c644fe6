package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/runbookhq/runbook/runbook/journal"
)

// TestLabSafeUpgrade runs examples/crio-upgrade.yaml as the README's first
// command does: the control plane, then the workers, end on CRI-O 1.30, and
// no pod that the drain did not evict was recreated (crio's own journal on
// each node shows that its wipe took daemonset and static pods only). A
// second run skips every host.
func TestLabSafeUpgrade(t *testing.T) {
	t.Parallel()
	e := newLabEnv(t, repoFile("inventories/lab.yaml"))
	before := e.status()
	code, out, errOut := e.run("run", repoFile("examples/crio-upgrade.yaml"), "-i", e.inv, "--yes")
	if code != 0 || !strings.Contains(out, "SUCCEEDED") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	after := e.status()
	checkUpgraded(t, after, kubeNodes(), "1.30.4-1.1", "1.30.4")
	// The reports written at the end of the run (from the records it
	// showed) are those `show` makes from the journal on disk.
	id := e.runIDs()[0]
	for file, format := range map[string]string{"report.html": "html", "junit.xml": "junit"} {
		written, err := os.ReadFile(filepath.Join(journal.RunDir(e.state, id), file))
		if err != nil {
			t.Fatal(err)
		}
		if code, shown, errOut := e.run("show", id, "--format", format); code != 0 || shown != string(written) {
			t.Errorf("%s differs from `show --format %s` (exit %d, %s): %d and %d bytes", file, format, code, errOut, len(written), len(shown))
		}
	}
	// The control plane went first, one node at a time, its canary alone.
	if got := phaseHosts(e.records()); !slices.Equal(got, []string{
		"Control plane canary: cp-1", "Control plane: cp-2", "Control plane: cp-3",
		"Workers canary: worker-1", "Workers: worker-2", "Workers: worker-3 worker-4", "Workers: worker-5"}) {
		t.Errorf("phases and batches:\n%s", strings.Join(got, "\n"))
	}

	ds, static := e.daemonSetPods(), e.staticPods()
	// Every node was drained, so every workload pod there was before the
	// run was evicted (none merely vanished), and every workload pod after
	// it runs in the sandbox it started in, never restarted: none was
	// recreated in place by crio's wipe.
	evicted := evictedPods(e.records())
	for name, n := range before {
		for _, p := range workloadPods(n, ds, static) {
			if !evicted[p.Namespace+"/"+p.Name] {
				t.Errorf("%s: pod %s/%s was not evicted by a drain", name, p.Namespace, p.Name)
			}
		}
	}
	running := 0
	for name, n := range after {
		for _, p := range workloadPods(n, ds, static) {
			running++
			if p.Restarts != 0 || !p.Ready {
				t.Errorf("%s: pod %s/%s has %d restarts, ready %v: it was recreated in place", name, p.Namespace, p.Name, p.Restarts, p.Ready)
			}
		}
	}
	if running == 0 || len(evicted) == 0 {
		t.Errorf("%d workload pods run after the run and %d were evicted: the checks above checked nothing", running, len(evicted))
	}
	// The upgrade did wipe each node's sandboxes (the minor changed), and
	// only daemonset and static pods were still there to be wiped.
	for _, w := range kubeNodes() {
		wiped := e.wipedPods(w)
		if len(wiped) == 0 {
			t.Errorf("%s: crio never wiped its sandboxes: the lab did not reproduce the minor-version wipe", w)
		}
		for _, p := range wiped {
			if !ds[p] && !static[p] {
				t.Errorf("%s: crio wiped the sandbox of %s, which is neither a daemonset nor a static pod (wiped: %v)", w, p, wiped)
			}
		}
	}

	// Again, without --yes: every host is skipped, nothing is asked.
	code, out, errOut = e.run("run", repoFile("examples/crio-upgrade.yaml"), "-i", e.inv)
	if code != 0 {
		t.Fatalf("second run: exit %d\n%s\n%s", code, out, errOut)
	}
	outcomes, status := e.outcomes()
	for _, w := range kubeNodes() {
		if outcomes[w] != journal.OutcomeSkipped {
			t.Errorf("second run: %s is %s, want skipped", w, outcomes[w])
		}
	}
	for _, r := range e.records() {
		if r.Type == journal.Approval || r.Type == journal.StepStarted && r.Phase != "Back up CRI-O config" && r.Phase != "Check versions" && r.Phase != "Fleet check" {
			t.Errorf("second run did more than check: %s %s %s", r.Type, r.Phase, r.Step)
		}
	}
	if status != journal.RunStatusSucceeded || len(e.runIDs()) != 2 {
		t.Errorf("second run: status %s, %d runs", status, len(e.runIDs()))
	}
	// It changed nothing: no backup written again, every host listed as
	// skipped with the reason.
	for _, r := range e.records() {
		if r.Type == journal.StepFinished && r.Status == journal.StatusChanged {
			t.Errorf("second run: %s %s %s changed", r.Host, r.Phase, r.Step)
		}
	}
	for _, w := range workers() {
		if !regexp.MustCompile(`(?m)^` + w + ` +skipped +Check versions +Check versions: skip_host_when regexFind`).MatchString(out) {
			t.Errorf("second run: %s is not listed as skipped with its reason:\n%s", w, out)
		}
	}
	if again := e.status(); again["worker-1"].BootID != after["worker-1"].BootID || again["worker-1"].Pods[0].SandboxID != after["worker-1"].Pods[0].SandboxID {
		t.Error("the second run changed worker-1")
	}
}

// TestLabNaiveUpgradeCaught: the in-place upgrade without drain recreates
// the canary's pods; the verify names them, the canary is rolled back, the
// run halts before any other worker, exit 1.
func TestLabNaiveUpgradeCaught(t *testing.T) {
	t.Parallel()
	e := newLabEnv(t, repoFile("inventories/lab.yaml"))
	before := e.status()
	ds := e.daemonSetPods()
	var names []string
	for _, p := range workloadPods(before["worker-1"], ds) {
		names = append(names, p.Namespace+"/"+p.Name)
	}
	slices.Sort(names)
	if len(names) == 0 {
		t.Fatal("worker-1 runs no workload pod: nothing for the naive upgrade to recreate")
	}
	code, out, errOut := e.run("run", repoFile("examples/crio-upgrade-naive.yaml"), "-i", e.inv, "--yes")
	if code != exitFailed || !strings.Contains(out, "HALTED") {
		t.Fatalf("exit %d, want %d (halted)\n%s\n%s", code, exitFailed, out, errOut)
	}
	outcomes, status := e.outcomes()
	if status != journal.RunStatusHalted || outcomes["worker-1"] != journal.OutcomeRolledBack {
		t.Errorf("status %s, outcomes %v", status, outcomes)
	}
	for _, w := range workers()[1:] {
		if outcomes[w] != journal.OutcomeNotStarted {
			t.Errorf("%s is %s, want not_started", w, outcomes[w])
		}
	}
	// The failed compare names every recreated pod; the terminal shows the
	// first of them.
	var caught string
	for _, r := range e.records() {
		if r.Type == journal.StepFinished && r.Host == "worker-1" && r.Status == journal.StatusFailed {
			caught = r.Error
		}
	}
	if !strings.Contains(caught, "compare sandboxes: the output changed: ") {
		t.Fatalf("worker-1's failure is not the sandbox compare: %q", caught)
	}
	for _, n := range names {
		if !strings.Contains(caught, n) {
			t.Errorf("the failure does not name the recreated pod %s:\n%s", n, caught)
		}
	}
	if !strings.Contains(out, "the output changed: "+names[0]) {
		t.Errorf("the run's output does not name %s:\n%s", names[0], out)
	}
	// The lab did recreate them: crio wiped their sandboxes.
	wiped := e.wipedPods("worker-1")
	for _, n := range names {
		if !slices.Contains(wiped, n) {
			t.Errorf("crio on worker-1 did not wipe %s (wiped %v)", n, wiped)
		}
	}
	after := e.status()
	checkUpgraded(t, after, []string{"worker-1"}, "1.29.9-1.1", "1.29.9")
	for _, w := range workers()[1:] {
		if a, b := after[w], before[w]; a.CrioVersion != "1.29.9-1.1" || len(a.Pods) != len(b.Pods) || a.Pods[0].SandboxID != b.Pods[0].SandboxID {
			t.Errorf("%s was touched: cri-o %s, %d pods (was %d)", w, a.CrioVersion, len(a.Pods), len(b.Pods))
		}
	}
	checkResumeSummary(t, e, out)
}

// checkResumeSummary resumes the halted run of e by "last" and checks that
// its summary is the whole run's, as the run's own and `show` printed it,
// with the commands that can make progress, complete.
func checkResumeSummary(t *testing.T, e *labEnv, runOut string) {
	t.Helper()
	id := e.runIDs()[0]
	code, out, errOut := e.run("resume", "last", "--yes")
	if code != exitFailed {
		t.Fatalf("resume: exit %d\n%s\n%s", code, out, errOut)
	}
	dir := journal.RunDir(e.state, id)
	for _, want := range []string{
		"resumed run " + id + " by ",
		"Run " + id + " HALTED: canary Canary failed on [worker-1]",
		"Hosts 5: 1 rolled_back, 4 not_started",
		"Journal  " + filepath.Join(dir, journal.JournalFile),
		"Reports  " + filepath.Join(dir, "report.html"),
		"runbook --state-dir " + e.state + " show " + id + ", or report.html",
		"runbook --state-dir " + e.state + " resume " + id + " --retry-failed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("resume's summary lacks %q:\n%s", want, out)
		}
	}
	for _, bad := range []string{"unfinished", "Continue the run", "resume " + id + "\n", "Hosts 0"} {
		if strings.Contains(out, bad) {
			t.Errorf("resume's summary says %q:\n%s", bad, out)
		}
	}
	summary := func(s string) string {
		_, after, _ := strings.Cut(s, "\nHOST ")
		before, _, _ := strings.Cut(after, "\nWhat to do next")
		return before
	}
	if summary(out) == "" || summary(out) != summary(runOut) {
		t.Errorf("resume's summary differs from the run's:\n%s\nrun's:\n%s", summary(out), summary(runOut))
	}
	code, shown, errOut := e.run("show", id[:len(id)-2])
	if code != 0 || summary(shown) != summary(out) {
		t.Errorf("show by a prefix of the id (exit %d, %s) differs from resume's summary:\n%s", code, errOut, summary(shown))
	}
	code, shown, errOut = e.run("show", "last", "--host", "worker-1")
	if code != 0 || !strings.Contains(shown, "verify/2 no pod was recreated  failed  Canary  rc=0") || !strings.Contains(shown, "  error:\n    compare sandboxes: the output changed: ") ||
		!strings.Contains(shown, "\n    --- snapshot sandboxes\n    +++ now\n") {
		t.Errorf("show --host worker-1 (exit %d, %s):\n%s", code, errOut, shown)
	}
	if code, _, errOut := e.run("show", "last", "--host", "worker-9"); code != exitUsage || !strings.Contains(errOut, "its hosts: worker-1") {
		t.Errorf("show --host of an unknown host: exit %d, %s", code, errOut)
	}
}

// TestLabFaultyWorkerRolledBack: on lab-faulty.yaml crio fails to start on
// worker-3 after its upgrade. The example's failure budget (1) lets the
// rollout go on: worker-3 is rolled back to 1.29 with its configuration
// exactly as it was, the others are upgraded, the run ends failed (exit 1).
// With a budget of 0 the run halts after worker-3's batch instead.
func TestLabFaultyWorkerRolledBack(t *testing.T) {
	t.Parallel()
	e := newLabEnv(t, repoFile("inventories/lab-faulty.yaml"))
	e.status() // creates the nodes
	// An operator's own edit of the packaged file, which the 1.30 package
	// overwrites and the rollback must bring back.
	e.sh("worker-3", `printf '\n# site: log_level kept at info (ticket 4711)\n' >> /etc/crio/crio.conf.d/10-crio.conf`)
	const conf = "/etc/crio/crio.conf.d/"
	files := func() string {
		return e.sh("worker-3", "cat "+conf+"10-crio.conf /etc/apt/sources.list.d/cri-o.list; ls "+conf)
	}
	want := files()
	if !strings.Contains(want, "ticket 4711") || strings.Contains(want, "99-local.conf") {
		t.Fatalf("worker-3 before the run:\n%s", want)
	}

	code, out, errOut := e.run("run", repoFile("examples/crio-upgrade.yaml"), "-i", e.inv, "--yes")
	if code != exitFailed || !strings.Contains(out, "FAILED") {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitFailed, out, errOut)
	}
	outcomes, status := e.outcomes()
	wantOutcomes := map[string]string{"cp-1": "upgraded", "cp-2": "upgraded", "cp-3": "upgraded",
		"worker-1": "upgraded", "worker-2": "upgraded", "worker-3": "rolled_back", "worker-4": "upgraded", "worker-5": "upgraded"}
	if status != journal.RunStatusFailed || !mapsEqual(outcomes, wantOutcomes) {
		t.Errorf("status %s, outcomes %v, want failed and %v", status, outcomes, wantOutcomes)
	}
	st := e.status()
	checkUpgraded(t, st, []string{"worker-3"}, "1.29.9-1.1", "1.29.9")
	checkUpgraded(t, st, []string{"cp-1", "cp-2", "cp-3", "worker-1", "worker-2", "worker-4", "worker-5"}, "1.30.4-1.1", "1.30.4")
	if got := files(); got != want {
		t.Errorf("worker-3's configuration after the rollback:\n%s\nwant:\n%s", got, want)
	}
	if held := e.sh("worker-3", "apt-mark showhold"); held != "cri-o\n" && !strings.Contains(held, "cri-o\n") {
		t.Errorf("cri-o is not held after the rollback: %q", held)
	}
	// The summary says why, below the host table: the error's journal
	// lines hold the cause, then the failed step's stderr.
	_, failures, _ := strings.Cut(out, "\nFailures\n")
	if !regexp.MustCompile(`worker-3  rolled_back  "restart crio" \(handlers/1, Workers, batch 2\) failed, rc=1\n`).MatchString(failures) {
		t.Errorf("the run's failure view does not name worker-3's failed step:\n%s", out)
	}
	for _, want := range []string{
		"failed to initialize storage: mount overlay: invalid argument (lab fault crio_start_fails)",
		"  stderr (2 lines):\n    Job for crio.service failed because the control process exited with error code.\n",
	} {
		if !strings.Contains(failures, want) {
			t.Errorf("the run's failure view lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Continue the run") || !strings.Contains(out, "resume "+e.runIDs()[0]+" --retry-failed") {
		t.Errorf("what to do next after a failed run:\n%s", out)
	}

	// Budget 0: halted at the end of worker-3's batch; its batch-mate
	// finishes, the last batch never starts.
	e2 := newLabEnv(t, repoFile("inventories/lab-faulty.yaml"))
	rb := copyRunbook(t, "examples/crio-upgrade.yaml", "failure_budget: 1", "failure_budget: 0", "soak: 5s", "soak: 0s")
	code, out, errOut = e2.run("run", rb, "-i", e2.inv, "--yes")
	if code != exitFailed || !strings.Contains(out, "HALTED") {
		t.Fatalf("budget 0: exit %d\n%s\n%s", code, out, errOut)
	}
	outcomes, status = e2.outcomes()
	wantOutcomes = map[string]string{"cp-1": "upgraded", "cp-2": "upgraded", "cp-3": "upgraded",
		"worker-1": "upgraded", "worker-2": "upgraded", "worker-3": "rolled_back", "worker-4": "upgraded", "worker-5": "not_started"}
	if status != journal.RunStatusHalted || !mapsEqual(outcomes, wantOutcomes) {
		t.Errorf("budget 0: status %s, outcomes %v, want halted and %v", status, outcomes, wantOutcomes)
	}
	if v := e2.status()["worker-5"].CrioVersion; v != "1.29.9-1.1" {
		t.Errorf("budget 0: worker-5 was changed to %s", v)
	}
	// A plain resume would halt again on the exceeded budget: not offered.
	if strings.Contains(out, "Continue the run") || !strings.Contains(out, " --retry-failed") {
		t.Errorf("budget 0: what to do next:\n%s", out)
	}
}

// TestLabKernelUpdate runs examples/kernel-update.yaml: every worker
// reboots into the new kernel and is back in service; a second run skips
// them all.
func TestLabKernelUpdate(t *testing.T) {
	t.Parallel()
	e := newLabEnv(t, repoFile("inventories/lab.yaml"))
	before := e.status()
	code, out, errOut := e.run("run", repoFile("examples/kernel-update.yaml"), "-i", e.inv, "--yes")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	after := e.status()
	for _, w := range workers() {
		n := after[w]
		if before[w].Kernel != "5.15.0-119-generic" || n.Kernel != "5.15.0-122-generic" || n.BootID == before[w].BootID {
			t.Errorf("%s: kernel %s -> %s, boot %s -> %s", w, before[w].Kernel, n.Kernel, before[w].BootID, n.BootID)
		}
		if !n.Ready || n.Cordoned || n.Services["kubelet"] != "active" || n.Services["crio"] != "active" {
			t.Errorf("%s is not back in service: %+v", w, n)
		}
	}
	if after["cp-1"].BootID != before["cp-1"].BootID {
		t.Error("cp-1 was rebooted")
	}
	if code, out, _ := e.run("run", repoFile("examples/kernel-update.yaml"), "-i", e.inv); code != 0 || !strings.Contains(out, "5 skipped") {
		t.Errorf("second run: exit %d\n%s", code, out)
	}
}

// TestLabKernelRollback: a canary whose verify fails after the reboot has
// the new kernel removed and boots the old one again; the run halts.
func TestLabKernelRollback(t *testing.T) {
	t.Parallel()
	e := newLabEnv(t, repoFile("inventories/lab.yaml"))
	rb := copyRunbook(t, "examples/kernel-update.yaml", "failed_when: 'trim(running.stdout) != params.kernel_release'", "failed_when: 'true'")
	before := e.status()
	code, out, errOut := e.run("run", rb, "-i", e.inv, "--yes")
	if code != exitFailed || !strings.Contains(out, "HALTED") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	outcomes, _ := e.outcomes()
	if outcomes["worker-1"] != journal.OutcomeRolledBack || outcomes["worker-2"] != journal.OutcomeNotStarted {
		t.Errorf("outcomes %v", outcomes)
	}
	n := e.status()["worker-1"]
	if n.Kernel != "5.15.0-119-generic" || n.BootID == before["worker-1"].BootID || !n.Ready || n.Cordoned {
		t.Errorf("worker-1 after the rollback: kernel %s, ready %v, cordoned %v", n.Kernel, n.Ready, n.Cordoned)
	}
	if got := e.sh("worker-1", "dpkg-query -W -f='${Status}' linux-image-5.15.0-122-generic"); got != "deinstall ok config-files" {
		t.Errorf("the new kernel package after the rollback: %q", got)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// Without a terminal and without --yes the canary's approval cannot be
// asked: exit 3, and the commands that continue the run carry the state
// directory in force.
func TestLabApprovalWithoutTerminal(t *testing.T) {
	t.Parallel()
	e := newLabEnv(t, repoFile("inventories/lab.yaml"))
	rb := copyRunbook(t, "examples/crio-upgrade.yaml", "soak: 5s", "soak: 0s")
	code, out, errOut := e.run("run", rb, "-i", e.inv)
	if code != exitApproval {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitApproval, out, errOut)
	}
	resume := "runbook --state-dir " + e.state + " resume " + e.runIDs()[0]
	if !strings.Contains(errOut, "; continue with `"+resume+" --yes`") {
		t.Errorf("stderr does not say how to continue: %s", errOut)
	}
	if !strings.Contains(out, "Or approve it without a prompt: "+resume+" --yes") {
		t.Errorf("what to do next:\n%s", out)
	}
}
