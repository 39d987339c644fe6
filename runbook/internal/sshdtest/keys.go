package sshdtest

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"golang.org/x/crypto/ssh"
)

// keyPair is a private key written in OpenSSH format at Path (0600) with
// its public half at Path+".pub" (0644).
type keyPair struct {
	Path   string
	Public ssh.PublicKey
	Signer ssh.Signer
}

// newEd25519 writes a fresh ed25519 key pair at path.
func newEd25519(path, comment string) (keyPair, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return keyPair{}, fmt.Errorf("generating ed25519 key: %w", err)
	}
	return writeKey(path, comment, priv, nil)
}

// newRSA writes a fresh 2048-bit RSA key pair at path.
func newRSA(path, comment string) (keyPair, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return keyPair{}, fmt.Errorf("generating rsa key: %w", err)
	}
	return writeKey(path, comment, priv, nil)
}

// writeKey writes priv at path, encrypted with passphrase when it is not
// empty, and its public half at path.pub.
func writeKey(path, comment string, priv crypto.Signer, passphrase []byte) (keyPair, error) {
	var block *pem.Block
	var err error
	if len(passphrase) > 0 {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, comment, passphrase)
	} else {
		block, err = ssh.MarshalPrivateKey(priv, comment)
	}
	if err != nil {
		return keyPair{}, fmt.Errorf("encoding private key %s: %w", path, err)
	}
	signer, err := ssh.NewSignerFromSigner(priv)
	if err != nil {
		return keyPair{}, fmt.Errorf("signer for %s: %w", path, err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return keyPair{}, err
	}
	pub := ssh.MarshalAuthorizedKey(signer.PublicKey())
	if err := os.WriteFile(path+".pub", pub, 0o644); err != nil {
		return keyPair{}, err
	}
	return keyPair{Path: path, Public: signer.PublicKey(), Signer: signer}, nil
}

// WriteEncryptedKey writes a fresh ed25519 user key at path, encrypted
// with passphrase (OpenSSH format, bcrypt KDF), and returns its public key.
// Authorize it on a fleet with Fleet.Authorize.
func WriteEncryptedKey(path string, passphrase []byte) (ssh.PublicKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	kp, err := writeKey(path, "sshdtest encrypted key", priv, passphrase)
	if err != nil {
		return nil, err
	}
	return kp.Public, nil
}

// signHostKey signs the public key at pubPath as a host certificate with
// the CA key at caPath, valid for the given principals, using ssh-keygen as
// an operator would. The certificate is written at <key>-cert.pub and its
// path returned.
func signHostKey(caPath, pubPath string, principals string) (string, error) {
	keygen, err := exec.LookPath("ssh-keygen")
	if err != nil {
		return "", fmt.Errorf("host certificates need ssh-keygen: %w", err)
	}
	out, err := exec.Command(keygen, "-q", "-s", caPath, "-I", filepath.Base(pubPath), "-h",
		"-n", principals, "-V", "-5m:+1d", pubPath).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("ssh-keygen -s %s: %v: %s", pubPath, err, out)
	}
	base := pubPath[:len(pubPath)-len(".pub")]
	return base + "-cert.pub", nil
}
