package ssh

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// defaultKeyNames are tried, when present, after the agent and the
// configured identity files, as OpenSSH does.
var defaultKeyNames = []string{"id_ed25519", "id_ecdsa", "id_rsa"}

// keyring loads identity files once each for the Dialer's life, asking a
// passphrase at most once per file, and remembers failures too.
type keyring struct {
	home       string
	passphrase func(string) ([]byte, error)
	mu         sync.Mutex
	files      map[string]*keyFile
}

type keyFile struct {
	once    sync.Once
	signers []ssh.Signer // the key, then its certificate (FILE-cert.pub) if any
	public  ssh.PublicKey
	err     error
	absent  bool
}

func newKeyring(home string, passphrase func(string) ([]byte, error)) *keyring {
	return &keyring{home: home, passphrase: passphrase, files: map[string]*keyFile{}}
}

// load returns the signers of the key file at path. inAgent says whether
// the agent already holds a public key, so that the passphrase of an
// encrypted key the agent holds is never asked.
func (k *keyring) load(path string, inAgent func(ssh.PublicKey) bool) *keyFile {
	k.mu.Lock()
	kf := k.files[path]
	if kf == nil {
		kf = &keyFile{}
		k.files[path] = kf
	}
	k.mu.Unlock()
	kf.once.Do(func() { kf.read(path, k.passphrase, inAgent) })
	return kf
}

func (kf *keyFile) read(path string, passphrase func(string) ([]byte, error), inAgent func(ssh.PublicKey) bool) {
	pem, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		kf.absent, kf.err = true, err
		return
	}
	if err != nil {
		kf.err = err
		return
	}
	signer, err := ssh.ParsePrivateKey(pem)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		switch {
		case missing.PublicKey != nil && inAgent(missing.PublicKey):
			kf.public, kf.err = missing.PublicKey, errors.New("encrypted; the agent holds it")
			return
		case passphrase == nil:
			kf.err = errors.New("encrypted and no passphrase prompt is available")
			return
		}
		pw, perr := passphrase(path)
		if perr != nil {
			kf.err = fmt.Errorf("passphrase: %w", perr)
			return
		}
		signer, err = ssh.ParsePrivateKeyWithPassphrase(pem, pw)
		clear(pw)
	}
	if err != nil {
		kf.err = err
		return
	}
	kf.public, kf.signers = signer.PublicKey(), []ssh.Signer{signer}
	if certBytes, err := os.ReadFile(path + "-cert.pub"); err == nil {
		if pub, _, _, _, err := ssh.ParseAuthorizedKey(certBytes); err == nil {
			if cert, ok := pub.(*ssh.Certificate); ok {
				if cs, err := ssh.NewCertSigner(cert, signer); err == nil {
					kf.signers = append([]ssh.Signer{cs}, kf.signers...)
				}
			}
		}
	}
}

// authAttempt is one connection's public key authentication: the keys
// offered, in order (agent, identity files, default keys), and what was
// wrong with the files that offered none, for the error message.
type authAttempt struct {
	offered []string
	skipped []string
	agent   net.Conn
}

// authMethod returns the public key auth method for ep and the attempt it
// records into; the attempt's close releases the agent connection once the
// handshake is over.
func (d *Dialer) authMethod(ep endpoint) (*authAttempt, ssh.AuthMethod) {
	a := &authAttempt{}
	return a, ssh.PublicKeysCallback(func() ([]ssh.Signer, error) {
		var signers []ssh.Signer
		seen := map[string]bool{}
		add := func(s ssh.Signer, from string) {
			key := string(s.PublicKey().Marshal())
			if seen[key] {
				return
			}
			seen[key] = true
			signers = append(signers, s)
			a.offered = append(a.offered, from+" "+ssh.FingerprintSHA256(s.PublicKey()))
		}
		agentKeys := map[string]bool{}
		if sock := d.opts.AgentSocket; sock != "" && sock != "none" {
			if conn, err := net.Dial("unix", sock); err != nil {
				a.skipped = append(a.skipped, "agent "+sock+": "+err.Error())
			} else {
				a.agent = conn
				if ss, err := agent.NewClient(conn).Signers(); err != nil {
					a.skipped = append(a.skipped, "agent: "+err.Error())
				} else {
					for _, s := range ss {
						agentKeys[string(s.PublicKey().Marshal())] = true
						add(s, "agent key")
					}
				}
			}
		}
		inAgent := func(k ssh.PublicKey) bool { return agentKeys[string(k.Marshal())] }
		files := ep.identityFiles
		for _, name := range defaultKeyNames {
			files = append(files, filepath.Join(d.keys.home, ".ssh", name))
		}
		for i, path := range files {
			kf := d.keys.load(path, inAgent)
			explicit := i < len(ep.identityFiles)
			switch {
			case kf.absent && !explicit:
			case kf.err != nil:
				a.skipped = append(a.skipped, path+": "+kf.err.Error())
			default:
				for _, s := range kf.signers {
					add(s, path)
				}
			}
		}
		return signers, nil
	})
}

func (a *authAttempt) close() {
	if a.agent != nil {
		a.agent.Close()
	}
}

// explain adds to a handshake error what keys were offered.
func (a *authAttempt) explain(err error) error {
	if !strings.Contains(err.Error(), "unable to authenticate") {
		return err
	}
	offered := "none"
	if len(a.offered) > 0 {
		offered = strings.Join(a.offered, ", ")
	}
	if len(a.skipped) > 0 {
		return fmt.Errorf("%w; keys offered: %s; keys not usable: %s", err, offered, strings.Join(a.skipped, "; "))
	}
	return fmt.Errorf("%w; keys offered: %s", err, offered)
}
