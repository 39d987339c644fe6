package ssh_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/runbookhq/runbook/internal/sshdtest"
	"github.com/runbookhq/runbook/runbook/transport"
	rbssh "github.com/runbookhq/runbook/runbook/transport/ssh"
)

func writeKnownHosts(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func randomKey(t *testing.T) ssh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// dialError dials h with known_hosts files and returns the error, which
// must be a *HostKeyError and not ErrUnreachable.
func hostKeyError(t *testing.T, opts rbssh.Options, h *sshdtest.Host) *rbssh.HostKeyError {
	t.Helper()
	tr, err := rbssh.NewDialer(opts).Dial(context.Background(), target(h))
	if err == nil {
		tr.Close()
		t.Fatal("Dial succeeded; want the host key refused")
	}
	var hk *rbssh.HostKeyError
	if !errors.As(err, &hk) {
		t.Fatalf("Dial: %v; want a *HostKeyError", err)
	}
	if errors.Is(err, transport.ErrUnreachable) {
		t.Errorf("a host key refusal wraps ErrUnreachable: %v", err)
	}
	return hk
}

func TestUnknownHostRefused(t *testing.T) {
	t.Parallel()
	f := sshdtest.Start(t)
	h := f.Hosts[0]
	opts := fleetOptions(f)
	opts.KnownHostsFiles = []string{writeKnownHosts(t, "# nothing here")}
	hk := hostKeyError(t, opts, h)
	msg := hk.Error()
	if hk.Problem != rbssh.HostKeyUnknown {
		t.Errorf("problem %v, want HostKeyUnknown: %s", hk.Problem, msg)
	}
	for _, want := range []string{
		fmt.Sprintf("ssh-keyscan -p %d 127.0.0.1 >> %s", h.Port, opts.KnownHostsFiles[0]),
		"--accept-new-host-keys",
		ssh.FingerprintSHA256(h.HostKey),
		fmt.Sprintf("[127.0.0.1]:%d", h.Port),
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	// A known_hosts file that does not exist is no known_hosts at all.
	opts.KnownHostsFiles = []string{filepath.Join(t.TempDir(), "absent")}
	if hk := hostKeyError(t, opts, h); hk.Problem != rbssh.HostKeyUnknown {
		t.Errorf("with no file: problem %v", hk.Problem)
	}
}

func TestChangedKeyRefused(t *testing.T) {
	t.Parallel()
	f := sshdtest.Start(t)
	h := f.Hosts[0]
	wrong := randomKey(t)
	for _, acceptNew := range []bool{false, true} {
		t.Run(fmt.Sprintf("acceptNew=%v", acceptNew), func(t *testing.T) {
			opts := fleetOptions(f)
			opts.AcceptNewHostKeys = acceptNew
			opts.KnownHostsFiles = []string{writeKnownHosts(t, "# first line", knownhosts.Line([]string{h.Addr()}, wrong))}
			before, _ := os.ReadFile(opts.KnownHostsFiles[0])
			hk := hostKeyError(t, opts, h)
			msg := hk.Error()
			if hk.Problem != rbssh.HostKeyChanged {
				t.Errorf("problem %v, want HostKeyChanged: %s", hk.Problem, msg)
			}
			for _, want := range []string{
				"CHANGED", ssh.FingerprintSHA256(h.HostKey), ssh.FingerprintSHA256(wrong),
				opts.KnownHostsFiles[0] + ":2",
			} {
				if !strings.Contains(msg, want) {
					t.Errorf("message lacks %q:\n%s", want, msg)
				}
			}
			if after, _ := os.ReadFile(opts.KnownHostsFiles[0]); string(after) != string(before) {
				t.Errorf("known_hosts changed on a refused key:\n%s", after)
			}
		})
	}
}

func TestRevokedKeyRefused(t *testing.T) {
	t.Parallel()
	f := sshdtest.Start(t)
	h := f.Hosts[0]
	opts := fleetOptions(f)
	opts.KnownHostsFiles = []string{writeKnownHosts(t,
		knownhosts.Line([]string{h.Addr()}, h.HostKey),
		"@revoked * "+strings.TrimSpace(string(ssh.MarshalAuthorizedKey(h.HostKey))))}
	if hk := hostKeyError(t, opts, h); hk.Problem != rbssh.HostKeyRevoked {
		t.Errorf("problem %v, want HostKeyRevoked: %v", hk.Problem, hk)
	}
}

func TestAcceptNewHostKeys(t *testing.T) {
	t.Parallel()
	f := sshdtest.Start(t, sshdtest.Hosts(5))
	path := filepath.Join(t.TempDir(), "new", "known_hosts")
	opts := fleetOptions(f)
	opts.KnownHostsFiles = []string{path, f.KnownHosts + ".absent"}
	opts.AcceptNewHostKeys = true
	d := rbssh.NewDialer(opts)
	// All at once: the writes must not interleave or repeat.
	var wg sync.WaitGroup
	for _, h := range f.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr, err := d.Dial(context.Background(), target(h))
			if err != nil {
				t.Errorf("Dial %s with accept-new: %v", h.Name, err)
				return
			}
			tr.Close()
		}()
	}
	wg.Wait()
	dial(t, d, target(f.Hosts[0])) // known now: nothing more appended
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(content)), "\n")
	if len(lines) != len(f.Hosts) {
		t.Fatalf("known_hosts has %d lines, want %d:\n%s", len(lines), len(f.Hosts), content)
	}
	for _, h := range f.Hosts {
		want := knownhosts.Line([]string{h.Addr()}, h.HostKey)
		if !strings.Contains(string(content), want+"\n") {
			t.Errorf("known_hosts lacks %q", want)
		}
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("known_hosts mode %v, want 0600", fi.Mode().Perm())
	}
	if fi, _ := os.Stat(filepath.Dir(path)); fi.Mode().Perm() != 0o700 {
		t.Errorf("known_hosts directory mode %v, want 0700", fi.Mode().Perm())
	}
	// A strict dialer now accepts the recorded hosts.
	opts.AcceptNewHostKeys = false
	dial(t, rbssh.NewDialer(opts), target(f.Hosts[3]))
}

func TestHostCertificateAuthority(t *testing.T) {
	t.Parallel()
	f := sshdtest.Start(t, sshdtest.WithHostCA())
	h := f.Hosts[0]
	tr := dial(t, rbssh.NewDialer(fleetOptions(f)), target(h))
	if r, err := tr.Run(context.Background(), transport.Command{Shell: "true"}); err != nil || r.ExitCode != 0 {
		t.Fatalf("Run over a certified host: %v %v", r, err)
	}
	// The same host under another authority is refused.
	opts := fleetOptions(f)
	opts.KnownHostsFiles = []string{writeKnownHosts(t, "@cert-authority "+knownhosts.Line([]string{h.Addr()}, randomKey(t)))}
	hk := hostKeyError(t, opts, h)
	if hk.Problem != rbssh.HostKeyInvalid {
		t.Errorf("problem %v, want HostKeyInvalid: %v", hk.Problem, hk)
	}
	// A host the authority does not cover is unknown, not "changed".
	opts.KnownHostsFiles = []string{writeKnownHosts(t, "@cert-authority [127.0.0.1]:1 "+strings.TrimSpace(string(ssh.MarshalAuthorizedKey(f.CA))))}
	if hk := hostKeyError(t, opts, h); hk.Problem != rbssh.HostKeyUnknown {
		t.Errorf("problem %v, want HostKeyUnknown: %v", hk.Problem, hk)
	}
}

func TestHashedKnownHosts(t *testing.T) {
	t.Parallel()
	f := sshdtest.Start(t)
	h := f.Hosts[0]
	opts := fleetOptions(f)
	hashed := knownhosts.HashHostname(knownhosts.Normalize(h.Addr()))
	opts.KnownHostsFiles = []string{writeKnownHosts(t, hashed+" "+strings.TrimSpace(string(ssh.MarshalAuthorizedKey(h.HostKey))))}
	dial(t, rbssh.NewDialer(opts), target(h))
}

// A host with keys of several types, of which known_hosts lists one, is
// asked for that one: not reported as changed because it offered another.
func TestKnownKeyOfOneType(t *testing.T) {
	t.Parallel()
	f := sshdtest.Start(t, sshdtest.WithRSAHostKey())
	h := f.Hosts[0]
	for name, key := range map[string]ssh.PublicKey{"ed25519": h.HostKey, "rsa": h.RSAHostKey} {
		t.Run(name, func(t *testing.T) {
			opts := fleetOptions(f)
			opts.KnownHostsFiles = []string{writeKnownHosts(t, knownhosts.Line([]string{h.Addr()}, key))}
			dial(t, rbssh.NewDialer(opts), target(h))
		})
	}
	// Under accept-new, an unknown host's ed25519 key is the one recorded.
	opts := fleetOptions(f)
	opts.KnownHostsFiles = []string{filepath.Join(t.TempDir(), "known_hosts")}
	opts.AcceptNewHostKeys = true
	dial(t, rbssh.NewDialer(opts), target(h))
	content, _ := os.ReadFile(opts.KnownHostsFiles[0])
	if want := knownhosts.Line([]string{"127.0.0.1:" + strconv.Itoa(h.Port)}, h.HostKey); strings.TrimSpace(string(content)) != want {
		t.Errorf("accept-new recorded %q, want %q", content, want)
	}
}
