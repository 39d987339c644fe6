package sim

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// txn is one change of the world: it runs with the world's mutex and the
// cross-process flock held, sees every node file as it is on disk now, and
// writes back what it changed.
type txn struct {
	w            *World
	now          time.Time
	touched      map[string]*nodeState
	order        []string
	cluster      *clusterState
	clusterDirty bool
	journal      map[string][]journalEntry
	after        []func()
	readOnly     bool // nodes already on disk are not written back
	scheduling   bool // schedulePending is running
	seeding      bool // a node is being created
}

// fileStamp identifies one version of a file (files are replaced by rename,
// so a new version has a new inode).
type fileStamp struct {
	ino   uint64
	size  int64
	mtime int64
}

func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	st := fileStamp{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.ino = sys.Ino
	}
	return st, nil
}

// do runs fn as one transaction. When fn fails, nothing is written and the
// cached state fn may have changed is dropped.
func (w *World) do(fn func(tx *txn) error) error {
	after, err := w.doLocked(fn)
	for _, f := range after {
		f()
	}
	return err
}

func (w *World) doLocked(fn func(tx *txn) error) (after []func(), err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, errors.New("lab: the world is closed")
	}
	fd := int(w.lockFile.Fd())
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		return nil, fmt.Errorf("lab: lock %s: %w", w.lockFile.Name(), err)
	}
	defer unix.Flock(fd, unix.LOCK_UN)
	tx := &txn{w: w, now: time.Now(), touched: map[string]*nodeState{}, journal: map[string][]journalEntry{}}
	// A bug of the simulation must not take the lab server down with it,
	// nor leave half a change behind.
	defer func() {
		if r := recover(); r != nil {
			tx.discard()
			after, err = nil, fmt.Errorf("lab: internal error: %v", r)
		}
	}()
	if err := fn(tx); err != nil {
		tx.discard()
		return nil, err
	}
	if err := tx.commit(); err != nil {
		tx.discard()
		return nil, err
	}
	tx.trimCache()
	return tx.after, nil
}

// trimCache forgets the cached states of nodes the transaction did not
// touch once more than maxCachedNodes are cached.
func (tx *txn) trimCache() {
	w := tx.w
	for name := range w.nodes {
		if len(w.nodes) <= maxCachedNodes {
			return
		}
		if _, touched := tx.touched[name]; !touched {
			delete(w.nodes, name)
		}
	}
}

// discard forgets the cached state of everything the transaction touched.
func (tx *txn) discard() {
	for name := range tx.touched {
		delete(tx.w.nodes, name)
	}
	if tx.cluster != nil {
		tx.w.cluster = nil
	}
}

// node returns the node's state, loading it when another process changed it
// and creating the node when it has no state yet.
func (tx *txn) node(name string) (*nodeState, error) {
	if n := tx.touched[name]; n != nil {
		return n, nil
	}
	cfg, ok := tx.w.config(name)
	if !ok {
		return nil, fmt.Errorf("lab: no node %q", name)
	}
	path := tx.w.statePath(name)
	st, err := stampOf(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := tx.seedNode(cfg, tx.now); err != nil {
			return nil, err
		}
		return tx.touched[name], nil
	case err != nil:
		return nil, fmt.Errorf("lab: %s: %w", name, err)
	}
	e := tx.w.nodes[name]
	if e == nil || e.stamp != st {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("lab: %s: %w", name, err)
		}
		n := &nodeState{}
		if err := json.Unmarshal(data, n); err != nil {
			return nil, fmt.Errorf("lab: %s: %s: %w", name, path, err)
		}
		e = &nodeEntry{state: n, stamp: st, sum: sha256.Sum256(data)}
		tx.w.nodes[name] = e
	}
	e.state.faults = cfg.Faults
	tx.adopt(name, e.state)
	return e.state, nil
}

// adopt makes n the transaction's state of the node.
func (tx *txn) adopt(name string, n *nodeState) {
	if _, ok := tx.touched[name]; !ok {
		tx.order = append(tx.order, name)
	}
	tx.touched[name] = n
}

// allNodes returns every node of the world in configuration order.
func (tx *txn) allNodes() ([]*nodeState, error) {
	out := make([]*nodeState, 0, len(tx.w.configs))
	for _, c := range tx.w.configs {
		n, err := tx.node(c.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// clusterState returns the cluster-wide state, creating it when absent.
func (tx *txn) clusterState() (*clusterState, error) {
	if tx.cluster != nil {
		return tx.cluster, nil
	}
	w := tx.w
	path := w.clusterPath()
	st, err := stampOf(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		w.cluster = &clusterState{Created: tx.now}
		tx.clusterDirty = true
	case err != nil:
		return nil, fmt.Errorf("lab: %w", err)
	case w.cluster == nil || st != w.clStamp:
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("lab: %w", err)
		}
		cl := &clusterState{}
		if err := json.Unmarshal(data, cl); err != nil {
			return nil, fmt.Errorf("lab: %s: %w", path, err)
		}
		w.cluster, w.clStamp = cl, st
	}
	tx.cluster = w.cluster
	return tx.cluster, nil
}

// changedCluster marks the cluster-wide state for writing.
func (tx *txn) changedCluster() { tx.clusterDirty = true }

// commit writes every touched node whose state changed, the cluster state
// when changed, and the journal entries of the transaction.
func (tx *txn) commit() error {
	w := tx.w
	for _, name := range tx.order {
		n := tx.touched[name]
		e := w.nodes[name]
		if tx.readOnly && e != nil && e.state == n {
			continue
		}
		data, err := json.Marshal(n)
		if err != nil {
			return fmt.Errorf("lab: %s: %w", name, err)
		}
		sum := sha256.Sum256(data)
		if e != nil && e.state == n && e.sum == sum {
			continue
		}
		st, err := writeAtomic(w.statePath(name), data)
		if err != nil {
			return fmt.Errorf("lab: %s: %w", name, err)
		}
		w.nodes[name] = &nodeEntry{state: n, stamp: st, sum: sum}
	}
	if tx.clusterDirty && tx.cluster != nil {
		data, err := json.Marshal(tx.cluster)
		if err != nil {
			return fmt.Errorf("lab: cluster: %w", err)
		}
		st, err := writeAtomic(w.clusterPath(), data)
		if err != nil {
			return fmt.Errorf("lab: cluster: %w", err)
		}
		w.clStamp = st
	}
	for _, name := range tx.order {
		if err := appendJournal(w.journalPath(name), tx.journal[name]); err != nil {
			return fmt.Errorf("lab: %s: journal: %w", name, err)
		}
	}
	return nil
}

// writeAtomic replaces path with data (write to a temporary file, rename).
func writeAtomic(path string, data []byte) (fileStamp, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fileStamp{}, err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fileStamp{}, err
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(f.Name())
		return fileStamp{}, err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fileStamp{}, err
	}
	return stampOf(path)
}

// afterCommit runs f once the transaction is over and the locks released.
func (tx *txn) afterCommit(f func()) { tx.after = append(tx.after, f) }
