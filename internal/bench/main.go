// Command bench measures runbook against the floor and its peers, side by
// side in one run on one machine (SPEC §12): it starts real OpenSSH sshd
// hosts on loopback (internal/sshdtest) and times the same work — N steps
// on every host at once: `shell:` steps, argv steps, or a mix with output
// and become — with `runbook run` (journal fsynced, host locks on), a
// minimal x/crypto/ssh client (the floor), umputun/spot when a spot binary
// is on PATH, plain OpenSSH with ControlMaster, and Ansible with
// pipelining (Debian's ansible-core, installed with apt-get when missing).
// Every tool runs as a measured subprocess: median wall time of several
// runs, controller CPU and peak memory. With -scale it also runs 1,000 lab
// hosts through canary and batches against a separate `runbook lab serve`
// process.
//
//	go run ./internal/bench                 # every workload, every tool
//	go run ./internal/bench -scale          # and the 1,000-host lab run
//	go run ./internal/bench -workloads 20x20,100x5:argv -tools runbook,floor -runs 9
//	go run ./internal/bench -addresses 127.0.9.0/28   # hosts on addresses of their own
//	go run ./internal/bench -workloads 100x1/9 -tools runbook,floor   # CPU per host-step and per host
//
// Run it as root to log in as the sshdtest users (clean shells, no rc
// files, sudo for become steps); otherwise the hosts let in the current
// user.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/runbookhq/runbook/internal/sshdtest"
)

// bench is one benchmark session.
type bench struct {
	self       string // this binary, re-executed for -measure and -floor
	dir        string // scratch directory
	home       string // HOME of every tool: .ssh/known_hosts lists the fleet
	tmp        string
	stateRoot  string // runbook state dirs (on disk: the journal's fsync is real)
	runbookBin string
	// baselineBin is another build of runbook (-baseline), measured
	// alongside this one.
	baselineBin string
	fleet       *sshdtest.Fleet
	hosts       *hostMeter // the fleet's CPU
	addresses   []string   // where the hosts listen (-addresses)
	only        map[string]bool
	profileEnv  []string

	ansible        string
	ansibleMissing string
}

func main() {
	if len(os.Args) > 2 && os.Args[1] == "-measure" {
		exitOn(measureMain(os.Args[2:]))
		return
	}
	if len(os.Args) == 3 && os.Args[1] == "-floor" {
		exitOn(floorMain(os.Args[2]))
		return
	}
	exitOn(benchMain())
}

func exitOn(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

// benchFlags are the bench's command line.
type benchFlags struct {
	workloads   string
	runs        int
	slowRuns    int
	tools       string
	install     bool
	stateDir    string
	out         string
	keep        bool
	profile     string
	profileRuns int
	scale       bool
	scaleOnly   bool
	addresses   string
	scaleHosts  string
	baseline    string
	sc          scaleOptions
}

// defaultWorkloads are the workloads of SPEC §12, with the shell steps
// that nearly every runbook is made of and with argv steps, and a mix of
// step kinds.
const defaultWorkloads = "20x20:shell,100x5:shell,20x20:argv,100x5:argv,20x20:mix"

func parseFlags() *benchFlags {
	f := &benchFlags{}
	flag.StringVar(&f.workloads, "workloads", defaultWorkloads,
		"workloads, HOSTSxSTEPS[/STEPS][:KIND], comma-separated; KIND is shell (the default: `echo step N; true`), argv (`command: [true]`) or mix (shell, argv, 4 KB of output, become); a second, larger step count (100x1/9) runs both in each round and splits the CPU into a cost per host-step and a cost per host")
	flag.StringVar(&f.addresses, "addresses", sshdtest.Address,
		"loopback addresses the hosts listen on, comma-separated, or a prefix such as 127.0.9.0/28: hosts are spread over them (the scale run's lab takes the first); give a bench on a shared machine addresses of its own")
	flag.IntVar(&f.runs, "runs", 5, "measured runs per tool and workload (the median is reported)")
	flag.IntVar(&f.slowRuns, "slow-runs", 3, "measured runs for Ansible, which takes a minute a run")
	flag.StringVar(&f.tools, "tools", "", "only these tools (runbook,floor,floor-spec,spot,openssh,ansible; floor-spec is the floor also taking locks with facts and keeping an fsynced journal; runbook-tmpfs, only when named: runbook with its state on tmpfs, where an fsync costs nothing); default all but runbook-tmpfs (spot where a spot binary is on PATH: see the report for how to build one)")
	flag.BoolVar(&f.install, "install", true, "install ansible-core with apt-get when it is missing")
	flag.StringVar(&f.stateDir, "state-dir", "", "where runbook's state (journal) goes; default under the scratch dir in $TMPDIR (disk, so fsync is real)")
	flag.StringVar(&f.out, "o", "", "also write the report (markdown) to this file")
	flag.BoolVar(&f.keep, "keep", false, "keep the scratch directory")
	flag.StringVar(&f.profile, "profile", "", "write CPU and heap profiles of extra runbook runs of each workload (and of the scale run) into this directory")
	flag.IntVar(&f.profileRuns, "profile-runs", 1, "profiled runbook runs per workload (merge them with go tool pprof -proto)")
	flag.StringVar(&f.baseline, "baseline", "", "another runbook binary (main's, say) to measure alongside this build, in the same rounds")
	flag.BoolVar(&f.scale, "scale", false, "also run the scale test: lab hosts through canary and batches")
	flag.BoolVar(&f.scaleOnly, "scale-only", false, "run only the scale test")
	flag.StringVar(&f.scaleHosts, "scale-hosts", "1000", "lab hosts of the scale run; several sizes, comma-separated (1000,10000), take turns on one lab")
	flag.IntVar(&f.sc.Steps, "scale-steps", 5, "steps per host of the scale run")
	flag.IntVar(&f.sc.Concurrency, "scale-concurrency", 100, "hosts acting at once in the scale run")
	flag.StringVar(&f.sc.Serial, "scale-serial", `[10, "25%"]`, "serial of the scale run's batch phase (YAML)")
	flag.StringVar(&f.sc.LabDir, "scale-lab-dir", "/dev/shm", "where the lab's node roots go (tmpfs: on disk, creating each node's files slows the lab's start and first use); empty: in the state dir")
	flag.IntVar(&f.sc.Runs, "scale-runs", 1, "scale runs after the first one, which finds every lab node fresh")
	flag.StringVar(&f.sc.Kind, "scale-kind", kindShell, "the scale run's steps: shell or argv")
	flag.Parse()
	return f
}

func benchMain() error {
	f := parseFlags()
	workloads, err := parseWorkloads(f.workloads)
	if err != nil {
		return err
	}
	if f.scaleOnly {
		workloads, f.scale = nil, true
	}
	if f.sc.Sizes, err = parseSizes(f.scaleHosts); err != nil {
		return err
	}
	if f.sc.Kind != kindShell && f.sc.Kind != kindArgv {
		return fmt.Errorf("-scale-kind %q: want shell or argv", f.sc.Kind)
	}
	b := &bench{}
	if b.addresses, err = parseAddresses(f.addresses); err != nil {
		return err
	}
	if b.self, err = os.Executable(); err != nil {
		return err
	}
	if b.only, err = selectTools(f.tools); err != nil {
		return err
	}
	if f.baseline != "" {
		if b.baselineBin, err = filepath.Abs(f.baseline); err != nil {
			return err
		}
		if _, err := os.Stat(b.baselineBin); err != nil {
			return fmt.Errorf("-baseline: %w", err)
		}
		if b.only != nil && b.only["runbook run"] {
			b.only[baselineName] = true
		}
	}
	cleanup, err := b.makeDirs(f.stateDir, f.keep)
	if err != nil {
		return err
	}
	defer cleanup()
	rep := &report{Machine: machineInfo(), Started: time.Now(), Addresses: f.addresses}
	if b.baselineBin != "" {
		rep.Baseline = b.baselineBin
		if out, err := exec.Command(b.baselineBin, "version").Output(); err == nil {
			rep.Baseline += ", " + strings.TrimSpace(string(out))
		}
	}
	if err := b.buildRunbook(rep); err != nil {
		return err
	}
	if f.profile != "" {
		if err := os.MkdirAll(f.profile, 0o755); err != nil {
			return err
		}
	}
	maxHosts := 0
	for _, w := range workloads {
		maxHosts = max(maxHosts, w.Hosts)
	}
	if maxHosts > 0 {
		if err := b.startFleet(maxHosts, f.install, rep); err != nil {
			return err
		}
		defer b.hosts.Close() // after the fleet has stopped
		defer b.fleet.Stop()
	}
	for _, w := range workloads {
		if w.needsBecome() && !b.fleet.Become {
			logf("bench: %s: skipped: %s cannot sudo -n on the hosts", w, b.fleet.User)
			rep.Workloads = append(rep.Workloads, workloadResult{W: w, Skipped: b.fleet.User + " cannot sudo -n on the hosts (run as root, with the sshdtest users in place)"})
			continue
		}
		res, err := b.runWorkload(w, f.runs, f.slowRuns, f.profile, f.profileRuns)
		if err != nil {
			return fmt.Errorf("%s: %w", w, err)
		}
		rep.Workloads = append(rep.Workloads, res)
	}
	if f.scale {
		f.sc.Profile, f.sc.Address = f.profile, b.addresses[0]
		sr, err := b.runScale(f.sc)
		if err != nil {
			return fmt.Errorf("scale: %w", err)
		}
		rep.Scale = sr
	}
	rep.Finished = time.Now()
	rep.Machine.LoadEnd = loadAvg()
	text := rep.markdown()
	fmt.Print(text)
	if f.out != "" {
		return os.WriteFile(f.out, []byte(text), 0o644)
	}
	return nil
}

// selectTools reads -tools: nil for every tool, else the full names of
// those listed.
func selectTools(list string) (map[string]bool, error) {
	if list == "" {
		return nil, nil
	}
	only := map[string]bool{}
	names := map[string]string{"runbook": "runbook run", "runbook-tmpfs": tmpfsName, "floor": floorName, "floor-spec": floorSpecName, "spot": "spot", "openssh": "OpenSSH ControlMaster", "ansible": "Ansible (pipelining)"}
	for _, n := range strings.Split(list, ",") {
		full, ok := names[strings.TrimSpace(n)]
		if !ok {
			return nil, fmt.Errorf("-tools: unknown tool %q (runbook, runbook-tmpfs, floor, floor-spec, spot, openssh, ansible)", n)
		}
		only[full] = true
	}
	return only, nil
}

// makeDirs makes the scratch directory (home, tmp and, unless stateDir is
// given, the state root in it); cleanup removes it unless keep.
func (b *bench) makeDirs(stateDir string, keep bool) (cleanup func(), err error) {
	if b.dir, err = os.MkdirTemp("", "runbook-bench-"); err != nil {
		return nil, err
	}
	cleanup = func() { os.RemoveAll(b.dir); os.RemoveAll(b.tmpfsRoot()) }
	if keep {
		logf("bench: scratch directory %s is kept", b.dir)
		cleanup = func() {}
	}
	if err := os.Chmod(b.dir, 0o755); err != nil {
		cleanup()
		return nil, err
	}
	b.home, b.tmp = filepath.Join(b.dir, "home"), filepath.Join(b.dir, "tmp")
	b.stateRoot = stateDir
	if b.stateRoot == "" {
		b.stateRoot = filepath.Join(b.dir, "state")
	}
	for _, d := range []string{filepath.Join(b.home, ".ssh"), b.tmp, b.stateRoot} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			cleanup()
			return nil, err
		}
	}
	return cleanup, nil
}

// startFleet finds Ansible when it is selected and starts hosts sshd hosts,
// whose host keys it writes into the tools' known_hosts. The caller stops
// b.fleet.
func (b *bench) startFleet(hosts int, install bool, rep *report) error {
	if b.only == nil || b.only["Ansible (pipelining)"] {
		b.ansible, b.ansibleMissing = ensureAnsible(install, logf)
	} else {
		b.ansibleMissing = "not selected (-tools)"
	}
	rep.AnsibleVersion = ansibleVersion(b.ansible)
	logf("bench: starting %d sshd hosts", hosts)
	var err error
	if b.fleet, err = sshdtest.StartFleet(sshdtest.Hosts(hosts), sshdtest.WithAddresses(b.addresses...)); err != nil {
		return err
	}
	kh, err := os.ReadFile(b.fleet.KnownHosts)
	if err == nil {
		err = os.WriteFile(filepath.Join(b.home, ".ssh", "known_hosts"), kh, 0o600)
	}
	if err != nil {
		b.fleet.Stop()
		return err
	}
	rep.User = b.fleet.User
	b.hosts = newHostMeter(b.fleet.Dir)
	rep.HostsCPU, rep.HostsCPUAll = b.hosts.Method(), b.hosts.cgroup != ""
	return nil
}

// buildRunbook builds cmd/runbook once, from the module this bench is in.
func (b *bench) buildRunbook(rep *report) error {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(gomod)) == "" || strings.TrimSpace(string(gomod)) == os.DevNull {
		return fmt.Errorf("run the bench inside the runbook module (go env GOMOD: %v)", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	b.runbookBin = filepath.Join(b.dir, "bin", "runbook")
	logf("bench: go build ./cmd/runbook")
	cmd := exec.Command("go", "build", "-o", b.runbookBin, "./cmd/runbook")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/runbook: %v\n%s", err, out)
	}
	if out, err := exec.Command(b.runbookBin, "version").Output(); err == nil {
		rep.RunbookVersion = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(out) > 0 {
		rep.RunbookVersion += " (with uncommitted changes)"
	}
	return nil
}
