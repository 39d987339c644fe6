// Package lab serves a simulated Ubuntu 22.04 fleet over real SSH: each lab
// node is an x/crypto/ssh server on a loopback port with its own host key,
// whose commands run in the confined shell of package shell against the
// simulated system of package sim. `runbook run` starts the nodes of a lab
// inventory in-process; `runbook lab serve` runs them standalone so that any
// SSH client (OpenSSH, Ansible) can reach them.
package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"

	"github.com/runbookhq/runbook/lab/internal/keyfile"
	"github.com/runbookhq/runbook/lab/sim"
	"golang.org/x/crypto/ssh"
)

// NodeSpec is one lab node to serve.
type NodeSpec struct {
	// Name is the inventory host name.
	Name string
	// Role is "control-plane" or "worker".
	Role string
	// Faults are the failures the node shows (see sim.Faults); the server
	// handles UnreachableAfter and Slow itself.
	Faults sim.Faults
	// Port is the loopback port to listen on; 0 picks a free one.
	Port int
}

// Options configure a lab.
type Options struct {
	// Dir is the lab's state directory (STATE_DIR/lab).
	Dir string
	// Nodes are the nodes to serve.
	Nodes []NodeSpec
	// Logf, when set, receives the server's diagnostics.
	Logf func(format string, args ...any)
	// Standalone writes Dir/serve.json (pid and node addresses) for other
	// processes to find the nodes, and removes it on Close.
	Standalone bool
	// Address is the loopback address (127.0.0.0/8) the nodes listen on;
	// empty means 127.0.0.1. Another address keeps a large lab's ports
	// apart from everything else on 127.0.0.1.
	Address string
}

// NodeInfo is where a served node listens.
type NodeInfo struct {
	Name string `json:"name"`
	Role string `json:"role"`
	Addr string `json:"addr"`
	Port int    `json:"port"`
}

// Lab is a running set of lab nodes.
type Lab struct {
	dir       string
	world     *sim.World
	nodes     []*node
	byName    map[string]*node
	logf      func(format string, args ...any)
	serveFile string
	address   string // where the nodes listen

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

// User is the login the lab's nodes expect (every command runs as root).
const User = "root"

const (
	clientKeyName  = "id_ed25519"
	knownHostsName = "known_hosts"
	authorizedName = "authorized_keys"
	serveFileName  = "serve.json"
	hostKeyName    = "ssh_host_ed25519_key"
)

func nodeDir(dir, name string) string { return filepath.Join(dir, "nodes", name) }

func simConfigs(specs []NodeSpec) []sim.NodeConfig {
	out := make([]sim.NodeConfig, len(specs))
	for i, s := range specs {
		out[i] = sim.NodeConfig{Name: s.Name, Role: s.Role, Faults: s.Faults}
	}
	return out
}

// Start opens the simulated world under opts.Dir and starts one SSH server
// per node on 127.0.0.1 (or opts.Address). It writes Dir/known_hosts with every node's host
// key, and creates the lab client key Dir/id_ed25519 (0600) the first time.
// The lab runs until Close; ctx only carries values (its cancellation does
// not stop the nodes).
func Start(ctx context.Context, opts Options) (*Lab, error) {
	if opts.Dir == "" {
		return nil, errors.New("lab: no state directory given")
	}
	if len(opts.Nodes) == 0 {
		return nil, errors.New("lab: no nodes to serve")
	}
	if opts.Address == "" {
		opts.Address = "127.0.0.1"
	}
	if ip := net.ParseIP(opts.Address); ip == nil || ip.To4() == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("lab: %q is not an IPv4 loopback address (127.0.0.0/8)", opts.Address)
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	clientKey, err := loadOrCreateKey(filepath.Join(opts.Dir, clientKeyName), "runbook-lab")
	if err != nil {
		return nil, err
	}
	auth := authorizedKeys{}
	auth.add(clientKey.PublicKey())
	if err := auth.read(filepath.Join(opts.Dir, authorizedName)); err != nil {
		return nil, err
	}
	world, err := sim.OpenWorld(opts.Dir, simConfigs(opts.Nodes))
	if err != nil {
		return nil, err
	}
	l := &Lab{dir: opts.Dir, world: world, byName: map[string]*node{}, logf: opts.Logf, address: opts.Address}
	if l.logf == nil {
		l.logf = func(string, ...any) {}
	}
	l.ctx, l.cancel = context.WithCancel(context.WithoutCancel(ctx))
	for _, spec := range opts.Nodes {
		n, err := l.newNode(spec, auth)
		if err != nil {
			l.Close()
			return nil, err
		}
		l.nodes = append(l.nodes, n)
		l.byName[n.name] = n
	}
	if err := l.writeKnownHosts(); err != nil {
		l.Close()
		return nil, err
	}
	for _, n := range l.nodes {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			n.acceptLoop()
		}()
	}
	if opts.Standalone {
		if err := l.writeServeFile(); err != nil {
			l.Close()
			return nil, err
		}
	}
	return l, nil
}

func (l *Lab) newNode(spec NodeSpec, auth authorizedKeys) (*node, error) {
	if spec.Port < 0 || spec.Port > 65535 {
		return nil, fmt.Errorf("lab: node %s: invalid port %d", spec.Name, spec.Port)
	}
	dir := nodeDir(l.dir, spec.Name)
	hostKey, err := loadOrCreateKey(filepath.Join(dir, hostKeyName), "root@"+spec.Name)
	if err != nil {
		return nil, err
	}
	m, err := l.world.Prepare(spec.Name)
	if err != nil {
		return nil, fmt.Errorf("lab: node %s: the simulated machine could not be set up: %w", spec.Name, err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(l.address, strconv.Itoa(spec.Port)))
	if err != nil {
		return nil, fmt.Errorf("lab: node %s: %w", spec.Name, err)
	}
	n := &node{
		lab:    l,
		name:   spec.Name,
		role:   spec.Role,
		faults: spec.Faults,
		m:      m,
		ln:     ln,
		dir:    dir,
		conns:  map[*ssh.ServerConn]struct{}{},
	}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if auth.has(key) {
				return nil, nil
			}
			return nil, fmt.Errorf("lab: key %s is not authorized", ssh.FingerprintSHA256(key))
		},
		MaxAuthTries:  6,
		ServerVersion: "SSH-2.0-runbook-lab",
	}
	cfg.AddHostKey(hostKey)
	n.config = cfg
	n.hostKey = hostKey.PublicKey()
	m.OnReboot = n.onReboot
	m.Detach = n.detach
	m.Started = n.procs.start
	return n, nil
}

// detach runs a node's background job (setsid -f, nohup) until it ends or
// the lab closes, the node's root open for it meanwhile. It is called from
// a running command, whose own goroutine keeps the wait group above zero
// and the root open until the job has its own hold on it.
func (n *node) detach(job func(ctx context.Context)) {
	l := n.lab
	if l.ctx.Err() != nil {
		return
	}
	_, release, err := l.world.Use(n.name)
	if err != nil {
		l.logf("lab: %s: background job: %v", n.name, err)
		return
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer release()
		job(l.ctx)
	}()
}

// writeKnownHosts writes every node's host key line.
func (l *Lab) writeKnownHosts() error {
	addrs, keys := make([]string, len(l.nodes)), make([]ssh.PublicKey, len(l.nodes))
	for i, n := range l.nodes {
		addrs[i], keys[i] = n.addr(), n.hostKey
	}
	return keyfile.WriteKnownHosts(l.KnownHostsFile(), addrs, keys)
}

// writeServeFile writes Dir/serve.json: this process serves the nodes.
func (l *Lab) writeServeFile() error {
	l.serveFile = filepath.Join(l.dir, serveFileName)
	if err := keyfile.WriteServed(l.serveFile, l.Nodes()); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	return nil
}

// Served returns the nodes a live `lab serve` process runs from dir, or
// nil when none does.
func Served(dir string) []NodeInfo {
	return keyfile.ReadServed[NodeInfo](filepath.Join(dir, serveFileName))
}

// Addr returns the node's address (ADDRESS:PORT), or "" for an unknown node.
func (l *Lab) Addr(name string) string {
	if n, ok := l.byName[name]; ok {
		return n.addr()
	}
	return ""
}

// Nodes lists the served nodes in the order they were given.
func (l *Lab) Nodes() []NodeInfo {
	out := make([]NodeInfo, 0, len(l.nodes))
	for _, n := range l.nodes {
		out = append(out, NodeInfo{Name: n.name, Role: n.role, Addr: n.addr(), Port: n.port()})
	}
	return out
}

// KnownHostsFile is the known_hosts file holding every node's host key.
func (l *Lab) KnownHostsFile() string { return filepath.Join(l.dir, knownHostsName) }

// IdentityFile is the private key the nodes accept.
func (l *Lab) IdentityFile() string { return filepath.Join(l.dir, clientKeyName) }

// User is the login to use (root).
func (l *Lab) User() string { return User }

// Close stops every node: listeners closed, connections dropped, running
// commands cancelled, the world closed.
func (l *Lab) Close() error {
	l.closeOnce.Do(func() {
		l.cancel()
		for _, n := range l.nodes {
			n.close()
		}
		l.wg.Wait()
		if l.serveFile != "" {
			_ = os.Remove(l.serveFile)
		}
		l.closeErr = l.world.Close()
	})
	return l.closeErr
}

// Reset puts the lab's nodes back into their initial state, clearing the
// unreachable_after fault too. A lab being served sees the reset at once.
func Reset(dir string, nodes []NodeSpec) error {
	w, err := sim.OpenWorld(dir, simConfigs(nodes))
	if err != nil {
		return err
	}
	defer w.Close()
	var errs []error
	for _, n := range nodes {
		for _, f := range []string{unreachableFile, execCountFile} {
			if err := os.Remove(filepath.Join(nodeDir(dir, n.Name), f)); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("lab: %w", err))
			}
		}
	}
	if err := w.Reset(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Status reports the state of the lab's nodes.
func Status(dir string, nodes []NodeSpec) ([]sim.NodeStatus, error) {
	w, err := sim.OpenWorld(dir, simConfigs(nodes))
	if err != nil {
		return nil, err
	}
	defer w.Close()
	st, err := w.Status()
	if err != nil {
		return nil, err
	}
	sort.SliceStable(st, func(i, j int) bool { return indexOf(nodes, st[i].Name) < indexOf(nodes, st[j].Name) })
	return st, nil
}

func indexOf(nodes []NodeSpec, name string) int {
	for i, n := range nodes {
		if n.Name == name {
			return i
		}
	}
	return len(nodes)
}
