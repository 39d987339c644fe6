package containers

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/transport"
	rbssh "github.com/runbookhq/runbook/runbook/transport/ssh"
	"github.com/runbookhq/runbook/steps"
)

// The step kinds that touch an operating system, proved on real Debian
// nodes: these tests run each kind over runbook's own SSH transport, as
// runbook runs it, and check its effect on the node.

var (
	shared     *Lab
	sharedErr  error
	sharedOnce sync.Once
)

// stepNodes are the nodes of the lab the step tests share, one per test
// that changes a node.
var stepNodes = []string{"apt", "svc", "files"}

// sharedLab starts, once for the package's tests, a lab of stepNodes; it
// is stopped (and checked for leftovers) by TestMain.
func sharedLab(t *testing.T) *Lab {
	t.Helper()
	needContainers(t)
	sharedOnce.Do(func() {
		dir, err := mkdirTemp("runbook-steps-lab-")
		if err != nil {
			sharedErr = err
			return
		}
		base := testAddressBase(t)
		var specs []NodeSpec
		for i, n := range stepNodes {
			specs = append(specs, NodeSpec{Name: n, Address: base + itoa(i+1)})
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		shared, sharedErr = Start(ctx, Options{Dir: dir, Nodes: specs})
	})
	if sharedErr != nil {
		t.Fatalf("the step tests' lab: %v", sharedErr)
	}
	return shared
}

// stepHost is one node reached as runbook reaches it, with what the
// engine keeps between steps (backups, snapshots).
type stepHost struct {
	t   *testing.T
	tr  transport.Transport
	x   *steps.Exec
	out *lockedBuilder

	backups map[string]steps.BackupRecord
}

// dialStepHost logs in to node as user through runbook's SSH transport;
// becomePass is the sudo password, when the user's sudo asks for one.
func dialStepHost(t *testing.T, l *Lab, node, user string, becomePass []byte) *stepHost {
	t.Helper()
	d := rbssh.NewDialer(rbssh.Options{KnownHostsFiles: []string{l.KnownHostsFile()}, SSHConfigFile: "none",
		AgentSocket: "none", BecomePassword: becomePass})
	t.Cleanup(func() { d.Close() })
	addr, port, err := l.Addr(node)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := d.Dial(context.Background(), rbssh.Target{Name: node, Address: addr, Port: port, User: user,
		IdentityFile: l.IdentityFile(), ProxyJump: "none"})
	if err != nil {
		t.Fatalf("dial %s: %v", node, err)
	}
	t.Cleanup(func() { tr.Close() })
	h := &stepHost{t: t, tr: tr, out: &lockedBuilder{}, backups: map[string]steps.BackupRecord{}}
	h.x = &steps.Exec{Host: node, RunsOn: node, T: tr, Become: true, Timeout: 3 * time.Minute,
		Stdout: h.out, Stderr: h.out, RunID: "20260101-000000-containers-0001", RunDir: t.TempDir(), BaseDir: t.TempDir()}
	r := &runbook.Renderer{Env: map[string]any{"host": map[string]any{"name": node, "address": addr}}}
	h.x.Render = r.Render
	h.x.Snapshot = func(string) (string, bool) { return "", false }
	h.x.SnapshotCommand = func(string) (string, bool) { return "", false }
	h.x.Backup = func(n string) (steps.BackupRecord, bool) { b, ok := h.backups[n]; return b, ok }
	return h
}

// step parses one step (YAML of a list item), renders and runs it, and
// fails the test unless its status is want.
func (h *stepHost) step(src, want string) steps.Result {
	h.t.Helper()
	res := h.try(src)
	if res.Status != want {
		h.t.Fatalf("%s: %s (%v), want %s\n%s", src, res.Status, res.Err, want, h.out.tail(3000))
	}
	return res
}

// try runs one step and returns its result, whatever it is.
func (h *stepHost) try(src string) steps.Result { return h.exec(src, false) }

// predict runs one step in check mode.
func (h *stepHost) predict(src string) steps.Result { return h.exec(src, true) }

func (h *stepHost) exec(src string, check bool) steps.Result {
	h.t.Helper()
	doc := "runbook: t\ntargets: all\nphases:\n  - name: p\n    kind: verify\n    steps:\n      - " + src + "\n"
	rb, _, err := runbook.Parse("t.yaml", []byte(doc), nil)
	if err != nil {
		h.t.Fatalf("%s: %v", src, err)
	}
	spec, err := runbook.RenderSpec(rb.Phases[0].Steps.Steps[0].Spec, &runbook.Renderer{Env: map[string]any{}})
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var res steps.Result
	if check {
		p, ok := spec.(steps.Predictor)
		if !ok {
			h.t.Fatalf("%s cannot predict", src)
		}
		res = p.Predict(ctx, h.x)
	} else {
		res = spec.(steps.Kind).Run(ctx, h.x)
	}
	if name, rec, ok := steps.BackupFromData(res.Data); ok {
		h.backups[name] = rec
	}
	return res
}

// sh runs a command on the node as root and returns its output; a
// failure fails the test.
func (h *stepHost) sh(cmd string) string {
	h.t.Helper()
	out, errOut, rc, err := h.x.Output(context.Background(), transport.Command{Shell: cmd, Become: true})
	if err != nil || rc != 0 {
		h.t.Fatalf("%s: rc %d, %v\n%s%s", cmd, rc, err, out, errOut)
	}
	return out
}

type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *lockedBuilder) tail(n int) string {
	s := l.String()
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return s
}

func fmtAny(v any) string { return fmt.Sprint(v) }
