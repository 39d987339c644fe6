package ssh_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/runbookhq/runbook/internal/sshdtest"
	"github.com/runbookhq/runbook/runbook/transport"
	rbssh "github.com/runbookhq/runbook/runbook/transport/ssh"
)

// countingAgent counts signatures made by the agent it wraps.
type countingAgent struct {
	agent.Agent
	signs atomic.Int32
}

func (a *countingAgent) Sign(key ssh.PublicKey, data []byte) (*ssh.Signature, error) {
	a.signs.Add(1)
	return a.Agent.Sign(key, data)
}

// startAgent serves an in-process agent holding the key at keyFile on a
// unix socket in a temporary directory.
func startAgent(t *testing.T, keyFile string) (string, *countingAgent) {
	t.Helper()
	pem, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := ssh.ParseRawPrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	ag := &countingAgent{Agent: agent.NewKeyring()}
	if err := ag.Add(agent.AddedKey{PrivateKey: raw}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				agent.ServeAgent(ag, c)
			}()
		}
	}()
	return sock, ag
}

// isolateHome points HOME at an empty directory so that no key or config
// of the machine's own takes part.
func isolateHome(t *testing.T) string {
	home := t.TempDir()
	t.Setenv("HOME", home)
	return home
}

func TestAgentAuth(t *testing.T) {
	isolateHome(t)
	f := sshdtest.Start(t)
	h := f.Hosts[0]
	sock, ag := startAgent(t, f.KeyFile)
	opts := fleetOptions(f)
	opts.AgentSocket = sock
	tg := target(h)
	tg.IdentityFile = ""
	dial(t, rbssh.NewDialer(opts), tg)
	if ag.signs.Load() != 1 {
		t.Errorf("agent signed %d times, want 1", ag.signs.Load())
	}
	// With neither agent nor key, authentication fails and says what was offered.
	opts.AgentSocket = "none"
	_, err := rbssh.NewDialer(opts).Dial(context.Background(), tg)
	if !errors.Is(err, transport.ErrUnreachable) || !strings.Contains(err.Error(), "keys offered: none") {
		t.Errorf("Dial with no key: %v", err)
	}
}

func TestEncryptedKeyPassphraseAskedOnce(t *testing.T) {
	isolateHome(t)
	f := sshdtest.Start(t, sshdtest.Hosts(2))
	pass := []byte("correct horse battery staple")
	keyFile := filepath.Join(t.TempDir(), "id_encrypted")
	pub, err := sshdtest.WriteEncryptedKey(keyFile, pass)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Authorize(pub); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		answer []byte
		ok     bool
	}{{"right", pass, true}, {"wrong", []byte("nope"), false}} {
		t.Run(tc.name, func(t *testing.T) {
			var asked atomic.Int32
			opts := fleetOptions(f)
			opts.Passphrase = func(file string) ([]byte, error) {
				asked.Add(1)
				if file != keyFile {
					t.Errorf("passphrase asked for %s, want %s", file, keyFile)
				}
				return bytes.Clone(tc.answer), nil
			}
			d := rbssh.NewDialer(opts)
			var wg sync.WaitGroup
			for _, h := range f.Hosts {
				wg.Add(1)
				go func() {
					defer wg.Done()
					tg := target(h)
					tg.IdentityFile = keyFile
					tr, err := d.Dial(context.Background(), tg)
					if tc.ok != (err == nil) {
						t.Errorf("Dial %s: %v", h.Name, err)
					}
					if err == nil {
						tr.Close()
					}
				}()
			}
			wg.Wait()
			if n := asked.Load(); n != 1 {
				t.Errorf("passphrase asked %d times for two hosts, want once", n)
			}
		})
	}
}

// serverPort returns the port the command's sshd listens on, from
// SSH_CONNECTION: which host a connection really reached.
func serverPort(t *testing.T, tr transport.Transport) (port int, login string) {
	t.Helper()
	var out bytes.Buffer
	if _, err := tr.Run(context.Background(), transport.Command{Shell: `echo "$SSH_CONNECTION"; id -un`, Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	fields := strings.Fields(lines[0])
	if len(fields) != 4 || len(lines) != 2 {
		t.Fatalf("unexpected output %q", out.String())
	}
	port, _ = strconv.Atoi(fields[3])
	return port, lines[1]
}

func TestSSHConfig(t *testing.T) {
	home := isolateHome(t)
	f := sshdtest.Start(t, sshdtest.Hosts(2))
	h1, h2 := f.Hosts[0], f.Hosts[1]
	if err := os.MkdirAll(filepath.Join(home, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	key, _ := os.ReadFile(f.KeyFile)
	if err := os.WriteFile(filepath.Join(home, "keys", "fleet"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	otherUser := f.User
	if os.Geteuid() == 0 {
		otherUser = sshdtest.PasswordUserName
	}
	cfg := filepath.Join(t.TempDir(), "config")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`
Host web1
  HostName 127.0.0.1
  Port %d
  User %s
  IdentityFile ~/keys/fleet

Host *
  User nobody-at-all
`, h1.Port, otherUser)), 0o600)
	opts := fleetOptions(f)
	opts.SSHConfigFile = cfg
	d := rbssh.NewDialer(opts)

	tr := dial(t, d, rbssh.Target{Name: "web1"})
	if port, login := serverPort(t, tr); port != h1.Port || login != otherUser {
		t.Errorf("via ssh_config: reached port %d as %s, want %d as %s", port, login, h1.Port, otherUser)
	}
	// Explicit fields win over the file.
	tr = dial(t, d, rbssh.Target{Name: "web1", Port: h2.Port, User: f.User})
	if port, login := serverPort(t, tr); port != h2.Port || login != f.User {
		t.Errorf("explicit: reached port %d as %s, want %d as %s", port, login, h2.Port, f.User)
	}
	// The address, not the name, is the alias when both are set.
	tr = dial(t, d, rbssh.Target{Name: "inventory-name", Address: "web1"})
	if port, _ := serverPort(t, tr); port != h1.Port {
		t.Errorf("address as alias: reached port %d, want %d", port, h1.Port)
	}
	// A default key in ~/.ssh is used when nothing else is given.
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	os.WriteFile(filepath.Join(home, ".ssh", "id_ed25519"), key, 0o600)
	opts.SSHConfigFile = "none"
	dial(t, rbssh.NewDialer(opts), rbssh.Target{Name: "h2", Address: h2.Address, Port: h2.Port, User: f.User})

	// A malformed file is an error naming it.
	os.WriteFile(cfg, []byte("Host web1\n  Port notanumber\n"), 0o600)
	opts.SSHConfigFile = cfg
	_, err := rbssh.NewDialer(opts).Dial(context.Background(), rbssh.Target{Name: "web1"})
	if err == nil || !strings.Contains(err.Error(), cfg) {
		t.Errorf("Dial with a bad Port: %v", err)
	}
}
