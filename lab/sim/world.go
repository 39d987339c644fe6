package sim

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/runbookhq/runbook/lab/shell"
)

// World is the lab's simulated fleet: every node's root directory and state,
// and the cluster they form. It is safe for concurrent use; several
// processes may open the same directory (every change is made under an
// exclusive flock of DIR/lock and written with write-then-rename).
type World struct {
	dir     string
	configs []NodeConfig
	index   map[string]int

	mu       sync.Mutex // serialises transactions of this process
	lockFile *os.File   // flock'd for the length of a transaction
	nodes    map[string]*nodeEntry
	cluster  *clusterState
	clStamp  fileStamp
	closed   bool
	programs map[string]shell.Program

	rootsMu     sync.Mutex
	rootsClosed bool
	roots       map[string]*os.Root // the open node roots
	users       map[string]int      // commands using each open root (Use), or pinned
	machines    map[string]*shell.Machine
	lockHolders map[string]string // "node:path" -> "PID (program)" of dpkg locks held here
}

// nodeEntry is a node's state as last loaded or saved, with the stamp of
// its file so that a change by another process is seen.
type nodeEntry struct {
	state *nodeState
	stamp fileStamp
	// sum is the SHA-256 of the JSON last read or written, which a
	// transaction's own JSON is compared with to skip an unchanged write:
	// the JSON itself, kept for that, was as large as the state.
	sum [sha256.Size]byte
}

// maxCachedNodes is how many nodes' states stay in memory between
// transactions; the others are read from their files when next used. A
// large lab's server would otherwise hold every node's state, some 10 KB
// each, though only the nodes at work need theirs.
var maxCachedNodes = 1024

var nodeNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$`) })

// OpenWorld opens the lab state under dir (STATE_DIR/lab) for the given
// nodes, creating the state of a node the first time it is used. A node
// already present keeps its state, so a second OpenWorld sees the fleet as
// the first one left it.
func OpenWorld(dir string, nodes []NodeConfig) (*World, error) {
	if len(nodes) == 0 {
		return nil, errors.New("lab: no nodes to simulate")
	}
	w := &World{
		dir:      dir,
		index:    map[string]int{},
		nodes:    map[string]*nodeEntry{},
		roots:    map[string]*os.Root{},
		users:    map[string]int{},
		machines: map[string]*shell.Machine{},
	}
	for i, n := range nodes {
		if !nodeNameRE().MatchString(n.Name) {
			return nil, fmt.Errorf("lab: node %q: not a valid node name (lower-case letters, digits, '-' and '.')", n.Name)
		}
		if _, dup := w.index[n.Name]; dup {
			return nil, fmt.Errorf("lab: node %q listed twice", n.Name)
		}
		switch n.Role {
		case RoleControlPlane, RoleWorker:
		case "":
			n.Role = RoleWorker
		default:
			return nil, fmt.Errorf("lab: node %q: unknown role %q (want %s or %s)", n.Name, n.Role, RoleControlPlane, RoleWorker)
		}
		w.index[n.Name] = i
		w.configs = append(w.configs, n)
	}
	if err := os.MkdirAll(filepath.Join(dir, "nodes"), 0o700); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	w.lockFile = f
	w.programs = w.newPrograms()
	if err := w.do(func(tx *txn) error {
		_, err := tx.clusterState()
		return err
	}); err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

// Machine returns the node's machine for the shell, its root opened and
// kept open for good, or nil when the node is not part of the world or
// cannot be set up.
func (w *World) Machine(name string) *shell.Machine {
	m, err := w.machine(name)
	if err != nil {
		return nil
	}
	w.rootsMu.Lock()
	defer w.rootsMu.Unlock()
	if err := w.openRoot(name); err != nil {
		return nil
	}
	w.users[name] = pinned
	return m
}

// pinned counts the users of a root that Machine opened for good.
const pinned = 1 << 40

// maxOpenRoots is how many node roots stay open with no command using
// them. A root is a file descriptor, and a node's listener is another:
// 10,000 nodes with every root open would pass the 20,000 a process may
// commonly have.
var maxOpenRoots = 1024

// Prepare sets the node up (its state created on first use) and returns
// its machine, whose root is open only while a command uses it: between
// Use and the release it returns. A lab server calls it for each node it
// serves, and Use for each command.
func (w *World) Prepare(name string) (*shell.Machine, error) { return w.machine(name) }

// Use opens the node's root for a command and returns the node's machine;
// the root stays open until release is called (at most once).
func (w *World) Use(name string) (m *shell.Machine, release func(), err error) {
	if m, err = w.machine(name); err != nil {
		return nil, nil, err
	}
	w.rootsMu.Lock()
	if err := w.openRoot(name); err != nil {
		w.rootsMu.Unlock()
		return nil, nil, err
	}
	w.users[name]++
	w.rootsMu.Unlock()
	var once sync.Once
	return m, func() { once.Do(func() { w.release(name) }) }, nil
}

// release ends a use of the node's root, and closes the roots no command
// uses once there are more of them than maxOpenRoots.
func (w *World) release(name string) {
	w.rootsMu.Lock()
	w.users[name]--
	over := len(w.roots) > maxOpenRoots
	w.rootsMu.Unlock()
	if over {
		// Under the transaction lock: a transaction may be using a root
		// that no command holds (w.root).
		w.mu.Lock()
		w.closeIdleRoots()
		w.mu.Unlock()
	}
}

// closeIdleRoots closes the roots no command uses, with w.mu held.
func (w *World) closeIdleRoots() {
	w.rootsMu.Lock()
	defer w.rootsMu.Unlock()
	if w.rootsClosed || len(w.roots) <= maxOpenRoots {
		return
	}
	for name, r := range w.roots {
		if w.users[name] > 0 {
			continue
		}
		r.Close()
		delete(w.roots, name)
		delete(w.users, name)
		if m := w.machines[name]; m != nil {
			m.Root = nil
		}
	}
}

func (w *World) machine(name string) (*shell.Machine, error) {
	if _, ok := w.index[name]; !ok {
		return nil, fmt.Errorf("lab: no node %q", name)
	}
	w.rootsMu.Lock()
	m, closed := w.machines[name], w.rootsClosed
	w.rootsMu.Unlock()
	if closed {
		return nil, fmt.Errorf("lab: the world is closed")
	}
	if m != nil {
		return m, nil
	}
	if err := w.do(func(tx *txn) error {
		_, err := tx.node(name)
		return err
	}); err != nil {
		return nil, err
	}
	w.rootsMu.Lock()
	defer w.rootsMu.Unlock()
	if m := w.machines[name]; m != nil {
		return m, nil
	}
	m = &shell.Machine{
		Name:     name,
		Root:     w.roots[name],
		Programs: w.programs,
		Env: map[string]string{
			"PATH":    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"HOME":    "/root",
			"USER":    "root",
			"LOGNAME": "root",
			"SHELL":   "/bin/bash",
			"LANG":    "C.UTF-8",
		},
	}
	w.machines[name] = m
	return m, nil
}

// openRoot opens the node's root unless it is open, and gives it to the
// node's machine. Call with rootsMu held.
func (w *World) openRoot(name string) error {
	if w.rootsClosed {
		return fmt.Errorf("lab: the world is closed")
	}
	if w.roots[name] != nil {
		return nil
	}
	r, err := openRootDir(w.rootDir(name))
	if err != nil {
		return fmt.Errorf("lab: %s: %w", name, err)
	}
	w.roots[name] = r
	if m := w.machines[name]; m != nil {
		m.Root = r
	}
	return nil
}

func openRootDir(dir string) (*os.Root, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return os.OpenRoot(dir)
}

// withRoot calls fn with the node's root within a transaction: the open
// one, or one opened for fn and closed after it, so that a transaction
// seeding or reading every node of a large world (Reset, Status) does not
// open all their roots at once.
func (w *World) withRoot(name string, fn func(*os.Root) error) error {
	w.rootsMu.Lock()
	r, closed := w.roots[name], w.rootsClosed
	w.rootsMu.Unlock()
	if closed {
		return fmt.Errorf("lab: the world is closed")
	}
	if r != nil {
		return fn(r)
	}
	r, err := openRootDir(w.rootDir(name))
	if err != nil {
		return fmt.Errorf("lab: %s: %w", name, err)
	}
	defer r.Close()
	return fn(r)
}

func (w *World) nodeDir(name string) string   { return filepath.Join(w.dir, "nodes", name) }
func (w *World) rootDir(name string) string   { return filepath.Join(w.nodeDir(name), "root") }
func (w *World) statePath(name string) string { return filepath.Join(w.nodeDir(name), "state.json") }
func (w *World) clusterPath() string          { return filepath.Join(w.dir, "cluster.json") }

// Reset puts every node back into its initial state: its root is emptied
// and seeded again (the root directory itself stays, so machines handed out
// before keep working), its journal is cleared, and the cluster starts anew.
func (w *World) Reset() error {
	return w.do(func(tx *txn) error {
		now := time.Now()
		tx.cluster = &clusterState{Created: now}
		tx.w.cluster = tx.cluster
		tx.clusterDirty = true
		for _, cfg := range w.configs {
			if err := tx.seedNode(cfg, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// Close releases the world's files. Machines handed out stop working.
func (w *World) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	var errs []error
	w.rootsMu.Lock()
	for _, r := range w.roots {
		errs = append(errs, r.Close())
	}
	w.roots = map[string]*os.Root{}
	w.machines = map[string]*shell.Machine{}
	w.rootsClosed = true
	w.rootsMu.Unlock()
	errs = append(errs, w.lockFile.Close())
	return errors.Join(errs...)
}

// config returns the node's configuration.
func (w *World) config(name string) (NodeConfig, bool) {
	i, ok := w.index[name]
	if !ok {
		return NodeConfig{}, false
	}
	return w.configs[i], true
}
