package steps

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/transport"
)

// parseStep loads a runbook holding the one step written in stepYAML (a
// flow mapping or block at the indentation of a list item) and returns
// the step, or the loader's error.
func parseStep(t *testing.T, stepYAML string) (*runbook.Step, error) {
	t.Helper()
	src := "runbook: t\ntargets: all\nphases:\n  - name: p\n    kind: verify\n    steps:\n      - " + stepYAML + "\n"
	rb, _, err := runbook.Parse("t.yaml", []byte(src), nil)
	if err != nil {
		return nil, err
	}
	return rb.Phases[0].Steps.Steps[0], nil
}

// mustKind parses one step and returns its kind.
func mustKind(t *testing.T, stepYAML string) Kind {
	t.Helper()
	st, err := parseStep(t, stepYAML)
	if err != nil {
		t.Fatalf("parsing %s: %v", stepYAML, err)
	}
	return st.Spec.(Kind)
}

// renderer renders {{ }} against env, as the engine's does.
func renderer(env map[string]any) func(string) (string, error) {
	r := &runbook.Renderer{Env: env}
	return r.Render
}

// lockedBuffer is a buffer safe for the concurrent writes of a command's
// stdout and stderr.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newExec is an Exec on tr for host "host1", with a fresh run directory
// and snapshots and backups kept in memory, fed from each Result by
// record.
func newExec(t *testing.T, tr transport.Transport, become bool) *Exec {
	t.Helper()
	out := &lockedBuffer{}
	x := &Exec{Host: "host1", RunsOn: "host1", T: tr, Become: become, Timeout: time.Minute,
		Stdout: out, Stderr: out, RunID: fmt.Sprintf("20250101-000000-steps-test-%d", time.Now().UnixNano()),
		RunDir: t.TempDir(), BaseDir: t.TempDir(), Render: renderer(nil)}
	snaps, cmds, backups := map[string]string{}, map[string]string{}, map[string]BackupRecord{}
	x.Snapshot = func(n string) (string, bool) { s, ok := snaps[n]; return s, ok }
	x.SnapshotCommand = func(n string) (string, bool) { s, ok := cmds[n]; return s, ok }
	x.Backup = func(n string) (BackupRecord, bool) { b, ok := backups[n]; return b, ok }
	recorders.Store(x, func(r Result) {
		for k, v := range r.Snapshots {
			snaps[k] = v
		}
		for k, v := range r.SnapshotCommands {
			cmds[k] = v
		}
		if name, rec, ok := BackupFromData(r.Data); ok {
			backups[name] = rec
		}
	})
	t.Cleanup(func() { recorders.Delete(x) })
	return x
}

// recorders keep, per Exec, what results record for later steps.
var recorders sync.Map

// run runs k on x and keeps what the result records, as the engine does.
func run(t *testing.T, k Kind, x *Exec) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := k.Run(ctx, x)
	if rec, ok := recorders.Load(x); ok {
		rec.(func(Result))(r)
	}
	return r
}

// wantStatus fails the test unless r has status want.
func wantStatus(t *testing.T, r Result, want string) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %s (err %v), want %s\ncommand: %s\ndata: %v", r.Status, r.Err, want, r.Command, r.Data)
	}
}

// wantErr fails the test unless r failed with an error containing each of
// parts.
func wantErr(t *testing.T, r Result, parts ...string) {
	t.Helper()
	if r.Status != Failed || r.Err == nil {
		t.Fatalf("status %s (err %v), want failed", r.Status, r.Err)
	}
	for _, p := range parts {
		if !strings.Contains(r.Err.Error(), p) {
			t.Errorf("error %q does not mention %q", r.Err, p)
		}
	}
}

// fakeT is a scripted Transport: reply answers each command in turn (n
// counts from 0) and every command is kept.
type fakeT struct {
	mu    sync.Mutex
	cmds  []transport.Command
	reply func(n int, c transport.Command) (stdout string, rc int, err error)
}

func (f *fakeT) Run(ctx context.Context, c transport.Command) (transport.Result, error) {
	if err := ctx.Err(); err != nil {
		return transport.Result{}, err
	}
	f.mu.Lock()
	n := len(f.cmds)
	f.cmds = append(f.cmds, c)
	f.mu.Unlock()
	out, rc, err := f.reply(n, c)
	if err != nil {
		return transport.Result{}, err
	}
	if c.Stdout != nil {
		io.WriteString(c.Stdout, out)
	}
	return transport.Result{ExitCode: rc}, nil
}

// lines returns the commands run, each as one line.
func (f *fakeT) lines() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.cmds {
		out = append(out, cmdLine(c))
	}
	return out
}

// cmdLine shows a command as one line: its shell text or its argv.
func cmdLine(c transport.Command) string {
	if c.Shell != "" {
		return c.Shell
	}
	return argvLine(c.Argv)
}

var errFake = errors.New("fake transport: not scripted")

func (f *fakeT) Upload(context.Context, string, io.Reader, fs.FileMode) error { return errFake }
func (f *fakeT) Download(context.Context, string, io.Writer) error            { return errFake }
func (f *fakeT) Stat(context.Context, string) (transport.FileInfo, error) {
	return transport.FileInfo{}, errFake
}
func (f *fakeT) Facts(context.Context) (transport.Facts, error) { return transport.Facts{}, errFake }
func (f *fakeT) Close() error                                   { return nil }

// target is a host the end-to-end tests run steps on, with a scratch
// directory there.
type target struct {
	name    string
	tr      transport.Transport
	become  bool
	scratch func(t *testing.T) string
}

// targets are the hosts end-to-end tests run against: this machine through
// the local transport, with and without become (become needs root or
// passwordless sudo), and the SSH targets of sshTargets.
func targets(t *testing.T) []target {
	t.Helper()
	local := transport.Local()
	t.Cleanup(func() { local.Close() })
	out := []target{{name: "local", tr: local, scratch: func(t *testing.T) string { return t.TempDir() }}}
	if canSudo() {
		out = append(out, target{name: "local-become", tr: local, become: true, scratch: func(t *testing.T) string { return t.TempDir() }})
	}
	return append(out, sshTargets(t)...)
}

var (
	sudoOnce sync.Once
	sudoOK   bool
)

// canSudo reports whether this user may sudo to root without a password.
func canSudo() bool {
	sudoOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := transport.Local().Run(ctx, transport.Command{Argv: []string{"true"}, Become: true})
		sudoOK = err == nil && res.ExitCode == 0
	})
	return sudoOK
}

// isRoot says whether the tests run as root.
func isRoot() bool { return os.Geteuid() == 0 }

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
