package containers

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// exitReboot is systemd-nspawn's exit status when the container asked
// for a reboot.
const exitReboot = 133

// node is one container: its directories, where its sshd listens, and
// the systemd-nspawn process that runs it while it is up.
type node struct {
	lab     *Lab
	name    string
	addr    string
	port    int
	dir     string
	hostKey ssh.PublicKey

	mu       sync.Mutex
	cmd      *exec.Cmd     // the running systemd-nspawn
	done     chan struct{} // closed when the node is down for good
	stopping bool          // a stop or kill was asked: do not restart
	boots    int           // boots since the lab started
	lastExit string        // how systemd-nspawn last ended
	console  *tailBuffer
}

func (n *node) upper() string  { return filepath.Join(n.dir, "upper") }
func (n *node) work() string   { return filepath.Join(n.dir, "work") }
func (n *node) merged() string { return filepath.Join(n.dir, "root") }

// hostPort is ADDR:PORT of the node's sshd.
func (n *node) hostPort() string { return net.JoinHostPort(n.addr, strconv.Itoa(n.port)) }

// machineName names the container for systemd-nspawn, unique to this lab.
func (n *node) machineName() string {
	name := "rb-" + n.lab.id[:8] + "-" + n.name
	b := []byte(name)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			b[i] = '-'
		}
	}
	if len(b) > 60 {
		b = b[:60]
	}
	return string(b)
}

// bootScript mounts the node's overlay (the image below, the node's own
// changes above) in the private mount namespace and execs
// systemd-nspawn. The previous boot's overlay may still be going away
// when the node is restarted after a reboot, so the mount is retried.
const bootScript = `lower=$1 upper=$2 work=$3 root=$4
shift 4
for cg in $RB_CGROUPS; do
  echo $$ > "$cg/cgroup.procs" || { echo "container lab: cannot enter cgroup $cg" >&2; exit 96; }
done
i=0
until mount -t overlay overlay -o "lowerdir=$lower,upperdir=$upper,workdir=$work" "$root"; do
  i=$((i+1))
  if [ "$i" -ge 100 ]; then echo "container lab: cannot mount the node's overlay" >&2; exit 98; fi
  sleep 0.1
done
exec "$@"
`

// start boots the node and supervises it: a reboot inside the node
// (systemd-nspawn exits 133) boots it again; any other end leaves it down.
// It returns once systemd-nspawn runs.
func (n *node) start() error {
	for _, d := range []string{n.upper(), n.work(), n.merged()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("container lab: %s: %w", n.name, err)
		}
	}
	if err := n.prepareUpper(); err != nil {
		return err
	}
	started := make(chan error, 1)
	n.mu.Lock()
	n.done = make(chan struct{})
	n.stopping = false
	n.console = &tailBuffer{max: 30}
	n.mu.Unlock()
	go n.supervise(started)
	return <-started
}

func (n *node) supervise(started chan<- error) {
	// systemd-nspawn dies with this thread (Pdeathsig), so it stays locked
	// to this goroutine for as long as the node runs.
	runtime.LockOSThread()
	defer close(n.done)
	first := true
	for {
		err := n.spawnAndWait(func(err error) {
			if first {
				started <- err
				first = false
			}
		})
		n.mu.Lock()
		n.cmd = nil
		stopping := n.stopping
		n.mu.Unlock()
		n.setExit(describeExit(err))
		// A container killed rather than powered off leaves its
		// directory here (it is empty).
		os.Remove(filepath.Join(nspawnPropagateDir, n.machineName()))
		removeCgroups(n.machineName())
		if exitCode(err) == exitReboot && !stopping {
			n.lab.logf("%s rebooted; booting it again", n.name)
			continue
		}
		return
	}
}

func (n *node) setExit(s string) {
	n.mu.Lock()
	n.lastExit = s
	n.mu.Unlock()
}

// spawnAndWait runs one boot of the node to its end; started is told
// whether systemd-nspawn could be started.
func (n *node) spawnAndWait(started func(error)) error {
	argv := append(nspawnCommon(n.merged()), "-b", "--machine="+n.machineName(), "--console=read-only",
		"--kill-signal=SIGRTMIN+3")
	args := append([]string{n.lab.image.Rootfs, n.upper(), n.work(), n.merged()}, argv...)
	// The command is not bound to a context: the node outlives the call
	// that started it, until Close.
	cmd := isolatedShell(context.Background(), bootScript, args...)
	cgroups, err := nodeCgroups(n.machineName())
	if err != nil {
		err = fmt.Errorf("container lab: %s: cgroups: %w", n.name, err)
		started(err)
		return err
	}
	cmd.Env = append(os.Environ(), "RB_CGROUPS="+strings.Join(cgroups, " "))
	log, err := os.OpenFile(filepath.Join(n.dir, "console.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		err = fmt.Errorf("container lab: %s: %w", n.name, err)
		started(err)
		return err
	}
	defer log.Close()
	out := &lineWriter{w: log, tail: n.console}
	defer out.Flush()
	cmd.Stdout, cmd.Stderr = out, out
	n.mu.Lock()
	stopping := n.stopping
	if !stopping {
		err = cmd.Start()
		if err == nil {
			n.cmd = cmd
			n.boots++
		}
	}
	n.mu.Unlock()
	if stopping {
		err = errors.New("stopped before it booted")
	}
	if err != nil {
		err = fmt.Errorf("container lab: %s: starting systemd-nspawn: %w", n.name, err)
		started(err)
		return err
	}
	started(nil)
	return cmd.Wait()
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Exited() {
			return ws.ExitStatus()
		}
		return -1
	}
	if err == nil {
		return 0
	}
	return -1
}

func describeExit(err error) string {
	if err == nil {
		return "systemd-nspawn exited 0 (the node powered off)"
	}
	return "systemd-nspawn ended: " + err.Error()
}

// waitReady waits until the node's sshd answers with its banner, the
// node goes down, or ctx ends.
func (n *node) waitReady(ctx context.Context) error {
	for {
		n.mu.Lock()
		done := n.done
		n.mu.Unlock()
		select {
		case <-done:
			return n.bootError("went down while booting")
		case <-ctx.Done():
			return n.bootError(fmt.Sprintf("sshd did not answer on %s in time (%v)", n.hostPort(), ctx.Err()))
		default:
		}
		if sshBanner(ctx, n.hostPort()) {
			return nil
		}
		select {
		case <-ctx.Done():
		case <-done:
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (n *node) bootError(what string) error {
	n.mu.Lock()
	exit, console := n.lastExit, n.console.String()
	n.mu.Unlock()
	if exit != "" {
		what += " (" + exit + ")"
	}
	return fmt.Errorf("container lab: node %s did not boot: %s; its console (%s) ends%s", n.name, what,
		filepath.Join(n.dir, "console.log"), console)
}

// sshBanner reports whether an SSH server answers at addr.
func sshBanner(ctx context.Context, addr string) bool {
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && len(line) > 8 && line[:8] == "SSH-2.0-"
}

// stop powers the node off (systemd-nspawn passes SIGTERM on to the
// container's systemd as a poweroff), and kills it when it has not gone
// within grace.
func (n *node) stop(grace time.Duration) {
	n.signal(syscall.SIGTERM)
	n.mu.Lock()
	done := n.done
	n.mu.Unlock()
	if done == nil {
		return
	}
	select {
	case <-done:
	case <-time.After(grace):
		n.signal(syscall.SIGKILL)
		<-done
	}
}

// kill ends the node at once, as a power cut does: systemd-nspawn is the
// first process of its PID namespace, so every process of the node ends
// with it.
func (n *node) kill() {
	n.signal(syscall.SIGKILL)
	n.mu.Lock()
	done := n.done
	n.mu.Unlock()
	if done != nil {
		<-done
	}
}

func (n *node) signal(sig syscall.Signal) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.stopping = true
	if n.cmd != nil && n.cmd.Process != nil {
		n.cmd.Process.Signal(sig)
	}
}

// running reports whether the node is up (or rebooting).
func (n *node) running() bool {
	n.mu.Lock()
	done := n.done
	n.mu.Unlock()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// pid is systemd-nspawn's process id, 0 when the node is down.
func (n *node) pid() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil || n.cmd.Process == nil {
		return 0
	}
	return n.cmd.Process.Pid
}
