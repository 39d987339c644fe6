package journal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// RunLockFile is the file in a run directory whose exclusive flock marks the
// process that holds the run. The kernel releases a flock when its holder
// dies, SIGKILL included, so a killed run never leaves a stale lock behind.
const RunLockFile = "run.lock"

// RunLock is a run directory held by this process: only its holder appends
// to the journal.
type RunLock struct{ f *os.File }

// RunHeldError says another process holds the run directory (exit 4).
type RunHeldError struct {
	RunID string
	// Holder is what the holder wrote in the lock file: pid, host and since
	// when; empty fields when it had not written it yet.
	PID   int
	Host  string
	Since time.Time
}

func (e *RunHeldError) Error() string {
	who := "another process"
	if e.PID > 0 {
		who = fmt.Sprintf("process %d on %s", e.PID, e.Host)
		if !e.Since.IsZero() {
			who += " since " + e.Since.UTC().Format(time.RFC3339)
		}
	}
	return fmt.Sprintf("run %s is held by %s: a run directory is driven by one process at a time; wait for it to end (or stop it) and resume then", e.RunID, who)
}

// LockRun takes the run directory dir for this process, or fails with a
// *RunHeldError naming the process that holds it. It never waits.
func LockRun(dir string) (*RunLock, error) {
	path := filepath.Join(dir, RunLockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock run directory: %w", err)
	}
	if err := flock(f); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			held := &RunHeldError{RunID: filepath.Base(dir)}
			held.PID, held.Host, held.Since = readHolder(path)
			return nil, held
		}
		return nil, fmt.Errorf("lock run directory %s: %w", dir, err)
	}
	host, _ := os.Hostname()
	holder := fmt.Sprintf("%d %s %s\n", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(holder), 0)
	}
	return &RunLock{f: f}, nil
}

func flock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// readHolder reads who holds the lock file at path. The holder writes it
// just after taking the lock, so for a moment the file may be empty or
// still name an earlier holder that is gone: it is read again, for up to a
// second, until it names a live process on this machine (or another
// machine, where liveness cannot be told).
func readHolder(path string) (pid int, host string, since time.Time) {
	me, _ := os.Hostname()
	for range 100 {
		b, err := os.ReadFile(path)
		if err == nil {
			pid, host, since = parseHolder(string(b))
			if pid > 0 && (host != me || syscall.Kill(pid, 0) != syscall.ESRCH) {
				return pid, host, since
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0, "", time.Time{}
}

// parseHolder reads "PID HOST SINCE" as LockRun writes it.
func parseHolder(s string) (pid int, host string, since time.Time) {
	f := strings.Fields(s)
	if len(f) != 3 {
		return 0, "", time.Time{}
	}
	pid, _ = strconv.Atoi(f[0])
	since, _ = time.Parse(time.RFC3339, f[2])
	return pid, f[1], since
}

// Release gives the run directory up. The lock file stays: removing it would
// let a process that opened it before the removal lock an unlinked file
// while a third locks a new one.
func (l *RunLock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
