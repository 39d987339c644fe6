package containers

import (
	"fmt"
	"io/fs"

	"golang.org/x/crypto/ssh"

	"github.com/runbookhq/runbook/lab/internal/keyfile"
)

// loadOrCreateKey reads the OpenSSH ed25519 private key at path, creating
// it (0600) the first time.
func loadOrCreateKey(path, comment string) (ssh.Signer, error) {
	signer, _, err := keyfile.LoadOrCreate(path, comment)
	return signer, labErr(err)
}

// writeFileAtomic writes data to path whole (keyfile.WriteAtomic).
func writeFileAtomic(path string, data []byte, perm fs.FileMode) error {
	return labErr(keyfile.WriteAtomic(path, data, perm))
}

// labErr prefixes err, if any, with "container lab: ".
func labErr(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("container lab: %w", err)
}
