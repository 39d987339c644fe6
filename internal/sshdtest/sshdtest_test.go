package sshdtest

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func dial(t *testing.T, f *Fleet, h *Host, user string) (*ssh.Client, error) {
	t.Helper()
	cb, err := knownhosts.New(f.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	// The handshake has a deadline: once a host is killed, its port may be
	// taken by another package's test host, which may be paused (SIGSTOP)
	// and would then accept the connection and never answer.
	nc, err := net.DialTimeout("tcp", h.Addr(), 20*time.Second)
	if err != nil {
		return nil, err
	}
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	cc, chans, reqs, err := ssh.NewClientConn(nc, h.Addr(), &ssh.ClientConfig{
		User:              user,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(f.Signer)},
		HostKeyCallback:   cb,
		HostKeyAlgorithms: []string{ssh.CertAlgoED25519v01, ssh.KeyAlgoED25519},
	})
	if err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	return ssh.NewClient(cc, chans, reqs), nil
}

func output(t *testing.T, c *ssh.Client, cmd string) string {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.CombinedOutput(cmd)
	if err != nil {
		t.Fatalf("%s: %v: %s", cmd, err, out)
	}
	return string(bytes.TrimSpace(out))
}

func TestFleetLoginKillRestart(t *testing.T) {
	f := Start(t, Hosts(3))
	if len(f.Hosts) != 3 {
		t.Fatalf("got %d hosts", len(f.Hosts))
	}
	for _, h := range f.Hosts {
		c, err := dial(t, f, h, h.User)
		if err != nil {
			t.Fatalf("%s: %v\n%s", h.Name, err, h.Log())
		}
		if got := output(t, c, "id -un"); got != f.User {
			t.Errorf("%s: logged in as %q, want %q", h.Name, got, f.User)
		}
		c.Close()
	}
	h := f.Hosts[1]
	c, err := dial(t, f, h, h.User)
	if err != nil {
		t.Fatal(err)
	}
	h.Kill()
	ended := make(chan error, 1)
	go func() { ended <- c.Wait() }()
	select {
	case err := <-ended:
		if err == nil {
			t.Log("connection ended cleanly after kill")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the connection outlived the kill of its host")
	}
	if _, err := dial(t, f, h, h.User); err == nil {
		t.Fatal("dial succeeded to a killed host")
	}
	if err := h.Restart(); err != nil {
		t.Fatal(err)
	}
	c, err = dial(t, f, h, h.User)
	if err != nil {
		t.Fatalf("after restart: %v", err)
	}
	c.Close()
}

func TestFleetUsersAndSudo(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	f := Start(t)
	h := f.Hosts[0]
	c, err := dial(t, f, h, SudoUserName)
	if err != nil {
		t.Fatal(err)
	}
	if got := output(t, c, "sudo -n id -u"); got != "0" {
		t.Errorf("sudo -n id -u = %q", got)
	}
	c.Close()
	c, err = dial(t, f, h, PasswordUserName)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := c.NewSession()
	if err := s.Run("sudo -n true"); err == nil {
		t.Error("sudo -n succeeded for the password user")
	}
	s.Close()
	s, _ = c.NewSession()
	pw := PasswordSudoUser(t).Password
	s.Stdin = bytes.NewReader(append(pw, '\n'))
	out, err := s.CombinedOutput("sudo -S -p '' id -u")
	if err != nil || string(bytes.TrimSpace(out)) != "0" {
		t.Errorf("sudo -S id -u: %v: %q", err, out)
	}
	c.Close()
}

func TestFleetHostCA(t *testing.T) {
	f := Start(t, WithHostCA(), WithBastion())
	for _, h := range []*Host{f.Hosts[0], f.Bastion} {
		c, err := dial(t, f, h, h.User)
		if err != nil {
			t.Fatalf("%s: %v", h.Name, err)
		}
		c.Close()
	}
}

func TestFleetOnOtherLoopbackAddresses(t *testing.T) {
	f := Start(t, Hosts(3), WithAddresses("127.0.0.2", "127.0.0.3"))
	for i, want := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.2"} {
		h := f.Hosts[i]
		if h.Address != want {
			t.Errorf("%s listens on %s, want %s", h.Name, h.Address, want)
		}
		c, err := dial(t, f, h, h.User)
		if err != nil {
			t.Fatalf("%s: %v\n%s", h.Name, err, h.Log())
		}
		// The client's view of the server: the connection really reached
		// the address given, which known_hosts names.
		if got := output(t, c, `set -- $SSH_CONNECTION; echo $3`); got != want {
			t.Errorf("%s: SSH_CONNECTION shows %q, want %s", h.Name, got, want)
		}
		c.Close()
	}
}

func TestFleetRefusesAddressesBeyondLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0", "192.0.2.1", "::1", "localhost", ""} {
		if _, err := StartFleet(WithAddresses(addr)); err == nil {
			t.Errorf("%q: the fleet started", addr)
		}
	}
}

func TestSessionsListsWhatTheFleetRuns(t *testing.T) {
	f := Start(t, Hosts(2))
	other := Start(t) // another fleet under the same login: none of ours
	if got := f.Sessions(); len(got) != 0 {
		t.Fatalf("an idle fleet runs %v", got)
	}
	mine, err := dial(t, f, f.Hosts[1], f.User)
	if err != nil {
		t.Fatal(err)
	}
	defer mine.Close()
	theirs, err := dial(t, other, other.Hosts[0], other.User)
	if err != nil {
		t.Fatal(err)
	}
	defer theirs.Close()
	for _, c := range []*ssh.Client{mine, theirs} {
		s, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Start("exec sleep 3"); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	var sleeps int
	for time.Now().Before(deadline) {
		sleeps = 0
		for _, pid := range f.Sessions() {
			if comm, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm")); string(bytes.TrimSpace(comm)) == "sleep" {
				sleeps++
			}
		}
		if sleeps > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if sleeps != 1 {
		t.Errorf("Sessions shows %d sleep commands, want the one this fleet runs", sleeps)
	}
	mine.Close()
	deadline = time.Now().Add(20 * time.Second)
	for len(f.Sessions()) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := f.Sessions(); len(got) != 0 {
		t.Errorf("once its command ended and its connection closed the fleet still runs %v", got)
	}
}

// TestDescendantsFindsGrandchildren: Descendants lists a process's
// children and theirs, and not the process itself.
func TestDescendantsFindsGrandchildren(t *testing.T) {
	// sh starts a child shell that starts a sleep: three levels. Each
	// shell writes its pid once its child runs.
	dir := t.TempDir()
	script := `sh -c 'sleep 30 & echo $! > "$0/grandchild"; echo $$ > "$0/child"; wait' "$0" & wait`
	cmd := exec.Command("sh", "-c", script, dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, pid := range Descendants(cmd.Process.Pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		cmd.Process.Kill()
		cmd.Wait()
	}()
	var want []int
	for deadline := time.Now().Add(10 * time.Second); len(want) < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the shells did not write their pids")
		}
		want = want[:0]
		for _, name := range []string{"child", "grandchild"} {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if pid, perr := strconv.Atoi(string(bytes.TrimSpace(b))); err == nil && perr == nil {
				want = append(want, pid)
			}
		}
	}
	got := map[int]bool{}
	for _, pid := range Descendants(cmd.Process.Pid) {
		got[pid] = true
	}
	if got[cmd.Process.Pid] || !got[want[0]] || !got[want[1]] {
		t.Errorf("Descendants(%d) = %v, want the child %d and grandchild %d, not the root", cmd.Process.Pid, got, want[0], want[1])
	}
}
