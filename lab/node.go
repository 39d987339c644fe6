package lab

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/runbookhq/runbook/lab/shell"
	"github.com/runbookhq/runbook/lab/sim"
	"golang.org/x/crypto/ssh"
)

const (
	// rebootDowntime is how long a rebooted node refuses connections.
	rebootDowntime = 300 * time.Millisecond
	// rebootDropDelay bounds how long a reboot waits for the command that
	// asked for it to report its exit status before the node goes down.
	rebootDropDelay = 2 * time.Second
	// handshakeTimeout bounds an SSH handshake.
	handshakeTimeout = 10 * time.Second

	unreachableFile = "unreachable"
	execCountFile   = "exec_count"
)

// node is one served lab node. It holds no goroutine of its own besides its
// accept loop; each live connection has its own.
type node struct {
	lab     *Lab
	name    string
	role    string
	faults  sim.Faults
	m       *shell.Machine
	ln      net.Listener
	dir     string
	config  *ssh.ServerConfig
	hostKey ssh.PublicKey

	procs processList

	mu            sync.Mutex
	conns         map[*ssh.ServerConn]struct{}
	closed        bool
	refuseUntil   time.Time
	rebootPending bool
	rebootTimer   *time.Timer
}

func (n *node) addr() string { return n.ln.Addr().String() }

func (n *node) port() int { return n.ln.Addr().(*net.TCPAddr).Port }

func (n *node) acceptLoop() {
	for {
		c, err := n.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			n.lab.logf("lab: %s: accept: %v", n.name, err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if n.refusing() {
			c.Close()
			continue
		}
		n.lab.wg.Add(1)
		go func() {
			defer n.lab.wg.Done()
			n.serveConn(c)
		}()
	}
}

// refusing reports whether the node turns connections away: it is
// unreachable (fault), rebooting, or closed.
func (n *node) refusing() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed || time.Now().Before(n.refuseUntil) {
		return true
	}
	return n.unreachableLocked()
}

// unreachableLocked reports whether the unreachable_after fault has
// tripped; the marker file is the truth, so a `lab reset` from another
// process brings the node back.
func (n *node) unreachableLocked() bool {
	if n.faults.UnreachableAfter <= 0 {
		return false
	}
	_, err := os.Stat(filepath.Join(n.dir, unreachableFile))
	return err == nil
}

// countExec counts one exec request; it reports false once the node has
// served UnreachableAfter of them, and marks it unreachable.
func (n *node) countExec() bool {
	if n.faults.UnreachableAfter <= 0 {
		return true
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.unreachableLocked() {
		return false
	}
	countPath := filepath.Join(n.dir, execCountFile)
	count := 0
	if data, err := os.ReadFile(countPath); err == nil {
		count, _ = strconv.Atoi(strings.TrimSpace(string(data)))
	}
	count++
	if count > n.faults.UnreachableAfter {
		if err := os.WriteFile(filepath.Join(n.dir, unreachableFile), []byte("unreachable_after fault\n"), 0o644); err != nil {
			n.lab.logf("lab: %s: %v", n.name, err)
		}
		return false
	}
	if err := os.WriteFile(countPath, []byte(strconv.Itoa(count)+"\n"), 0o644); err != nil {
		n.lab.logf("lab: %s: %v", n.name, err)
	}
	return true
}

func (n *node) serveConn(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(handshakeTimeout))
	sc, chans, reqs, err := ssh.NewServerConn(c, n.config)
	if err != nil {
		c.Close()
		n.lab.logf("lab: %s: handshake with %s: %v", n.name, c.RemoteAddr(), err)
		return
	}
	_ = c.SetDeadline(time.Time{})
	if !n.track(sc) {
		sc.Close()
		return
	}
	defer n.untrack(sc)
	go globalRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "the lab serves sessions only")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		s := newSession(n, sc, ch)
		n.lab.wg.Add(1)
		go func() {
			defer n.lab.wg.Done()
			s.serve(creqs)
		}()
	}
}

// globalRequests answers keepalives and refuses everything else (port
// forwarding included: the lab reaches no network).
func globalRequests(reqs <-chan *ssh.Request) {
	for r := range reqs {
		if r.WantReply {
			_ = r.Reply(r.Type == "keepalive@openssh.com", nil)
		}
	}
}

func (n *node) track(sc *ssh.ServerConn) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed || time.Now().Before(n.refuseUntil) {
		return false
	}
	n.conns[sc] = struct{}{}
	return true
}

func (n *node) untrack(sc *ssh.ServerConn) {
	n.mu.Lock()
	delete(n.conns, sc)
	n.mu.Unlock()
	sc.Close()
}

// dropAll closes every connection of the node.
func (n *node) dropAll() {
	n.mu.Lock()
	conns := make([]*ssh.ServerConn, 0, len(n.conns))
	for sc := range n.conns {
		conns = append(conns, sc)
	}
	n.mu.Unlock()
	for _, sc := range conns {
		sc.Close()
	}
}

// onReboot is the machine's OnReboot: the node goes down once the command
// that rebooted it has reported its exit status (or after rebootDropDelay),
// and refuses connections for rebootDowntime.
func (n *node) onReboot() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.rebootPending = true
	if n.rebootTimer != nil {
		n.rebootTimer.Stop()
	}
	n.rebootTimer = time.AfterFunc(rebootDropDelay, func() { n.goDown() })
}

// goDown completes a pending reboot, and reports whether there was one.
func (n *node) goDown() bool {
	n.mu.Lock()
	if !n.rebootPending {
		n.mu.Unlock()
		return false
	}
	n.rebootPending = false
	if n.rebootTimer != nil {
		n.rebootTimer.Stop()
		n.rebootTimer = nil
	}
	n.refuseUntil = time.Now().Add(rebootDowntime)
	n.mu.Unlock()
	n.lab.logf("lab: %s: rebooting", n.name)
	n.dropAll()
	return true
}

func (n *node) close() {
	n.mu.Lock()
	n.closed = true
	if n.rebootTimer != nil {
		n.rebootTimer.Stop()
	}
	n.mu.Unlock()
	n.ln.Close()
	n.dropAll()
}

// processList is what runs on a node: the command line of each exec
// request, as sshd's login shell would run it, and the argv of each
// program its commands start. It is what `ps` would show, for tests that
// check what reaches a command line.
type processList struct {
	mu   sync.Mutex
	next int
	argv map[int][]string
}

// start records argv as running until the returned func is called.
func (p *processList) start(argv []string) (ended func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.argv == nil {
		p.argv = map[int][]string{}
	}
	id := p.next
	p.next++
	p.argv[id] = slices.Clone(argv)
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		delete(p.argv, id)
	}
}

// list returns the command lines running now.
func (p *processList) list() [][]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([][]string, 0, len(p.argv))
	for _, a := range p.argv {
		out = append(out, a)
	}
	return out
}
