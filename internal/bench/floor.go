package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// floorSpec is the work of the floor client: the bench writes it, the
// bench binary re-executed with -floor runs it.
type floorSpec struct {
	Addrs      []string `json:"addrs"`
	User       string   `json:"user"`
	KeyFile    string   `json:"key_file"`
	KnownHosts string   `json:"known_hosts"`
	// Commands are the steps' command lines, run in order on every host.
	Commands []string `json:"commands"`
	// Journal, when set, makes this the floor doing the SPEC's work (see
	// floorJournal): each host's lock taken with its facts in one
	// session and released in another, under LockDir on the host, and a
	// journal of the run appended to this file.
	Journal string `json:"journal,omitempty"`
	LockDir string `json:"lock_dir,omitempty"`
}

// floorMain is the floor: a minimal x/crypto/ssh client with one connection
// per host and one session per step, every host at once, host keys checked
// against known_hosts. Nothing is journaled, locked or printed, unless the
// spec names a journal.
func floorMain(specFile string) error {
	data, err := os.ReadFile(specFile)
	if err != nil {
		return err
	}
	var spec floorSpec
	if err := json.Unmarshal(data, &spec); err != nil {
		return err
	}
	key, err := os.ReadFile(spec.KeyFile)
	if err != nil {
		return err
	}
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		return err
	}
	check, err := knownhosts.New(spec.KnownHosts)
	if err != nil {
		return err
	}
	cfg := &ssh.ClientConfig{User: spec.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: check}
	var j *floorJournal
	if spec.Journal != "" {
		if j, err = openFloorJournal(spec.Journal); err != nil {
			return err
		}
	}
	errs := make([]error, len(spec.Addrs))
	var wg sync.WaitGroup
	for i, addr := range spec.Addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if j == nil {
				errs[i] = floorHost(addr, cfg, spec.Commands)
				return
			}
			lock := fmt.Sprintf("%s/host%d.lock", spec.LockDir, i+1)
			errs[i] = floorHostWithSpecWork(addr, cfg, spec.Commands, j, fmt.Sprint("host", i+1), lock)
		}()
	}
	wg.Wait()
	if j != nil {
		errs = append(errs, j.close())
	}
	return errors.Join(errs...)
}

// floorHost runs each command in a session of its own on one connection,
// its output read into memory, as a client that reports it would.
func floorHost(addr string, cfg *ssh.ClientConfig, commands []string) error {
	c, err := ssh.Dial("tcp", addr, cfg)
	if err != nil {
		return fmt.Errorf("%s: %w", addr, err)
	}
	defer c.Close()
	for i, command := range commands {
		if _, err := floorRun(c, command); err != nil {
			return fmt.Errorf("%s: step %d: %w", addr, i+1, err)
		}
	}
	return nil
}

// floorRun runs command in a session of its own and returns its output.
func floorRun(c *ssh.Client, command string) ([]byte, error) {
	s, err := c.NewSession()
	if err != nil {
		return nil, err
	}
	defer s.Close()
	var out, errOut bytes.Buffer
	s.Stdout, s.Stderr = &out, &errOut
	if err := s.Run(command); err != nil {
		return nil, fmt.Errorf("%w: %s", err, bytes.TrimSpace(errOut.Bytes()))
	}
	return out.Bytes(), nil
}

// floorHostWithSpecWork is floorHost doing what the SPEC asks of any
// runner, the simplest way: the host's lock taken and its facts gathered
// in one session (a lock directory, as runbook's), a journal record
// fsynced before each step starts, the step's result recorded, and the
// lock released in a session of its own once the host's records are on
// disk. Records no action waits on (a step's result, the lock's) are only
// buffered: the next sync takes them along.
func floorHostWithSpecWork(addr string, cfg *ssh.ClientConfig, commands []string, j *floorJournal, host, lock string) error {
	c, err := ssh.Dial("tcp", addr, cfg)
	if err != nil {
		return fmt.Errorf("%s: %w", addr, err)
	}
	defer c.Close()
	q := "'" + lock + "'" // the bench's paths need no escaping
	out, err := floorRun(c, "mkdir "+q+" && echo lock=acquired && uname -srm && hostname && id -un")
	if err != nil || !bytes.HasPrefix(out, []byte("lock=acquired\n")) {
		return fmt.Errorf("%s: taking the lock: %v: %q", addr, err, out)
	}
	j.add("lock_acquired", host, 0)
	for i, command := range commands {
		if err := j.sync(j.add("step_started", host, i+1)); err != nil {
			return err
		}
		if _, err := floorRun(c, command); err != nil {
			return fmt.Errorf("%s: step %d: %w", addr, i+1, err)
		}
		j.add("step_finished", host, i+1)
	}
	if err := j.sync(j.add("host_finished", host, 0)); err != nil {
		return err
	}
	if _, err := floorRun(c, "rmdir "+q); err != nil {
		return fmt.Errorf("%s: releasing the lock: %w", addr, err)
	}
	j.add("lock_released", host, 0)
	return nil
}

// floorJournal is the floor's journal: JSON lines appended to a file, a
// sync shared by every record buffered when it starts (group commit, as
// the SPEC asks), no more.
type floorJournal struct {
	mu      sync.Mutex
	cond    sync.Cond
	f       *os.File
	buf     []byte
	seq     int64 // the last record buffered
	synced  int64 // the last record on disk
	syncing bool
	err     error
}

func openFloorJournal(path string) (*floorJournal, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	j := &floorJournal{f: f}
	j.cond.L = &j.mu
	return j, nil
}

// add buffers a record and returns its number.
func (j *floorJournal) add(typ, host string, step int) int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.seq++
	j.buf = fmt.Appendf(j.buf, `{"seq":%d,"time":%q,"type":%q,"host":%q,"step":%d}`+"\n",
		j.seq, time.Now().UTC().Format(time.RFC3339Nano), typ, host, step)
	return j.seq
}

// sync returns once record seq is on disk: it waits for the sync under
// way, or writes and syncs what is buffered itself.
func (j *floorJournal) sync(seq int64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for j.synced < seq && j.err == nil {
		if j.syncing {
			j.cond.Wait()
			continue
		}
		j.syncing = true
		buf, top := j.buf, j.seq
		j.buf = nil
		j.mu.Unlock()
		_, err := j.f.Write(buf)
		if err == nil {
			err = j.f.Sync()
		}
		j.mu.Lock()
		j.syncing = false
		if err != nil {
			j.err = err
		} else {
			j.synced = top
		}
		j.cond.Broadcast()
	}
	return j.err
}

func (j *floorJournal) close() error {
	j.mu.Lock()
	top := j.seq
	j.mu.Unlock()
	return errors.Join(j.sync(top), j.f.Close())
}
