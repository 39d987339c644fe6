package lab

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/runbookhq/runbook/lab/internal/keyfile"
)

// loadOrCreateKey reads the OpenSSH ed25519 private key at path, creating it
// (0600, with its .pub beside it) the first time.
func loadOrCreateKey(path, comment string) (ssh.Signer, error) {
	signer, created, err := keyfile.LoadOrCreate(path, comment)
	if err != nil || !created {
		return signer, labErr(err)
	}
	pub := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))) + " " + comment + "\n"
	if err := writeFileAtomic(path+".pub", []byte(pub), 0o644); err != nil {
		return nil, err
	}
	return signer, nil
}

// writeFileAtomic writes data to path whole (keyfile.WriteAtomic).
func writeFileAtomic(path string, data []byte, perm fs.FileMode) error {
	return labErr(keyfile.WriteAtomic(path, data, perm))
}

// labErr prefixes err, if any, with "lab: ".
func labErr(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("lab: %w", err)
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
