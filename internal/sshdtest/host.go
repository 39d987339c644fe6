package sshdtest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/crypto/ssh"
)

// Host is one test sshd.
type Host struct {
	Name    string
	Address string
	Port    int
	User    string
	KeyFile string
	// HostKey is the host's ed25519 public key (the certified key under
	// WithHostCA); RSAHostKey is set under WithRSAHostKey.
	HostKey    ssh.PublicKey
	RSAHostKey ssh.PublicKey

	fleet   *Fleet
	dir     string
	keys    []string
	cert    string
	bastion bool
	// maxSessions is sshd's MaxSessions; 0 means 64.
	maxSessions int
	// forceCommand is sshd's ForceCommand, if set.
	forceCommand string
	mu           sync.Mutex
	proc         *sshdProc
	lastLog      string
}

// start runs the host's sshd; with newPort it picks a free port first and
// retries when the port is taken before sshd binds it.
func (h *Host) start(newPort bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for attempt := 0; ; attempt++ {
		if newPort {
			port, err := freePort(h.Address)
			if err != nil {
				return err
			}
			h.Port = port
		}
		cfg := h.cfgPath()
		if err := os.WriteFile(cfg, []byte(h.config()), 0o644); err != nil {
			return err
		}
		p, err := startSSHD(h.fleet.bin, cfg)
		if err == errPortTaken && newPort && attempt < 20 {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
		h.proc = p
		return nil
	}
}

func (h *Host) cfgPath() string { return filepath.Join(h.dir, "sshd_config") }

func freePort(addr string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (h *Host) config() string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("ListenAddress %s:%d", h.Address, h.Port)
	for _, k := range h.keys {
		line("HostKey %s", k)
	}
	if h.cert != "" {
		line("HostCertificate %s", h.cert)
	}
	line("PidFile %s", filepath.Join(h.dir, "sshd.pid"))
	line("AuthorizedKeysFile %s", h.fleet.authorizedKeys)
	line("AllowUsers %s", strings.Join(h.fleet.allowUsers, " "))
	line("PasswordAuthentication no")
	line("KbdInteractiveAuthentication no")
	line("UsePAM no")
	line("StrictModes no")
	line("PermitRootLogin no")
	line("UseDNS no")
	line("PrintMotd no")
	line("PrintLastLog no")
	if h.forceCommand != "" {
		line("ForceCommand %s", h.forceCommand)
	}
	if h.maxSessions > 0 {
		line("MaxSessions %d", h.maxSessions)
	} else {
		line("MaxSessions 64")
	}
	line("MaxStartups 200")
	line("MaxAuthTries 20")
	line("Subsystem sftp internal-sftp")
	if h.bastion {
		line("AllowTcpForwarding yes")
		line("LogLevel DEBUG1") // names each forward's target in the log
	} else {
		line("AllowTcpForwarding no")
	}
	maj, min := sshdVersion(h.fleet.bin)
	if maj > 9 || maj == 9 && min >= 8 {
		// Killing hosts on purpose must not get 127.0.0.1 penalised.
		line("PerSourcePenalties no")
	}
	if maj > 8 || maj == 8 && min >= 7 {
		// Sessions carry the daemon's marker too, so that Kill and Stop find
		// commands whose sshd parent has already gone.
		line("SetEnv %s=%s", markerVar, h.cfgPath())
	}
	return b.String()
}

// Addr returns "ADDRESS:PORT".
func (h *Host) Addr() string { return net.JoinHostPort(h.Address, strconv.Itoa(h.Port)) }

// Kill kills the host's sshd and every process it forked, connections and
// the commands they run, as a host that dies would. Killing a stopped host
// does nothing.
func (h *Host) Kill() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.proc != nil {
		h.proc.kill()
		h.lastLog = h.proc.log.String()
		h.proc = nil
	}
}

// Pause stops (SIGSTOP) the host's sshd and everything it forked: its
// connections stay open but nothing answers, as with a host that hangs or
// a network that drops packets. Resume undoes it.
func (h *Host) Pause() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.proc != nil {
		h.proc.signalAll(syscall.SIGSTOP)
	}
}

// Resume continues a paused host.
func (h *Host) Resume() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.proc != nil {
		h.proc.signalAll(syscall.SIGCONT)
	}
}

// Restart starts the host's sshd again on the same port with the same keys.
// The host must have been killed.
func (h *Host) Restart() error {
	h.mu.Lock()
	running := h.proc != nil
	h.mu.Unlock()
	if running {
		return fmt.Errorf("%s: restart: sshd is still running", h.Name)
	}
	return h.start(false)
}

// Log returns the tail of the host's sshd log (its stderr).
func (h *Host) Log() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.proc == nil {
		return h.lastLog
	}
	return h.proc.log.String()
}
