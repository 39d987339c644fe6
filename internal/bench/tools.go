package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/runbookhq/runbook/internal/sshdtest"
)

// tool is one way of doing a workload's work, measured as a subprocess.
type tool struct {
	Name string
	// Missing says why the tool is not run ("" when it is).
	Missing string
	// Tree: the tool runs as many processes; their RSS is summed.
	Tree bool
	// Slow tools run -slow-runs times rather than -runs.
	Slow bool
	// Setup runs before each measured run (clearing sockets, locks).
	Setup func() error
	Argv  []string
	Env   []string
}

// env is the environment every tool runs in: HOME holds a known_hosts
// listing the fleet (as a user's would), no ssh-agent, no colour.
func (b *bench) env(extra ...string) []string {
	env := []string{
		"HOME=" + b.home,
		"PATH=" + os.Getenv("PATH"),
		"LANG=C.UTF-8",
		"NO_COLOR=1",
		"TMPDIR=" + b.tmp,
		"USER=" + os.Getenv("USER"),
	}
	if hz := os.Getenv("RUNBOOK_CPUPROFILE_HZ"); hz != "" {
		env = append(env, "RUNBOOK_CPUPROFILE_HZ="+hz) // for -profile's runs
	}
	return append(env, extra...)
}

// tools prepares every tool for workload w against the first w.Hosts hosts.
func (b *bench) tools(w workload) ([]*tool, error) {
	dir := filepath.Join(b.dir, "wl-"+w.slug())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	hosts := b.fleet.Hosts[:w.Hosts]
	var out []*tool
	makers := []func(string, workload, []*sshdtest.Host) (*tool, error){
		b.runbookTool, b.floorTool, b.floorSpecTool, b.spotTool, b.opensshTool, b.ansibleTool,
	}
	if b.baselineBin != "" {
		makers = append(makers[:1], append([]func(string, workload, []*sshdtest.Host) (*tool, error){b.baselineTool}, makers[1:]...)...)
	}
	if b.only[tmpfsName] {
		makers = append(makers[:1], append([]func(string, workload, []*sshdtest.Host) (*tool, error){b.tmpfsTool}, makers[1:]...)...)
	}
	for _, mk := range makers {
		t, err := mk(dir, w, hosts)
		if err != nil {
			return nil, err
		}
		if b.only != nil && !b.only[t.Name] {
			continue
		}
		out = append(out, t)
	}
	return out, nil
}

// runbookTool: `runbook run` of a generated runbook, one batch phase with
// every host at once; the journal is fsynced and host locks are taken, as
// always. State lives on disk (-state-dir), not tmpfs, so fsync is real.
func (b *bench) runbookTool(dir string, w workload, hosts []*sshdtest.Host) (*tool, error) {
	return b.runbookToolOf(b.runbookBin, "runbook run", "", b.stateRoot, dir, w, hosts)
}

// baselineTool is runbookTool with the -baseline binary (another build of
// runbook, main's say), with state and locks of its own, so that two
// builds are compared in one interleaved run.
func (b *bench) baselineTool(dir string, w workload, hosts []*sshdtest.Host) (*tool, error) {
	return b.runbookToolOf(b.baselineBin, baselineName, "-baseline", b.stateRoot, dir, w, hosts)
}

// baselineName names the -baseline binary's runs in the report.
const baselineName = "runbook run (baseline)"

// tmpfsTool is runbookTool with its state on tmpfs (/dev/shm), where an
// fsync costs nothing: beside runbookTool, what the durable journal costs.
// Only when -tools names it.
func (b *bench) tmpfsTool(dir string, w workload, hosts []*sshdtest.Host) (*tool, error) {
	return b.runbookToolOf(b.runbookBin, tmpfsName, "-tmpfs", b.tmpfsRoot(), dir, w, hosts) // the bench's cleanup removes it
}

// tmpfsRoot is where tmpfsTool's state dirs go.
func (b *bench) tmpfsRoot() string { return filepath.Join("/dev/shm", filepath.Base(b.dir)) }

// floorName names floorTool's runs in the report.
const floorName = "floor (x/crypto/ssh)"

// tmpfsName names tmpfsTool's runs in the report.
const tmpfsName = "runbook run (state on tmpfs)"

func (b *bench) runbookToolOf(bin, name, suffix, stateRoot, dir string, w workload, hosts []*sshdtest.Host) (*tool, error) {
	dir = dir + suffix
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	locks := filepath.Join(dir, "locks")
	var rb strings.Builder
	fmt.Fprintf(&rb, "runbook: bench\ndescription: %s at once\ntargets: all\nconcurrency: %d\n", w, w.Hosts)
	rb.WriteString("phases:\n  - name: Steps\n    kind: batch\n    steps:\n")
	for _, st := range w.steps() {
		fmt.Fprintf(&rb, "      - {name: %s, ", st.Name)
		if st.Script != "" {
			fmt.Fprintf(&rb, "shell: %q", st.Script)
		} else {
			fmt.Fprintf(&rb, "command: [%q]", st.Program)
		}
		if st.Become {
			rb.WriteString(", become: true")
		}
		rb.WriteString("}\n")
	}
	var inv strings.Builder
	inv.WriteString("all:\n  hosts:\n")
	for _, h := range hosts {
		fmt.Fprintf(&inv, "    %s: {address: %s, port: %d, user: %s, identity_file: %s, lock_path: %s}\n",
			h.Name, h.Address, h.Port, b.fleet.User, b.fleet.KeyFile, filepath.Join(locks, h.Name+".lock"))
	}
	rbFile, invFile := filepath.Join(dir, "bench.yaml"), filepath.Join(dir, "inventory.yaml")
	if err := writeFiles(map[string]string{rbFile: rb.String(), invFile: inv.String()}); err != nil {
		return nil, err
	}
	state := filepath.Join(stateRoot, "wl-"+w.slug()+suffix)
	return &tool{
		Name:  name,
		Setup: b.freshLocks(locks),
		Argv:  []string{bin, "--state-dir", state, "--no-color", "run", rbFile, "-i", invFile, "--yes"},
		Env:   b.env(b.profileEnv...),
	}, nil
}

// floorTool: the minimal x/crypto/ssh client (this binary with -floor).
func (b *bench) floorTool(dir string, w workload, hosts []*sshdtest.Host) (*tool, error) {
	file, err := b.writeFloorSpec(dir, floorSpec{}, w, hosts)
	if err != nil {
		return nil, err
	}
	return &tool{Name: floorName, Argv: []string{b.self, "-floor", file}, Env: b.env()}, nil
}

// freshLocks is the Setup of a tool that takes host locks under locks:
// they are released at the end of a run, but a run that failed may leave
// some, which would stop the next one.
func (b *bench) freshLocks(locks string) func() error {
	return func() error {
		if err := os.RemoveAll(locks); err != nil {
			return err
		}
		return mkdirOwned(locks, b.fleet.User)
	}
}

// hostAddrs is the hosts' host:port addresses, in order.
func hostAddrs(hosts []*sshdtest.Host) []string {
	out := make([]string, len(hosts))
	for i, h := range hosts {
		out[i] = h.Addr()
	}
	return out
}

// floorSpecName names floorSpecTool's runs in the report.
const floorSpecName = "floor doing the SPEC's work"

// floorSpecTool: the floor, also taking and releasing each host's lock
// (with its facts) and keeping a journal fsynced before each step, its
// state on disk as runbook's (floorHostWithSpecWork): what the SPEC's
// guarantees cost a minimal client, for runbook's CPU to be set against.
func (b *bench) floorSpecTool(dir string, w workload, hosts []*sshdtest.Host) (*tool, error) {
	dir += "-floorspec"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	locks := filepath.Join(dir, "locks")
	file, err := b.writeFloorSpec(dir, floorSpec{Journal: filepath.Join(b.stateRoot, "wl-"+w.slug()+"-floorspec.jsonl"), LockDir: locks}, w, hosts)
	if err != nil {
		return nil, err
	}
	return &tool{
		Name:  floorSpecName,
		Setup: b.freshLocks(locks),
		Argv:  []string{b.self, "-floor", file},
		Env:   b.env(),
	}, nil
}

// writeFloorSpec completes spec with the fleet's login, the workload's
// steps and the hosts' addresses, and writes it into dir for -floor.
func (b *bench) writeFloorSpec(dir string, spec floorSpec, w workload, hosts []*sshdtest.Host) (string, error) {
	spec.User, spec.KeyFile, spec.KnownHosts = b.fleet.User, b.fleet.KeyFile, b.fleet.KnownHosts
	for _, st := range w.steps() {
		spec.Commands = append(spec.Commands, st.wire())
	}
	spec.Addrs = hostAddrs(hosts)
	data, err := json.Marshal(spec)
	if err != nil {
		return "", err
	}
	file := filepath.Join(dir, "floor.json")
	return file, os.WriteFile(file, data, 0o644)
}

// spotBuild says how to get a spot binary: the Go module proxy here does
// not serve umputun/spot, so it is built from its source, outside this
// repository.
const spotBuild = "not on PATH; build it from its source (outside this repository): " +
	"git clone https://github.com/umputun/spot /tmp/spot && (cd /tmp/spot && go build -mod=vendor -o /usr/local/bin/spot ./cmd/spot)"

// spotTool: umputun/spot, when a spot binary is on PATH: a task of one
// script command per step (options: {sudo: true} for become), every host
// at once.
func (b *bench) spotTool(dir string, w workload, hosts []*sshdtest.Host) (*tool, error) {
	t := &tool{Name: "spot"}
	bin, err := exec.LookPath("spot")
	if err != nil {
		t.Missing = spotBuild
		return t, nil
	}
	var pb strings.Builder
	fmt.Fprintf(&pb, "user: %s\nssh_key: %s\ntargets:\n  bench:\n    hosts:\n", b.fleet.User, b.fleet.KeyFile)
	for _, h := range hosts {
		fmt.Fprintf(&pb, "      - {host: %q, port: %d, name: %q}\n", h.Address, h.Port, h.Name)
	}
	pb.WriteString("tasks:\n  - name: bench\n    commands:\n")
	for i, st := range w.steps() {
		script := st.Script
		if script == "" {
			script = "exec " + st.Program
		}
		fmt.Fprintf(&pb, "      - {name: step%d, script: %q", i+1, script)
		if st.Become {
			pb.WriteString(", options: {sudo: true}")
		}
		pb.WriteString("}\n")
	}
	file := filepath.Join(dir, "spot.yml")
	if err := os.WriteFile(file, []byte(pb.String()), 0o644); err != nil {
		return nil, err
	}
	t.Argv = []string{bin, "-p", file, "-t", "bench", "-c", strconv.Itoa(w.Hosts), "--no-color"}
	t.Env = b.env()
	return t, nil
}

// opensshTool: plain OpenSSH with ControlMaster, driven by a POSIX shell
// script: per host (all at once) each step is an `ssh` call; the first one
// becomes the host's master (ControlPersist), the others multiplex over
// it; `ssh -O exit` ends the master.
func (b *bench) opensshTool(dir string, w workload, hosts []*sshdtest.Host) (*tool, error) {
	t := &tool{Name: "OpenSSH ControlMaster", Tree: true}
	bin, err := exec.LookPath("ssh")
	if err != nil {
		t.Missing = "ssh not on PATH"
		return t, nil
	}
	cm := filepath.Join(dir, "cm")
	var cfg strings.Builder
	for _, h := range hosts {
		fmt.Fprintf(&cfg, "Host %s\n  HostName %s\n  Port %d\n", h.Name, h.Address, h.Port)
	}
	fmt.Fprintf(&cfg, "Host *\n  User %s\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  BatchMode yes\n",
		b.fleet.User, b.fleet.KeyFile, b.fleet.KnownHosts)
	cfgFile := filepath.Join(dir, "ssh_config")
	opts := fmt.Sprintf("-F %s -o ControlPath=%s/%%n", cfgFile, cm)
	var sh strings.Builder
	fmt.Fprintf(&sh, "#!/bin/sh\n# %s with OpenSSH: a ControlMaster per host, an ssh call per step.\n", w)
	sh.WriteString("host() {\n")
	for _, st := range w.steps() {
		fmt.Fprintf(&sh, "  %s %s -o ControlMaster=auto -o ControlPersist=60 \"$1\" %s || return 1\n", bin, opts, shellQuote(st.wire()))
	}
	fmt.Fprintf(&sh, "  %s %s -O exit \"$1\" 2>/dev/null\n}\n", bin, opts)
	sh.WriteString("pids=\"\"\nfor h in")
	for _, h := range hosts {
		sh.WriteString(" " + h.Name)
	}
	sh.WriteString("; do host \"$h\" & pids=\"$pids $!\"; done\nrc=0\nfor p in $pids; do wait \"$p\" || rc=1; done\nexit $rc\n")
	script := filepath.Join(dir, "openssh.sh")
	if err := writeFiles(map[string]string{cfgFile: cfg.String(), script: sh.String()}); err != nil {
		return nil, err
	}
	t.Setup = func() error { return resetDir(cm) }
	t.Argv = []string{"/bin/sh", script}
	t.Env = b.env()
	return t, nil
}

// writeFiles writes each file (0644).
func writeFiles(files map[string]string) error {
	for path, content := range files {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// resetDir empties dir (creating it).
func resetDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.MkdirAll(dir, 0o700)
}

// mkdirOwned creates dir owned by the named user (the test hosts' login),
// so that the hosts can create their locks in it.
func mkdirOwned(dir, name string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return os.Chown(dir, uid, gid)
}
