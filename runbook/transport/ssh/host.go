package ssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/runbookhq/runbook/runbook/transport"
)

// host is the transport.Transport of one target: one connection at a
// time, redialled when it has dropped.
type host struct {
	d        *Dialer
	ep       endpoint
	sessions chan struct{} // a token per command allowed to run at once

	mu     sync.Mutex
	cur    *conn
	closed bool
}

var _ transport.Transport = (*host)(nil)

func newHost(d *Dialer, ep endpoint) *host {
	return &host{d: d, ep: ep, sessions: make(chan struct{}, d.opts.MaxSessions)}
}

// errClosed is returned by every method called after Close.
var errClosed = errors.New("transport used after Close")

// conn returns the live connection, dialling one when there is none or
// the last one has ended.
func (h *host) conn(ctx context.Context) (*conn, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, fmt.Errorf("%s: %w", h.ep.name, errClosed)
	}
	if c := h.cur; c != nil {
		select {
		case <-c.done:
			c.close()
			h.cur = nil
		default:
			return c, nil
		}
	}
	c, err := h.d.connect(ctx, h.ep)
	if err != nil {
		return nil, err
	}
	h.cur = c
	return c, nil
}

// forget drops c if it is still the current connection, so that the next
// call dials afresh.
func (h *host) forget(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cur == c {
		h.cur = nil
	}
	c.close()
}

// acquire takes a session token, or fails when ctx ends first.
func (h *host) acquire(ctx context.Context) (func(), error) {
	select {
	case h.sessions <- struct{}{}:
		return func() { <-h.sessions }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: waiting for a free session: %w", h.ep.name, ctx.Err())
	}
}

// session opens a session on the live connection. When the connection
// turns out to have dropped, nothing has run yet, so it redials once and
// tries again.
func (h *host) session(ctx context.Context) (*conn, *ssh.Session, error) {
	refusals := 0
	for attempt := 0; ; attempt++ {
		c, err := h.conn(ctx)
		if err != nil {
			return nil, nil, err
		}
		s, err := newSession(ctx, c)
		if err == nil {
			return c, s, nil
		}
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("%s: opening a session: %w", h.ep.name, ctx.Err())
		}
		if !c.dead() {
			if c.yieldDriver() {
				attempt-- // the driver's session made way: ask again, as the same attempt
				continue
			}
			// The server refused the session (MaxSessions, say). sshd may
			// still count a session that has just closed, so a refusal is
			// asked again a few times before it is believed.
			if waitRefused(ctx, refusals) {
				refusals++
				attempt--
				continue
			}
			return nil, nil, fmt.Errorf("%s: opening a session: %w: %w", h.ep.name, transport.ErrSessionRefused, err)
		}
		h.forget(c)
		if attempt > 0 {
			return nil, nil, transport.Unreachable(h.ep.name, fmt.Errorf("opening a session: %w", err))
		}
	}
}

// refusedBackoff is how long to wait before asking again for a session the
// server refused: about half a second in all.
var refusedBackoff = []time.Duration{10 * time.Millisecond, 30 * time.Millisecond, 60 * time.Millisecond,
	150 * time.Millisecond, 250 * time.Millisecond}

// waitRefused waits before the next attempt after n refusals, and reports
// whether to make it.
func waitRefused(ctx context.Context, n int) bool {
	if n >= len(refusedBackoff) {
		return false
	}
	t := time.NewTimer(refusedBackoff[n])
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// newSession opens a session, giving up when ctx ends (a peer that has
// silently gone may never answer).
func newSession(ctx context.Context, c *conn) (*ssh.Session, error) {
	if ctx.Done() == nil {
		return c.client.NewSession()
	}
	type opened struct {
		s   *ssh.Session
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		s, err := c.client.NewSession()
		ch <- opened{s, err}
	}()
	select {
	case o := <-ch:
		return o.s, o.err
	case <-ctx.Done():
		go func() {
			if o := <-ch; o.s != nil {
				o.s.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// Facts runs transport.FactsScript in one session and parses its output.
func (h *host) Facts(ctx context.Context) (transport.Facts, error) {
	var out, stderr bytes.Buffer
	res, err := h.Run(ctx, transport.Command{Shell: transport.FactsScript, Stdout: &out, Stderr: &stderr})
	if err != nil {
		return transport.Facts{}, err
	}
	if res.ExitCode != 0 {
		return transport.Facts{}, fmt.Errorf("%s: facts script exited %d: %s", h.ep.name, res.ExitCode, bytes.TrimSpace(stderr.Bytes()))
	}
	f, err := transport.ParseFacts(out.Bytes())
	if err != nil {
		return f, fmt.Errorf("%s: %w", h.ep.name, err)
	}
	return f, nil
}

// Close closes the connection. Later calls fail.
func (h *host) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	if h.cur != nil {
		h.cur.close()
		h.cur = nil
	}
	return nil
}
