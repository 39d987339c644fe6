package sim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// dpkgLock is a held apt/dpkg lock file of a node: a real flock on the file
// in the node's root, so two apt-get of one node (or any other process
// holding it) exclude each other as they do on a real system.
type dpkgLock struct {
	f    *os.File
	key  string
	w    *World
	path string
}

// errLockBusy is returned when the lock stays held by someone else.
var errLockBusy = errors.New("lock busy")

// acquireLock takes the lock file path of the node, waiting up to timeout.
func (w *World) acquireLock(ctx context.Context, node string, root *os.Root, path, holder string, timeout time.Duration) (*dpkgLock, error) {
	f, err := root.OpenFile(rel(path), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, err
		}
		if timeout <= 0 || time.Now().After(deadline) {
			f.Close()
			return nil, errLockBusy
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	key := node + ":" + path
	w.rootsMu.Lock()
	if w.lockHolders == nil {
		w.lockHolders = map[string]string{}
	}
	w.lockHolders[key] = holder
	w.rootsMu.Unlock()
	return &dpkgLock{f: f, key: key, w: w, path: path}, nil
}

// holder describes who holds a lock of this process ("" when unknown).
func (w *World) lockHolder(node, path string) string {
	w.rootsMu.Lock()
	defer w.rootsMu.Unlock()
	return w.lockHolders[node+":"+path]
}

// release gives the lock back.
func (l *dpkgLock) release() {
	if l == nil {
		return
	}
	l.w.rootsMu.Lock()
	delete(l.w.lockHolders, l.key)
	l.w.rootsMu.Unlock()
	unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
	l.f.Close()
}

// lockTimeout reads -o DPkg::Lock::Timeout=N.
func lockTimeout(cl *cmdline) time.Duration {
	for _, o := range cl.values("o", "option") {
		k, v, ok := strings.Cut(o, "=")
		if ok && strings.EqualFold(k, "DPkg::Lock::Timeout") {
			var n int
			if _, err := fmt.Sscan(v, &n); err == nil && n > 0 {
				return time.Duration(n) * time.Second
			}
		}
	}
	return 0
}

// lockBusyMessage is apt's complaint about a held lock.
func (w *World) lockBusyMessage(node, path, what string) string {
	held := w.lockHolder(node, path)
	var b strings.Builder
	if held != "" {
		fmt.Fprintf(&b, "E: Could not get lock %s. It is held by process %s\n", path, held)
	} else {
		fmt.Fprintf(&b, "E: Could not get lock %s - open (11: Resource temporarily unavailable)\n", path)
	}
	b.WriteString("N: Be aware that removing the lock file is not a solution and may break your system.\n")
	fmt.Fprintf(&b, "E: Unable to %s (%s), is another process using it?\n", what, path)
	return b.String()
}
