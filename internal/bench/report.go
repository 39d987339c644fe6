package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// machine describes where the bench ran.
type machine struct {
	CPU, Kernel, OpenSSH, Go string
	NProc                    int
	MemTotal                 string
	LoadStart, LoadEnd       string
}

func machineInfo() machine {
	m := machine{NProc: runtime.NumCPU(), Go: runtime.Version(), LoadStart: loadAvg()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.MemTotal = strings.Join(strings.Fields(firstLine(string(b)))[1:], " ")
	}
	if out, err := exec.Command("ssh", "-V").CombinedOutput(); err == nil {
		m.OpenSSH = firstLine(string(out))
	}
	return m
}

// loadAvg is the 1, 5 and 15 minute load averages.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// report is everything the bench prints.
type report struct {
	Machine        machine
	Addresses      string // -addresses, as given
	User           string
	RunbookVersion string
	// Baseline names the -baseline binary and its version.
	Baseline       string
	AnsibleVersion string
	// HostsCPU says how the hosts' CPU was measured; HostsCPUAll, that
	// every process of theirs was counted (a control group).
	HostsCPU    string
	HostsCPUAll bool
	Started     time.Time
	Finished    time.Time
	Workloads   []workloadResult
	Scale       *scaleResult
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (t toolResult) walls() []time.Duration {
	out := make([]time.Duration, len(t.Runs))
	for i, m := range t.Runs {
		out[i] = m.Wall
	}
	return out
}

func (t toolResult) cpus() []time.Duration {
	out := make([]time.Duration, len(t.Runs))
	for i, m := range t.Runs {
		out[i] = m.CPU
	}
	return out
}

func (t toolResult) hostsCPUs() []time.Duration {
	out := make([]time.Duration, len(t.Runs))
	for i, m := range t.Runs {
		out[i] = m.HostsCPU
	}
	return out
}

func (t toolResult) peakMemory() int64 {
	var p int64
	for _, m := range t.Runs {
		p = max(p, m.PeakMemory())
	}
	return p
}

func find(ts []toolResult, name string) *toolResult {
	for i := range ts {
		if ts[i].Name == name && len(ts[i].Runs) > 0 {
			return &ts[i]
		}
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (r *report) markdown() string {
	var b strings.Builder
	m := r.Machine
	fmt.Fprintf(&b, "\n## runbook benchmark, %s\n\n", r.Started.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "Machine: %d × %s, %s RAM, Linux %s; %s; %s. Load average (1/5/15 min) %s at the start, %s at the end.\n",
		m.NProc, m.CPU, m.MemTotal, m.Kernel, m.OpenSSH, m.Go, m.LoadStart, m.LoadEnd)
	fmt.Fprintf(&b, "Version: %s.\n", r.RunbookVersion)
	if r.Baseline != "" {
		fmt.Fprintf(&b, "Baseline (%s): %s.\n", baselineName, r.Baseline)
	}
	if len(r.Workloads) > 0 {
		fmt.Fprintf(&b, "Hosts: one OpenSSH sshd per host on %s, login %s; the hosts share the controller's cores. "+
			"Shell steps run `echo step N; true` (runbook: `shell:`; the floor and OpenSSH send the line as it is, which sshd runs with the login shell; spot: `script:`; Ansible: `shell:`). "+
			"Argv steps run the program true (runbook: `command: [true]`; on the wire `exec true`; Ansible: `command: true`). "+
			"A mix cycles through a shell step, an argv step, a shell step printing 4 KB (`%s`) and a shell step with become (sudo; the floor and OpenSSH send `sudo -n sh -c '...'`; spot: `sudo: true`; Ansible: `become: true`).\n",
			r.Addresses, r.User, outputScript)
	}
	if r.AnsibleVersion != "" {
		fmt.Fprintf(&b, "Ansible: %s.\n", r.AnsibleVersion)
	}
	fmt.Fprintf(&b, "Took %s.\n", r.Finished.Sub(r.Started).Round(time.Second))
	for _, w := range r.Workloads {
		writeWorkload(&b, w, r.HostsCPUAll)
		if w.Split != nil {
			writeWorkload(&b, *w.Split, r.HostsCPUAll)
			writeSplit(&b, w)
		}
	}
	if len(r.Workloads) > 0 {
		b.WriteString(`
Columns: wall is the median of the runs (min–max after it), from the tool's start to its exit,
connections and process start included. "× floor" and "× Ansible" divide the median walls.
Overhead per host-step is (median wall − floor's median wall) / (hosts × steps). CPU is the
controller's user+sys time (every process of the tool, from rusage), median over the runs,
per host-step; "CPU × floor" divides the medians, and after it is the range of the ratios of
the runs round by round (each round runs every tool once). Peak memory is the largest peak
RSS over the runs: for one-process tools from rusage; for OpenSSH and Ansible the summed RSS
of all their processes, sampled every 50 ms.
Hosts' CPU is what the sshd hosts (connections, sessions, the commands) used during the run,
median per host-step: on loopback it shares the controller's cores, so wall time pays for it too.
`)
		fmt.Fprintf(&b, "It is measured with %s.", r.HostsCPU)
		if !r.HostsCPUAll {
			b.WriteString(" It is left out (n/m) for OpenSSH and Ansible: with their multiplexing masters the count misses most of the sessions' CPU.")
		}
		b.WriteString("\nrunbook: journal fsynced (state dir on disk), host locks taken and released, facts gathered.\n")
		for _, w := range r.Workloads {
			if find(w.Tools, floorSpecName) != nil {
				b.WriteString("The " + floorSpecName + ": the floor also taking each host's lock (a directory) with its facts in one session, " +
					"a journal line fsynced before each step and before the release (group commit, state dir on disk), " +
					"and the lock released in a session of its own: what the SPEC's guarantees cost a minimal client.\n")
				break
			}
		}
		for _, w := range r.Workloads {
			if find(w.Tools, tmpfsName) != nil {
				b.WriteString("runbook (state on tmpfs): the same with its state dir on /dev/shm, where an fsync costs nothing: the difference is what the durable journal costs.\n")
				break
			}
		}
	}
	if r.Scale != nil {
		r.Scale.markdown(&b)
	}
	return b.String()
}

func writeWorkload(b *strings.Builder, w workloadResult, all bool) {
	steps := float64(w.W.Hosts * w.W.Steps)
	floor, ansible := find(w.Tools, floorName), find(w.Tools, "Ansible (pipelining)")
	if w.Skipped != "" {
		fmt.Fprintf(b, "\n### %s\n\nSkipped: %s.\n", w.W, w.Skipped)
		return
	}
	fmt.Fprintf(b, "\n### %s (load average %s → %s)\n\n", w.W, w.LoadStart, w.LoadEnd)
	b.WriteString("| tool | wall (median, min–max) | × floor | × Ansible | overhead / host-step | CPU / host-step | CPU × floor | peak memory | hosts' CPU / host-step | runs |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, t := range w.Tools {
		if len(t.Runs) == 0 {
			why := t.Missing
			if why == "" {
				why = "failed: " + firstLine(t.Err)
			}
			fmt.Fprintf(b, "| %s | %s | | | | | | | | 0 |\n", t.Name, why)
			continue
		}
		walls := t.walls()
		wall, cpu := median(walls), median(t.cpus())
		row := []string{t.Name, fmt.Sprintf("%.2f s (%.2f–%.2f)", wall.Seconds(), slices.Min(walls).Seconds(), slices.Max(walls).Seconds())}
		if floor != nil {
			fw := median(floor.walls())
			row = append(row, fmt.Sprintf("%.2f", wall.Seconds()/fw.Seconds()))
		} else {
			row = append(row, "")
		}
		if ansible != nil {
			row = append(row, fmt.Sprintf("%.3f", wall.Seconds()/median(ansible.walls()).Seconds()))
		} else {
			row = append(row, "")
		}
		if floor != nil {
			row = append(row, fmt.Sprintf("%+.2f ms", ms(wall-median(floor.walls()))/steps))
		} else {
			row = append(row, "")
		}
		row = append(row, fmt.Sprintf("%.3f ms", ms(cpu)/steps))
		if floor != nil {
			row = append(row, cpuRatio(t, *floor))
		} else {
			row = append(row, "")
		}
		hosts := fmt.Sprintf("%.2f ms", ms(median(t.hostsCPUs()))/steps)
		if t.Tree && !all {
			hosts = "n/m" // see below
		}
		row = append(row, fmt.Sprintf("%.1f MB", float64(t.peakMemory())/(1<<20)), hosts, fmt.Sprint(len(t.Runs)))
		fmt.Fprintf(b, "| %s |\n", strings.Join(row, " | "))
	}
	if rb, spec := find(w.Tools, "runbook run"), find(w.Tools, floorSpecName); rb != nil && spec != nil {
		fmt.Fprintf(b, "\nrunbook's CPU ÷ the CPU of the %s: %s.\n", floorSpecName, cpuRatio(*rb, *spec))
	}
	for _, t := range w.Tools {
		if t.Err != "" && len(t.Runs) > 0 {
			fmt.Fprintf(b, "\n%s stopped after %d runs: %s\n", t.Name, len(t.Runs), firstLine(t.Err))
		}
	}
}

// cpuRatio is t's median CPU over the floor's, and after it the range of
// the ratios round by round (the floor's run and t's in the same round,
// under the same load): how far one run's ratio may stray from the
// median's. A slow tool (Ansible) has rounds of its own, and no range;
// the floor's own row needs none.
func cpuRatio(t, floor toolResult) string {
	fc := median(floor.cpus())
	if fc <= 0 {
		return ""
	}
	out := fmt.Sprintf("%.2f", median(t.cpus()).Seconds()/fc.Seconds())
	if t.Slow || t.Name == floor.Name {
		return out
	}
	var rounds []float64
	for r := range min(len(t.Runs), len(floor.Runs)) {
		if f := floor.Runs[r].CPU; f > 0 {
			rounds = append(rounds, t.Runs[r].CPU.Seconds()/f.Seconds())
		}
	}
	if len(rounds) > 1 {
		out += fmt.Sprintf(" (%.2f–%.2f)", slices.Min(rounds), slices.Max(rounds))
	}
	return out
}

// splitRow is one tool's controller CPU split in two, a figure per round.
type splitRow struct {
	Name             string
	PerStep, PerHost []time.Duration
}

// splitRows pairs each tool's runs at a workload's two step counts round
// by round (the two runs of a round follow each other). What the extra
// steps cost, divided by hosts × extra steps, is the CPU per host-step;
// what is left of the run with fewer steps, divided by the hosts, is the
// CPU per host: connecting, and whatever else a tool does once per host
// or once per run (for runbook the lock, facts, release, and the run's
// start, journal and reports), spread over the hosts.
func splitRows(w workloadResult) []splitRow {
	if w.Split == nil {
		return nil
	}
	hosts := time.Duration(w.W.Hosts)
	extra := hosts * time.Duration(w.Split.W.Steps-w.W.Steps)
	var out []splitRow
	for i, t := range w.Tools {
		if i >= len(w.Split.Tools) {
			break
		}
		u := w.Split.Tools[i]
		row := splitRow{Name: t.Name}
		for r := range min(len(t.Runs), len(u.Runs)) {
			a, c := t.Runs[r].CPU, u.Runs[r].CPU
			perStep := (c - a) / extra
			row.PerStep = append(row.PerStep, perStep)
			row.PerHost = append(row.PerHost, (a-perStep*hosts*time.Duration(w.W.Steps))/hosts)
		}
		if len(row.PerStep) > 0 {
			out = append(out, row)
		}
	}
	return out
}

// writeSplit writes the split table of a workload with a split.
func writeSplit(b *strings.Builder, w workloadResult) {
	rows := splitRows(w)
	if len(rows) == 0 {
		return
	}
	var floor *splitRow
	for i := range rows {
		if rows[i].Name == floorName {
			floor = &rows[i]
		}
	}
	fmt.Fprintf(b, "\n### %d hosts × %d and %d %s steps: controller CPU split, round by round\n\n", w.W.Hosts, w.W.Steps, w.Split.W.Steps, w.W.Kind)
	b.WriteString("| tool | CPU per added host-step (median, min–max) | × floor | CPU per host (median, min–max) | × floor | rounds |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	cell := func(ds []time.Duration) string {
		return fmt.Sprintf("%.3f ms (%.3f–%.3f)", ms(median(ds)), ms(slices.Min(ds)), ms(slices.Max(ds)))
	}
	ratio := func(ds, fs []time.Duration) string {
		if floor == nil || median(fs) <= 0 {
			return ""
		}
		return fmt.Sprintf("%.2f", median(ds).Seconds()/median(fs).Seconds())
	}
	for _, r := range rows {
		var fs, fh []time.Duration
		if floor != nil {
			fs, fh = floor.PerStep, floor.PerHost
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %d |\n", r.Name, cell(r.PerStep), ratio(r.PerStep, fs), cell(r.PerHost), ratio(r.PerHost, fh), len(r.PerStep))
	}
	fmt.Fprintf(b, "\nIn each round a tool ran %d and %d steps a host, one run right after the other. "+
		"Per added host-step: the CPU the extra steps cost ÷ (%d hosts × %d steps). Per host: the rest of the shorter run ÷ %d hosts "+
		"(connecting, and what a tool does once per host or once per run: for runbook the lock, facts, release, process start, journal and reports).\n",
		w.W.Steps, w.Split.W.Steps, w.W.Hosts, w.Split.W.Steps-w.W.Steps, w.W.Hosts)
}
