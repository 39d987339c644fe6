package ssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/runbookhq/runbook/runbook/transport"
	"github.com/runbookhq/runbook/runbook/transport/driverproto"
)

// A driver runs a connection's commands one after another in one
// long-lived session, a small POSIX sh loop on the host, instead of a
// session each. A session costs about ten SSH packets (open, confirm,
// exec, its reply, EOF, exit status, close both ways), each a write and a
// wakeup at both ends, plus a fork of sshd's session on the host; a
// command through the driver costs one packet out and its output back.
// The protocol is package driverproto's.
//
// The controller passes both output streams on to the command's writers
// up to the request's markers, exactly as the command wrote them. Output
// is held back only while its last bytes could begin the marker, which
// text never does.
//
// Commands that need their standard input (a sudo password, a sensitive
// script, Command.Stdin) and long commands still get a session each. A
// driver that was interrupted, cut or misbehaved is closed, and the next
// command starts a new one.

// driver is one driver session and what reads its two output streams.
type driver struct {
	s     *ssh.Session
	stdin io.WriteCloser
	out   driverStream // standard output: the marker carries the status
	err   driverStream
	ready *driverReq    // the driver's first markers, or its failure to start
	ended chan struct{} // closed when the session has ended

	busy   sync.Mutex // held by the command running through the driver
	closed atomic.Bool
}

// driverReq is one command through the driver (or the driver's start),
// waiting for its markers on both streams.
type driverReq struct {
	left   atomic.Int32  // markers not yet seen
	done   chan struct{} // closed once both are seen
	status string        // the word after the standard output marker
	werr   error         // a write error of the command's writers
	werrMu sync.Mutex
}

func newDriverReq() *driverReq {
	r := &driverReq{done: make(chan struct{})}
	r.left.Store(2)
	return r
}

// seen counts one marker; the second one completes the request.
func (r *driverReq) seen() {
	if r.left.Add(-1) == 0 {
		close(r.done)
	}
}

func (r *driverReq) finished() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

func (r *driverReq) writeErr() error {
	r.werrMu.Lock()
	defer r.werrMu.Unlock()
	return r.werr
}

// expectation is what a stream waits for: the marker ending a request's
// output, and where that output goes until then.
type expectation struct {
	marker []byte // "\x1e" + nonce
	sink   io.Writer
	req    *driverReq
}

// driverStream passes one output stream of the driver session on to the
// writers of the requests sent, in order, each up to its marker.
type driverStream struct {
	mu     sync.Mutex
	status bool // the line that ends each marker holds the status word
	queue  []expectation
	pend   []byte // received and not yet passed on: it may begin a marker
}

// expect queues the next request's marker and writer.
func (st *driverStream) expect(nonce string, sink io.Writer, req *driverReq) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.queue = append(st.queue, expectation{marker: []byte(driverproto.MarkerPrefix(nonce)), sink: sink, req: req})
}

// Write takes what the session received and passes it on, holding back
// only what could be the beginning of a marker.
func (st *driverStream) Write(p []byte) (int, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.pend = append(st.pend, p...)
	for len(st.queue) > 0 {
		e := &st.queue[0]
		i := bytes.Index(st.pend, e.marker)
		if i < 0 {
			n := heldFrom(st.pend, e.marker)
			pass(e, st.pend[:n])
			st.pend = append(st.pend[:0], st.pend[n:]...)
			return len(p), nil
		}
		pass(e, st.pend[:i])
		rest := st.pend[i+len(e.marker):]
		j := bytes.IndexByte(rest, '\n')
		if j < 0 { // the rest of the marker's line is still to come
			st.pend = append(st.pend[:0], st.pend[i:]...)
			return len(p), nil
		}
		if st.status {
			e.req.status = string(bytes.TrimSpace(rest[:j]))
		}
		rest = rest[j+1:]
		req := e.req
		st.queue = st.queue[1:]
		st.pend = append(st.pend[:0], rest...)
		req.seen()
	}
	st.pend = st.pend[:0] // between requests: output of nothing we run
	return len(p), nil
}

// pass writes b to e's writer; after a write error the rest is dropped
// and the error kept for the command's result.
func pass(e *expectation, b []byte) {
	if len(b) == 0 || e.sink == nil {
		return
	}
	if _, err := e.sink.Write(b); err != nil {
		e.sink = nil
		e.req.werrMu.Lock()
		if e.req.werr == nil {
			e.req.werr = err
		}
		e.req.werrMu.Unlock()
	}
}

// heldFrom returns where the longest tail of b that is a proper prefix of
// marker begins: len(b) when there is none.
func heldFrom(b, marker []byte) int {
	for k := max(0, len(b)-len(marker)+1); k < len(b); k++ {
		i := bytes.IndexByte(b[k:], marker[0])
		if i < 0 {
			break
		}
		k += i
		if bytes.HasPrefix(marker, b[k:]) {
			return k
		}
	}
	return len(b)
}

// ReadFrom copies the session's stream into st through a buffer smaller
// than io.Copy's 32 KiB: a driver's two streams are read for the whole
// life of the connection, and a thousand hosts would hold 64 MiB.
func (st *driverStream) ReadFrom(r io.Reader) (int64, error) {
	return io.CopyBuffer(struct{ io.Writer }{st}, r, make([]byte, 4<<10))
}

// startDriver opens the driver session on c and starts the driver. It
// does not wait for the driver's first markers: the first command is sent
// at once, behind them (see run).
func startDriver(ctx context.Context, c *conn) (*driver, error) {
	s, err := newSession(ctx, c)
	if err != nil {
		return nil, err
	}
	d := &driver{s: s, ended: make(chan struct{}), ready: newDriverReq()}
	d.out.status = true
	s.Stdout, s.Stderr = &d.out, &d.err
	if d.stdin, err = s.StdinPipe(); err != nil {
		s.Close()
		return nil, err
	}
	nonce := driverproto.NewNonce()
	d.out.expect(nonce, nil, d.ready)
	d.err.expect(nonce, nil, d.ready)
	if err := s.Start(driverproto.CommandLine(nonce)); err != nil {
		s.Close()
		return nil, err
	}
	go func() {
		s.Wait()
		close(d.ended)
	}()
	return d, nil
}

// close ends the driver: EOF on its input ends its loop, and closing the
// session ends what is left.
func (d *driver) close() {
	d.closed.Store(true)
	d.stdin.Close()
	d.s.Close()
}

func (d *driver) alive() bool {
	if d.closed.Load() {
		return false
	}
	select {
	case <-d.ended:
		return false
	default:
		return true
	}
}

var (
	// errDriverBroken says the driver ended while a command ran.
	errDriverBroken = errors.New("driver ended")
	// errDriverNotStarted says the driver ended before its first markers,
	// which it writes before it reads anything: the command did not run.
	errDriverNotStarted = errors.New("driver did not start")
)

// run sends one command's code (transport.Invocation.Eval) through the
// driver and waits for its end, or for ctx to end, in which case the
// command gets TERM, then KILL after grace, and the driver is closed. It
// reports sent=false when the command certainly did not run (the driver
// never started, or the request could not be written), so that the
// caller may run it another way.
func (d *driver) run(ctx context.Context, eval string, stdout, stderr io.Writer, grace time.Duration) (code int, dur time.Duration, sent bool, err error) {
	nonce := driverproto.NewNonce()
	r := newDriverReq()
	d.out.expect(nonce, stdout, r)
	d.err.expect(nonce, stderr, r)
	start := time.Now()
	if _, err := io.WriteString(d.stdin, driverproto.Request(nonce, eval)); err != nil {
		d.close()
		return 0, 0, false, fmt.Errorf("%w: %w", errDriverBroken, err)
	}
	select {
	case <-r.done:
	case <-d.ended:
		// A session counts as ended only once its output is all delivered:
		// the markers have been seen by now, if the driver wrote them.
		switch {
		case r.finished():
		case !d.ready.finished():
			return 0, 0, false, errDriverNotStarted
		default:
			return 0, 0, true, fmt.Errorf("%w while the command ran", errDriverBroken)
		}
	case <-ctx.Done():
		if !d.ready.finished() {
			// The driver may not have read the command yet, or ever; an
			// interrupted command has to be taken for cut off.
			d.close()
		} else {
			d.interrupt(r, grace)
		}
		return 0, 0, true, fmt.Errorf("command interrupted after %v: %w", time.Since(start).Round(time.Millisecond), ctx.Err())
	}
	dur = time.Since(start)
	code, cerr := strconv.Atoi(r.status)
	if cerr != nil || code < 0 || code > 255 {
		d.close()
		return 0, 0, true, fmt.Errorf("driver: bad status %q", r.status)
	}
	if werr := r.writeErr(); werr != nil {
		return 0, 0, true, fmt.Errorf("writing the command's output: %w", werr)
	}
	return code, dur, true, nil
}

// interrupt signals the running command: TERM, then KILL when it has not
// ended after grace; the driver is closed either way.
func (d *driver) interrupt(r *driverReq, grace time.Duration) {
	defer d.close()
	d.s.Signal(ssh.SIGTERM)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-r.done:
		return
	case <-d.ended:
		return
	case <-timer.C:
	}
	d.s.Signal(ssh.SIGUSR1)
	timer.Reset(grace)
	select {
	case <-r.done:
	case <-d.ended:
	case <-timer.C:
	}
}

// takeDriver returns the connection's driver, started if need be, locked
// for the caller (who unlocks d.busy), or nil when commands should take a
// session of their own: the driver is busy with another command, or it
// could not be started on this connection.
func (c *conn) takeDriver(ctx context.Context) *driver {
	c.drvMu.Lock()
	defer c.drvMu.Unlock()
	if c.noDriver {
		return nil
	}
	if c.drv != nil && !c.drv.alive() {
		c.drv = nil
	}
	if c.drv == nil {
		d, err := startDriver(ctx, c)
		if err != nil {
			if ctx.Err() == nil {
				// Refused (a host that counts sessions) or not understood:
				// this connection's commands take sessions of their own.
				c.noDriver = true
			}
			return nil
		}
		c.drv = d
	}
	if !c.drv.busy.TryLock() {
		return nil
	}
	return c.drv
}

// disableDriver makes the connection's later commands take sessions of
// their own: its driver did not start.
func (c *conn) disableDriver() {
	c.drvMu.Lock()
	defer c.drvMu.Unlock()
	c.noDriver = true
}

// yieldDriver closes the connection's idle driver, so that a host that
// refused a session may open the one asked for; the connection then goes
// on without a driver. It reports whether it closed one.
func (c *conn) yieldDriver() bool {
	c.drvMu.Lock()
	defer c.drvMu.Unlock()
	d := c.drv
	if d == nil || !d.busy.TryLock() {
		return false
	}
	defer d.busy.Unlock()
	c.drv, c.noDriver = nil, true
	d.close()
	select {
	case <-d.ended:
	case <-time.After(time.Second):
	}
	return true
}

// runDriver runs cmd, prepared as inv, through the connection's driver. It
// reports handled=false, having run nothing, when the command should take
// a session of its own.
func (h *host) runDriver(ctx context.Context, inv transport.Invocation, cmd transport.Command) (res transport.Result, handled bool, err error) {
	if h.d.opts.SessionPerCommand || inv.Eval == "" || len(inv.Eval) > driverproto.MaxCode {
		return res, false, nil // it needs its own standard input, or it is long
	}
	c, err := h.conn(ctx)
	if err != nil {
		return res, true, err
	}
	d := c.takeDriver(ctx)
	if d == nil {
		return res, false, nil
	}
	defer d.busy.Unlock()
	code, dur, sent, err := d.run(ctx, inv.Eval, cmd.Stdout, cmd.Stderr, h.d.opts.KillGrace)
	switch {
	case !sent:
		if errors.Is(err, errDriverNotStarted) {
			c.disableDriver()
		}
		return res, false, nil
	case err == nil:
		return transport.Result{ExitCode: code, Duration: dur}, true, nil
	case ctx.Err() != nil:
		return res, true, fmt.Errorf("%s: %w", h.ep.name, err)
	case errors.Is(err, errDriverBroken):
		return res, true, h.cutOff(c, err)
	}
	return res, true, fmt.Errorf("%s: %w", h.ep.name, err)
}
