package engine

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/inventory"
	"github.com/runbookhq/runbook/runbook/journal"
	"github.com/runbookhq/runbook/runbook/transport"
)

// Connector opens a transport to an inventory host. The CLI maps each
// transport kind (ssh, lab, local) to its implementation; tests use fakes.
type Connector interface {
	Connect(ctx context.Context, h *inventory.Host) (transport.Transport, error)
}

// DefaultLockPath is where a host's run lock lives unless the inventory var
// lock_path says otherwise.
const DefaultLockPath = "/var/lib/runbook/lock"

// LockOwner is what the lock's owner file holds.
type LockOwner struct {
	RunID      string    `json:"run_id"`
	Operator   string    `json:"operator"`
	Controller string    `json:"controller"`
	Time       time.Time `json:"time"`
}

// LockHeldError says a host is locked by another run (exit 4).
type LockHeldError struct {
	Host  string
	Path  string
	Owner LockOwner
	Raw   string
}

func (e *LockHeldError) Error() string {
	if e.Owner.RunID == "" {
		return fmt.Sprintf("%s: locked by another run (%s holds %q); wait for it, or remove the lock if no run is active", e.Host, e.Path, e.Raw)
	}
	return fmt.Sprintf("%s: locked by run %s of %s on %s since %s (%s); wait for it to finish, or use --break-stale-locks once it is older than lock_stale_after",
		e.Host, e.Owner.RunID, e.Owner.Operator, e.Owner.Controller, e.Owner.Time.Format(time.RFC3339), e.Path)
}

// conn is the engine's connection to one host.
type conn struct {
	once    sync.Once
	t       transport.Transport
	facts   transport.Facts
	err     error
	locked  bool
	lock    string
	greeted bool // facts gathered
}

// pool holds one connection per host for the whole run.
type pool struct {
	mu    sync.Mutex
	conns map[string]*conn
	e     *Engine
}

func newPool(e *Engine) *pool { return &pool{conns: map[string]*conn{}, e: e} }

func (p *pool) get(name string) *conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.conns[name]
	if c == nil {
		c = &conn{}
		p.conns[name] = c
	}
	return c
}

// transport returns a connection to host h (dialled on first use), without
// taking its lock (for delegate_to targets).
func (p *pool) transport(ctx context.Context, h *inventory.Host) (transport.Transport, error) {
	c := p.get(h.Name)
	c.once.Do(func() {
		c.t, c.err = p.e.opts.Connector.Connect(ctx, h)
	})
	return c.t, c.err
}

// closeAll closes every connection.
func (p *pool) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		if c.t != nil {
			c.t.Close()
		}
	}
}

// lockPath is the lock directory of h.
func lockPath(h *inventory.Host) string {
	if v, ok := h.Vars["lock_path"]; ok {
		if s := runbook.Stringify(v); s != "" {
			return s
		}
	}
	return DefaultLockPath
}

// hello takes the host's lock and gathers its facts in one round trip.
func (e *Engine) hello(ctx context.Context, h *inventory.Host, t transport.Transport) (transport.Facts, bool, error) {
	owner, _ := json.Marshal(LockOwner{RunID: e.runID, Operator: e.operator, Controller: e.controller, Time: e.now()})
	path := lockPath(h)
	lock := fmt.Sprintf(`L=%s
mkdir -p "$(dirname "$L")" 2>/dev/null
if mkdir "$L" 2>/dev/null; then printf '%%s\n' %s > "$L/owner" && echo "lock=acquired" || echo "lock=error"
else echo "lock=held"; echo "owner=$(head -n 1 "$L/owner" 2>/dev/null)"; fi
`, runbook.ShellQuote(path), runbook.ShellQuote(string(owner)))
	if e.opts.CheckOnly {
		lock = "echo lock=none\n" // read-only: plan --check takes no lock
	}
	script := lock + `echo "hostname=$(hostname)"
echo "os_id=$(sed -n 's/^ID=//p' /etc/os-release | tr -d '"')"
echo "os_version_id=$(sed -n 's/^VERSION_ID=//p' /etc/os-release | tr -d '"')"
echo "os_codename=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release | tr -d '"')"
echo "kernel=$(uname -r)"
echo "arch=$(uname -m)"
echo "boot_id=$(cat /proc/sys/kernel/random/boot_id)"
`
	var out, errb capture
	res, err := t.Run(ctx, transport.Command{Shell: script, Become: e.become(nil), BecomeUser: e.rb.BecomeUser,
		Stdout: &out, Stderr: &errb, Timeout: time.Minute})
	if err != nil {
		return transport.Facts{}, false, err
	}
	text, _ := out.Text(nil)
	kv := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			kv[k] = v
		}
	}
	if res.ExitCode != 0 && kv["lock"] == "" {
		stderr, _ := errb.Text(nil)
		return transport.Facts{}, false, fmt.Errorf("gathering facts failed (exit %d): %s", res.ExitCode, strings.TrimSpace(stderr))
	}
	facts := transport.Facts{Hostname: kv["hostname"], OSID: kv["os_id"], OSVersion: kv["os_version_id"],
		OSCodename: kv["os_codename"], Kernel: kv["kernel"], Arch: kv["arch"], BootID: kv["boot_id"]}
	switch kv["lock"] {
	case "none":
		return facts, false, nil
	case "acquired":
		return facts, true, nil
	case "held":
		var o LockOwner
		raw := kv["owner"]
		if json.Unmarshal([]byte(raw), &o) == nil && o.RunID == e.runID {
			return facts, true, nil // our own lock: a resumed run re-enters
		}
		held := &LockHeldError{Host: h.Name, Path: path, Owner: o, Raw: raw}
		if e.opts.BreakStaleLocks && !o.Time.IsZero() && e.now().Sub(o.Time) > e.lockStaleAfter() {
			if err := e.breakLock(ctx, t, path, string(owner)); err != nil {
				return facts, false, err
			}
			e.emitMessage(h.Name, fmt.Sprintf("broke stale lock %s of run %s (taken %s)", path, o.RunID, o.Time.Format(time.RFC3339)))
			return facts, true, nil
		}
		return facts, false, held
	default:
		stderr, _ := errb.Text(nil)
		return facts, false, fmt.Errorf("could not take the run lock %s: %s", path, strings.TrimSpace(stderr))
	}
}

func (e *Engine) lockStaleAfter() time.Duration {
	if d := e.rb.LockStaleAfter.D(); d > 0 {
		return d
	}
	return 6 * time.Hour
}

func (e *Engine) breakLock(ctx context.Context, t transport.Transport, path, owner string) error {
	script := fmt.Sprintf("printf '%%s\\n' %s > %s/owner", runbook.ShellQuote(owner), runbook.ShellQuote(path))
	res, err := t.Run(ctx, transport.Command{Shell: script, Become: e.become(nil), BecomeUser: e.rb.BecomeUser, Timeout: time.Minute})
	if err == nil && res.ExitCode != 0 {
		err = fmt.Errorf("exit status %d", res.ExitCode)
	}
	if err != nil {
		return fmt.Errorf("break stale lock %s: %w", path, err)
	}
	return nil
}

// releaseLock removes the host's lock if this run holds it.
func (e *Engine) releaseLock(ctx context.Context, h *inventory.Host) {
	c := e.pool.get(h.Name)
	if !c.locked || c.t == nil {
		return
	}
	path := lockPath(h)
	script := fmt.Sprintf(`L=%s; grep -q %s "$L/owner" 2>/dev/null && rm -rf "$L"`, runbook.ShellQuote(path), runbook.ShellQuote(`"run_id":"`+e.runID+`"`))
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	res, err := c.t.Run(ctx, transport.Command{Shell: script, Become: e.become(nil), BecomeUser: e.rb.BecomeUser})
	if err == nil && res.ExitCode == 0 {
		c.locked = false
		e.emit(recLock(journal.LockReleased, h.Name, path))
	}
}

// connectHost connects to a target host, takes its lock and gathers its
// facts, unless this run holds its lock already. Only the host's own flow
// calls it, so it needs no locking of its own.
func (e *Engine) connectHost(ctx context.Context, h *inventory.Host) (*conn, error) {
	c := e.pool.get(h.Name)
	t, err := e.pool.transport(ctx, h)
	if err != nil {
		return c, transport.Unreachable(h.Name, err)
	}
	if c.locked || (e.opts.CheckOnly && c.greeted) {
		return c, nil
	}
	facts, locked, err := e.hello(ctx, h, t)
	if err != nil {
		return c, err
	}
	c.facts, c.locked, c.lock, c.greeted = facts, locked, lockPath(h), true
	if locked {
		e.emit(recLock(journal.LockAcquired, h.Name, c.lock))
	}
	return c, nil
}

// checkRequires compares facts with the runbook's requires.
func (e *Engine) checkRequires(f transport.Facts) error {
	r := e.rb.Requires
	if r == nil {
		return nil
	}
	var bad []string
	if r.OS != "" && !strings.EqualFold(r.OS, f.OSID) {
		bad = append(bad, fmt.Sprintf("os is %q, the runbook requires %q", f.OSID, r.OS))
	}
	if r.Version != "" && r.Version != f.OSVersion {
		bad = append(bad, fmt.Sprintf("os version is %q, the runbook requires %q", f.OSVersion, r.Version))
	}
	if r.Arch != "" && r.Arch != f.Arch {
		bad = append(bad, fmt.Sprintf("arch is %q, the runbook requires %q", f.Arch, r.Arch))
	}
	if len(bad) > 0 {
		return errors.New("requires: " + strings.Join(bad, "; "))
	}
	return nil
}
