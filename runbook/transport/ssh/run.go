package ssh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/runbookhq/runbook/runbook/transport"
)

// Run runs cmd in a new session on the host's connection.
func (h *host) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	if err := transport.Validate(cmd); err != nil {
		return transport.Result{}, fmt.Errorf("%s: %w", h.ep.name, err)
	}
	if cmd.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cmd.Timeout)
		defer cancel()
	}
	if err := ctx.Err(); err != nil {
		return transport.Result{}, fmt.Errorf("%s: command not started: %w", h.ep.name, err)
	}
	release, err := h.acquire(ctx)
	if err != nil {
		return transport.Result{}, err
	}
	defer release()
	mode := transport.SudoNonInteractive
	if cmd.Become {
		if mode, err = h.sudoMode(ctx, cmd.BecomeUser); err != nil {
			return transport.Result{}, err
		}
	}
	inv, err := transport.Prepare(cmd, mode)
	if err != nil {
		return transport.Result{}, fmt.Errorf("%s: %w", h.ep.name, err)
	}
	if res, handled, err := h.runDriver(ctx, inv, cmd); handled {
		return res, err
	}
	c, s, err := h.session(ctx)
	if err != nil {
		return transport.Result{}, err
	}
	return h.exec(ctx, c, s, inv, cmd)
}

// exec runs inv in session s and waits for it, or for ctx to end, in which
// case the remote process group gets TERM, then KILL after the grace time.
func (h *host) exec(ctx context.Context, c *conn, s *ssh.Session, inv transport.Invocation, cmd transport.Command) (transport.Result, error) {
	defer s.Close()
	stdout, stderr := &trackedWriter{w: cmd.Stdout}, &trackedWriter{w: cmd.Stderr}
	if cmd.Stdout != nil { // else the session discards it
		s.Stdout = stdout
	}
	if cmd.Stderr != nil {
		s.Stderr = stderr
	}
	var stdin io.WriteCloser
	if inv.Password || len(inv.Stdin) > 0 || cmd.Stdin != nil {
		var err error
		if stdin, err = s.StdinPipe(); err != nil {
			return transport.Result{}, fmt.Errorf("%s: %w", h.ep.name, err)
		}
	}
	start := time.Now()
	if err := s.Start(inv.CommandLine()); err != nil {
		if c.dead() {
			h.forget(c)
			return transport.Result{}, transport.Unreachable(h.ep.name, fmt.Errorf("starting command: %w", err))
		}
		return transport.Result{}, fmt.Errorf("%s: starting command: %w", h.ep.name, err)
	}
	if stdin != nil {
		// Fed apart from Wait, so that a Stdin that never ends cannot keep
		// Run waiting once the command has exited.
		go transport.FeedStdin(stdin, h.d.opts.BecomePassword, inv, cmd.Stdin)
	}
	waited := make(chan error, 1)
	go func() { waited <- s.Wait() }()
	select {
	case err := <-waited:
		return h.result(c, err, time.Since(start), stdout, stderr)
	case <-ctx.Done():
	}
	s.Signal(ssh.SIGTERM)
	timer := time.NewTimer(h.d.opts.KillGrace)
	defer timer.Stop()
	select {
	case <-waited:
	case <-timer.C:
		s.Signal(ssh.SIGKILL)
	}
	return transport.Result{}, fmt.Errorf("%s: command interrupted after %v: %w", h.ep.name,
		time.Since(start).Round(time.Millisecond), ctx.Err())
}

// result turns the end of a session into a Result, or into an error when
// the command did not run to its end: a session that closed without an
// exit status was cut off, and is never reported as a success.
func (h *host) result(c *conn, err error, d time.Duration, stdout, stderr *trackedWriter) (transport.Result, error) {
	var exit *ssh.ExitError
	switch {
	case errors.As(err, &exit):
		return transport.Result{ExitCode: exit.ExitStatus(), Duration: d}, nil
	case err == nil:
		return transport.Result{ExitCode: 0, Duration: d}, nil
	}
	for _, w := range []*trackedWriter{stdout, stderr} {
		if werr := w.failed(); werr != nil {
			return transport.Result{}, fmt.Errorf("%s: writing the command's output: %w", h.ep.name, werr)
		}
	}
	return transport.Result{}, h.cutOff(c, err)
}

// cutOff is the error of a command that ended without an exit status:
// unreachable, for a dropped connection (forgotten, so that the next call
// redials) or a session that closed early.
func (h *host) cutOff(c *conn, err error) error {
	if c.dead() {
		h.forget(c)
		return transport.Unreachable(h.ep.name, fmt.Errorf("connection lost while the command ran: %w", err))
	}
	return transport.Unreachable(h.ep.name, fmt.Errorf("command ended without an exit status: %w", err))
}

// sudoMode probes once per connection and become user whether `sudo -n`
// works, and falls back to `sudo -S` when it does not and a password is set.
func (h *host) sudoMode(ctx context.Context, user string) (transport.SudoMode, error) {
	if h.d.opts.BecomePassword == nil {
		return transport.SudoNonInteractive, nil // nothing else to try
	}
	if user == "" {
		user = "root"
	}
	c, err := h.conn(ctx)
	if err != nil {
		return 0, err
	}
	c.sudoMu.Lock()
	defer c.sudoMu.Unlock()
	if m, ok := c.sudo[user]; ok {
		return m, nil
	}
	probe := transport.Invocation{Argv: []string{"sudo", "-n", "-u", user, "true"}}
	pc, s, err := h.session(ctx)
	if err != nil {
		return 0, err
	}
	res, err := h.exec(ctx, pc, s, probe, transport.Command{Argv: probe.Argv})
	if err != nil {
		return 0, fmt.Errorf("probing sudo: %w", err)
	}
	mode := transport.SudoNonInteractive
	if res.ExitCode != 0 {
		mode = transport.SudoPassword
	}
	c.sudo[user] = mode
	return mode, nil
}

// trackedWriter passes output on and remembers a write error, which is the
// writer's fault, not the host's.
type trackedWriter struct {
	w   io.Writer
	mu  sync.Mutex
	err error
}

// copyBuffers serve trackedWriter.ReadFrom: the session copies every
// command's output through one, so they are pooled rather than allocated
// per command.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// ReadFrom copies r to the writer through a pooled buffer.
func (t *trackedWriter) ReadFrom(r io.Reader) (int64, error) {
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	return io.CopyBuffer(struct{ io.Writer }{t}, r, *buf)
}

func (t *trackedWriter) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	if err != nil {
		t.mu.Lock()
		t.err = err
		t.mu.Unlock()
	}
	return n, err
}

func (t *trackedWriter) failed() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}
