package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// scaleOptions shape the scale run: lab hosts through a canary and batches.
type scaleOptions struct {
	Hosts, Steps, Concurrency, Runs int
	Serial                          string
	Kind                            string // kindShell or kindArgv
	LabDir                          string // parent of the lab's node roots ("" = in the state dir)
	Address                         string // where the lab's nodes listen
	Profile                         string
}

// scaleResult is what the scale run measured.
type scaleResult struct {
	Opts      scaleOptions
	LabFS     string
	StateFS   string
	LabStart  time.Duration
	Cold      measurement   // first run: the lab creates each node's files on first use
	Warm      []measurement // later runs on the same lab
	Lab       measurement   // the lab server over the whole session
	LoadStart string
	LoadEnd   string
}

// runScale serves Hosts lab nodes with `runbook lab serve` in a process of
// its own, then runs a runbook of Steps trivial steps through a canary of
// one host and batches of Serial, Concurrency hosts at once, and measures
// the controller (`runbook run`) alone.
func (b *bench) runScale(o scaleOptions) (*scaleResult, error) {
	res := &scaleResult{Opts: o, LoadStart: loadAvg()}
	dir := filepath.Join(b.dir, "scale")
	state := filepath.Join(b.stateRoot, "scale")
	for _, d := range []string{dir, state} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	res.StateFS = fsType(state)
	labDir := filepath.Join(state, "lab")
	if o.LabDir != "" {
		target, err := os.MkdirTemp(o.LabDir, "runbook-bench-lab-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(target)
		if err := os.Symlink(target, labDir); err != nil {
			return nil, err
		}
	}
	res.LabFS = fsType(labDir + "/")
	var inv strings.Builder
	inv.WriteString("all:\n  vars: {transport: lab}\n  hosts:\n")
	for i := range o.Hosts {
		fmt.Fprintf(&inv, "    node-%04d:\n", i+1)
	}
	var steps strings.Builder
	for _, st := range (workload{o.Hosts, o.Steps, o.Kind}).steps() {
		if st.Script != "" {
			fmt.Fprintf(&steps, "      - {name: %s, shell: %q}\n", st.Name, st.Script)
		} else {
			fmt.Fprintf(&steps, "      - {name: %s, command: [%q]}\n", st.Name, st.Program)
		}
	}
	rb := fmt.Sprintf(`runbook: scale
description: %d lab hosts, %d steps each, through a canary and batches
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
%s`, o.Hosts, o.Steps, o.Concurrency, steps.String(), o.Serial, steps.String())
	invFile, rbFile := filepath.Join(dir, "inventory.yaml"), filepath.Join(dir, "scale.yaml")
	if err := writeFiles(map[string]string{invFile: inv.String(), rbFile: rb}); err != nil {
		return nil, err
	}

	logf("bench: scale: serving %d lab nodes (lab state on %s)", o.Hosts, res.LabFS)
	serve, err := b.startLabServe(state, invFile, dir)
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

	run := func(label string, env ...string) (measurement, error) {
		base := filepath.Join(dir, "run-"+label)
		m, err := runMeasured(b.self, measureSpec{
			Argv:   []string{b.runbookBin, "--state-dir", state, "--no-color", "run", rbFile, "-i", invFile, "--yes"},
			Env:    b.env(env...),
			Dir:    dir,
			Stdout: base + ".stdout", Stderr: base + ".stderr", Out: base + ".json",
		})
		if err == nil {
			logf("bench: scale: %s run: %.2fs wall, %.2fs CPU, %.1f MB peak RSS", label, m.Wall.Seconds(), m.CPU.Seconds(), float64(m.MaxRSS)/(1<<20))
		}
		return m, err
	}
	if res.Cold, err = run("cold"); err != nil {
		return nil, err
	}
	for i := range o.Runs {
		m, err := run(fmt.Sprintf("warm%d", i+1))
		if err != nil {
			return nil, err
		}
		res.Warm = append(res.Warm, m)
	}
	if o.Profile != "" {
		prefix := filepath.Join(o.Profile, fmt.Sprintf("runbook-scale-%d", o.Hosts))
		if _, err := run("profile", "RUNBOOK_CPUPROFILE="+prefix+".cpu.pprof", "RUNBOOK_MEMPROFILE="+prefix+".mem.pprof"); err != nil {
			return nil, err
		}
		logf("bench: scale: profiles in %s.{cpu,mem}.pprof", prefix)
	}
	res.LoadEnd = loadAvg()
	return res, nil
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
		Argv:   []string{b.runbookBin, "--state-dir", state, "lab", "serve", "-i", invFile, "--address", b.addresses[0]},
		Env:    b.env(),
		Dir:    dir,
		Stdout: base + ".stdout", Stderr: base + ".stderr", Out: base + ".json",
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
	hostSteps := float64(o.Hosts * o.Steps)
	fmt.Fprintf(b, "\n### Scale: %d lab hosts × %d %s steps (load average %s → %s)\n\n", o.Hosts, o.Steps, o.Kind, s.LoadStart, s.LoadEnd)
	fmt.Fprintf(b, "Canary of 1 host, then a batch phase with serial %s, concurrency %d. The lab is served by `runbook lab serve` in a separate process (started in %.1f s) on %s; its node roots are on %s, runbook's journal on %s.\n\n",
		o.Serial, o.Concurrency, s.LabStart.Seconds(), o.Address, s.LabFS, s.StateFS)
	b.WriteString("| run | controller wall | controller CPU | CPU / host-step | controller peak RSS |\n|---|---|---|---|---|\n")
	row := func(label string, m measurement) {
		fmt.Fprintf(b, "| %s | %.2f s | %.2f s | %.3f ms | %.1f MB |\n", label, m.Wall.Seconds(), m.CPU.Seconds(), ms(m.CPU)/hostSteps, float64(m.MaxRSS)/(1<<20))
	}
	row("first (lab creates each node's files)", s.Cold)
	for i, m := range s.Warm {
		row(fmt.Sprintf("again %d (nodes exist)", i+1), m)
	}
	if s.Lab.Wall > 0 {
		fmt.Fprintf(b, "\nThe lab server, over the whole session: %.1f s CPU, %.1f MB peak RSS.\n", s.Lab.CPU.Seconds(), float64(s.Lab.MaxRSS)/(1<<20))
	}
}
