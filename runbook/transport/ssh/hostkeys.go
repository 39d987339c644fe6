package ssh

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// hostKeyDB checks host keys against known_hosts files as
// golang.org/x/crypto/ssh/knownhosts does (hashed entries, @cert-authority
// via ssh.CertChecker, @revoked), through an index by host so that a check
// costs the same whatever the size of the files (hostkeys_index.go),
// reloading the files when they change and appending to the first one
// under accept-new.
type hostKeyDB struct {
	files     []string
	acceptNew bool

	mu     sync.Mutex
	snap   *hostKeySnapshot
	stamp  []fileStamp
	statAt time.Time // when stamp was taken
}

// callbackStatReuse is how recent a stat of the files the host key
// callback relies on instead of making its own. algorithms, which each
// connection attempt calls first, always stats the files; the callback,
// called during the same attempt's handshake a few milliseconds later,
// uses that stat (or a later one), so that a file changed in between is
// seen from the next attempt on. A snapshot dropped by accept-new is
// always reloaded.
const callbackStatReuse = time.Second

// hostKeySnapshot is the database as read at one moment.
type hostKeySnapshot struct {
	check   ssh.HostKeyCallback
	index   *knownHostsIndex
	loadErr error
}

type fileStamp struct {
	size    int64
	modTime time.Time
	exists  bool
}

func newHostKeyDB(files []string, acceptNew bool) *hostKeyDB {
	return &hostKeyDB{files: files, acceptNew: acceptNew}
}

// current returns the database, reread when a file changed since. A stat
// of the files made less than maxAge ago is trusted; 0 trusts none.
func (db *hostKeyDB) current(maxAge time.Duration) *hostKeySnapshot {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.snap != nil && maxAge > 0 && time.Since(db.statAt) < maxAge {
		return db.snap
	}
	return db.currentLocked()
}

func (db *hostKeyDB) currentLocked() *hostKeySnapshot {
	stamp := make([]fileStamp, len(db.files))
	for i, f := range db.files {
		if fi, err := os.Stat(f); err == nil {
			stamp[i] = fileStamp{fi.Size(), fi.ModTime(), true}
		}
	}
	db.statAt = time.Now()
	if db.snap != nil && slices.Equal(stamp, db.stamp) {
		return db.snap
	}
	db.snap, db.stamp = loadHostKeys(db.files, stamp), stamp
	return db.snap
}

func loadHostKeys(files []string, stamp []fileStamp) *hostKeySnapshot {
	var present []string
	for i, f := range files {
		if stamp[i].exists {
			present = append(present, f)
		}
	}
	index, err := readKnownHosts(present)
	if err != nil {
		return &hostKeySnapshot{loadErr: fmt.Errorf("known_hosts: %w", err)}
	}
	return &hostKeySnapshot{check: index.hostKeyCallback(), index: index}
}

// lookup returns the plain keys known for hostport and whether a
// certificate authority is trusted for it.
func (snap *hostKeySnapshot) lookup(hostport string) (keys []knownhosts.KnownKey, ca bool) {
	if snap.index == nil {
		return nil, false
	}
	a, err := resolveAddr(hostport, probeAddr)
	if err != nil {
		return nil, false
	}
	for l := range snap.index.matching(a) {
		if l.authority {
			ca = true
		} else {
			keys = append(keys, l.known)
		}
	}
	return keys, ca
}

// probeAddr stands for the remote address in lookups; knownhosts parses it
// but prefers the host name it is given.
var probeAddr = &net.TCPAddr{IP: net.IPv4zero, Port: 22}

// Host key algorithms in OpenSSH's order of preference.
var (
	certAlgorithms = []string{
		ssh.CertAlgoED25519v01, ssh.CertAlgoECDSA256v01, ssh.CertAlgoECDSA384v01, ssh.CertAlgoECDSA521v01,
		ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01,
	}
	plainAlgorithms = []string{
		ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
		ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256,
	}
)

// algorithms returns the host key algorithms to offer hostport: those of
// the keys known for it, so that a host with a known ed25519 key is not
// asked for its RSA key and then reported as changed; certificate
// algorithms first when a CA is trusted for it; OpenSSH's defaults for a
// host known in no way.
func (db *hostKeyDB) algorithms(hostport string) ([]string, error) {
	snap := db.current(0)
	if snap.loadErr != nil {
		return nil, snap.loadErr
	}
	keys, ca := snap.lookup(hostport)
	var algos []string
	if ca {
		algos = append(algos, certAlgorithms...)
	}
	if len(keys) == 0 {
		return append(algos, plainAlgorithms...), nil
	}
	for _, k := range keys {
		for _, a := range algorithmsFor(k.Key.Type()) {
			if !slices.Contains(algos, a) {
				algos = append(algos, a)
			}
		}
	}
	// Keep OpenSSH's preference among the known types.
	rank := func(a string) int {
		if i := slices.Index(certAlgorithms, a); i >= 0 {
			return i
		}
		if i := slices.Index(plainAlgorithms, a); i >= 0 {
			return len(certAlgorithms) + i
		}
		return 100
	}
	slices.SortStableFunc(algos, func(a, b string) int { return rank(a) - rank(b) })
	return algos, nil
}

func algorithmsFor(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		// An RSA key signs with SHA-2 where the server can; SHA-1 only for
		// an old server whose RSA key the operator already trusts.
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}

// callback returns the HostKeyCallback for a connection to ep.
func (db *hostKeyDB) callback(ep endpoint) ssh.HostKeyCallback {
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		snap := db.current(callbackStatReuse)
		if snap.loadErr != nil {
			return snap.loadErr
		}
		err := snap.check(hostname, remote, key)
		if err == nil {
			return nil
		}
		return db.refuseOrAccept(snap, ep, hostname, key, err)
	}
}

func (db *hostKeyDB) refuseOrAccept(snap *hostKeySnapshot, ep endpoint, hostname string, key ssh.PublicKey, err error) error {
	hk := &HostKeyError{Host: knownhosts.Normalize(hostname), Presented: key, KnownHostsFiles: db.files, port: ep.port, host: ep.host}
	var revoked *knownhosts.RevokedError
	var ke *knownhosts.KeyError
	switch {
	case errors.As(err, &revoked):
		hk.Problem, hk.Known = HostKeyRevoked, []knownhosts.KnownKey{revoked.Revoked}
	case errors.As(err, &ke):
		for _, k := range ke.Want {
			if !snap.index.authorities[fileLine{k.Filename, k.Line}] {
				hk.Known = append(hk.Known, k)
			}
		}
		if len(hk.Known) > 0 {
			hk.Problem = HostKeyChanged
		} else if db.acceptNew {
			return db.accept(ep, hostname, key)
		} else {
			hk.Problem = HostKeyUnknown
		}
	default:
		// A certificate that did not verify: unknown CA, wrong principal,
		// expired.
		hk.Problem, hk.Err = HostKeyInvalid, err
	}
	return hk
}

// accept appends hostname's key to the first known_hosts file, holding an
// exclusive lock on it, after checking afresh that no other process or
// goroutine has recorded a different key for the host meanwhile.
func (db *hostKeyDB) accept(ep endpoint, hostname string, key ssh.PublicKey) error {
	if len(db.files) == 0 {
		return errors.New("accept-new: no known_hosts file to record the host key in")
	}
	path := db.files[0]
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("accept-new: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("accept-new: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("accept-new: locking %s: %w", path, err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	db.mu.Lock()
	defer db.mu.Unlock()
	snap := db.currentLocked()
	if snap.loadErr != nil {
		return snap.loadErr
	}
	if err := snap.check(hostname, probeAddr, key); err == nil {
		return nil // recorded meanwhile
	} else if keys, _ := snap.lookup(hostname); len(keys) > 0 {
		return &HostKeyError{Host: knownhosts.Normalize(hostname), Problem: HostKeyChanged, Presented: key,
			Known: keys, KnownHostsFiles: db.files, port: ep.port, host: ep.host}
	}
	line := knownhosts.Line([]string{hostname}, key) + "\n"
	if endsWithoutNewline(f) {
		line = "\n" + line
	}
	if _, err := f.WriteString(line); err != nil {
		return fmt.Errorf("accept-new: writing %s: %w", path, err)
	}
	db.snap = nil // reread at next use
	return nil
}

func endsWithoutNewline(f *os.File) bool {
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return false
	}
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, fi.Size()-1); err != nil && err != io.EOF {
		return false
	}
	return b[0] != '\n'
}
