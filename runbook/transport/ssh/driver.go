package ssh

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/runbookhq/runbook/runbook/transport"
)

// A driver runs a connection's commands one after another in one
// long-lived session, a small POSIX sh loop on the host, instead of a
// session each. A session costs about ten SSH packets (open, confirm,
// exec, its reply, EOF, exit status, close both ways), each a write and a
// wakeup at both ends, plus a fork of sshd's session on the host; a
// command through the driver costs one packet out and its output back.
//
// The protocol, on the driver session's standard input: a line holding a
// fresh random nonce, the command line (the same one a session would exec)
// over as many lines as it takes, and the nonce's line again. A command
// whose closing nonce line never came (the connection dropped while it was
// sent) is not run, not even in part. The driver
// runs the command line with /bin/sh -c, its standard input /dev/null,
// waits for it, then writes "\x1e<nonce> <status>\n" to its standard
// output and "\x1e<nonce>\n" to its standard error. The controller passes
// both streams on to the command's writers up to those markers, exactly as
// the command wrote them; a nonce is 24 random hex digits, never seen before
// and not in any process list, so no output can end a command early by
// chance. Output is held back only while its last bytes could begin the
// marker, which text never does (0x1e is ASCII's record separator).
//
// Commands that need their standard input (a sudo password, a sensitive
// script, Command.Stdin) and long command lines still get a session each.
// On a TERM signal request the driver sends TERM to the running command;
// on USR1, KILL. A driver that was interrupted, cut or misbehaved is
// closed, and the next command starts a new one.
const driverScript = `trap 't=1; kill -TERM "$p" 2>/dev/null' TERM
trap 't=1; kill -KILL "$p" 2>/dev/null' USR1
p=
printf '\036%s 0\n' "$1"
printf '\036%s\n' "$1" >&2
while IFS= read -r n; do
s= e=
while IFS= read -r l; do
[ "$l" = "$n" ] && { e=1; break; }
s="$s$l
"
done
[ -n "$e" ] || exit 0
/bin/sh -c "$s" </dev/null &
p=$!
while :; do
t=
wait "$p" 2>/dev/null
r=$?
[ -n "$t" ] && [ "$r" != 127 ] || break
done
p=
printf '\036%s %s\n' "$n" "$r"
printf '\036%s\n' "$n" >&2
done`

// driverMaxScript is the longest command line sent through a driver: the
// driver's shell reads its input a byte at a time.
const driverMaxScript = 4 << 10

// driver is one driver session and what reads its two output streams.
type driver struct {
	s     *ssh.Session
	stdin io.WriteCloser
	out   driverStream // standard output: the marker carries the status
	err   driverStream
	ended chan struct{} // closed when the session has ended

	busy   sync.Mutex // held by the command running through the driver
	closed atomic.Bool
}

// driverStream passes one output stream of the driver session to the
// running command's writer, up to that command's marker.
type driverStream struct {
	mu     sync.Mutex
	marker []byte    // "\x1e" + nonce of the running command; nil between commands
	status bool      // a status word and a newline follow the marker
	sink   io.Writer // the command's writer, or nil
	pend   []byte    // received and not yet passed on: it may begin a marker
	hit    chan string
	werr   error // the sink's write error
}

// expect arms the stream for the next command.
func (st *driverStream) expect(nonce string, sink io.Writer) chan string {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.marker = []byte("\x1e" + nonce)
	st.sink, st.werr, st.pend = sink, nil, st.pend[:0]
	st.hit = make(chan string, 1)
	return st.hit
}

// Write takes what the session received and passes it on, holding back
// only what could be the beginning of the marker.
func (st *driverStream) Write(p []byte) (int, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.marker == nil {
		return len(p), nil // between commands: output of nothing we run
	}
	st.pend = append(st.pend, p...)
	if i := bytes.Index(st.pend, st.marker); i >= 0 {
		rest := st.pend[i+len(st.marker):]
		word := ""
		if st.status {
			j := bytes.IndexByte(rest, '\n')
			if j < 0 {
				st.pass(st.pend[:i])
				st.pend = append(st.pend[:0], st.pend[i:]...)
				return len(p), nil
			}
			word = string(bytes.TrimSpace(rest[:j]))
		}
		st.pass(st.pend[:i])
		st.marker, st.sink, st.pend = nil, nil, st.pend[:0]
		st.hit <- word
		return len(p), nil
	}
	n := heldFrom(st.pend, st.marker)
	st.pass(st.pend[:n])
	st.pend = append(st.pend[:0], st.pend[n:]...)
	return len(p), nil
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
	buf := make([]byte, 4<<10)
	var total int64
	for {
		n, err := r.Read(buf)
		if n > 0 {
			st.Write(buf[:n])
			total += int64(n)
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// pass writes b to the sink; after a write error the rest is dropped and
// the error kept for the command's result.
func (st *driverStream) pass(b []byte) {
	if len(b) == 0 || st.sink == nil || st.werr != nil {
		return
	}
	if _, err := st.sink.Write(b); err != nil {
		st.werr = err
	}
}

func (st *driverStream) writeErr() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.werr
}

// DriverCommandLine is the command line that starts a driver whose first
// marker carries nonce.
func DriverCommandLine(nonce string) string {
	return driverPrefix + nonce
}

// driverPrefix is the driver's command line up to its nonce.
var driverPrefix = transport.Invocation{Argv: []string{"/bin/sh", "-c", driverScript, "rbdriver"}}.CommandLine() + " "

// DriverNonce reports whether line starts a driver, and the nonce of its
// first marker. A server that does not run commands in a POSIX shell (the
// lab) serves the driver's protocol itself: after the first markers, for
// each nonce line, command line and nonce line on standard input, it runs
// the command with standard input empty, then writes "\x1e<nonce> <status>\n"
// to standard output and "\x1e<nonce>\n" to standard error.
func DriverNonce(line string) (string, bool) {
	nonce, ok := strings.CutPrefix(line, driverPrefix)
	if !ok || !validNonce(nonce) {
		return "", false
	}
	return nonce, true
}

func validNonce(s string) bool {
	hexPart, ok := strings.CutPrefix(s, "rbd-")
	if !ok || len(hexPart) != 24 {
		return false
	}
	_, err := hex.DecodeString(hexPart)
	return err == nil
}

func newNonce() string {
	var b [12]byte
	rand.Read(b[:])
	return "rbd-" + hex.EncodeToString(b[:])
}

// driverEligible says whether cmd, prepared as inv, can go through a
// driver: it must not need its standard input, and its command line must
// be short.
func driverEligible(inv transport.Invocation, cmd transport.Command) bool {
	return !inv.Password && len(inv.Stdin) == 0 && cmd.Stdin == nil
}

// startDriver opens the driver session on c and waits for its first
// marker. It reports an error when the host would not open the session or
// the driver did not answer as it should, having closed what it opened.
func startDriver(ctx context.Context, c *conn, timeout time.Duration) (*driver, error) {
	s, err := newSession(ctx, c)
	if err != nil {
		return nil, err
	}
	d := &driver{s: s, ended: make(chan struct{})}
	d.out.status = true
	s.Stdout, s.Stderr = &d.out, &d.err
	if d.stdin, err = s.StdinPipe(); err != nil {
		s.Close()
		return nil, err
	}
	nonce := newNonce()
	outHit, errHit := d.out.expect(nonce, nil), d.err.expect(nonce, nil)
	if err := s.Start(DriverCommandLine(nonce)); err != nil {
		s.Close()
		return nil, err
	}
	go func() {
		s.Wait()
		close(d.ended)
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	for got := 0; got < 2; got++ {
		select {
		case w := <-outHit:
			if w != "0" {
				d.close()
				return nil, fmt.Errorf("driver: unexpected first status %q", w)
			}
		case <-errHit:
		case <-d.ended:
			return nil, errors.New("driver: the session ended before the driver answered")
		case <-t.C:
			d.close()
			return nil, errors.New("driver: no answer")
		case <-ctx.Done():
			d.close()
			return nil, ctx.Err()
		}
	}
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

// errDriverBroken says a command was not sent: the driver is gone.
var errDriverBroken = errors.New("driver ended")

// run sends one command line through the driver and waits for its end, or
// for ctx to end, in which case the command gets TERM, then KILL after
// grace, and the driver is closed. It reports sent=false when nothing was
// sent, so that the caller may run the command another way.
func (d *driver) run(ctx context.Context, line string, stdout, stderr io.Writer, grace time.Duration) (code int, dur time.Duration, sent bool, err error) {
	nonce := newNonce()
	outHit, errHit := d.out.expect(nonce, stdout), d.err.expect(nonce, stderr)
	var req bytes.Buffer
	req.Grow(len(line) + 2*len(nonce) + 3)
	req.WriteString(nonce)
	req.WriteByte('\n')
	req.WriteString(line)
	req.WriteByte('\n')
	req.WriteString(nonce)
	req.WriteByte('\n')
	start := time.Now()
	if _, err := d.stdin.Write(req.Bytes()); err != nil {
		d.close()
		return 0, 0, false, fmt.Errorf("%w: %w", errDriverBroken, err)
	}
	word, gotOut, gotErr := "", false, false
	for !gotOut || !gotErr {
		select {
		case word = <-outHit:
			gotOut = true
		case <-errHit:
			gotErr = true
		case <-d.ended:
			// A session counts as ended only once its output is all
			// delivered: the markers are in their channels by now, if the
			// command got to its end.
			select {
			case word = <-outHit:
				gotOut = true
			default:
			}
			select {
			case <-errHit:
				gotErr = true
			default:
			}
			if !gotOut || !gotErr {
				return 0, 0, true, fmt.Errorf("%w while the command ran", errDriverBroken)
			}
		case <-ctx.Done():
			d.interrupt(outHit, grace)
			return 0, 0, true, fmt.Errorf("command interrupted after %v: %w", time.Since(start).Round(time.Millisecond), ctx.Err())
		}
	}
	dur = time.Since(start)
	code, cerr := strconv.Atoi(word)
	if cerr != nil || code < 0 || code > 255 {
		d.close()
		return 0, 0, true, fmt.Errorf("driver: bad status %q", word)
	}
	for _, st := range []*driverStream{&d.out, &d.err} {
		if werr := st.writeErr(); werr != nil {
			return 0, 0, true, fmt.Errorf("writing the command's output: %w", werr)
		}
	}
	return code, dur, true, nil
}

// interrupt signals the running command: TERM, then KILL when it has not
// ended after grace; the driver is closed either way.
func (d *driver) interrupt(outHit chan string, grace time.Duration) {
	defer d.close()
	d.s.Signal(ssh.SIGTERM)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-outHit:
		return
	case <-d.ended:
		return
	case <-timer.C:
	}
	d.s.Signal(ssh.SIGUSR1)
	timer.Reset(grace)
	select {
	case <-outHit:
	case <-d.ended:
	case <-timer.C:
	}
}

// takeDriver returns the connection's driver, started if need be, locked
// for the caller (who unlocks d.busy), or nil when commands should take a
// session of their own: the driver is busy with another command, or it
// could not be started on this connection.
func (c *conn) takeDriver(ctx context.Context, timeout time.Duration) *driver {
	c.drvMu.Lock()
	defer c.drvMu.Unlock()
	if c.noDriver {
		return nil
	}
	if c.drv != nil && !c.drv.alive() {
		c.drv = nil
	}
	if c.drv == nil {
		d, err := startDriver(ctx, c, timeout)
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
	if h.d.opts.SessionPerCommand || !driverEligible(inv, cmd) {
		return res, false, nil
	}
	line := inv.CommandLine()
	if len(line) > driverMaxScript {
		return res, false, nil
	}
	c, err := h.conn(ctx)
	if err != nil {
		return res, true, err
	}
	d := c.takeDriver(ctx, h.d.opts.ConnectTimeout)
	if d == nil {
		return res, false, nil
	}
	defer d.busy.Unlock()
	code, dur, sent, err := d.run(ctx, line, cmd.Stdout, cmd.Stderr, h.d.opts.KillGrace)
	switch {
	case !sent:
		return res, false, nil
	case err == nil:
		return transport.Result{ExitCode: code, Duration: dur}, true, nil
	case ctx.Err() != nil:
		return res, true, fmt.Errorf("%s: %w", h.ep.name, err)
	case errors.Is(err, errDriverBroken):
		if c.dead() {
			h.forget(c)
			return res, true, transport.Unreachable(h.ep.name, fmt.Errorf("connection lost while the command ran: %w", err))
		}
		return res, true, transport.Unreachable(h.ep.name, fmt.Errorf("command ended without an exit status: %w", err))
	}
	return res, true, fmt.Errorf("%s: %w", h.ep.name, err)
}
