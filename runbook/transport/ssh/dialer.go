// Package ssh implements transport.Transport over OpenSSH-compatible
// servers with golang.org/x/crypto/ssh: one connection per host, reused for
// every command (a session each), redialled when it drops; host keys checked
// strictly against known_hosts (with @cert-authority and accept-new); keys
// from ssh-agent and identity files; ~/.ssh/config; ProxyJump; sudo; SFTP.
package ssh

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/runbookhq/runbook/runbook/transport"
)

// Target is a host to connect to. Explicit fields win over ~/.ssh/config.
type Target struct {
	// Name is the host's inventory name, used in messages, and the
	// ssh_config alias when Address is empty.
	Name string
	// Address is the host name or IP address. It is matched against the
	// Host patterns of the ssh_config file, as the name given to ssh is, so
	// an alias there may set the real HostName.
	Address string
	// Port is the TCP port; zero means the ssh_config Port, else 22.
	Port int
	// User is the login user; empty means the ssh_config User, else the
	// local user's name.
	User string
	// IdentityFile is a private key file tried before those of ssh_config.
	IdentityFile string
	// ProxyJump is a comma-separated chain of jump hosts,
	// "[user@]host[:port]", each looked up in ssh_config too; empty means
	// the ssh_config ProxyJump; "none" means none.
	ProxyJump string
	// Jumps, when set, is the chain of jump hosts as targets of their own
	// (inventory hosts, with their address, port, user and identity file),
	// first hop first; ProxyJump is then not read. A hop's own ProxyJump
	// and Jumps are not read either: the chain is whole.
	Jumps []Target
}

// Options configures a Dialer. The zero value is usable: every field has a
// default.
type Options struct {
	// KnownHostsFiles are the known_hosts files, read in order; missing ones
	// are skipped. Default: ~/.ssh/known_hosts, /etc/ssh/ssh_known_hosts.
	// AcceptNewHostKeys appends to the first.
	KnownHostsFiles []string
	// AcceptNewHostKeys records the key of a host known_hosts does not list,
	// as OpenSSH's StrictHostKeyChecking=accept-new does. A key that differs
	// from a recorded one is refused all the same.
	AcceptNewHostKeys bool
	// SSHConfigFile is the ssh_config file to read; default ~/.ssh/config;
	// "none" reads none.
	SSHConfigFile string
	// AgentSocket is the ssh-agent socket; default $SSH_AUTH_SOCK; "none"
	// disables the agent.
	AgentSocket string
	// BecomePassword is written to `sudo -S` on standard input when
	// `sudo -n` is refused; nil means Become relies on passwordless sudo.
	BecomePassword []byte
	// Passphrase is asked for the passphrase of an encrypted key file, at
	// most once per file for the Dialer's life; nil skips encrypted keys.
	Passphrase func(keyFile string) ([]byte, error)
	// ConnectTimeout bounds TCP connect plus SSH handshake; default 15s.
	ConnectTimeout time.Duration
	// KeepaliveInterval is the period of keepalive@openssh.com requests; a
	// connection that leaves three unanswered is closed. Default 15s;
	// negative disables keepalives.
	KeepaliveInterval time.Duration
	// KillGrace is how long a cancelled command has between TERM and KILL;
	// default one second.
	KillGrace time.Duration
	// MaxSessions caps the commands running at once on one connection
	// (OpenSSH's own MaxSessions defaults to 10); default 8.
	MaxSessions int
	// SessionPerCommand runs every command in an SSH session of its own,
	// as OpenSSH's ssh does. By default a connection runs its commands
	// through one driver session (see driver.go), and only commands that
	// need their standard input take a session each.
	SessionPerCommand bool
}

// Dialer connects to hosts. One Dialer serves a whole fleet: it holds what
// hosts share (the known_hosts database and its writer lock, loaded keys and
// the passphrase cache, jump host connections). Safe for concurrent use.
type Dialer struct {
	opts     Options
	hostKeys *hostKeyDB
	keys     *keyring

	configOnce sync.Once
	config     *sshConfig
	configErr  error

	jumpMu sync.Mutex
	jumps  map[string]*jumpHost
}

// NewDialer returns a Dialer with opts, defaults filled in.
func NewDialer(opts Options) *Dialer {
	home, _ := os.UserHomeDir()
	if opts.KnownHostsFiles == nil {
		opts.KnownHostsFiles = []string{filepath.Join(home, ".ssh", "known_hosts"), "/etc/ssh/ssh_known_hosts"}
	}
	if opts.SSHConfigFile == "" {
		opts.SSHConfigFile = filepath.Join(home, ".ssh", "config")
	}
	if opts.AgentSocket == "" {
		opts.AgentSocket = os.Getenv("SSH_AUTH_SOCK")
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 15 * time.Second
	}
	if opts.KeepaliveInterval == 0 {
		opts.KeepaliveInterval = 15 * time.Second
	}
	if opts.KillGrace <= 0 {
		opts.KillGrace = time.Second
	}
	if opts.MaxSessions <= 0 {
		opts.MaxSessions = 8
	}
	if opts.BecomePassword != nil {
		opts.BecomePassword = append([]byte(nil), opts.BecomePassword...)
	}
	return &Dialer{
		opts:     opts,
		hostKeys: newHostKeyDB(opts.KnownHostsFiles, opts.AcceptNewHostKeys),
		keys:     newKeyring(home, opts.Passphrase),
		jumps:    map[string]*jumpHost{},
	}
}

// Dial connects to t and returns its transport. A failure to connect wraps
// transport.ErrUnreachable, except a refused host key (*HostKeyError) and a
// bad target or configuration, which retrying would not mend.
func (d *Dialer) Dial(ctx context.Context, t Target) (transport.Transport, error) {
	ep, err := d.resolve(t)
	if err != nil {
		return nil, err
	}
	h := newHost(d, ep)
	if _, err := h.conn(ctx); err != nil {
		return nil, err
	}
	return h, nil
}

// Close closes the jump host connections the Dialer holds. Transports it
// returned stay open until closed themselves (their jump hops, if any, are
// gone, so they redial).
func (d *Dialer) Close() error {
	d.jumpMu.Lock()
	defer d.jumpMu.Unlock()
	var errs []error
	for key, j := range d.jumps {
		if err := j.close(); err != nil {
			errs = append(errs, err)
		}
		delete(d.jumps, key)
	}
	return errors.Join(errs...)
}
