package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/runbookhq/runbook/internal/ctxio"
)

// LocalOptions configures a local transport.
type LocalOptions struct {
	// BecomePassword is given to `sudo -S` on standard input when `sudo -n`
	// is refused; nil means Become relies on passwordless sudo.
	BecomePassword []byte
	// KillGrace is how long a cancelled command has between TERM and KILL;
	// zero means one second.
	KillGrace time.Duration
}

// Local returns a transport that runs commands on the controller itself.
func Local() Transport { return NewLocal(LocalOptions{}) }

// NewLocal returns a transport that runs commands on the controller itself,
// each in its own session and process group (detached from any terminal),
// through /bin/sh and sudo exactly as the SSH transport runs them remotely.
func NewLocal(opts LocalOptions) Transport {
	if opts.KillGrace <= 0 {
		opts.KillGrace = time.Second
	}
	opts.BecomePassword = bytes.Clone(opts.BecomePassword)
	return &local{opts: opts, sudo: map[string]SudoMode{}}
}

type local struct {
	opts   LocalOptions
	closed atomic.Bool
	mu     sync.Mutex
	sudo   map[string]SudoMode // by become user, once probed
}

var errLocalClosed = errors.New("local transport: used after Close")

// Run runs cmd on the controller.
func (l *local) Run(ctx context.Context, cmd Command) (Result, error) {
	if l.closed.Load() {
		return Result{}, errLocalClosed
	}
	if err := Validate(cmd); err != nil {
		return Result{}, fmt.Errorf("local: %w", err)
	}
	if cmd.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cmd.Timeout)
		defer cancel()
	}
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("local: command not started: %w", err)
	}
	mode := SudoNonInteractive
	if cmd.Become {
		mode = l.sudoMode(ctx, cmd.BecomeUser)
	}
	inv, err := Prepare(cmd, mode)
	if err != nil {
		return Result{}, fmt.Errorf("local: %w", err)
	}
	return l.start(ctx, inv, cmd)
}

func (l *local) start(ctx context.Context, inv Invocation, cmd Command) (Result, error) {
	c := exec.Command(inv.Argv[0], inv.Argv[1:]...)
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	c.Stdout, c.Stderr = cmd.Stdout, cmd.Stderr
	var stdin io.WriteCloser
	if inv.Password || len(inv.Stdin) > 0 || cmd.Stdin != nil {
		var err error
		if stdin, err = c.StdinPipe(); err != nil {
			return Result{}, fmt.Errorf("local: %w", err)
		}
	}
	start := time.Now()
	if err := c.Start(); err != nil {
		return Result{}, fmt.Errorf("local: starting %s: %w", inv.Argv[0], err)
	}
	if stdin != nil {
		// Fed apart from Wait, so that a Stdin that never ends cannot keep
		// Run waiting once the command has exited.
		go FeedStdin(stdin, l.opts.BecomePassword, inv, cmd.Stdin)
	}
	waited := make(chan error, 1)
	go func() { waited <- c.Wait() }()
	select {
	case err := <-waited:
		return localResult(err, time.Since(start))
	case <-ctx.Done():
	}
	pgid := c.Process.Pid // Setsid: the command leads its process group
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-waited:
	case <-time.After(l.opts.KillGrace):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-waited
	}
	return Result{}, fmt.Errorf("local: command interrupted after %v: %w", time.Since(start).Round(time.Millisecond), ctx.Err())
}

// FeedStdin writes what a prepared command reads on its standard input: the
// sudo password line (when inv asks for it), the invocation's own input and
// then the command's, and closes the pipe (end of file for the command).
// Both transports use it, so the password reaches sudo the same way.
func FeedStdin(w io.WriteCloser, password []byte, inv Invocation, in io.Reader) {
	defer w.Close()
	if inv.Password {
		line := append(bytes.Clone(password), '\n')
		_, err := w.Write(line)
		clear(line)
		if err != nil {
			return
		}
	}
	if len(inv.Stdin) > 0 {
		if _, err := w.Write(inv.Stdin); err != nil {
			return
		}
	}
	if in != nil {
		io.Copy(w, in)
	}
}

func localResult(err error, d time.Duration) (Result, error) {
	if err == nil {
		return Result{ExitCode: 0, Duration: d}, nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return Result{}, fmt.Errorf("local: %w", err)
	}
	code := ee.ExitCode()
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		code = 128 + int(ws.Signal()) // as a shell reports it
	}
	return Result{ExitCode: code, Duration: d}, nil
}

// sudoMode probes once per become user whether `sudo -n` works, and falls
// back to `sudo -S` when it does not and a password was given.
func (l *local) sudoMode(ctx context.Context, user string) SudoMode {
	if user == "" {
		user = "root"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if m, ok := l.sudo[user]; ok {
		return m
	}
	mode := SudoNonInteractive
	probe := exec.CommandContext(ctx, "sudo", "-n", "-u", user, "true")
	probe.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := probe.Run(); err != nil && l.opts.BecomePassword != nil {
		mode = SudoPassword
	}
	if ctx.Err() == nil {
		l.sudo[user] = mode
	}
	return mode
}

// Upload writes r to a temporary file in the same directory, sets its
// mode, and renames it over path: readers never see a partial file.
func (l *local) Upload(ctx context.Context, path string, r io.Reader, mode fs.FileMode) error {
	if l.closed.Load() {
		return errLocalClosed
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".runbook-*")
	if err != nil {
		return fmt.Errorf("local: upload %s: %w", path, err)
	}
	err = func() error {
		if _, err := io.Copy(tmp, ctxio.Reader(ctx, r)); err != nil {
			return err
		}
		if err := tmp.Chmod(mode.Perm()); err != nil {
			return err
		}
		return tmp.Close()
	}()
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("local: upload %s: %w", path, err)
	}
	return nil
}

// Download copies the file at path to w.
func (l *local) Download(ctx context.Context, path string, w io.Writer) error {
	if l.closed.Load() {
		return errLocalClosed
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("local: download: %w", err)
	}
	defer f.Close()
	if _, err := io.Copy(w, ctxio.Reader(ctx, f)); err != nil {
		return fmt.Errorf("local: download %s: %w", path, err)
	}
	return nil
}

// Stat reports the file at path.
func (l *local) Stat(ctx context.Context, path string) (FileInfo, error) {
	if l.closed.Load() {
		return FileInfo{}, errLocalClosed
	}
	if err := ctx.Err(); err != nil {
		return FileInfo{}, fmt.Errorf("local: stat %s: %w", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return FileInfo{}, fmt.Errorf("local: %w", err)
	}
	return FileInfo{Size: fi.Size(), Mode: fi.Mode(), IsDir: fi.IsDir()}, nil
}

// Facts runs FactsScript on the controller.
func (l *local) Facts(ctx context.Context) (Facts, error) {
	var out bytes.Buffer
	res, err := l.Run(ctx, Command{Shell: FactsScript, Stdout: &out})
	if err != nil {
		return Facts{}, err
	}
	if res.ExitCode != 0 {
		return Facts{}, fmt.Errorf("local: facts script exited %d", res.ExitCode)
	}
	return ParseFacts(out.Bytes())
}

// Close marks the transport closed; there is no connection to release.
func (l *local) Close() error {
	l.closed.Store(true)
	return nil
}
