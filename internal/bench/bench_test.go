package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runbookhq/runbook/internal/sshdtest"
)

// TestMain lets the test binary stand in for the bench binary when it is
// re-executed as the measuring wrapper or the floor client.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "-measure" {
		exitOn(measureMain(os.Args[2:]))
		os.Exit(0)
	}
	if len(os.Args) == 3 && os.Args[1] == "-floor" {
		exitOn(floorMain(os.Args[2]))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func measureSh(t *testing.T, script string, tree bool) measurement {
	t.Helper()
	dir := t.TempDir()
	m, err := runMeasured(os.Args[0], measureSpec{Argv: []string{"/bin/sh", "-c", script}, Env: os.Environ(), Dir: dir,
		Stdout: filepath.Join(dir, "out"), Stderr: filepath.Join(dir, "err"), Tree: tree, Out: filepath.Join(dir, "m.json")})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestWrapperCountsTheCPUOfEveryProcess(t *testing.T) {
	// The work is done by a grandchild the tool waits for.
	m := measureSh(t, `sh -c 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done'`, false)
	if m.CPU < 50*time.Millisecond {
		t.Errorf("CPU %v: the grandchild's busy loop was not counted", m.CPU)
	}
	if m.MaxRSS <= 0 || m.Wall <= 0 || m.ExitCode != 0 {
		t.Errorf("measurement %+v", m)
	}
}

func TestWrapperStopsWhatTheToolLeavesRunning(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	// A detached child (as an ssh ControlPersist master is) outlives the tool.
	m := measureSh(t, `sh -c 'echo $$ > `+pidFile+`; exec sleep 60' </dev/null >/dev/null 2>&1 &
while [ ! -s `+pidFile+` ]; do :; done
sleep 0.3 # long enough to be sampled`, true)
	if m.ExitCode != 0 {
		t.Fatalf("exit %d", m.ExitCode)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid <= 0 {
		t.Fatalf("pid file %q", b)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("the detached child %d still runs after the wrapper returned", pid)
	}
	if m.TreeRSS <= 0 {
		t.Errorf("tree RSS %d: the process tree was not sampled", m.TreeRSS)
	}
}

func TestWrapperReportsTheToolsExitCode(t *testing.T) {
	dir := t.TempDir()
	_, err := runMeasured(os.Args[0], measureSpec{Argv: []string{"/bin/sh", "-c", "echo nope >&2; exit 3"}, Env: os.Environ(), Dir: dir,
		Stdout: filepath.Join(dir, "out"), Stderr: filepath.Join(dir, "err"), Out: filepath.Join(dir, "m.json")})
	if err == nil || !strings.Contains(err.Error(), "exited with 3") || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("err %v, want exit 3 with the tool's stderr", err)
	}
}

func TestFloorRunsEveryStepOnEveryHost(t *testing.T) {
	f := sshdtest.Start(t, sshdtest.Hosts(2))
	work := sshdtest.ScratchDir(t, f.User)
	spec := floorSpec{User: f.User, KeyFile: f.KeyFile, KnownHosts: f.KnownHosts}
	for range 3 {
		spec.Commands = append(spec.Commands, "echo x >> "+work+"/steps")
	}
	spec.Addrs = hostAddrs(f.Hosts)
	if err := runFloorSpec(t, spec); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(work)
	if err != nil {
		t.Fatal(err)
	}
	lines := 0
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(work, e.Name()))
		lines += strings.Count(string(b), "\n")
	}
	if lines != 6 {
		t.Fatalf("%d steps ran, want 2 hosts × 3", lines)
	}
	spec.KnownHosts = filepath.Join(t.TempDir(), "empty")
	os.WriteFile(spec.KnownHosts, nil, 0o600)
	if err := runFloorSpec(t, spec); err == nil {
		t.Fatal("the floor connected to hosts its known_hosts does not list")
	}
}

func runFloorSpec(t *testing.T, spec floorSpec) error {
	t.Helper()
	file := filepath.Join(t.TempDir(), "floor.json")
	data, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return floorMain(file)
}

func TestParseWorkloads(t *testing.T) {
	got, err := parseWorkloads("20x20, 100x5:argv,4x8:mix,100x1/9")
	want := []workload{{20, 20, kindShell, 0}, {100, 5, kindArgv, 0}, {4, 8, kindMix, 0}, {100, 1, kindShell, 9}}
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v %v, want %v", got, err, want)
	}
	for _, bad := range []string{"20", "x5", "0x5", "5x-1", "ax b", "5x5:", "5x5:python", "5x5:shell:argv", "5x5/5", "5x5/0", "5x5/4", "5x/5", "5x5/a:argv"} {
		if _, err := parseWorkloads(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestWorkloadSteps(t *testing.T) {
	shell := workload{Hosts: 1, Steps: 2, Kind: kindShell}.steps()
	if len(shell) != 2 || shell[1].wire() != "echo step 2; true" || shell[1].Become {
		t.Errorf("shell steps %+v", shell)
	}
	if argv := (workload{Hosts: 1, Steps: 1, Kind: kindArgv}).steps(); argv[0].Script != "" || argv[0].wire() != "exec true" {
		t.Errorf("argv steps %+v", argv)
	}
	mix := workload{Hosts: 1, Steps: 5, Kind: kindMix}.steps()
	wires := make([]string, len(mix))
	for i, s := range mix {
		wires[i] = s.wire()
	}
	want := []string{"echo step 1; true", "exec true", outputScript, `sudo -n sh -c 'echo step 4; true'`, "echo step 5; true"}
	if fmt.Sprint(wires) != fmt.Sprint(want) {
		t.Errorf("mix on the wire:\n%q\nwant\n%q", wires, want)
	}
	if !(workload{Hosts: 1, Steps: 1, Kind: kindMix, Split: 4}).needsBecome() {
		t.Error("needsBecome: a mix split to 4 steps has a become step")
	}
	if !(workload{Hosts: 1, Steps: 4, Kind: kindMix}).needsBecome() || (workload{Hosts: 1, Steps: 3, Kind: kindMix}).needsBecome() || (workload{Hosts: 1, Steps: 9, Kind: kindShell}).needsBecome() {
		t.Error("needsBecome: a mix of 4 steps or more has a become step, nothing else has")
	}
}

func TestMedian(t *testing.T) {
	if m := median([]time.Duration{5, 1, 3}); m != 3 {
		t.Errorf("odd: %v", m)
	}
	if m := median([]time.Duration{4, 1, 3, 2}); m != 2 {
		t.Errorf("even: %v (want the mean of 2 and 3, rounded down)", m)
	}
	if m := median(nil); m != 0 {
		t.Errorf("empty: %v", m)
	}
}

func TestParseAddresses(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"127.0.0.1", "127.0.0.1"},
		{"127.0.9.3, 127.0.9.4", "127.0.9.3 127.0.9.4"},
		{"127.0.9.0/30", "127.0.9.1 127.0.9.2"},
		{"127.0.9.4/31", "127.0.9.4 127.0.9.5"},
		{"127.0.9.7/32,127.0.0.1", "127.0.9.7 127.0.0.1"},
		{"127.0.9.5/29", "127.0.9.1 127.0.9.2 127.0.9.3 127.0.9.4 127.0.9.5 127.0.9.6"},
	} {
		got, err := parseAddresses(tc.in)
		if err != nil || strings.Join(got, " ") != tc.want {
			t.Errorf("%q: %v %v, want %s", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "10.0.0.1", "0.0.0.0", "::1", "localhost", "127.0.0.0/7", "10.0.0.0/8", "127.0.0.1/33", "127.0.0.0/8"} {
		if got, err := parseAddresses(bad); err == nil {
			t.Errorf("%q: %v, no error", bad, got)
		}
	}
}

func TestParseSizes(t *testing.T) {
	if got, err := parseSizes("1000, 10000"); err != nil || fmt.Sprint(got) != "[1000 10000]" {
		t.Errorf("got %v %v", got, err)
	}
	for _, bad := range []string{"", "0", "1000,1000", "x", "100000", "10,-1"} {
		if _, err := parseSizes(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// The hosts' CPU counts what a host runs after the session that started it
// has ended (an orphan, as a runbook driver is when its sshd ends first),
// which the listeners' own count misses.
func TestHostMeterCountsOrphans(t *testing.T) {
	f := sshdtest.Start(t, sshdtest.Hosts(1))
	m := newHostMeter(f.Dir)
	t.Cleanup(m.Close)
	if m.cgroup == "" {
		t.Skip("no control group for the hosts (needs root and cgroup v2 or v1's cpuacct): the bench falls back to the listeners' count")
	}
	work := sshdtest.ScratchDir(t, f.User)
	done := filepath.Join(work, "done")
	before, listenersBefore := m.CPU(), listenerCPU(f.Dir)
	busy := `i=0; while [ $i -lt 500000 ]; do i=$((i+1)); done; : > ` + done
	spec := floorSpec{User: f.User, KeyFile: f.KeyFile, KnownHosts: f.KnownHosts, Addrs: []string{f.Hosts[0].Addr()},
		Commands: []string{`sh -c '` + busy + `' </dev/null >/dev/null 2>&1 &`}}
	if err := runFloorSpec(t, spec); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := os.Stat(done); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the orphan's busy loop did not end within a minute")
		}
		time.Sleep(20 * time.Millisecond)
	}
	settleHosts(f)
	got, listeners := m.CPU()-before, listenerCPU(f.Dir)-listenersBefore
	t.Logf("hosts' CPU: %v in the control group, %v by the listeners' count", got, listeners)
	if got < 150*time.Millisecond {
		t.Errorf("hosts' CPU %v: the orphan's busy loop (~0.4 s) was not counted", got)
	}
}

func TestSplitRowsPairRunsRoundByRound(t *testing.T) {
	// Each round: 10 hosts, 1 and 5 steps. The tool costs 5 ms a host and
	// 0.25 ms a host-step, plus a round's own noise that falls on both of
	// its runs alike; the floor 2 ms and 0.5 ms.
	run := func(perHost, perStep time.Duration, steps int, noise time.Duration) measurement {
		return measurement{CPU: 10*perHost + 10*time.Duration(steps)*perStep + noise}
	}
	var tool, toolSplit, floor, floorSplit []measurement
	for _, noise := range []time.Duration{0, 40 * time.Millisecond, 7 * time.Millisecond} {
		tool = append(tool, run(5*time.Millisecond, 250*time.Microsecond, 1, noise))
		toolSplit = append(toolSplit, run(5*time.Millisecond, 250*time.Microsecond, 5, noise))
		floor = append(floor, run(2*time.Millisecond, 500*time.Microsecond, 1, noise))
		floorSplit = append(floorSplit, run(2*time.Millisecond, 500*time.Microsecond, 5, noise))
	}
	// A run the tool did not make at the split's step count: its round is left out.
	tool = append(tool, measurement{CPU: time.Hour})
	w := workloadResult{W: workload{Hosts: 10, Steps: 1, Kind: kindShell},
		Tools: []toolResult{{Name: "runbook run", Runs: tool}, {Name: "floor (x/crypto/ssh)", Runs: floor}}}
	w.Split = &workloadResult{W: workload{Hosts: 10, Steps: 5, Kind: kindShell},
		Tools: []toolResult{{Name: "runbook run", Runs: toolSplit}, {Name: "floor (x/crypto/ssh)", Runs: floorSplit}}}
	rows := splitRows(w)
	if len(rows) != 2 || len(rows[0].PerStep) != 3 {
		t.Fatalf("rows %+v", rows)
	}
	if got := median(rows[0].PerStep); got != 250*time.Microsecond {
		t.Errorf("tool per host-step %v, want 250µs", got)
	}
	// The noise is the run's, not the hosts': per host it is spread over
	// the hosts, and the median round has 4 ms of it.
	if got := median(rows[0].PerHost); got != 5*time.Millisecond+700*time.Microsecond {
		t.Errorf("tool per host %v, want 5.7ms", got)
	}
	var b strings.Builder
	writeSplit(&b, w)
	for _, want := range []string{"10 hosts × 1 and 5 shell steps", "| runbook run | 0.250 ms (0.250–0.250) | 0.50 | 5.700 ms (5.000–9.000) | 2.11 | 3 |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("split table lacks %q:\n%s", want, b.String())
		}
	}
}

func TestCPURatioGivesEachRoundsRange(t *testing.T) {
	cpu := func(ms ...int) []measurement {
		var out []measurement
		for _, m := range ms {
			out = append(out, measurement{CPU: time.Duration(m) * time.Millisecond})
		}
		return out
	}
	floor := toolResult{Name: floorName, Runs: cpu(400, 500, 450)}
	// Medians 600 and 450: 1.33. Round by round: 500/400, 600/500, 700/450.
	tool := toolResult{Name: "runbook run", Runs: cpu(500, 600, 700)}
	if got, want := cpuRatio(tool, floor), "1.33 (1.20–1.56)"; got != want {
		t.Errorf("cpuRatio = %q, want %q", got, want)
	}
	// Rounds the tool did not run are left out.
	tool.Runs = tool.Runs[:2]
	if got, want := cpuRatio(tool, floor), "1.22 (1.20–1.25)"; got != want {
		t.Errorf("two rounds: cpuRatio = %q, want %q", got, want)
	}
	// One round has no range; a slow tool's rounds are not the floor's.
	tool.Runs = tool.Runs[:1]
	if got, want := cpuRatio(tool, floor), "1.11"; got != want {
		t.Errorf("one round: cpuRatio = %q, want %q", got, want)
	}
	slow := toolResult{Name: "Ansible (pipelining)", Slow: true, Runs: cpu(45000, 47000, 46000)}
	if got, want := cpuRatio(slow, floor), "102.22"; got != want {
		t.Errorf("slow tool: cpuRatio = %q, want %q", got, want)
	}
	var b strings.Builder
	writeWorkload(&b, workloadResult{W: workload{Hosts: 10, Steps: 5, Kind: kindShell},
		Tools: []toolResult{{Name: "runbook run", Runs: cpu(500, 600, 700)}, floor}}, true)
	if got, want := cpuRatio(floor, floor), "1.00"; got != want {
		t.Errorf("the floor's own row: cpuRatio = %q, want %q", got, want)
	}
	if !strings.Contains(b.String(), "| 1.33 (1.20–1.56) |") {
		t.Errorf("the table lacks the ratio and its range:\n%s", b.String())
	}
	b.Reset()
	writeWorkload(&b, workloadResult{W: workload{Hosts: 10, Steps: 5, Kind: kindShell},
		Tools: []toolResult{{Name: "runbook run", Runs: cpu(500, 600, 700)}, floor, {Name: floorSpecName, Runs: cpu(500, 500, 700)}}}, true)
	if want := "runbook's CPU ÷ the CPU of the floor doing the SPEC's work: 1.20 (1.00–1.20)."; !strings.Contains(b.String(), want) {
		t.Errorf("the report lacks %q:\n%s", want, b.String())
	}
}

func TestFloorWithSpecWorkLocksAndJournals(t *testing.T) {
	f := sshdtest.Start(t, sshdtest.Hosts(2))
	locks := sshdtest.ScratchDir(t, f.User)
	journal := filepath.Join(t.TempDir(), "journal.jsonl")
	spec := floorSpec{User: f.User, KeyFile: f.KeyFile, KnownHosts: f.KnownHosts, Journal: journal, LockDir: locks,
		Commands: []string{"true", "true", "true"}}
	spec.Addrs = hostAddrs(f.Hosts)
	if err := runFloorSpec(t, spec); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(journal)
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]int{}
	for i, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		var r struct {
			Seq  int
			Type string
			Host string
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil || r.Seq != i+1 || r.Host == "" {
			t.Fatalf("journal line %d %q: %+v, %v", i+1, line, r, err)
		}
		types[r.Type]++
	}
	want := map[string]int{"lock_acquired": 2, "step_started": 6, "step_finished": 6, "host_finished": 2, "lock_released": 2}
	if fmt.Sprint(types) != fmt.Sprint(want) {
		t.Errorf("journal records %v, want %v", types, want)
	}
	if left, _ := os.ReadDir(locks); len(left) != 0 {
		t.Errorf("locks left behind: %v", left)
	}

	// A lock another run holds stops that host, before its steps.
	if err := os.Mkdir(filepath.Join(locks, "host2.lock"), 0o755); err != nil {
		t.Fatal(err)
	}
	err = runFloorSpec(t, spec)
	if err == nil || !strings.Contains(err.Error(), "taking the lock") || !strings.Contains(err.Error(), f.Hosts[1].Addr()) {
		t.Fatalf("err %v, want host2's lock held", err)
	}
	data, _ = os.ReadFile(journal)
	if strings.Count(string(data), `"host":"host2"`) != 0 || strings.Count(string(data), `"type":"lock_released","host":"host1"`) != 1 {
		t.Errorf("journal after a held lock:\n%s", data)
	}
}
