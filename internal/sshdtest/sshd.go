package sshdtest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// readyTimeout bounds how long an sshd may take to report that it listens.
// Generous: a hundred of them may start at once on two loaded cores.
const readyTimeout = 30 * time.Second

// errPortTaken says sshd could not bind its port: someone took it between
// our probe and its bind. The caller picks another port.
var errPortTaken = errors.New("sshd: port already in use")

// sshdProc is one running `sshd -D -e`.
type sshdProc struct {
	cmd     *exec.Cmd
	marker  string // MARKERVAR=value, in the environment of all its processes
	exited  chan struct{}
	waitErr error
	log     *tailBuffer
}

// startSSHD starts bin with the config at cfgPath and waits until it
// reports listening (read from its log on stderr: no probe connection).
func startSSHD(bin, cfgPath string) (*sshdProc, error) {
	cmd := exec.Command(bin, "-D", "-e", "-f", cfgPath)
	// Own process group: a ^C in the terminal goes to the test binary,
	// which cleans up. Pdeathsig: an sshd never outlives a killed test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// Every process of this daemon carries the marker in its environment
	// (sshd builds the users' environments afresh), so that kill finds them
	// all even if one left the process tree.
	marker := markerVar + "=" + cfgPath
	cmd.Env = append(os.Environ(), marker)
	// A pipe of our own rather than StderrPipe: Wait must not wait for the
	// log to end, which a forked child may hold open.
	logR, logW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logW
	err = cmd.Start()
	logW.Close()
	if err != nil {
		logR.Close()
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	p := &sshdProc{cmd: cmd, marker: marker, exited: make(chan struct{}), log: &tailBuffer{max: 32 << 10}}
	ready := make(chan struct{})
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		defer logR.Close()
		sc := bufio.NewScanner(logR)
		sc.Buffer(make([]byte, 4096), 1<<20)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			p.log.add(line)
			if !signalled && strings.Contains(line, "Server listening on") {
				signalled = true
				close(ready)
			}
		}
		io.Copy(io.Discard, logR)
	}()
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	select {
	case <-ready:
		return p, nil
	case <-p.exited:
		select { // the last lines of the log
		case <-drained:
		case <-time.After(2 * time.Second):
		}
		log := p.log.String()
		if strings.Contains(log, "Address already in use") || strings.Contains(log, "Cannot bind any address") {
			return nil, errPortTaken
		}
		return nil, fmt.Errorf("sshd -f %s exited before listening (%v):\n%s", cfgPath, p.waitErr, log)
	case <-time.After(readyTimeout):
		p.kill()
		return nil, fmt.Errorf("sshd -f %s did not report listening within %v:\n%s", cfgPath, readyTimeout, p.log.String())
	}
}

// markerVar names the environment variable that marks a daemon's processes.
const markerVar = "SSHDTEST_DAEMON"

// kill stops the daemon and every process it forked (one per connection,
// which call setsid and so escape its process group, and the commands they
// run), as if the host had died: all their connections drop at once.
func (p *sshdProc) kill() { killAll([]*sshdProc{p}) }

// killAll kills several daemons and their descendants, reading the process
// table once per round rather than once per daemon.
func killAll(ps []*sshdProc) {
	procs := map[int]bool{}
	markers := map[string]bool{}
	for _, p := range ps {
		markers[p.marker] = true
		select {
		case <-p.exited:
			continue
		default:
		}
		procs[p.cmd.Process.Pid] = true
		syscall.Kill(p.cmd.Process.Pid, syscall.SIGSTOP) // no new connection from here on
	}
	for _, pid := range marked(markers) {
		procs[pid] = true
		syscall.Kill(pid, syscall.SIGSTOP)
	}
	// A process stops on its way back to user space: one inside fork() when
	// SIGSTOP came (a connection's monitor forking its post-auth child as
	// the client's login completes) adds a child after the walk that found
	// it. That child, reparented when its parent dies and its marker
	// overwritten by its process title, would keep the connection open
	// (once in some thirty kills). So the walk ends only when it finds
	// nothing new after every process found has stopped.
	for deadline := time.Now().Add(5 * time.Second); ; {
		settled := allStopped(procs)
		found := descendants(procs)
		for _, pid := range found {
			procs[pid] = true
			syscall.Kill(pid, syscall.SIGSTOP)
		}
		if settled && len(found) == 0 || time.Now().After(deadline) {
			break
		}
		if len(found) == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	for pid := range procs {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	for _, p := range ps {
		<-p.exited
	}
}

// marked returns the processes whose environment holds one of markers.
func marked(markers map[string]bool) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var found []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		for v := range strings.SplitSeq(string(env), "\x00") {
			if strings.HasPrefix(v, markerVar+"=") && markers[v] {
				found = append(found, pid)
				break
			}
		}
	}
	return found
}

// signalAll sends sig to the daemon and every process it forked.
func (p *sshdProc) signalAll(sig syscall.Signal) {
	select {
	case <-p.exited:
		return
	default:
	}
	root := p.cmd.Process.Pid
	for _, pid := range append(Descendants(root), root) {
		syscall.Kill(pid, sig)
	}
}

// allStopped reports whether every process of procs is stopped, or gone.
func allStopped(procs map[int]bool) bool {
	for pid := range procs {
		fields, ok := ProcStat(pid)
		if !ok || len(fields) == 0 {
			continue // gone
		}
		switch fields[0] { // the state
		case "T", "t", "Z", "X":
		default:
			return false
		}
	}
	return true
}

// Descendants lists every process below roots (children, their children
// and so on), from one pass over /proc; roots themselves are not listed.
func Descendants(roots ...int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			if ppid, ok := ParentPID(pid); ok {
				children[ppid] = append(children[ppid], pid)
			}
		}
	}
	seen := map[int]bool{}
	for _, r := range roots {
		seen[r] = true
	}
	var out []int
	for queue := slices.Clone(roots); len(queue) > 0; { // its appends must not write into the caller's array
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
				queue = append(queue, c)
			}
		}
	}
	return out
}

// descendants returns the processes whose parent is in procs and which are
// not in procs themselves: one level, for a walk that stops what it finds
// before it looks further (see killAll).
func descendants(procs map[int]bool) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var found []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || procs[pid] {
			continue
		}
		if ppid, ok := ParentPID(pid); ok && procs[ppid] {
			found = append(found, pid)
		}
	}
	return found
}

// ProcStat returns the fields of /proc/PID/stat after the command name (the
// state first, then the parent pid), which is in parentheses and may
// itself hold spaces and parentheses.
func ProcStat(pid int) ([]string, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return nil, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, false
	}
	return strings.Fields(s[i+1:]), true
}

// ParentPID reads the parent pid from /proc/PID/stat.
func ParentPID(pid int) (int, bool) {
	fields, ok := ProcStat(pid)
	if !ok || len(fields) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(fields[1])
	return ppid, err == nil
}

// tailBuffer keeps the last max bytes of log lines.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) add(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, line...)
	b.buf = append(b.buf, '\n')
	if len(b.buf) > b.max {
		b.buf = append([]byte(nil), b.buf[len(b.buf)-b.max:]...)
	}
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

var (
	versionOnce sync.Once
	versionMaj  int
	versionMin  int
)

// sshdVersion returns the installed OpenSSH's major and minor version, or
// zeros when `sshd -V` says nothing readable.
func sshdVersion(bin string) (int, int) {
	versionOnce.Do(func() {
		out, _ := exec.Command(bin, "-V").CombinedOutput()
		m := regexp.MustCompile(`OpenSSH_(\d+)\.(\d+)`).FindSubmatch(out)
		if m != nil {
			versionMaj, _ = strconv.Atoi(string(m[1]))
			versionMin, _ = strconv.Atoi(string(m[2]))
		}
	})
	return versionMaj, versionMin
}

// Sessions lists the processes the fleet's hosts are running for their
// clients: connections, sessions and the commands they started, found by
// the marker each of them carries in its environment (a command run
// through sudo, which resets the environment, is found while its session
// lives). The daemons themselves are not listed. Other fleets' processes,
// another test's under the same login included, are not either.
func (f *Fleet) Sessions() []int {
	markers := map[string]bool{}
	daemons := map[int]bool{}
	for _, h := range f.all {
		h.mu.Lock()
		if h.proc != nil {
			markers[h.proc.marker] = true
			daemons[h.proc.cmd.Process.Pid] = true
		}
		h.mu.Unlock()
	}
	roots := marked(markers)
	for pid := range daemons {
		roots = append(roots, pid)
	}
	procs := map[int]bool{}
	for _, pid := range append(Descendants(roots...), roots...) {
		procs[pid] = true
	}
	var out []int
	for pid := range procs {
		if !daemons[pid] {
			out = append(out, pid)
		}
	}
	return out
}
