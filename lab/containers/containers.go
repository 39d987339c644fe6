// Package containers is the container lab: real Debian 12 nodes, each a
// systemd-nspawn container booting systemd, sshd, apt and dpkg from an
// image built once with mmdebstrap, on the host's network with its sshd on
// a loopback address of its own. It carries a local apt repository with
// test packages (rbdemo in three versions, one that asks a debconf
// question, one that fails to configure), so that the steps that touch an
// operating system can be proved on one. Each node's changes live in an
// overlay above the shared image: a reset throws them away in seconds.
package containers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/runbookhq/runbook/lab/internal/keyfile"
	"golang.org/x/crypto/ssh"
)

// NodeSpec is one node to run.
type NodeSpec struct {
	// Name is the inventory host name; it is the node's hostname too.
	Name string
	// Address is the loopback IPv4 address the node's sshd listens on;
	// empty picks one from the lab directory and the node's position.
	Address string
	// Port is the sshd port; 0 means 22.
	Port int
}

// Options configure a lab.
type Options struct {
	// Dir holds the lab's state: keys, known_hosts, each node's changes.
	Dir string
	// Nodes are the nodes to run.
	Nodes []NodeSpec
	// Image configures where the node image is cached and built from.
	Image ImageOptions
	// Progress receives what the lab is doing (image build, boots).
	Progress io.Writer
	// Standalone writes Dir/serve.json (pid and node addresses) for other
	// processes to find the nodes, and removes it on Close.
	Standalone bool
	// BootTimeout bounds a node's boot (default 2m).
	BootTimeout time.Duration
}

// NodeInfo is where a node's sshd listens.
type NodeInfo struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	Port    int    `json:"port"`
}

// Lab is a running set of container nodes.
type Lab struct {
	dir       string
	id        string // a hash of dir, unique to this lab
	image     *Image
	clientKey ssh.Signer
	nodes     []*node
	byName    map[string]*node
	progress  io.Writer
	serveFile string
	unlock    func()

	closeOnce sync.Once
}

const (
	clientKeyName  = "id_ed25519"
	hostKeyName    = "ssh_host_ed25519_key"
	knownHostsName = "known_hosts"
	serveFileName  = "serve.json"
	lockFileName   = "lock"
	imageKeyName   = "image"
)

var nodeNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Available says why containers cannot run here, or nil when they can.
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("the container lab needs root: systemd-nspawn boots its nodes as root (run as root, or use the simulated lab, transport: lab)")
	}
	if _, err := lookTool("systemd-nspawn"); err != nil {
		return errors.New("the container lab needs systemd-nspawn: apt-get install systemd-container")
	}
	data, err := os.ReadFile("/proc/filesystems")
	if err == nil && !strings.Contains(string(data), "\toverlay\n") {
		return errors.New("the container lab needs overlayfs in the kernel (modprobe overlay)")
	}
	return nil
}

func labID(dir string) string {
	sum := sha256.Sum256([]byte(dir))
	return hex.EncodeToString(sum[:])
}

// defaultAddress is the node's loopback address when the inventory gives
// none: 127.A.B.N, with A and B from the lab directory, so that labs of
// different state directories do not meet.
func defaultAddress(id string, index int) string {
	b, _ := hex.DecodeString(id[:4])
	return fmt.Sprintf("127.%d.%d.%d", 100+int(b[0])%100, b[1], index+1)
}

// checkSpecs fills in addresses and ports and refuses what cannot run.
func checkSpecs(id string, specs []NodeSpec) ([]NodeSpec, error) {
	if len(specs) == 0 {
		return nil, errors.New("container lab: no nodes to run")
	}
	if len(specs) > 254 {
		return nil, errors.New("container lab: at most 254 nodes")
	}
	out := make([]NodeSpec, len(specs))
	seen := map[string]bool{}
	where := map[string]string{}
	for i, s := range specs {
		if !nodeNameRe.MatchString(s.Name) || len(s.Name) > 63 {
			return nil, fmt.Errorf("container lab: node name %q: use letters, digits, '.', '_' and '-' (at most 63)", s.Name)
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("container lab: node %s is given twice", s.Name)
		}
		seen[s.Name] = true
		if s.Address == "" {
			s.Address = defaultAddress(id, i)
		}
		ip := net.ParseIP(s.Address)
		if ip == nil || ip.To4() == nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("container lab: node %s: address %q: give an IPv4 loopback address (127.0.0.0/8)", s.Name, s.Address)
		}
		if s.Port == 0 {
			s.Port = 22
		}
		if s.Port < 1 || s.Port > 65535 {
			return nil, fmt.Errorf("container lab: node %s: port %d is not a port", s.Name, s.Port)
		}
		hp := net.JoinHostPort(s.Address, strconv.Itoa(s.Port))
		if other, dup := where[hp]; dup {
			return nil, fmt.Errorf("container lab: nodes %s and %s both listen on %s", other, s.Name, hp)
		}
		where[hp] = s.Name
		out[i] = s
	}
	return out, nil
}

// Start boots the nodes (building the image first when the cache lacks
// it) and returns once every node's sshd answers. It writes Dir/known_hosts
// with every node's host key and creates the lab's client key
// Dir/id_ed25519 the first time. One process at a time runs a lab
// directory's nodes. The nodes run until Close; ctx bounds the start only.
func Start(ctx context.Context, opts Options) (*Lab, error) {
	if opts.Dir == "" {
		return nil, errors.New("container lab: no state directory given")
	}
	if err := Available(); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("container lab: %w", err)
	}
	if strings.ContainsAny(dir, ",:\\\n") {
		return nil, fmt.Errorf("container lab: the state directory %q holds a character overlayfs cannot take (',', ':', '\\')", dir)
	}
	l := &Lab{dir: dir, id: labID(dir), byName: map[string]*node{}, progress: opts.Progress}
	if l.progress == nil {
		l.progress = io.Discard
	}
	specs, err := checkSpecs(l.id, opts.Nodes)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("container lab: %w", err)
	}
	if l.unlock, err = takeLabLock(dir); err != nil {
		return nil, err
	}
	if opts.Image.Progress == nil {
		opts.Image.Progress = l.progress
	}
	if l.image, err = EnsureImage(ctx, opts.Image); err != nil {
		l.unlock()
		return nil, err
	}
	if l.clientKey, err = loadOrCreateKey(filepath.Join(dir, clientKeyName), "runbook-container-lab"); err != nil {
		l.unlock()
		return nil, err
	}
	for _, s := range specs {
		n, err := l.newNode(s)
		if err != nil {
			l.unlock()
			return nil, err
		}
		l.nodes = append(l.nodes, n)
		l.byName[n.name] = n
	}
	if err := l.boot(ctx, opts.BootTimeout); err != nil {
		l.Close()
		return nil, err
	}
	if err := l.writeKnownHosts(); err != nil {
		l.Close()
		return nil, err
	}
	if opts.Standalone {
		if err := l.writeServeFile(); err != nil {
			l.Close()
			return nil, err
		}
	}
	return l, nil
}

func (l *Lab) logf(format string, args ...any) {
	fmt.Fprintf(l.progress, "container lab: "+format+"\n", args...)
}

// newNode sets up a node's directory and host key, and checks that its
// address is free. A node whose changes were made over another image
// starts afresh: its changes would not fit the new image.
func (l *Lab) newNode(s NodeSpec) (*node, error) {
	n := &node{lab: l, name: s.Name, addr: s.Address, port: s.Port, dir: filepath.Join(l.dir, "nodes", s.Name)}
	if err := os.MkdirAll(n.dir, 0o700); err != nil {
		return nil, fmt.Errorf("container lab: %w", err)
	}
	key, err := loadOrCreateKey(filepath.Join(n.dir, hostKeyName), "root@"+s.Name)
	if err != nil {
		return nil, err
	}
	n.hostKey = key.PublicKey()
	keyFile := filepath.Join(n.dir, imageKeyName)
	if old, err := os.ReadFile(keyFile); err == nil && strings.TrimSpace(string(old)) != l.image.Key {
		l.logf("%s was made over another image; starting it afresh", s.Name)
		if err := resetNode(n.dir); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(keyFile, []byte(l.image.Key+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("container lab: %w", err)
	}
	ln, err := net.Listen("tcp", n.hostPort())
	if err != nil {
		return nil, fmt.Errorf("container lab: node %s cannot listen on %s: %w (another lab or an sshd on all addresses holds it; give the node another address: or port: in the inventory)", s.Name, n.hostPort(), err)
	}
	ln.Close()
	return n, nil
}

// boot starts every node and waits until all answer.
func (l *Lab) boot(ctx context.Context, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	start := time.Now()
	l.logf("booting %d node(s)", len(l.nodes))
	errs := make([]error, len(l.nodes))
	var wg sync.WaitGroup
	for i, n := range l.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = l.bootNode(ctx, n, timeout)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	l.logf("%d node(s) up in %s", len(l.nodes), time.Since(start).Round(100*time.Millisecond))
	return nil
}

func (l *Lab) bootNode(ctx context.Context, n *node, timeout time.Duration) error {
	if err := n.start(); err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return n.waitReady(cctx)
}

// Close powers every node off (killing one that takes too long) and
// releases the lab directory.
func (l *Lab) Close() error {
	l.closeOnce.Do(func() {
		var wg sync.WaitGroup
		for _, n := range l.nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n.stop(30 * time.Second)
			}()
		}
		wg.Wait()
		if l.serveFile != "" {
			os.Remove(l.serveFile)
		}
		if l.unlock != nil {
			l.unlock()
		}
	})
	return nil
}

// Addr returns where the node's sshd listens.
func (l *Lab) Addr(name string) (string, int, error) {
	n, ok := l.byName[name]
	if !ok {
		return "", 0, fmt.Errorf("%s is not a node of the container lab", name)
	}
	return n.addr, n.port, nil
}

// KnownHostsFile is the lab's known_hosts, listing every node's host key.
func (l *Lab) KnownHostsFile() string { return filepath.Join(l.dir, knownHostsName) }

// IdentityFile is the private key every node's users accept.
func (l *Lab) IdentityFile() string { return filepath.Join(l.dir, clientKeyName) }

// User is the login the nodes expect: LoginUser, with sudo.
func (l *Lab) User() string { return LoginUser }

// Dir is the lab's state directory.
func (l *Lab) Dir() string { return l.dir }

// Image is the image the nodes run.
func (l *Lab) Image() *Image { return l.image }

// Nodes lists the nodes in the order given.
func (l *Lab) Nodes() []NodeInfo {
	out := make([]NodeInfo, len(l.nodes))
	for i, n := range l.nodes {
		out[i] = NodeInfo{Name: n.name, Address: n.addr, Port: n.port}
	}
	return out
}

// Kill ends a node at once, as pulling its power would; it stays down
// until Boot.
func (l *Lab) Kill(name string) error {
	n, ok := l.byName[name]
	if !ok {
		return fmt.Errorf("%s is not a node of the container lab", name)
	}
	n.kill()
	return nil
}

// Boot starts a node that is down and waits until it answers.
func (l *Lab) Boot(ctx context.Context, name string) error {
	n, ok := l.byName[name]
	if !ok {
		return fmt.Errorf("%s is not a node of the container lab", name)
	}
	if n.running() {
		return nil
	}
	return l.bootNode(ctx, n, 2*time.Minute)
}

// Running reports whether the node is up (or rebooting).
func (l *Lab) Running(name string) bool {
	n, ok := l.byName[name]
	return ok && n.running()
}

// Boots is how many times the node booted since the lab started.
func (l *Lab) Boots(name string) int {
	n, ok := l.byName[name]
	if !ok {
		return 0
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.boots
}

// PID is the process id of the node's systemd-nspawn, 0 when it is down.
func (l *Lab) PID(name string) int {
	if n, ok := l.byName[name]; ok {
		return n.pid()
	}
	return 0
}

// writeKnownHosts writes every node's host key line.
func (l *Lab) writeKnownHosts() error {
	addrs, keys := make([]string, len(l.nodes)), make([]ssh.PublicKey, len(l.nodes))
	for i, n := range l.nodes {
		addrs[i], keys[i] = n.hostPort(), n.hostKey
	}
	return keyfile.WriteKnownHosts(l.KnownHostsFile(), addrs, keys)
}

// writeServeFile writes Dir/serve.json: this process serves the nodes.
func (l *Lab) writeServeFile() error {
	l.serveFile = filepath.Join(l.dir, serveFileName)
	if err := keyfile.WriteServed(l.serveFile, l.Nodes()); err != nil {
		return fmt.Errorf("container lab: %w", err)
	}
	return nil
}

// Served returns the nodes a live `lab serve` process runs from dir, or
// nil when none does.
func Served(dir string) []NodeInfo {
	return keyfile.ReadServed[NodeInfo](filepath.Join(dir, serveFileName))
}

// takeLabLock holds Dir/lock for as long as this process runs the nodes.
func takeLabLock(dir string) (func(), error) {
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("container lab: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := io.ReadAll(f)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("container lab: the nodes of %s are already running (%s); stop that process first", dir, strings.TrimSpace(string(holder)))
		}
		return nil, fmt.Errorf("container lab: locking %s: %w", path, err)
	}
	f.Truncate(0)
	fmt.Fprintf(f, "pid %d, since %s\n", os.Getpid(), time.Now().Format(time.RFC3339))
	return func() { f.Close() }, nil
}

// resetNode throws away a node's changes.
func resetNode(dir string) error {
	for _, d := range []string{"upper", "work", "root"} {
		if err := os.RemoveAll(filepath.Join(dir, d)); err != nil {
			return fmt.Errorf("container lab: %w", err)
		}
	}
	os.Remove(filepath.Join(dir, "console.log"))
	return nil
}

// Reset gives the named nodes of the lab in dir fresh: their changes are
// thrown away, so that they boot as the image is. It refuses while a
// process runs the lab's nodes.
func Reset(dir string, names []string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("container lab: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("container lab: %w", err)
	}
	unlock, err := takeLabLock(dir)
	if err != nil {
		return err
	}
	defer unlock()
	for _, name := range names {
		if !nodeNameRe.MatchString(name) {
			return fmt.Errorf("container lab: node name %q: use letters, digits, '.', '_' and '-'", name)
		}
		if err := resetNode(filepath.Join(dir, "nodes", name)); err != nil {
			return err
		}
	}
	return nil
}
