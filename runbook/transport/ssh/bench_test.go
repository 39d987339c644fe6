package ssh_test

import (
	"context"
	"os"
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
