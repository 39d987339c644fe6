package sshdtest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
)

// The test users. Their login shell is /bin/sh (dash on Debian), which
// reads no rc file for `sh -c`, so sessions start clean and fast whatever
// root's own dotfiles do.
const (
	// SudoUserName may sudo without a password.
	SudoUserName = "rbtest"
	// PasswordUserName may sudo with the password PasswordSudoUser returns.
	PasswordUserName = "rbtestpw"
)

const (
	stateDir     = "/var/lib/runbook-sshdtest"
	passwordFile = stateDir + "/" + PasswordUserName + ".password"
	lockFile     = stateDir + "/users.lock"
)

// User is a local account the test sshd lets in.
type User struct {
	Name string
	// Password is the user's login and sudo password; nil for SudoUserName.
	Password []byte
	UID, GID int
	Home     string
}

var (
	usersOnce sync.Once
	usersErr  error
	sudoUser  User
	pwUser    User
)

// SudoUser returns the passwordless-sudo test user, creating it when
// needed. It skips the test when not running as root (creating users needs
// root).
func SudoUser(t testing.TB) User {
	t.Helper()
	ensureUsers(t)
	return sudoUser
}

// PasswordSudoUser returns the test user whose sudo asks for a password,
// and that password. It skips the test when not running as root.
func PasswordSudoUser(t testing.TB) User {
	t.Helper()
	ensureUsers(t)
	return pwUser
}

func ensureUsers(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("sshdtest: the test users need root to create; skipping")
	}
	if err := prepareUsers(); err != nil {
		t.Fatalf("sshdtest: preparing test users: %v", err)
	}
}

// prepareUsers creates the test users once per process (as root).
func prepareUsers() error {
	usersOnce.Do(func() { usersErr = createUsers() })
	return usersErr
}

// createUsers makes both users idempotently, under a file lock so that
// test binaries running in parallel do not race on useradd or sudoers.
func createUsers() error {
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return err
	}
	lock, err := os.OpenFile(lockFile, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("locking %s: %w", lockFile, err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)

	if sudoUser, _, err = ensureUser(SudoUserName); err != nil {
		return err
	}
	// useradd leaves the password field "!" (locked); sshd without PAM
	// refuses locked accounts even for key logins, so set "*": no password
	// matches, but the account is not locked.
	if err := run("usermod", "-p", "*", SudoUserName); err != nil {
		return err
	}
	if err := installSudoers(SudoUserName, SudoUserName+" ALL=(ALL:ALL) NOPASSWD: ALL\n"); err != nil {
		return err
	}

	var created bool
	if pwUser, created, err = ensureUser(PasswordUserName); err != nil {
		return err
	}
	pw, err := os.ReadFile(passwordFile)
	switch {
	case errors.Is(err, os.ErrNotExist):
		buf := make([]byte, 12)
		if _, err := rand.Read(buf); err != nil {
			return err
		}
		pw = []byte("rbpw-" + hex.EncodeToString(buf))
		if err := os.WriteFile(passwordFile, pw, 0o600); err != nil {
			return err
		}
		created = true
	case err != nil:
		return err
	}
	pw = bytes.TrimSpace(pw)
	if created {
		if err := setPassword(PasswordUserName, pw); err != nil {
			return err
		}
	}
	pwUser.Password = pw
	return installSudoers(PasswordUserName, PasswordUserName+" ALL=(ALL:ALL) ALL\n")
}

// ensureUser looks the user up, creating it first when absent.
func ensureUser(name string) (u User, created bool, err error) {
	pw, err := user.Lookup(name)
	if err != nil {
		args := []string{"--create-home", "--shell", "/bin/sh", "--comment", "runbook test user"}
		if _, gerr := user.LookupGroup(name); gerr == nil {
			args = append(args, "--gid", name) // left over from an earlier user of that name
		}
		if err := run("useradd", append(args, name)...); err != nil {
			return User{}, false, err
		}
		if pw, err = user.Lookup(name); err != nil {
			return User{}, false, err
		}
		created = true
	}
	uid, _ := strconv.Atoi(pw.Uid)
	gid, _ := strconv.Atoi(pw.Gid)
	return User{Name: name, UID: uid, GID: gid, Home: pw.HomeDir}, created, nil
}

// setPassword feeds chpasswd on stdin: the password never reaches argv.
func setPassword(name string, pw []byte) error {
	cmd := exec.Command("chpasswd")
	cmd.Stdin = bytes.NewReader(append([]byte(name+":"), append(pw, '\n')...))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("chpasswd for %s: %v: %s", name, err, out)
	}
	return nil
}

// installSudoers writes /etc/sudoers.d/NAME when its content differs,
// checked with visudo first so that a bad file never locks sudo out.
func installSudoers(name, content string) error {
	path := filepath.Join("/etc/sudoers.d", name)
	if cur, err := os.ReadFile(path); err == nil && string(cur) == content {
		return nil
	}
	tmp := path + ".sshdtest.tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o440); err != nil {
		return err
	}
	if out, err := exec.Command("visudo", "-cf", tmp).CombinedOutput(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("visudo -cf %s: %v: %s", tmp, err, out)
	}
	return os.Rename(tmp, path)
}

func run(name string, args ...string) error {
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s %v: %v: %s", name, args, err, out)
	}
	return nil
}

// ScratchDir returns a fresh directory owned by the named local user
// (which the test hosts share, being this machine), removed when the test
// ends.
func ScratchDir(t testing.TB, userName string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sshdtest-scratch-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if u, err := user.Lookup(userName); err == nil && os.Geteuid() == 0 {
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
