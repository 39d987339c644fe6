package ssh_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/runbookhq/runbook/internal/sshdtest"
	"github.com/runbookhq/runbook/runbook/transport"
	rbssh "github.com/runbookhq/runbook/runbook/transport/ssh"
)

const (
	benchHosts = 100
	benchSteps = 5
)

// BenchmarkFleet100x5 runs 5 trivial commands on each of 100 sshd hosts,
// all hosts at once, with this transport (Dial, 5 Runs, Close per host) and
// with a minimal x/crypto/ssh client (one connection per host, one session
// per command), alternating which goes first. It reports both wall times,
// their ratio, and the controller's CPU time per host-step of each.
// RB_BENCH_ONLY=ours or =baseline runs one side only, for profiling.
func BenchmarkFleet100x5(b *testing.B) {
	f := sshdtest.Start(b, sshdtest.Hosts(benchHosts))
	opts := fleetOptions(f)
	check, err := knownhosts.New(f.KnownHosts)
	if err != nil {
		b.Fatal(err)
	}
	base := &ssh.ClientConfig{User: f.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(f.Signer)}, HostKeyCallback: check}

	ours := func() error {
		d := rbssh.NewDialer(opts)
		defer d.Close()
		// A cancellable context, as the engine passes, not Background.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		return forAllHosts(f, func(h *sshdtest.Host) error {
			tr, err := d.Dial(ctx, target(h))
			if err != nil {
				return err
			}
			defer tr.Close()
			for range benchSteps {
				if _, err := tr.Run(ctx, transport.Command{Shell: "true"}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	baseline := func() error {
		return forAllHosts(f, func(h *sshdtest.Host) error {
			c, err := ssh.Dial("tcp", h.Addr(), base)
			if err != nil {
				return err
			}
			defer c.Close()
			for range benchSteps {
				s, err := c.NewSession()
				if err != nil {
					return err
				}
				err = s.Run("true")
				s.Close()
				if err != nil {
					return err
				}
			}
			return nil
		})
	}
	// Warm up both (page cache, sshd's first forks).
	if err := ours(); err != nil {
		b.Fatal(err)
	}
	if err := baseline(); err != nil {
		b.Fatal(err)
	}
	var oursWall, baseWall, oursCPU, baseCPU time.Duration
	b.ResetTimer()
	for i := range b.N {
		run := func(fn func() error, wall, cpu *time.Duration) {
			c0, t0 := cpuTime(), time.Now()
			if err := fn(); err != nil {
				b.Fatal(err)
			}
			*wall += time.Since(t0)
			*cpu += cpuTime() - c0
		}
		if only := os.Getenv("RB_BENCH_ONLY"); only == "ours" {
			run(ours, &oursWall, &oursCPU)
			continue
		} else if only == "baseline" {
			run(baseline, &baseWall, &baseCPU)
			continue
		}
		if i%2 == 0 {
			run(ours, &oursWall, &oursCPU)
			run(baseline, &baseWall, &baseCPU)
		} else {
			run(baseline, &baseWall, &baseCPU)
			run(ours, &oursWall, &oursCPU)
		}
	}
	n := float64(b.N)
	steps := n * benchHosts * benchSteps
	b.ReportMetric(oursWall.Seconds()/n, "ours-s/op")
	b.ReportMetric(baseWall.Seconds()/n, "baseline-s/op")
	b.ReportMetric(oursWall.Seconds()/baseWall.Seconds(), "ratio")
	b.ReportMetric(float64(oursCPU.Microseconds())/1000/steps, "ours-cpu-ms/host-step")
	b.ReportMetric(float64(baseCPU.Microseconds())/1000/steps, "baseline-cpu-ms/host-step")
}

func forAllHosts(f *sshdtest.Fleet, fn func(*sshdtest.Host) error) error {
	errs := make(chan error, len(f.Hosts))
	var wg sync.WaitGroup
	for _, h := range f.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(h); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// cpuTime is the user plus system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRunSequential measures one command on an open connection, this
// transport against a bare x/crypto/ssh session: the per-step overhead,
// without the noise of a hundred hosts.
func BenchmarkRunSequential(b *testing.B) {
	f := sshdtest.Start(b)
	h := f.Hosts[0]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.Run("ours", func(b *testing.B) {
		tr, err := rbssh.NewDialer(fleetOptions(f)).Dial(ctx, target(h))
		if err != nil {
			b.Fatal(err)
		}
		defer tr.Close()
		c0 := cpuTime()
		for b.Loop() {
			if _, err := tr.Run(ctx, transport.Command{Shell: "true"}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64((cpuTime()-c0).Microseconds())/float64(b.N), "cpu-us/op")
	})
	b.Run("baseline", func(b *testing.B) {
		check, err := knownhosts.New(f.KnownHosts)
		if err != nil {
			b.Fatal(err)
		}
		c, err := ssh.Dial("tcp", h.Addr(), &ssh.ClientConfig{User: f.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(f.Signer)}, HostKeyCallback: check})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		c0 := cpuTime()
		for b.Loop() {
			s, err := c.NewSession()
			if err != nil {
				b.Fatal(err)
			}
			err = s.Run("true")
			s.Close()
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64((cpuTime()-c0).Microseconds())/float64(b.N), "cpu-us/op")
	})
}

// BenchmarkStepKinds runs one command after another on one connection, for
// each kind of step a runbook has (a shell script, an argv, a script with
// env, a script with become), through the driver and with a session per
// command, beside the floor: a bare x/crypto/ssh session that hands the
// script to the login shell. Besides wall time per step it reports the
// controller's CPU and the host's (sshd and everything it started), since
// a shell start is paid on the host.
func BenchmarkStepKinds(b *testing.B) {
	f := sshdtest.Start(b)
	h := f.Hosts[0]
	sudo := os.Geteuid() == 0 && f.User == sshdtest.SudoUserName
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kinds := []struct {
		name string
		cmd  transport.Command
	}{
		{"shell", transport.Command{Shell: "echo step 1; true"}},
		{"argv", transport.Command{Argv: []string{"echo", "step", "1"}}},
		{"env", transport.Command{Shell: "echo step 1; true", Env: map[string]string{"STEP": "1", "TOKEN": "s3cr3t"}}},
		{"become", transport.Command{Shell: "echo step 1; true", Become: true}},
	}
	for _, k := range kinds {
		if k.cmd.Become && !sudo {
			continue
		}
		for _, perCommand := range []bool{false, true} {
			name := k.name + "/driver"
			if perCommand {
				name = k.name + "/session"
			}
			b.Run(name, func(b *testing.B) {
				opts := fleetOptions(f)
				opts.SessionPerCommand = perCommand
				tr, err := rbssh.NewDialer(opts).Dial(ctx, target(h))
				if err != nil {
					b.Fatal(err)
				}
				measureSteps(b, f, func() error { return tr.Close() }, func() error {
					res, err := tr.Run(ctx, k.cmd)
					if err == nil && res.ExitCode != 0 {
						err = fmt.Errorf("exit %d", res.ExitCode)
					}
					return err
				})
			})
		}
	}
	b.Run("floor", func(b *testing.B) {
		check, err := knownhosts.New(f.KnownHosts)
		if err != nil {
			b.Fatal(err)
		}
		c, err := ssh.Dial("tcp", h.Addr(), &ssh.ClientConfig{User: f.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(f.Signer)}, HostKeyCallback: check})
		if err != nil {
			b.Fatal(err)
		}
		measureSteps(b, f, c.Close, func() error {
			s, err := c.NewSession()
			if err != nil {
				return err
			}
			defer s.Close()
			return s.Run("echo step 1; true")
		})
	})
}

// measureSteps runs step b.N times and reports the controller's CPU and
// the host's per step. The host's is read before the connection closes:
// a driver outlives its connection by a moment, and its parent sshd may
// not be there to reap it (and count its CPU) by then.
func measureSteps(b *testing.B, f *sshdtest.Fleet, closeConn func() error, step func() error) {
	b.Helper()
	settleFleet(f)
	host0, c0 := fleetCPU(f), cpuTime()
	for b.Loop() {
		if err := step(); err != nil {
			b.Fatal(err)
		}
	}
	ctrl := cpuTime() - c0
	host := fleetCPU(f) - host0
	closeConn()
	b.ReportMetric(float64(ctrl.Microseconds())/float64(b.N), "ctrl-cpu-us/op")
	b.ReportMetric(float64(host.Microseconds())/float64(b.N), "host-cpu-us/op")
}

// fleetListeners lists the pids of the fleet's sshd listeners.
func fleetListeners(f *sshdtest.Fleet) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.Contains(string(cmd), f.Dir) && strings.Contains(string(cmd), "listener") {
			out = append(out, pid)
		}
	}
	return out
}

// fleetProcesses lists the fleet's listeners and every live process
// they started, directly or not.
func fleetProcesses(f *sshdtest.Fleet) []int {
	listeners := fleetListeners(f)
	return append(listeners, sshdtest.Descendants(listeners...)...)
}

// settleFleet waits, up to ten seconds, until no listener has a child.
func settleFleet(f *sshdtest.Fleet) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if len(fleetProcesses(f)) == len(fleetListeners(f)) {
			return
		}
	}
}

// fleetCPU is the CPU time the fleet has used so far: that of its live
// processes and of the children each has reaped (in clock ticks of 10
// ms). A live process's children are counted once: while they run, as
// processes of the fleet; once reaped, in their parent's figure.
func fleetCPU(f *sshdtest.Fleet) time.Duration {
	var ticks int64
	for _, pid := range fleetProcesses(f) {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			continue
		}
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		for _, v := range fields[11:15] { // utime stime cutime cstime
			n, _ := strconv.ParseInt(v, 10, 64)
			ticks += n
		}
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}
