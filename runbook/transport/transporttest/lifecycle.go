package transporttest

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook/transport"
)

// promptly bounds how long Run may take to give up on a command of 60
// seconds once its context ends. It tells "signalled and returned" from
// "waited for the command to finish"; it is not a performance figure.
const promptly = 15 * time.Second

// testTimeout runs a command that starts a child of a minute past its
// Timeout. A loaded host may not have started the child when the timeout
// expires, so the timeout grows until it has.
func testTimeout(t *testing.T, h Harness, become bool) {
	tr, dir := h.New(t)
	for i, timeout := range []time.Duration{300 * time.Millisecond, 3 * time.Second, 15 * time.Second} {
		pidFile := path.Join(dir, fmt.Sprintf("timeout-%d.pid", i))
		start := time.Now()
		_, err := tryRun(context.Background(), tr, transport.Command{
			Shell:   longRunning(pidFile),
			Timeout: timeout,
			Become:  become,
		})
		elapsed := time.Since(start)
		if !isCtxErr(err, context.DeadlineExceeded) {
			t.Fatalf("Run with Timeout: err = %v, want one wrapping context.DeadlineExceeded", err)
		}
		if errors.Is(err, transport.ErrUnreachable) {
			t.Errorf("a timeout reported as unreachable: %v", err)
		}
		if elapsed > timeout+promptly {
			t.Errorf("Run returned %v after its timeout of %v", elapsed, timeout)
		}
		if !h.Processes {
			return // no processes to look for
		}
		if _, ok := readPid(t, tr, pidFile); !ok {
			t.Logf("the command had not started its child when its timeout of %v expired", timeout)
			continue
		}
		checkGone(t, h, tr, pidFile)
		// The transport is still usable.
		if r := run(t, tr, sh("echo alive")); r.Stdout != "alive\n" {
			t.Errorf("after a timeout: %q", r.Stdout)
		}
		return
	}
	t.Fatal("the command never started its child before its timeout expired")
}

func testCancel(t *testing.T, h Harness, become bool) {
	testCancelScript(t, h, become, longRunning)
}

// testCancelStubborn cancels a command whose processes ignore TERM: they
// must get KILL.
func testCancelStubborn(t *testing.T, h Harness, become bool) {
	testCancelScript(t, h, become, func(pidFile string) string { return "trap '' TERM; " + longRunning(pidFile) })
}

func testCancelScript(t *testing.T, h Harness, become bool, script func(pidFile string) string) {
	if become && !h.Sudo {
		t.Skip("the host offers no passwordless sudo")
	}
	tr, dir := h.New(t)
	pidFile := path.Join(dir, "cancel.pid")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := tryRun(ctx, tr, transport.Command{Shell: script(pidFile), Become: become})
		done <- err
	}()
	waitForFile(t, tr, pidFile, done)
	cancel()
	var err error
	select {
	case err = <-done:
	case <-time.After(promptly):
		t.Fatalf("Run did not return within %v of its context's cancellation", promptly)
	}
	if !isCtxErr(err, context.Canceled) {
		t.Fatalf("Run cancelled: err = %v, want one wrapping context.Canceled", err)
	}
	checkGone(t, h, tr, pidFile)
	if r := run(t, tr, sh("echo alive")); r.Stdout != "alive\n" {
		t.Errorf("after a cancellation: %q", r.Stdout)
	}
	// A context already done runs nothing.
	_, err = tr.Run(ctx, sh("echo never"))
	if !isCtxErr(err, context.Canceled) {
		t.Errorf("Run with a done context: %v", err)
	}
}

// longRunning starts a child that would run for a minute and records its
// pid, so that the test can check it was killed too, not just the shell.
func longRunning(pidFile string) string {
	return fmt.Sprintf("sleep 60 & echo $! > %s; wait; echo finished", transport.Quote(pidFile))
}

// waitForFile polls for path on the host until it exists, or fails the test
// when the command ends first or a deadline passes.
func waitForFile(t *testing.T, tr transport.Transport, path string, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if fi, err := tr.Stat(context.Background(), path); err == nil && fi.Size > 0 {
			return
		}
		select {
		case err := <-done:
			t.Fatalf("command ended before writing %s: %v", path, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("%s did not appear", path)
}

// checkGone checks that the process whose pid is in pidFile has gone (or
// is a zombie nobody reaps, which is as dead).
func checkGone(t *testing.T, h Harness, tr transport.Transport, pidFile string) {
	t.Helper()
	if !h.Processes {
		return
	}
	var pid int
	for range 100 {
		if p, ok := readPid(t, tr, pidFile); ok {
			pid = p
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if pid == 0 {
		t.Fatalf("no pid in %s", pidFile)
	}
	alive := fmt.Sprintf(`[ -d /proc/%d ] && ! grep -q '^State:[[:space:]]*Z' /proc/%d/status`, pid, pid)
	deadline := time.Now().Add(promptly)
	for {
		if r := run(t, tr, sh(alive)); r.ExitCode != 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the command's child (pid %d) is still running %v after cancellation", pid, promptly)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// readPid reads the pid in pidFile on the host, if it holds one.
func readPid(t *testing.T, tr transport.Transport, pidFile string) (int, bool) {
	t.Helper()
	r := run(t, tr, sh("cat "+transport.Quote(pidFile)+" 2>/dev/null"))
	pid, err := strconv.Atoi(strings.TrimSpace(r.Stdout))
	return pid, err == nil && pid > 0
}
