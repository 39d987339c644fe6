package faults

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook/journal"
)

// cli runs the runbook command against one state directory, as a
// subprocess with its own environment.
type cli struct {
	t     *testing.T
	bin   string
	state string
	env   []string
	// wrap, when set, is put before the runbook binary on the command line
	// (a launcher), with extra environment.
	wrap    []string
	wrapEnv []string
}

// result is how a runbook process ended.
type result struct {
	code   int
	stdout string
	stderr string
	killed bool // we SIGKILLed it
}

func (r result) String() string {
	return "exit " + strconv.Itoa(r.code) + "\n--- stdout\n" + tail(r.stdout, 3000) + "\n--- stderr\n" + tail(r.stderr, 3000)
}

// newCLI returns a cli for state whose environment is the test's, with HOME
// set to home (where ~/.ssh/known_hosts lists the hosts; "" keeps HOME), no
// agent, no colour and no RUNBOOK_STATE_DIR.
func newCLI(t *testing.T, state, home string) *cli {
	t.Helper()
	c := &cli{t: t, bin: runbookBinary(t), state: state}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "SSH_AUTH_SOCK", "RUNBOOK_STATE_DIR", "NO_COLOR":
			continue
		case "HOME":
			if home != "" {
				continue
			}
		}
		c.env = append(c.env, kv)
	}
	if home != "" {
		c.env = append(c.env, "HOME="+home)
	}
	c.env = append(c.env, "NO_COLOR=1")
	return c
}

// proc is a runbook process started by start.
type proc struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan struct{}
	err    error
	killed bool
}

func (c *cli) command(args ...string) *exec.Cmd {
	argv := append([]string{"--state-dir", c.state}, args...)
	var cmd *exec.Cmd
	if len(c.wrap) > 0 {
		cmd = exec.Command(c.wrap[0], append(append(c.wrap[1:], c.bin), argv...)...)
	} else {
		cmd = exec.Command(c.bin, argv...)
	}
	cmd.Env = append(append([]string{}, c.env...), c.wrapEnv...)
	return cmd
}

// start starts runbook with args.
func (c *cli) start(args ...string) *proc {
	c.t.Helper()
	p := &proc{cmd: c.command(args...), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		c.t.Fatalf("start runbook %v: %v", args, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	c.t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
		}
	})
	return p
}

// run runs runbook with args to its end (at most two minutes).
func (c *cli) run(args ...string) result {
	c.t.Helper()
	p := c.start(args...)
	select {
	case <-p.done:
	case <-time.After(2 * time.Minute):
		p.kill()
		c.t.Fatalf("runbook %v did not end within two minutes:\n%s", args, p.wait())
	}
	return p.wait()
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill SIGKILLs the process: no handler runs, nothing is flushed.
func (p *proc) kill() {
	if !p.exited() {
		p.killed = true
		p.cmd.Process.Signal(syscall.SIGKILL)
	}
}

// wait waits for the process and returns how it ended.
func (p *proc) wait() result {
	<-p.done
	r := result{code: 0, stdout: p.stdout.String(), stderr: p.stderr.String(), killed: p.killed}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		r.code = ee.ExitCode()
	} else if p.err != nil {
		r.code = -1
	}
	return r
}

// killAfter SIGKILLs p as soon as the journal that path returns holds at
// least n complete records, polling it about every half millisecond. It
// returns the number of records the journal held when the signal was sent
// (0 when p ended before that).
func killAfter(p *proc, path func() string, n int) int {
	for {
		if p.exited() {
			return 0
		}
		if jp := path(); jp != "" {
			if b, err := os.ReadFile(jp); err == nil {
				if got := bytes.Count(b, []byte{'\n'}); got >= n {
					p.kill()
					return got
				}
			}
		}
		time.Sleep(500 * time.Microsecond)
	}
}

// runJournal returns the journal of the only run in state, "" while there
// is none.
func runJournal(state string) string {
	ids, err := journal.ListRuns(state)
	if err != nil || len(ids) != 1 {
		return ""
	}
	return filepath.Join(journal.RunDir(state, ids[0]), journal.JournalFile)
}

// onlyRun returns the id and journal of the only run in state.
func onlyRun(t *testing.T, state string) (id, path string) {
	t.Helper()
	ids, err := journal.ListRuns(state)
	if err != nil || len(ids) != 1 {
		t.Fatalf("runs in %s: %v %v, want exactly one", state, ids, err)
	}
	return ids[0], filepath.Join(journal.RunDir(state, ids[0]), journal.JournalFile)
}

func readJournal(t *testing.T, path string) *journal.Log {
	t.Helper()
	log, err := journal.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return log
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
