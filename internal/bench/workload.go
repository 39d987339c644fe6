package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// toolResult is every measured run of one tool on one workload.
type toolResult struct {
	Name    string
	Missing string // why it did not run
	Err     string // why it stopped
	Tree    bool
	Slow    bool // measured in rounds of its own, not the floor's
	Runs    []measurement
}

// workloadResult is one workload's results, the floor's among them.
type workloadResult struct {
	W         workload
	Skipped   string // why the workload did not run
	Tools     []toolResult
	LoadStart string
	LoadEnd   string
	// Split is the same hosts with W.Split steps each, measured in the
	// same rounds (Tools[i] and Split.Tools[i] are one tool).
	Split *workloadResult
}

// runWorkload measures every tool on w: one warm-up run each (page cache,
// sshd's first forks, ssh masters' first keys), then rounds in which every
// tool runs once, in an order that rotates from round to round so that a
// change in the machine's load falls on all of them alike. A workload with
// a split runs each tool at both step counts in each round, one right
// after the other, which comes first alternating from round to round.
//
// The slow tools (Ansible) warm up and run after the others, not in their
// rounds: a minute of Ansible at full load leaves the machine slower for
// the runs that follow it, in the kernel's work rather than in plain
// computation, and that would fall on whichever fast tool the rotation put
// next. Ansible's own figure, many times theirs, is not moved by such a
// difference.
func (b *bench) runWorkload(w workload, runs, slowRuns int, profile string, profileRuns int) (workloadResult, error) {
	variants := w.variants()
	tools := make([][]*tool, len(variants)) // by variant, then tool
	results := make([][]toolResult, len(variants))
	load := loadAvg()
	for v, vw := range variants {
		var err error
		if tools[v], err = b.tools(vw); err != nil {
			return workloadResult{W: w}, err
		}
		results[v] = make([]toolResult, len(tools[v]))
		for i, t := range tools[v] {
			results[v][i] = toolResult{Name: t.Name, Missing: t.Missing, Tree: t.Tree, Slow: t.Slow}
		}
	}
	runDir := filepath.Join(b.dir, "wl-"+w.slug(), "runs")
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return workloadResult{W: w}, err
	}
	measure := func(v, i int, label string) (measurement, error) {
		t := tools[v][i]
		if t.Setup != nil {
			if err := t.Setup(); err != nil {
				return measurement{}, err
			}
		}
		base := filepath.Join(runDir, slug(t.Name)+"-"+variants[v].slug()+"-"+label)
		settleHosts(b.fleet)
		h0 := b.hosts.CPU()
		m, err := runMeasured(b.self, measureSpec{Argv: t.Argv, Env: t.Env, Dir: filepath.Dir(runDir),
			Stdout: base + ".stdout", Stderr: base + ".stderr", Tree: t.Tree, Out: base + ".json"})
		settleHosts(b.fleet) // the last connections end
		m.HostsCPU = b.hosts.CPU() - h0
		return m, err
	}
	// failed stops a tool at every step count: a split needs both.
	failed := func(i int, err error) {
		for v := range variants {
			if results[v][i].Err == "" {
				results[v][i].Err = err.Error()
			}
		}
		logf("bench: %s: %s: %v", w, results[0][i].Name, err)
	}
	for _, slow := range []bool{false, true} {
		var group []int // the tools of this group, by index
		for i, t := range tools[0] {
			if t.Slow == slow && t.Missing == "" {
				group = append(group, i)
			}
		}
		for _, i := range group {
			for v := range variants {
				logf("bench: %s: %s: warm-up", variants[v], tools[v][i].Name)
				if _, err := measure(v, i, "warmup"); err != nil {
					failed(i, err)
				}
			}
		}
		want := runs
		if slow {
			want = slowRuns
		}
		for r := range want {
			for k := range group {
				i := group[(k+r)%len(group)]
				for n := range variants {
					v := (n + r) % len(variants)
					tr := &results[v][i]
					if tr.Err != "" {
						continue
					}
					m, err := measure(v, i, fmt.Sprint(r+1))
					if err != nil {
						failed(i, err)
						continue
					}
					tr.Runs = append(tr.Runs, m)
					logf("bench: %s: %s: run %d: %.3fs wall, %.0f ms CPU, %.1f MB", variants[v], tr.Name, len(tr.Runs),
						m.Wall.Seconds(), float64(m.CPU.Microseconds())/1000, float64(m.PeakMemory())/(1<<20))
				}
			}
		}
	}
	for v := range variants {
		for i, t := range tools[v] {
			if profile == "" || t.Name != "runbook run" || results[v][i].Err != "" {
				continue
			}
			// Profiled runs come last and are not counted: profiling costs CPU.
			for p := range profileRuns {
				prefix := filepath.Join(profile, "runbook-"+variants[v].slug())
				if profileRuns > 1 {
					prefix += fmt.Sprintf("-%d", p+1)
				}
				saved := t.Env
				t.Env = append(append([]string(nil), saved...), "RUNBOOK_CPUPROFILE="+prefix+".cpu.pprof", "RUNBOOK_MEMPROFILE="+prefix+".mem.pprof")
				if _, err := measure(v, i, fmt.Sprintf("profile%d", p+1)); err != nil {
					logf("bench: %s: profiled run: %v", variants[v], err)
				} else {
					logf("bench: %s: profiles in %s.{cpu,mem}.pprof", variants[v], prefix)
				}
				t.Env = saved
			}
		}
	}
	end := loadAvg()
	res := workloadResult{W: variants[0], Tools: results[0], LoadStart: load, LoadEnd: end}
	if len(variants) > 1 {
		res.Split = &workloadResult{W: variants[1], Tools: results[1], LoadStart: load, LoadEnd: end}
	}
	return res, nil
}

func slug(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-")
}
