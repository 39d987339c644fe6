package containers

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
)

// isolatedAttr puts a command in a PID namespace and a private mount
// namespace of its own. Whatever it mounts goes when it ends, and when its
// first process ends the kernel ends every other process in it, so that
// nothing it started outlives it; Pdeathsig ends it with the Go thread
// that started it (the caller keeps that thread locked until it ends).
func isolatedAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Cloneflags:   syscall.CLONE_NEWPID,
		Unshareflags: syscall.CLONE_NEWNS,
		Pdeathsig:    syscall.SIGKILL,
	}
}

// isolatedShell runs script with sh in the namespaces of isolatedAttr;
// args are its $1, $2, ... /proc stays the host's (mmdebstrap's dpkg
// stalls with one of the new PID namespace).
func isolatedShell(ctx context.Context, script string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "/bin/sh", append([]string{"-c", script, "sh"}, args...)...)
	cmd.SysProcAttr = isolatedAttr()
	cmd.WaitDelay = 0
	return cmd
}

// runIsolated runs argv isolated, its output going line by line to
// progress; a failure says how it ended, with its last lines.
func runIsolated(ctx context.Context, progress io.Writer, label string, argv []string) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmd := isolatedShell(ctx, `exec "$@"`, argv...)
	out := &lineWriter{prefix: "  " + label + ": ", w: progress, tail: &tailBuffer{max: 12}}
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Run()
	out.Flush()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", label, ctx.Err())
	}
	return fmt.Errorf("%s: %v%s", label, err, out.tail.String())
}

// lineWriter copies complete lines to w with a prefix and keeps the last
// ones.
type lineWriter struct {
	mu     sync.Mutex
	prefix string
	w      io.Writer
	buf    []byte
	tail   *tailBuffer
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.line(string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
	return len(p), nil
}

func (l *lineWriter) line(s string) {
	s = strings.TrimRight(s, "\r")
	if l.w != nil {
		fmt.Fprintf(l.w, "%s%s\n", l.prefix, s)
	}
	if !isNspawnNoise(s) {
		l.tail.add(s)
	}
}

// isNspawnNoise says a line is systemd-nspawn refusing to clean up under
// a /run that is not a tmpfs: true of every container here, so it says
// nothing about the one that failed.
func isNspawnNoise(s string) bool {
	return strings.HasPrefix(s, `Attempted to remove disk file system under "/run/systemd/nspawn/`)
}

// Flush writes a last line without its newline.
func (l *lineWriter) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.line(string(l.buf))
		l.buf = nil
	}
}

// tailBuffer keeps the last max lines.
type tailBuffer struct {
	mu    sync.Mutex
	max   int
	lines []string
}

func (t *tailBuffer) add(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, s)
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
}

// String is ":\n  line\n  line" or "" when nothing was written.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == 0 {
		return ""
	}
	return ":\n  " + strings.Join(t.lines, "\n  ")
}

// lookTool finds a program in PATH or in the sbin directories root has.
func lookTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin"} {
		if p, err := exec.LookPath(dir + "/" + name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is not installed", name)
}
