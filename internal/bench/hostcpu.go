package main

import (
	"os"
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

// hostsCPU is the CPU the test hosts have used so far: the user and system
// time of every sshd listener whose command line names the fleet's
// directory, with that of the connection processes it has reaped (one per
// connection, which fork the sessions and their commands). On loopback the
// hosts share the controller's cores, so this is what the wall time also
// pays for; on a real fleet it is spent on the hosts' own CPUs.
func hostsCPU(fleetDir string) time.Duration {
	var ticks int64
	for _, pid := range fleetListeners(fleetDir) {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			continue
		}
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 15 {
			continue
		}
		for _, v := range f[11:15] { // utime stime cutime cstime
			n, _ := strconv.ParseInt(v, 10, 64)
			ticks += n
		}
	}
	return time.Duration(ticks) * clockTick
}
