package containers

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/crypto/ssh"
)

// A node's own files are written into its overlay's upper layer before it
// boots: what makes it this node (hostname, machine id, host key, listen
// address) and the lab's client key for its users.

// owner is who a file or directory of the upper layer belongs to.
type owner struct{ uid, gid int }

var rootOwner = owner{0, 0}

// upperFile is one file the lab writes into a node.
type upperFile struct {
	path    string
	mode    fs.FileMode
	owner   owner
	content string
}

func (n *node) upperFiles() ([]upperFile, error) {
	key, err := os.ReadFile(filepath.Join(n.dir, hostKeyName))
	if err != nil {
		return nil, fmt.Errorf("container lab: %s: %w", n.name, err)
	}
	authorized := string(ssh.MarshalAuthorizedKey(n.lab.clientKey.PublicKey()))
	sum := sha256.Sum256([]byte(n.lab.dir + "\x00" + n.name))
	files := []upperFile{
		{"/etc/hostname", 0o644, rootOwner, n.name + "\n"},
		{"/etc/hosts", 0o644, rootOwner, "127.0.0.1\tlocalhost\n" + n.addr + "\t" + n.name + "\n::1\tlocalhost ip6-localhost ip6-loopback\n"},
		{"/etc/machine-id", 0o444, rootOwner, hex.EncodeToString(sum[:16]) + "\n"},
		{"/etc/ssh/ssh_host_ed25519_key", 0o600, rootOwner, string(key)},
		{"/etc/ssh/ssh_host_ed25519_key.pub", 0o644, rootOwner, string(ssh.MarshalAuthorizedKey(n.hostKey))},
		{"/etc/ssh/sshd_config.d/20-runbook-node.conf", 0o644, rootOwner, "ListenAddress " + n.hostPort() + "\n"},
		{"/etc/runbook-lab/address", 0o644, rootOwner, n.addr + "\n"},
		{"/root/.ssh/authorized_keys", 0o600, rootOwner, authorized},
	}
	for _, u := range []struct {
		name string
		id   int
	}{{LoginUser, LoginUID}, {PasswordUser, PasswordUID}} {
		o := owner{u.id, u.id}
		files = append(files, upperFile{"/home/" + u.name + "/.ssh/authorized_keys", 0o600, o, authorized})
	}
	return files, nil
}

// prepareUpper writes the node's own files into its upper layer.
func (n *node) prepareUpper() error {
	files, err := n.upperFiles()
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := n.writeUpper(f); err != nil {
			return fmt.Errorf("container lab: %s: writing %s: %w", n.name, f.path, err)
		}
	}
	return nil
}

// writeUpper writes one file into the upper layer, creating its parent
// directories as the image has them (a directory of the upper layer
// shows with its own owner and mode), or else owned like the file.
func (n *node) writeUpper(f upperFile) error {
	rel := strings.TrimPrefix(f.path, "/")
	parts := strings.Split(filepath.Dir(rel), "/")
	for i := range parts {
		d := filepath.Join(parts[:i+1]...)
		if err := n.mkdirLike(d, f.owner); err != nil {
			return err
		}
	}
	path := filepath.Join(n.upper(), rel)
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		if err := os.Remove(path); err != nil { // a whiteout or a link
			return err
		}
	}
	if err := os.WriteFile(path, []byte(f.content), f.mode); err != nil {
		return err
	}
	if err := os.Chmod(path, f.mode); err != nil {
		return err
	}
	return os.Lchown(path, f.owner.uid, f.owner.gid)
}

// mkdirLike makes the directory rel of the upper layer with the owner and
// mode it has in the image; one the image lacks is made 0700 for o (0755
// when o is root).
func (n *node) mkdirLike(rel string, o owner) error {
	path := filepath.Join(n.upper(), rel)
	fi, err := os.Lstat(path)
	if err == nil && fi.IsDir() {
		return nil
	}
	whiteout := err == nil
	if whiteout {
		if err := os.Remove(path); err != nil {
			return err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	mode, uid, gid := fs.FileMode(0o700), o.uid, o.gid
	if o == rootOwner {
		mode = 0o755
	}
	if lfi, err := os.Stat(filepath.Join(n.lab.image.Rootfs, rel)); err == nil && lfi.IsDir() && !whiteout {
		st := lfi.Sys().(*syscall.Stat_t)
		mode, uid, gid = lfi.Mode().Perm(), int(st.Uid), int(st.Gid)
	}
	if err := os.Mkdir(path, mode); err != nil {
		return err
	}
	if err := os.Chmod(path, mode); err != nil {
		return err
	}
	if whiteout { // the node deleted the image's directory: keep its content hidden
		if err := syscall.Setxattr(path, "trusted.overlay.opaque", []byte("y"), 0); err != nil {
			return err
		}
	}
	return os.Lchown(path, uid, gid)
}
