package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/runbookhq/runbook/internal/sshdtest"
)

// Every tool runs under a measuring wrapper: the bench binary re-executed
// with -measure. The wrapper is a child subreaper, so every process the tool
// starts, even one that detaches (an OpenSSH ControlPersist master, Ansible's
// workers), stays its descendant and is reaped by it. Its RUSAGE_CHILDREN is
// then the CPU of the whole tool and nothing else (the sshd hosts are the
// bench's children, not the wrapper's), and the largest single process's
// peak RSS. For tools that run as many processes it also samples the summed
// RSS of its descendants.

// measurement is what the wrapper reports for one run of a tool.
type measurement struct {
	Wall     time.Duration `json:"wall"`      // start to exit of the tool's main process
	CPU      time.Duration `json:"cpu"`       // user+sys of every process of the tool
	MaxRSS   int64         `json:"max_rss"`   // bytes: peak RSS of its largest process (rusage)
	TreeRSS  int64         `json:"tree_rss"`  // bytes: peak summed RSS of its processes (sampled; -tree only)
	ExitCode int           `json:"exit_code"` // of the main process; -1 when killed by a signal
	HostsCPU time.Duration `json:"hosts_cpu"` // CPU the sshd hosts used meanwhile (set by the bench)
}

// PeakMemory is the controller's peak memory: the summed process tree when
// it was sampled and larger, else the rusage peak.
func (m measurement) PeakMemory() int64 { return max(m.MaxRSS, m.TreeRSS) }

// measureSpec is how the bench asks the wrapper to run a tool.
type measureSpec struct {
	Argv   []string `json:"argv"`
	Env    []string `json:"env"`
	Dir    string   `json:"dir"`
	Stdout string   `json:"stdout"`
	Stderr string   `json:"stderr"`
	Tree   bool     `json:"tree"`
	Out    string   `json:"out"` // where the wrapper writes its measurement
}

// runMeasured runs spec under the wrapper and returns the measurement. A
// non-zero exit of the tool is an error quoting the end of its output.
func runMeasured(self string, spec measureSpec) (measurement, error) {
	specFile := spec.Out + ".spec.json"
	data, err := json.Marshal(spec)
	if err != nil {
		return measurement{}, err
	}
	if err := os.WriteFile(specFile, data, 0o600); err != nil {
		return measurement{}, err
	}
	cmd := exec.Command(self, "-measure", specFile)
	cmd.Stderr = os.Stderr
	if out, err := cmd.Output(); err != nil {
		return measurement{}, fmt.Errorf("measuring %s: %v %s", spec.Argv[0], err, out)
	}
	var m measurement
	data, err = os.ReadFile(spec.Out)
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("%s: %w", spec.Out, err)
	}
	if m.ExitCode != 0 {
		return m, fmt.Errorf("%s exited with %d:\n%s%s", filepath.Base(spec.Argv[0]), m.ExitCode, tail(spec.Stdout, 15), tail(spec.Stderr, 15))
	}
	return m, nil
}

// tail returns the last n lines of a file, indented.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ") + "\n"
}

// measureMain is the wrapper: bench -measure SPEC.json.
func measureMain(args []string) error {
	fs := flag.NewFlagSet("measure", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		return errors.New("usage: bench -measure SPEC.json")
	}
	data, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	var spec measureSpec
	if err := json.Unmarshal(data, &spec); err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_CHILD_SUBREAPER): %w", err)
	}
	stdout, err := os.Create(spec.Stdout)
	if err != nil {
		return err
	}
	defer stdout.Close()
	stderr, err := os.Create(spec.Stderr)
	if err != nil {
		return err
	}
	defer stderr.Close()
	cmd := exec.Command(spec.Argv[0], spec.Argv[1:]...)
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = spec.Env, spec.Dir, stdout, stderr
	var sampler *rssSampler
	if spec.Tree {
		sampler = startRSSSampler(os.Getpid(), 50*time.Millisecond)
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	m := measurement{ExitCode: -1}
	mainPid := cmd.Process.Pid
	mainDone := false
	var killTimer *time.Timer
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if errors.Is(err, syscall.ECHILD) {
			break
		}
		if err != nil {
			return fmt.Errorf("wait4: %w", err)
		}
		if pid != mainPid || mainDone {
			continue
		}
		mainDone = true
		m.Wall = time.Since(t0)
		if ws.Exited() {
			m.ExitCode = ws.ExitStatus()
		}
		// What the tool left running (detached masters, workers) is
		// stopped now: TERM, then KILL a few seconds later.
		signalDescendants(os.Getpid(), syscall.SIGTERM)
		killTimer = time.AfterFunc(5*time.Second, func() { signalDescendants(os.Getpid(), syscall.SIGKILL) })
	}
	if killTimer != nil {
		killTimer.Stop()
	}
	if sampler != nil {
		m.TreeRSS = sampler.stop()
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return err
	}
	m.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	m.MaxRSS = ru.Maxrss * 1024
	out, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return os.WriteFile(spec.Out, out, 0o600)
}

// rssSampler polls the summed RSS of a process's descendants.
type rssSampler struct {
	done chan struct{}
	wg   sync.WaitGroup
	peak int64
}

func startRSSSampler(root int, every time.Duration) *rssSampler {
	s := &rssSampler{done: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			var sum int64
			for _, pid := range sshdtest.Descendants(root) {
				sum += rssOf(pid)
			}
			s.peak = max(s.peak, sum)
			select {
			case <-s.done:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) stop() int64 {
	close(s.done)
	s.wg.Wait()
	return s.peak
}

// rssOf is a process's resident set in bytes (/proc/PID/statm), 0 when gone.
func rssOf(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

func signalDescendants(root int, sig syscall.Signal) {
	for _, pid := range sshdtest.Descendants(root) {
		syscall.Kill(pid, sig)
	}
}
