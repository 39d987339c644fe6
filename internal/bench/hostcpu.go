package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/runbookhq/runbook/internal/sshdtest"
)

// clockTick is the unit of the CPU times in /proc/PID/stat (USER_HZ, 100
// on Linux).
const clockTick = 10 * time.Millisecond

// settleHosts waits (up to a minute) until the fleet's hosts run nothing
// for a client (sshdtest's Sessions: connections, sessions, commands, and
// what outlives them, Ansible's end some time after it exits), so that a
// tool's run does not share the cores with the end of the previous tool's.
// Processes of other fleets do not count, though they may log in as the
// same user: other benches and tests on a shared machine. It first flushes
// the page cache's dirty pages, so that the journal's fsyncs do not wait
// on another tool's writes.
func settleHosts(f *sshdtest.Fleet) {
	syscall.Sync()
	deadline := time.Now().Add(time.Minute)
	for len(f.Sessions()) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
}

// fleetListeners lists the sshd listeners of the fleet in fleetDir.
func fleetListeners(fleetDir string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.Contains(string(cmd), fleetDir) && strings.Contains(string(cmd), "listener") {
			out = append(out, pid)
		}
	}
	return out
}

// hostMeter measures the CPU the fleet's hosts use: in a control group of
// their own when the bench can make one (root, cgroup v2 or v1's cpuacct),
// which every process the sshds fork stays in, whoever reaps it; else from
// the listeners (listenerCPU).
type hostMeter struct {
	fleetDir string
	cgroup   string // the group's directory; "" when there is none
	v2       bool
}

// Method says, for the report, how the hosts' CPU was measured.
func (m *hostMeter) Method() string {
	if m.cgroup != "" {
		return "a control group (" + m.cgroup + ") the sshd listeners were moved into when they started, which every process they fork stays in"
	}
	return "the sshd listeners, which count the processes they have reaped (no control group could be made: the bench is not root, or the machine has neither cgroup v2 nor v1's cpuacct); a process that outlives its parent is missed"
}

// newHostMeter moves the fleet's sshd listeners into a new control group
// when it can, before any connection, so that every process forked for a
// connection, a session or a command is counted, orphans included: a
// runbook driver whose connection the controller closed ends after its
// sshd and is reparented, and the listeners then count neither it nor the
// steps it ran (a 20 × 20 run: 1.9 s counted of the 5.8 s its hosts used).
func newHostMeter(fleetDir string) *hostMeter {
	m := &hostMeter{fleetDir: fleetDir}
	pids := fleetListeners(fleetDir)
	if len(pids) == 0 || os.Geteuid() != 0 {
		return m
	}
	name := "runbook-bench-" + strconv.Itoa(os.Getpid())
	for _, c := range []struct {
		root, probe string
		v2          bool
	}{
		{"/sys/fs/cgroup", "cgroup.controllers", true},
		{"/sys/fs/cgroup/cpuacct", "cpuacct.usage", false},
	} {
		if _, err := os.Stat(filepath.Join(c.root, c.probe)); err != nil {
			continue
		}
		dir := filepath.Join(c.root, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			continue
		}
		moved := true
		for _, pid := range pids {
			if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
				moved = false
				break
			}
		}
		if !moved {
			m.moveBack(dir, c.root)
			continue
		}
		m.cgroup, m.v2 = dir, c.v2
		return m
	}
	return m
}

// CPU is the CPU the hosts have used so far.
func (m *hostMeter) CPU() time.Duration {
	if m.cgroup == "" {
		return listenerCPU(m.fleetDir)
	}
	if !m.v2 {
		b, err := os.ReadFile(filepath.Join(m.cgroup, "cpuacct.usage"))
		if err != nil {
			return 0
		}
		n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		return time.Duration(n)
	}
	b, err := os.ReadFile(filepath.Join(m.cgroup, "cpu.stat"))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "usage_usec "); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return time.Duration(n) * time.Microsecond
		}
	}
	return 0
}

// Close removes the control group once the fleet has stopped, moving what
// is left in it back to the root group first.
func (m *hostMeter) Close() {
	if m.cgroup != "" {
		m.moveBack(m.cgroup, filepath.Dir(m.cgroup))
	}
}

func (m *hostMeter) moveBack(dir, root string) {
	if b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs")); err == nil {
		for pid := range strings.FieldsSeq(string(b)) {
			os.WriteFile(filepath.Join(root, "cgroup.procs"), []byte(pid), 0o644)
		}
	}
	if err := os.Remove(dir); err != nil {
		logf("bench: %v", err)
	}
}

// listenerCPU is the CPU the test hosts have used so far as their sshd
// listeners count it: the user and system time of every listener whose
// command line names the fleet's directory, with that of the connection
// processes it has reaped (one per connection, which fork the sessions and
// their commands). On loopback the hosts share the controller's cores, so
// this is what the wall time also pays for; on a real fleet it is spent on
// the hosts' own CPUs.
func listenerCPU(fleetDir string) time.Duration {
	var ticks int64
	for _, pid := range fleetListeners(fleetDir) {
		f, ok := sshdtest.ProcStat(pid)
		if !ok || len(f) < 15 {
			continue
		}
		for _, v := range f[11:15] { // utime stime cutime cstime
			n, _ := strconv.ParseInt(v, 10, 64)
			ticks += n
		}
	}
	return time.Duration(ticks) * clockTick
}
