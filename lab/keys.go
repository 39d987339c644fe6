package lab

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
)

// loadOrCreateKey reads the OpenSSH ed25519 private key at path, creating it
// (0600, with its .pub beside it) the first time.
func loadOrCreateKey(path, comment string) (ssh.Signer, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		signer, perr := ssh.ParsePrivateKey(data)
		if perr != nil {
			return nil, fmt.Errorf("lab: %s: %w", path, perr)
		}
		return signer, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("lab: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("lab: generating a key for %s: %w", path, err)
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, fmt.Errorf("lab: encoding %s: %w", path, err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, fmt.Errorf("lab: %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	if err := writeFileAtomic(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	pub := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))) + " " + comment + "\n"
	if err := writeFileAtomic(path+".pub", []byte(pub), 0o644); err != nil {
		return nil, err
	}
	return signer, nil
}

// writeFileAtomic writes data to path through a temporary file and a rename,
// so that a reader never sees half a file.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("lab: writing %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("lab: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("lab: writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	return nil
}

// authorizedKeys is the set of public keys a lab node accepts.
type authorizedKeys map[string]bool

func (a authorizedKeys) add(k ssh.PublicKey) { a[string(k.Marshal())] = true }

func (a authorizedKeys) has(k ssh.PublicKey) bool { return a[string(k.Marshal())] }

// readAuthorizedKeys adds the keys of an OpenSSH authorized_keys file; a
// missing file adds nothing.
func (a authorizedKeys) read(path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(text))
		if err != nil {
			return fmt.Errorf("lab: %s:%d: %w", path, line, err)
		}
		a.add(k)
	}
	return sc.Err()
}
