package ssh

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/runbookhq/runbook/runbook/transport"
)

// conn is one live SSH connection and what hangs off it.
type conn struct {
	client *ssh.Client
	done   chan struct{} // closed when the connection has ended

	sudoMu sync.Mutex
	sudo   map[string]transport.SudoMode // by become user, once probed

	sftpMu sync.Mutex
	sftp   *sftpClient

	drvMu    sync.Mutex
	drv      *driver // runs commands one after another in one session
	noDriver bool    // the driver could not be started, or made way
}

// connect makes one authenticated connection to ep, through its jump
// hosts if it has any, and starts its keepalives.
func (d *Dialer) connect(ctx context.Context, ep endpoint) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, d.opts.ConnectTimeout)
	defer cancel()
	var via *ssh.Client
	if len(ep.jumps) > 0 {
		j, err := d.jumpClient(ctx, ep.jumps)
		if err != nil {
			return nil, err
		}
		via = j.client
	}
	client, err := d.dialVia(ctx, via, ep)
	if err != nil {
		return nil, err
	}
	return d.watch(client), nil
}

// watch wraps a fresh client: done closes when it ends; keepalives close it
// when the peer stops answering.
func (d *Dialer) watch(client *ssh.Client) *conn {
	c := &conn{client: client, done: make(chan struct{}), sudo: map[string]transport.SudoMode{}}
	go func() {
		client.Wait()
		close(c.done)
	}()
	if d.opts.KeepaliveInterval > 0 {
		go c.keepalive(d.opts.KeepaliveInterval)
	}
	return c
}

// dialVia opens the TCP stream to ep, directly or through the jump client
// via, and runs the SSH handshake over it.
func (d *Dialer) dialVia(ctx context.Context, via *ssh.Client, ep endpoint) (*ssh.Client, error) {
	addr := ep.addr()
	var nc net.Conn
	var err error
	if via != nil {
		nc, err = via.DialContext(ctx, "tcp", addr)
	} else {
		var nd net.Dialer
		nc, err = nd.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, transport.Unreachable(ep.name, fmt.Errorf("connecting to %s: %w", addr, withCtxErr(ctx, err)))
	}
	return d.handshake(ctx, nc, ep)
}

// handshake runs the SSH handshake and authentication over nc, closing it
// if ctx ends first.
func (d *Dialer) handshake(ctx context.Context, nc net.Conn, ep endpoint) (*ssh.Client, error) {
	addr := ep.addr()
	algos, err := d.hostKeys.algorithms(addr)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("%s: %w", ep.name, err)
	}
	attempt, auth := d.authMethod(ep)
	defer attempt.close()
	cfg := &ssh.ClientConfig{
		User:              ep.user,
		Auth:              []ssh.AuthMethod{auth},
		HostKeyCallback:   d.hostKeys.callback(ep),
		HostKeyAlgorithms: algos,
	}
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	sc, chans, reqs, err := ssh.NewClientConn(nc, addr, cfg)
	if !stop() && err == nil {
		sc.Close()
		err = errors.New("handshake interrupted")
	}
	if err != nil {
		nc.Close()
		var hk *HostKeyError
		if errors.As(err, &hk) {
			return nil, fmt.Errorf("%s: %w", ep.name, hk)
		}
		return nil, transport.Unreachable(ep.name, fmt.Errorf("ssh to %s@%s: %w", ep.user, addr, withCtxErr(ctx, attempt.explain(err))))
	}
	return ssh.NewClient(sc, chans, reqs), nil
}

// withCtxErr makes err wrap ctx's error when ctx has ended (or its
// deadline has passed, which a network timeout may report first).
func withCtxErr(ctx context.Context, err error) error {
	ctxErr := ctx.Err()
	if deadline, ok := ctx.Deadline(); ctxErr == nil && ok && !time.Now().Before(deadline) {
		ctxErr = context.DeadlineExceeded
	}
	if ctxErr == nil || errors.Is(err, ctxErr) {
		return err
	}
	return fmt.Errorf("%w (%v)", ctxErr, err)
}

// keepalive sends keepalive@openssh.com every interval and closes the
// connection when three in a row go unanswered, which ends every session
// on it with an error, so that Run reports the host unreachable rather than
// wait on a dead peer.
func (c *conn) keepalive(interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		if !c.ping(3 * interval) {
			c.client.Close()
			return
		}
	}
}

// ping reports whether the peer answers a global request within timeout.
func (c *conn) ping(timeout time.Duration) bool {
	answered := make(chan error, 1)
	go func() {
		_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
		answered <- err
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case err := <-answered:
		return err == nil
	case <-c.done:
		return false
	case <-timer.C:
		return false
	}
}

// dead reports whether the connection has ended, asking the peer when it
// is not known yet: an operation that failed may have raced with the end.
func (c *conn) dead() bool {
	select {
	case <-c.done:
		return true
	default:
	}
	if !c.ping(5 * time.Second) {
		c.client.Close()
		return true
	}
	return false
}

// close ends the connection and its SFTP client.
func (c *conn) close() {
	c.sftpMu.Lock()
	if c.sftp != nil {
		c.sftp.client.Close()
		c.sftp = nil
	}
	c.sftpMu.Unlock()
	c.client.Close()
}

// jumpHost is a shared connection to a jump host (the last hop of a chain).
type jumpHost struct {
	mu  sync.Mutex
	cur *conn
}

func (j *jumpHost) close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.cur == nil {
		return nil
	}
	err := j.cur.client.Close()
	j.cur = nil
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

// jumpClient returns the connection to the last hop of chain, dialled
// through the hops before it, shared by every target behind the same
// chain and redialled when it has dropped.
func (d *Dialer) jumpClient(ctx context.Context, chain []endpoint) (*conn, error) {
	keys := make([]string, len(chain))
	for i, hop := range chain {
		keys[i] = hop.user + "@" + hop.addr()
	}
	key := strings.Join(keys, ",")
	d.jumpMu.Lock()
	j := d.jumps[key]
	if j == nil {
		j = &jumpHost{}
		d.jumps[key] = j
	}
	d.jumpMu.Unlock()

	j.mu.Lock()
	defer j.mu.Unlock()
	if j.cur != nil {
		select {
		case <-j.cur.done:
		default:
			return j.cur, nil
		}
	}
	var via *ssh.Client
	if len(chain) > 1 {
		prev, err := d.jumpClient(ctx, chain[:len(chain)-1])
		if err != nil {
			return nil, err
		}
		via = prev.client
	}
	client, err := d.dialVia(ctx, via, chain[len(chain)-1])
	if err != nil {
		return nil, err
	}
	j.cur = d.watch(client)
	return j.cur, nil
}
