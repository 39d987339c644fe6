// Package sshdtest runs real OpenSSH sshd processes on loopback ports for
// tests: a fleet of hosts with generated host keys, a user key authorized on
// all of them and a known_hosts file listing them.
//
// Each host is its own `sshd -D -e` process. One process could listen on up
// to 16 ports, but a process per host is what lets a test kill and restart
// one host without touching the others, costs only a few megabytes each, and
// starts in parallel, so a hundred hosts come up in about a second.
//
// Running as root, the hosts let in two dedicated users (see SudoUser and
// PasswordSudoUser) whose login shell reads no rc file. They are created
// (useradd, /etc/sudoers.d) only where CI asks for it with
// RUNBOOK_REQUIRE_SSHD=1; elsewhere they are used when they exist, and
// otherwise the hosts let in the current user only, so that tests change
// nothing on a developer's machine.
package sshdtest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Address is where every test host listens unless WithAddresses says
// otherwise.
const Address = "127.0.0.1"

// Option changes what Start builds.
type Option func(*settings)

type settings struct {
	hosts        int
	ca           bool
	bastion      bool
	rsa          bool
	maxSessions  int
	forceCommand string
	addresses    []string
}

// Hosts sets how many hosts Start runs (default 1).
func Hosts(n int) Option { return func(s *settings) { s.hosts = n } }

// WithHostCA signs every host key with a fresh certificate authority
// (ssh-keygen -s) and writes known_hosts as a single @cert-authority line
// instead of one line per host.
func WithHostCA() Option { return func(s *settings) { s.ca = true } }

// WithBastion adds one more sshd, Fleet.Bastion, that allows TCP
// forwarding: a jump host for ProxyJump. Its log names the target of each
// forward ("server_request_direct_tcpip: ... target HOST port PORT").
func WithBastion() Option { return func(s *settings) { s.bastion = true } }

// WithRSAHostKey gives every host an RSA host key besides its ed25519 one.
// known_hosts lists only the ed25519 key.
func WithRSAHostKey() Option { return func(s *settings) { s.rsa = true } }

// WithMaxSessions sets sshd's MaxSessions, the sessions one connection may
// have open at once (default 64 here; OpenSSH's own default is 10, and
// hardened hosts may allow 1).
func WithMaxSessions(n int) Option { return func(s *settings) { s.maxSessions = n } }

// WithForceCommand sets sshd's ForceCommand: every session runs cmd (by
// the user's shell, with the client's command in $SSH_ORIGINAL_COMMAND)
// instead of what the client asked, as a host that vets or logs commands
// does.
func WithForceCommand(cmd string) Option { return func(s *settings) { s.forceCommand = cmd } }

// WithAddresses spreads the hosts over these loopback addresses (127.0.0.0/8),
// round robin, instead of 127.0.0.1: benchmarks on a shared machine then
// take their ports where other runs do not, and no two runs' sshds share a
// source-address penalty or a MaxStartups count.
func WithAddresses(addrs ...string) Option { return func(s *settings) { s.addresses = addrs } }

// Fleet is a set of running test hosts.
type Fleet struct {
	// Dir holds configs, keys and known_hosts; it is readable by the test
	// users (nothing in it but private keys is secret, and those are 0600).
	Dir string
	// User is the login user: SudoUserName when the test users are in place
	// (see SudoUser), else the current user.
	User string
	// Become says whether User may run commands through `sudo -n`.
	Become bool
	// KeyFile is the user's private key (ed25519, unencrypted, 0600),
	// authorized for every user the hosts let in.
	KeyFile string
	// Signer is the same key, loaded.
	Signer ssh.Signer
	// KnownHosts is a known_hosts file listing every host, bastion included.
	KnownHosts string
	// CA is the host certificate authority's public key (WithHostCA).
	CA ssh.PublicKey
	// Hosts are the hosts, named host1, host2...
	Hosts []*Host
	// Bastion is the jump host (WithBastion), else nil.
	Bastion *Host

	bin            string
	all            []*Host // hosts and bastion, as soon as they exist
	authorizedKeys string
	allowUsers     []string
	mu             sync.Mutex
}

// ErrNoSSHD says OpenSSH's sshd is not installed.
var ErrNoSSHD = errors.New("sshdtest: OpenSSH sshd not found (install openssh-server)")

// ErrNoTestUsers says the fleet runs as root and the test users are not in
// place (see SudoUser): they are created only with RUNBOOK_REQUIRE_SSHD=1.
var ErrNoTestUsers = errors.New("sshdtest: as root, the test hosts let in the test users " + SudoUserName + " and " + PasswordUserName +
	", which are created (useradd, /etc/sudoers.d, with sudo installed) only with RUNBOOK_REQUIRE_SSHD=1")

// Start runs the fleet and stops it when the test ends. It skips the test
// when sshd is not installed, unless RUNBOOK_REQUIRE_SSHD=1.
func Start(t testing.TB, opts ...Option) *Fleet {
	t.Helper()
	f, err := StartFleet(opts...)
	if errors.Is(err, ErrNoSSHD) || errors.Is(err, ErrNoTestUsers) {
		skipOrFail(t, err.Error()+"; skipping")
	}
	if err != nil {
		t.Fatalf("sshdtest: %v", err)
	}
	t.Cleanup(f.Stop)
	return f
}

// StartFleet runs the fleet outside a test (benchmarks, tools); the caller
// stops it with Fleet.Stop. Running as root, it creates the test users when
// needed. It returns ErrNoSSHD when sshd is not installed.
func StartFleet(opts ...Option) (*Fleet, error) {
	s := settings{hosts: 1}
	for _, o := range opts {
		o(&s)
	}
	if err := checkLoopback(s.addresses); err != nil {
		return nil, err
	}
	if len(s.addresses) == 0 {
		s.addresses = []string{Address}
	}
	bin, err := sshdPath()
	if err != nil {
		return nil, err
	}
	f := &Fleet{bin: bin}
	ready, err := usersReady()
	if err != nil {
		return nil, fmt.Errorf("preparing test users: %w", err)
	}
	if os.Geteuid() == 0 {
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil { // privilege separation
			return nil, err
		}
	}
	switch {
	case ready:
		f.User, f.Become = sudoUser.Name, true
		f.allowUsers = []string{SudoUserName, pwUser.Name}
	case os.Geteuid() == 0:
		// Root logs in with its own login shell and rc files, which the
		// tests cannot vouch for: root's fleets need the test users.
		return nil, ErrNoTestUsers
	default:
		u, err := user.Current()
		if err != nil {
			return nil, fmt.Errorf("current user: %w", err)
		}
		f.User = u.Username
		f.allowUsers = []string{u.Username}
		f.Become = canSudo()
	}
	if err := f.build(s); err != nil {
		f.Stop()
		return nil, err
	}
	return f, nil
}

// checkLoopback refuses any address outside 127.0.0.0/8: the hosts let in
// a key whose private half is in a world-readable directory.
func checkLoopback(addrs []string) error {
	for _, a := range addrs {
		ip := net.ParseIP(a)
		if ip == nil || ip.To4() == nil || !ip.IsLoopback() {
			return fmt.Errorf("sshdtest: %q is not an IPv4 loopback address (127.0.0.0/8)", a)
		}
	}
	return nil
}

func sshdPath() (string, error) {
	for _, p := range []string{"/usr/sbin/sshd", "/usr/local/sbin/sshd"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("sshd"); err == nil && filepath.IsAbs(p) {
		return p, nil
	}
	return "", ErrNoSSHD
}

func (f *Fleet) build(s settings) error {
	dir, err := os.MkdirTemp("", "sshdtest-")
	if err != nil {
		return err
	}
	f.Dir = dir
	if err := os.Chmod(dir, 0o755); err != nil { // sshd reads authorized_keys as the user
		return err
	}
	kp, err := newEd25519(filepath.Join(dir, "id_ed25519"), "sshdtest user key")
	if err != nil {
		return err
	}
	f.KeyFile, f.Signer = kp.Path, kp.Signer
	f.authorizedKeys = filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(f.authorizedKeys, ssh.MarshalAuthorizedKey(kp.Public), 0o644); err != nil {
		return err
	}
	var caPath string
	if s.ca {
		ca, err := newEd25519(filepath.Join(dir, "host_ca"), "sshdtest host CA")
		if err != nil {
			return err
		}
		caPath, f.CA = ca.Path, ca.Public
	}
	all := make([]*Host, 0, s.hosts+1)
	for i := range s.hosts {
		all = append(all, &Host{Name: fmt.Sprintf("host%d", i+1), Address: s.addresses[i%len(s.addresses)]})
	}
	if s.bastion {
		f.Bastion = &Host{Name: "bastion", Address: s.addresses[0], bastion: true}
		all = append(all, f.Bastion)
	}
	f.all = all
	errs := make([]error, len(all))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, h := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = f.prepareAndStart(h, s, caPath)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	f.Hosts = all[:s.hosts]
	return f.writeKnownHosts(all)
}

func (f *Fleet) prepareAndStart(h *Host, s settings, caPath string) error {
	h.fleet, h.User, h.KeyFile = f, f.User, f.KeyFile
	h.maxSessions = s.maxSessions
	h.forceCommand = s.forceCommand
	h.dir = filepath.Join(f.Dir, h.Name)
	if err := os.Mkdir(h.dir, 0o755); err != nil {
		return err
	}
	kp, err := newEd25519(filepath.Join(h.dir, "ssh_host_ed25519_key"), h.Name)
	if err != nil {
		return err
	}
	h.HostKey, h.keys = kp.Public, []string{kp.Path}
	if s.rsa {
		rk, err := newRSA(filepath.Join(h.dir, "ssh_host_rsa_key"), h.Name)
		if err != nil {
			return err
		}
		h.RSAHostKey, h.keys = rk.Public, append(h.keys, rk.Path)
	}
	if caPath != "" {
		if h.cert, err = signHostKey(caPath, kp.Path+".pub", h.Address+",localhost"); err != nil {
			return err
		}
	}
	return h.start(true)
}

// writeKnownHosts writes one line per host, or one @cert-authority line
// covering them all.
func (f *Fleet) writeKnownHosts(hosts []*Host) error {
	f.KnownHosts = filepath.Join(f.Dir, "known_hosts")
	var b strings.Builder
	if f.CA != nil {
		patterns := make([]string, len(hosts))
		for i, h := range hosts {
			patterns[i] = knownhosts.Normalize(h.Addr())
		}
		b.WriteString("@cert-authority " + knownhosts.Line(patterns, f.CA) + "\n")
	} else {
		for _, h := range hosts {
			b.WriteString(knownhosts.Line([]string{h.Addr()}, h.HostKey) + "\n")
		}
	}
	return os.WriteFile(f.KnownHosts, []byte(b.String()), 0o644)
}

// Authorize adds pub to the authorized keys of every host (sshd reads the
// file at each login, so it takes effect at once).
func (f *Fleet) Authorize(pub ssh.PublicKey) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	fh, err := os.OpenFile(f.authorizedKeys, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := fh.Write(ssh.MarshalAuthorizedKey(pub)); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

// Stop kills every host and removes the fleet's directory.
func (f *Fleet) Stop() {
	var procs []*sshdProc
	for _, h := range f.all {
		h.mu.Lock()
		if h.proc != nil {
			procs = append(procs, h.proc)
			h.lastLog = h.proc.log.String()
			h.proc = nil
		}
		h.mu.Unlock()
	}
	killAll(procs)
	if f.Dir != "" {
		os.RemoveAll(f.Dir)
	}
}

// canSudo reports whether the current user may run commands through
// `sudo -n` (root where sudo is installed, or a user with NOPASSWD rights).
func canSudo() bool {
	if _, err := exec.LookPath("sudo"); err != nil {
		return false
	}
	return exec.Command("sudo", "-n", "true").Run() == nil
}

// RequireBecome skips the test when the fleet's user cannot sudo, or fails
// it where CI forbids skipping.
func (f *Fleet) RequireBecome(t testing.TB) {
	t.Helper()
	if !f.Become {
		skipOrFail(t, "sshdtest: "+f.User+" cannot sudo -n here (needs sudo and, as root, the test users); skipping")
	}
}
