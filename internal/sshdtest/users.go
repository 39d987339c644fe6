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
	usersOK   bool
	sudoUser  User
	pwUser    User
)

// SudoUser returns the passwordless-sudo test user. It skips the test when
// the user is not in place and may not be created (see usersReady).
func SudoUser(t testing.TB) User {
	t.Helper()
	ensureUsers(t)
	return sudoUser
}

// PasswordSudoUser returns the test user whose sudo asks for a password,
// and that password. It skips the test like SudoUser.
func PasswordSudoUser(t testing.TB) User {
	t.Helper()
	ensureUsers(t)
	return pwUser
}

func ensureUsers(t testing.TB) {
	t.Helper()
	ready, err := usersReady()
	if err != nil {
		t.Fatalf("sshdtest: preparing test users: %v", err)
	}
	if !ready {
		skipOrFail(t, noUsersReason())
	}
}

// mayChangeMachine reports whether the tests may create system users and
// sudoers files: only when CI asks for every sshd test to run.
func mayChangeMachine() bool { return os.Getenv("RUNBOOK_REQUIRE_SSHD") == "1" }

// noUsersReason is the one line a test that needs the test users skips with.
func noUsersReason() string {
	if os.Geteuid() != 0 {
		return "sshdtest: needs the test users " + SudoUserName + " and " + PasswordUserName + ", which only root can create; skipping"
	}
	return "sshdtest: needs the test users " + SudoUserName + " and " + PasswordUserName + " with sudo; they are created (useradd, /etc/sudoers.d) only with RUNBOOK_REQUIRE_SSHD=1; skipping"
}

// skipOrFail skips the test, or fails it where CI forbids skipping.
func skipOrFail(t testing.TB, reason string) {
	t.Helper()
	if mayChangeMachine() {
		t.Fatal(reason + "; skipping is not allowed: RUNBOOK_REQUIRE_SSHD=1")
	}
	t.Skip(reason)
}

// usersReady reports whether the test users can be used, once per
// process: running as root, they are created where CI allows it
// (RUNBOOK_REQUIRE_SSHD=1), and otherwise used only when they are in place
// already, sudo and its sudoers files included, so that a test run changes
// nothing on a developer's machine.
func usersReady() (bool, error) {
	usersOnce.Do(func() {
		switch {
		case os.Geteuid() != 0:
		case mayChangeMachine():
			usersErr = createUsers()
			usersOK = usersErr == nil
		default:
			usersOK = loadUsers()
		}
	})
	return usersOK, usersErr
}

// loadUsers looks the test users up, changing nothing, and reports whether
// they are complete: both accounts, their sudoers files as createUsers
// writes them, the password file, and sudo itself.
func loadUsers() bool {
	if _, err := exec.LookPath("sudo"); err != nil {
		return false
	}
	var err error
	if sudoUser, err = lookupUser(SudoUserName); err != nil {
		return false
	}
	if pwUser, err = lookupUser(PasswordUserName); err != nil {
		return false
	}
	for name, content := range map[string]string{SudoUserName: sudoersLine(SudoUserName, true), PasswordUserName: sudoersLine(PasswordUserName, false)} {
		if cur, err := os.ReadFile(filepath.Join("/etc/sudoers.d", name)); err != nil || string(cur) != content {
			return false
		}
	}
	pw, err := os.ReadFile(passwordFile)
	if err != nil {
		return false
	}
	pwUser.Password = bytes.TrimSpace(pw)
	return true
}

func sudoersLine(name string, nopasswd bool) string {
	if nopasswd {
		return name + " ALL=(ALL:ALL) NOPASSWD: ALL\n"
	}
	return name + " ALL=(ALL:ALL) ALL\n"
}

func lookupUser(name string) (User, error) {
	pw, err := user.Lookup(name)
	if err != nil {
		return User{}, err
	}
	uid, _ := strconv.Atoi(pw.Uid)
	gid, _ := strconv.Atoi(pw.Gid)
	return User{Name: name, UID: uid, GID: gid, Home: pw.HomeDir}, nil
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
	if _, err := exec.LookPath("visudo"); err != nil {
		return fmt.Errorf("sudo is not installed (apt-get install sudo): %w", err)
	}
	if err := installSudoers(SudoUserName, sudoersLine(SudoUserName, true)); err != nil {
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
	return installSudoers(PasswordUserName, sudoersLine(PasswordUserName, false))
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
