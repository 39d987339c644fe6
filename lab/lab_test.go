package lab

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runbookhq/runbook/lab/shell"
	"github.com/runbookhq/runbook/runbook/transport"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func TestExecOnEveryNode(t *testing.T) {
	l := startLab(t, t.TempDir(), threeNodes())
	for _, info := range l.Nodes() {
		c := dial(t, l, info.Name)
		r := runCmd(t, c, "echo hi; grep VERSION_ID /etc/os-release; id -un; pwd", "", nil)
		want := "hi\nVERSION_ID=\"22.04\"\nroot\n/root\n"
		if r.code != 0 || r.out != want {
			t.Errorf("%s: got %d %q (stderr %q), want 0 %q", info.Name, r.code, r.out, r.err, want)
		}
		if r := runCmd(t, c, "echo oops >&2; exit 3", "", nil); r.code != 3 || r.err != "oops\n" || r.out != "" {
			t.Errorf("%s: exit 3 gave %+v", info.Name, r)
		}
		if r := runCmd(t, c, "no-such-program", "", nil); r.code != 127 || !strings.Contains(r.err, "lab: no-such-program is not simulated") {
			t.Errorf("%s: unknown program gave %+v", info.Name, r)
		}
	}
}

func TestStdinAndEnv(t *testing.T) {
	l := startLab(t, t.TempDir(), threeNodes())
	c := dial(t, l, "worker-1")
	if r := runCmd(t, c, "tr a-z A-Z", "hello\nworld\n", nil); r.out != "HELLO\nWORLD\n" {
		t.Errorf("stdin: %+v", r)
	}
	if r := runCmd(t, c, `echo "$GREETING $HOME"`, "", map[string]string{"GREETING": "bonjour"}); r.out != "bonjour /root\n" {
		t.Errorf("env: %+v", r)
	}
	// A command that never reads stdin still ends when stdin stays open.
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := s.Output("echo done")
	if err != nil || string(out) != "done\n" {
		t.Errorf("open stdin: %q, %v", out, err)
	}
}

func TestHostKeysAreStrictAndPersistent(t *testing.T) {
	dir := t.TempDir()
	l := startLab(t, dir, threeNodes())
	lines, err := os.ReadFile(l.KnownHostsFile())
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(lines), "ssh-ed25519"); n != 3 {
		t.Fatalf("known_hosts has %d keys, want 3:\n%s", n, lines)
	}
	for _, info := range l.Nodes() {
		if !strings.Contains(string(lines), "[127.0.0.1]:"+strings.TrimPrefix(info.Addr, "127.0.0.1:")+" ssh-ed25519 ") {
			t.Errorf("known_hosts lacks %s:\n%s", info.Addr, lines)
		}
	}
	// Presenting worker-1's address with cp-1's key line must fail.
	cfg := clientConfig(t, l)
	keyOf := map[string]ssh.PublicKey{}
	for _, n := range l.nodes {
		keyOf[n.name] = n.hostKey
	}
	wrong := filepath.Join(t.TempDir(), "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(l.Addr("worker-1"))}, keyOf["cp-1"])
	if err := os.WriteFile(wrong, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.HostKeyCallback, _ = knownhosts.New(wrong)
	if _, err := ssh.Dial("tcp", l.Addr("worker-1"), cfg); err == nil {
		t.Fatal("connected although the host key did not match")
	}
	// Keys survive a restart of the lab.
	before := keyOf["worker-1"].Marshal()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2 := startLab(t, dir, threeNodes())
	if !bytes.Equal(l2.byName["worker-1"].hostKey.Marshal(), before) {
		t.Error("the host key changed across restarts")
	}
	info, err := os.Stat(l2.IdentityFile())
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("client key: %v, mode %v", err, info.Mode())
	}
}

func TestAuthentication(t *testing.T) {
	dir := t.TempDir()
	_, extra, _ := ed25519.GenerateKey(rand.Reader)
	extraSigner, _ := ssh.NewSignerFromKey(extra)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(extraSigner.PublicKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	l := startLab(t, dir, threeNodes()[:1])
	cfg := clientConfig(t, l)
	cfg.User = "anyone"
	cfg.Auth = []ssh.AuthMethod{ssh.PublicKeys(extraSigner)}
	c, err := ssh.Dial("tcp", l.Addr("cp-1"), cfg)
	if err != nil {
		t.Fatalf("key from authorized_keys refused: %v", err)
	}
	c.Close()
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	strangerSigner, _ := ssh.NewSignerFromKey(stranger)
	cfg.Auth = []ssh.AuthMethod{ssh.PublicKeys(strangerSigner)}
	if c, err := ssh.Dial("tcp", l.Addr("cp-1"), cfg); err == nil {
		c.Close()
		t.Fatal("an unknown key was accepted")
	}
	cfg.Auth = []ssh.AuthMethod{ssh.Password("root")}
	if c, err := ssh.Dial("tcp", l.Addr("cp-1"), cfg); err == nil {
		c.Close()
		t.Fatal("password authentication was accepted")
	}
}

func TestGlobalRequestsAndForwarding(t *testing.T) {
	l := startLab(t, t.TempDir(), threeNodes()[:1])
	c := dial(t, l, "cp-1")
	ok, _, err := c.SendRequest("keepalive@openssh.com", true, nil)
	if err != nil || !ok {
		t.Errorf("keepalive: %v, %v", ok, err)
	}
	if conn, err := c.Dial("tcp", "127.0.0.1:22"); err == nil {
		conn.Close()
		t.Error("port forwarding was allowed")
	}
}

func TestSignalCancelsCommand(t *testing.T) {
	l := startLab(t, t.TempDir(), threeNodes()[:1])
	c := dial(t, l, "cp-1")
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Start("sleep 600; echo never"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if err := s.Signal(ssh.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	select {
	case err := <-done:
		var ee *ssh.ExitError
		if !errors.As(err, &ee) || ee.Signal() != "TERM" {
			t.Errorf("Wait: %v, want an exit by signal TERM", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the signal did not stop the command")
	}
}

func TestClosingChannelCancelsCommand(t *testing.T) {
	l := startLab(t, t.TempDir(), threeNodes()[:1])
	cancelled := make(chan struct{})
	started := make(chan struct{})
	addProgram(l, "labtest-block", func(c *shell.Call) int {
		close(started)
		<-c.Ctx.Done()
		close(cancelled)
		return 1
	})
	c := dial(t, l, "cp-1")
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("labtest-block"); err != nil {
		t.Fatal(err)
	}
	<-started
	s.Close()
	select {
	case <-cancelled:
	case <-time.After(20 * time.Second):
		t.Fatal("closing the channel did not cancel the command")
	}
}

func TestSlowFault(t *testing.T) {
	nodes := threeNodes()[:1]
	nodes[0].Faults.Slow = 300 * time.Millisecond
	l := startLab(t, t.TempDir(), nodes)
	c := dial(t, l, "cp-1")
	start := time.Now()
	if r := runCmd(t, c, "echo slow", "", nil); r.out != "slow\n" {
		t.Fatalf("%+v", r)
	}
	if d := time.Since(start); d < nodes[0].Faults.Slow {
		t.Errorf("the command took %v, less than the slow fault's %v", d, nodes[0].Faults.Slow)
	}
}

func TestUnreachableAfterFault(t *testing.T) {
	dir := t.TempDir()
	nodes := threeNodes()
	nodes[1].Faults.UnreachableAfter = 2
	l := startLab(t, dir, nodes)
	c := dial(t, l, "worker-1")
	for i := 0; i < 2; i++ {
		if r := runCmd(t, c, "true", "", nil); r.code != 0 {
			t.Fatalf("command %d: %+v", i+1, r)
		}
	}
	s, err := c.NewSession()
	if err == nil {
		err = s.Run("echo third")
	}
	var ee *ssh.ExitError
	if err == nil || errors.As(err, &ee) {
		t.Fatalf("third command: %v, want the connection cut", err)
	}
	if c, err := ssh.Dial("tcp", l.Addr("worker-1"), clientConfig(t, l)); err == nil {
		c.Close()
		t.Fatal("an unreachable node accepted a connection")
	}
	// Other nodes are not affected.
	if r := runCmd(t, dial(t, l, "worker-2"), "true", "", nil); r.code != 0 {
		t.Errorf("worker-2: %+v", r)
	}
	// lab reset brings it back, even with the lab still serving.
	if err := Reset(dir, nodes); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if r := runCmd(t, dial(t, l, "worker-1"), "echo back", "", nil); r.out != "back\n" {
		t.Errorf("after reset: %+v", r)
	}
}

func TestRebootDropsConnections(t *testing.T) {
	l := startLab(t, t.TempDir(), threeNodes())
	addProgram(l, "labtest-reboot", func(c *shell.Call) int {
		c.Machine.OnReboot()
		return 0
	})
	c := dial(t, l, "worker-2")
	if r := runCmd(t, c, "labtest-reboot", "", nil); r.code != 0 {
		t.Fatalf("reboot command: %+v", r)
	}
	waited := make(chan error, 1)
	go func() { waited <- c.Wait() }()
	select {
	case <-waited:
	case <-time.After(20 * time.Second):
		t.Fatal("the connection survived the reboot")
	}
	eventually(t, "the node to accept connections again", func() bool {
		c, err := ssh.Dial("tcp", l.Addr("worker-2"), clientConfig(t, l))
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
	// The simulated reboot program changes the boot id the same way.
	c = dial(t, l, "worker-2")
	before := runCmd(t, c, "cat /proc/sys/kernel/random/boot_id", "", nil).out
	if r := runCmd(t, c, "reboot", "", nil); r.code != 0 {
		t.Fatalf("reboot: %+v", r)
	}
	var after string
	eventually(t, "a new boot id", func() bool {
		c, err := ssh.Dial("tcp", l.Addr("worker-2"), clientConfig(t, l))
		if err != nil {
			return false
		}
		defer c.Close()
		s, err := c.NewSession()
		if err != nil {
			return false
		}
		defer s.Close()
		out, err := s.Output("cat /proc/sys/kernel/random/boot_id")
		after = string(out)
		return err == nil
	})
	if after == "" || after == before {
		t.Errorf("boot id before %q, after %q", before, after)
	}
}

func TestServeFile(t *testing.T) {
	dir := t.TempDir()
	l, err := Start(t.Context(), Options{Dir: dir, Nodes: threeNodes(), Standalone: true})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "serve.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		PID   int        `json:"pid"`
		Nodes []NodeInfo `json:"nodes"`
	}
	if err := json.Unmarshal(data, &st); err != nil || st.PID != os.Getpid() || len(st.Nodes) != 3 || st.Nodes[1].Addr != l.Addr("worker-1") {
		t.Errorf("serve.json: %s (%v)", data, err)
	}
	if served := Served(dir); len(served) != 3 || served[1].Addr != l.Addr("worker-1") {
		t.Errorf("Served(dir) = %+v, want the three nodes", served)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "serve.json")); !os.IsNotExist(err) {
		t.Errorf("serve.json left after Close: %v", err)
	}
	if _, err := net.Dial("tcp", st.Nodes[0].Addr); err == nil {
		t.Error("a node still listens after Close")
	}
}

func TestStatusAndReset(t *testing.T) {
	dir := t.TempDir()
	l := startLab(t, dir, threeNodes())
	c := dial(t, l, "cp-1")
	if r := runCmd(t, c, "echo changed > /root/marker", "", nil); r.code != 0 {
		t.Fatal(r)
	}
	st, err := Status(dir, threeNodes())
	if err != nil || len(st) != 3 || st[0].Name != "cp-1" || st[2].Name != "worker-2" {
		t.Fatalf("Status: %+v, %v", st, err)
	}
	if err := Reset(dir, threeNodes()); err != nil {
		t.Fatal(err)
	}
	if r := runCmd(t, c, "test -e /root/marker", "", nil); r.code == 0 {
		t.Error("the marker survived a reset")
	}
}

func TestStartErrors(t *testing.T) {
	if _, err := Start(t.Context(), Options{Nodes: threeNodes()}); err == nil {
		t.Error("Start without a directory succeeded")
	}
	if _, err := Start(t.Context(), Options{Dir: t.TempDir()}); err == nil {
		t.Error("Start without nodes succeeded")
	}
	bad := threeNodes()
	bad[0].Name = "Bad Name!"
	if _, err := Start(t.Context(), Options{Dir: t.TempDir(), Nodes: bad}); err == nil {
		t.Error("Start with an invalid node name succeeded")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := threeNodes()
	busy[1].Port = ln.Addr().(*net.TCPAddr).Port
	if _, err := Start(t.Context(), Options{Dir: t.TempDir(), Nodes: busy}); err == nil || !strings.Contains(err.Error(), "worker-1") {
		t.Errorf("Start on a busy port: %v", err)
	}
}

// runbook's ssh transport runs a connection's commands through one driver
// session; each of them is still a command of the node: unreachable_after
// counts it and the slow fault delays it.
func TestFaultsCountDriverCommands(t *testing.T) {
	nodes := threeNodes()[:2]
	nodes[0].Faults.Slow = 200 * time.Millisecond
	nodes[1].Faults.UnreachableAfter = 3
	l := startLab(t, t.TempDir(), nodes)
	ctx := context.Background()
	slow := newStepHost(t, l, nodes[0].Name).tr
	for i := range 3 {
		start := time.Now()
		var out bytes.Buffer
		res, err := slow.Run(ctx, transport.Command{Shell: "echo slow", Stdout: &out})
		if err != nil || res.ExitCode != 0 || out.String() != "slow\n" {
			t.Fatalf("command %d: %+v %v %q", i+1, res, err, out.String())
		}
		if d := time.Since(start); d < nodes[0].Faults.Slow {
			t.Errorf("command %d took %v, less than the slow fault's %v", i+1, d, nodes[0].Faults.Slow)
		}
	}
	cut := newStepHost(t, l, nodes[1].Name).tr
	for i := range 3 {
		if res, err := cut.Run(ctx, transport.Command{Argv: []string{"true"}}); err != nil || res.ExitCode != 0 {
			t.Fatalf("command %d: %+v %v", i+1, res, err)
		}
	}
	if res, err := cut.Run(ctx, transport.Command{Argv: []string{"true"}}); !errors.Is(err, transport.ErrUnreachable) {
		t.Fatalf("the fourth command: %+v %v, want unreachable", res, err)
	}
}

func TestNodesListenOnTheAddressGiven(t *testing.T) {
	l, err := Start(context.Background(), Options{Dir: t.TempDir(), Nodes: threeNodes(), Address: "127.0.0.7"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	lines, err := os.ReadFile(l.KnownHostsFile())
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range l.Nodes() {
		if !strings.HasPrefix(info.Addr, "127.0.0.7:") || !strings.Contains(string(lines), "[127.0.0.7]:"+strconv.Itoa(info.Port)+" ") {
			t.Errorf("%s listens on %s; known_hosts:\n%s", info.Name, info.Addr, lines)
		}
	}
	if r := runCmd(t, dial(t, l, "worker-1"), "hostname", "", nil); r.out != "worker-1\n" {
		t.Errorf("hostname over 127.0.0.7: %+v", r)
	}
	for _, bad := range []string{"0.0.0.0", "192.0.2.1", "::1", "localhost"} {
		if l, err := Start(context.Background(), Options{Dir: t.TempDir(), Nodes: threeNodes(), Address: bad}); err == nil {
			l.Close()
			t.Errorf("%q: the lab started", bad)
		}
	}
}
