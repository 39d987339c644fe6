package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/runbookhq/runbook/internal/sshdtest"
)

// scaleOptions shape the scale run: lab hosts through a canary and batches.
type scaleOptions struct {
	// Sizes are the fleets run, each the first N nodes of one lab that
	// serves the largest.
	Sizes                    []int
	Steps, Concurrency, Runs int
	Serial                   string
	Kind                     string // kindShell or kindArgv
	LabDir                   string // parent of the lab's node roots ("" = in the state dir)
	Address                  string // where the lab's nodes listen
	Profile                  string
}

func (o scaleOptions) largest() int { return slices.Max(o.Sizes) }

// scaleResult is what the scale run measured.
type scaleResult struct {
	Opts      scaleOptions
	LabFS     string
	StateFS   string
	LabStart  time.Duration
	Cold      measurement           // first run, of the largest fleet: the lab creates each node's files on first use
	Warm      map[int][]measurement // later runs on the same lab, by fleet size
	Lab       measurement           // the lab server over the whole session
	LoadStart string
	LoadEnd   string
}

// scaleFiles are the runbook and the inventories of a scale run.
type scaleFiles struct {
	dir, state, runbook, labInventory string
	inventory                         map[int]string // by fleet size
}

// runScale serves the largest fleet's lab nodes with `runbook lab serve`
// in a process of its own, then runs a runbook of Steps steps through a
// canary of one host and batches of Serial, Concurrency hosts at once, on
// each fleet size in turn (the order rotating from round to round, so that
// the machine's load falls on all sizes alike), and measures the
// controller (`runbook run`) alone.
func (b *bench) runScale(o scaleOptions) (*scaleResult, error) {
	res := &scaleResult{Opts: o, LoadStart: loadAvg(), Warm: map[int][]measurement{}}
	f, cleanup, err := b.scaleFiles(o, res)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	logf("bench: scale: serving %d lab nodes (lab state on %s)", o.largest(), res.LabFS)
	serve, err := b.startLabServe(f.state, f.labInventory, f.dir)
	if err != nil {
		return nil, err
	}
	res.LabStart = serve.started
	defer func() {
		if m, err := serve.stop(); err == nil {
			res.Lab = m
		} else {
			logf("bench: scale: lab serve: %v", err)
		}
	}()
	run := func(hosts int, label string, env ...string) (measurement, error) {
		base := filepath.Join(f.dir, fmt.Sprintf("run-%d-%s", hosts, label))
		m, err := runMeasured(b.self, measureSpec{
			Argv:   []string{b.runbookBin, "--state-dir", f.state, "--no-color", "run", f.runbook, "-i", f.inventory[hosts], "--yes"},
			Env:    b.env(env...),
			Dir:    f.dir,
			Stdout: base + ".stdout", Stderr: base + ".stderr", Out: base + ".json",
		})
		if err == nil {
			logf("bench: scale: %d hosts, %s run: %.2fs wall, %.2fs CPU, %.1f MB peak RSS", hosts, label, m.Wall.Seconds(), m.CPU.Seconds(), float64(m.MaxRSS)/(1<<20))
		}
		return m, err
	}
	if res.Cold, err = run(o.largest(), "cold"); err != nil {
		return nil, err
	}
	for r := range o.Runs {
		for k := range o.Sizes {
			hosts := o.Sizes[(k+r)%len(o.Sizes)]
			m, err := run(hosts, fmt.Sprintf("warm%d", r+1))
			if err != nil {
				return nil, err
			}
			res.Warm[hosts] = append(res.Warm[hosts], m)
		}
	}
	for _, hosts := range o.Sizes {
		if o.Profile == "" {
			break
		}
		prefix := filepath.Join(o.Profile, fmt.Sprintf("runbook-scale-%d", hosts))
		if _, err := run(hosts, "profile", "RUNBOOK_CPUPROFILE="+prefix+".cpu.pprof", "RUNBOOK_MEMPROFILE="+prefix+".mem.pprof"); err != nil {
			return nil, err
		}
		logf("bench: scale: profiles in %s.{cpu,mem}.pprof", prefix)
	}
	res.LoadEnd = loadAvg()
	return res, nil
}

// scaleFiles writes the scale run's runbook, the lab's inventory (the
// largest fleet) and an inventory per fleet size, and links the lab's
// state to o.LabDir.
func (b *bench) scaleFiles(o scaleOptions, res *scaleResult) (*scaleFiles, func(), error) {
	f := &scaleFiles{dir: filepath.Join(b.dir, "scale"), state: filepath.Join(b.stateRoot, "scale"), inventory: map[int]string{}}
	cleanup := func() {}
	for _, d := range []string{f.dir, f.state} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, nil, err
		}
	}
	res.StateFS = fsType(f.state)
	labDir := filepath.Join(f.state, "lab")
	if o.LabDir != "" {
		target, err := os.MkdirTemp(o.LabDir, "runbook-bench-lab-")
		if err != nil {
			return nil, nil, err
		}
		cleanup = func() { os.RemoveAll(target) }
		if err := os.Symlink(target, labDir); err != nil {
			cleanup()
			return nil, nil, err
		}
	}
	res.LabFS = fsType(labDir + "/")
	inventory := func(hosts int) string {
		var inv strings.Builder
		inv.WriteString("all:\n  vars: {transport: lab}\n  hosts:\n")
		for i := range hosts {
			fmt.Fprintf(&inv, "    node-%05d:\n", i+1)
		}
		return inv.String()
	}
	files := map[string]string{}
	f.labInventory = filepath.Join(f.dir, "lab.yaml")
	files[f.labInventory] = inventory(o.largest())
	for _, hosts := range o.Sizes {
		f.inventory[hosts] = filepath.Join(f.dir, fmt.Sprintf("inventory-%d.yaml", hosts))
		files[f.inventory[hosts]] = inventory(hosts)
	}
	f.runbook = filepath.Join(f.dir, "scale.yaml")
	files[f.runbook] = scaleRunbook(o)
	if err := writeFiles(files); err != nil {
		cleanup()
		return nil, nil, err
	}
	return f, cleanup, nil
}

// scaleRunbook is a canary of one host, then batches of o.Serial.
func scaleRunbook(o scaleOptions) string {
	var steps strings.Builder
	for _, st := range (workload{Steps: o.Steps, Kind: o.Kind}).steps() {
		if st.Script != "" {
			fmt.Fprintf(&steps, "      - {name: %s, shell: %q}\n", st.Name, st.Script)
		} else {
			fmt.Fprintf(&steps, "      - {name: %s, command: [%q]}\n", st.Name, st.Program)
		}
	}
	return fmt.Sprintf(`runbook: scale
description: lab hosts, %d steps each, through a canary and batches
targets: all
concurrency: %d
phases:
  - name: Canary
    kind: canary
    hosts: 1
    steps:
%s  - name: Roll out
    kind: batch
    serial: %s
    steps:
%s`, o.Steps, o.Concurrency, steps.String(), o.Serial, steps.String())
}

// labServe is a running `runbook lab serve` under the measuring wrapper.
type labServe struct {
	exited  chan error // the wrapper's end
	pid     int
	out     string
	started time.Duration
}

func (b *bench) startLabServe(state, invFile, dir string) (*labServe, error) {
	base := filepath.Join(dir, "lab-serve")
	spec := measureSpec{
		Argv:   []string{b.runbookBin, "--state-dir", state, "lab", "serve", "-i", invFile},
		Env:    b.env(),
		Dir:    dir,
		Stdout: base + ".stdout", Stderr: base + ".stderr", Out: base + ".json",
	}
	if b.addresses[0] != sshdtest.Address {
		// Left out at the default, so that the bench can measure a
		// runbook from before the flag.
		spec.Argv = append(spec.Argv, "--address", b.addresses[0])
	}
	data, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(spec.Out+".spec.json", data, 0o600); err != nil {
		return nil, err
	}
	t0 := time.Now()
	w := exec.Command(b.self, "-measure", spec.Out+".spec.json")
	w.Stderr = os.Stderr
	if err := w.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- w.Wait() }()
	ls := &labServe{out: spec.Out, exited: exited}
	serveFile := filepath.Join(state, "lab", "serve.json")
	for {
		if data, err := os.ReadFile(serveFile); err == nil {
			var st struct {
				PID int `json:"pid"`
			}
			if json.Unmarshal(data, &st) == nil && st.PID > 0 && syscall.Kill(st.PID, 0) == nil {
				ls.pid, ls.started = st.PID, time.Since(t0)
				return ls, nil
			}
		}
		select {
		case err := <-exited:
			return nil, fmt.Errorf("lab serve exited before serving: %v\n%s", err, tail(spec.Stderr, 15))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Since(t0) > 10*time.Minute {
			w.Process.Kill()
			return nil, errors.New("lab serve did not start within 10 minutes")
		}
	}
}

// stop ends the lab server and returns its measurement.
func (ls *labServe) stop() (measurement, error) {
	syscall.Kill(ls.pid, syscall.SIGTERM)
	select {
	case <-ls.exited:
	case <-time.After(time.Minute):
		syscall.Kill(ls.pid, syscall.SIGKILL)
		<-ls.exited
	}
	var m measurement
	data, err := os.ReadFile(ls.out)
	if err != nil {
		return m, err
	}
	return m, json.Unmarshal(data, &m)
}

// fsType names the filesystem holding path (tmpfs, ext4...), from
// /proc/self/mounts: the longest mount point that prefixes it.
func fsType(path string) string {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		real = path
	}
	data, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return "?"
	}
	best, typ := "", "?"
	for line := range strings.SplitSeq(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		mp := f[1]
		if (real == mp || strings.HasPrefix(real, strings.TrimSuffix(mp, "/")+"/")) && len(mp) > len(best) {
			best, typ = mp, f[2]
		}
	}
	return typ + " (" + best + ")"
}

func (s *scaleResult) markdown(b *strings.Builder) {
	o := s.Opts
	sizes := make([]string, len(o.Sizes))
	for i, n := range o.Sizes {
		sizes[i] = fmt.Sprint(n)
	}
	fmt.Fprintf(b, "\n### Scale: %s lab hosts × %d %s steps (load average %s → %s)\n\n", strings.Join(sizes, " and "), o.Steps, o.Kind, s.LoadStart, s.LoadEnd)
	fmt.Fprintf(b, "Canary of 1 host, then a batch phase with serial %s, concurrency %d. The lab, %d nodes, is served by `runbook lab serve` in a separate process (started in %.1f s) on %s; its node roots are on %s, runbook's journal on %s. Each fleet is the first N of its nodes; the fleets take turns, in an order that rotates from round to round.\n\n",
		o.Serial, o.Concurrency, o.largest(), s.LabStart.Seconds(), o.Address, s.LabFS, s.StateFS)
	b.WriteString("| run | hosts | controller wall | controller CPU | CPU / host-step | controller peak RSS |\n|---|---|---|---|---|---|\n")
	row := func(label string, hosts int, m measurement) {
		fmt.Fprintf(b, "| %s | %d | %.2f s | %.2f s | %.3f ms | %.1f MB |\n", label, hosts, m.Wall.Seconds(), m.CPU.Seconds(),
			ms(m.CPU)/float64(hosts*o.Steps), float64(m.MaxRSS)/(1<<20))
	}
	row("first (the lab creates each node's files)", o.largest(), s.Cold)
	for _, hosts := range o.Sizes {
		for i, m := range s.Warm[hosts] {
			row(fmt.Sprintf("again %d (nodes exist)", i+1), hosts, m)
		}
	}
	if base := o.Sizes[0]; len(o.Sizes) > 1 && len(s.Warm[base]) > 0 {
		perStep := func(hosts int) float64 {
			var cpus []time.Duration
			for _, m := range s.Warm[hosts] {
				cpus = append(cpus, m.CPU)
			}
			return ms(median(cpus)) / float64(hosts*o.Steps)
		}
		for _, hosts := range o.Sizes[1:] {
			fmt.Fprintf(b, "\nMedian CPU per host-step at %d hosts: %.3f ms, %.2f × the %d-host figure (%.3f ms).\n", hosts, perStep(hosts), perStep(hosts)/perStep(base), base, perStep(base))
		}
	}
	if s.Lab.Wall > 0 {
		fmt.Fprintf(b, "\nThe lab server, over the whole session: %.1f s CPU, %.1f MB peak RSS.\n", s.Lab.CPU.Seconds(), float64(s.Lab.MaxRSS)/(1<<20))
	}
}
