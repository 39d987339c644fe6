package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/inventory"
	"github.com/runbookhq/runbook/runbook/journal"
	"github.com/runbookhq/runbook/runbook/transport"
)

// Connector opens a transport to an inventory host. The CLI maps each
// host's transport to its implementation; tests use fakes.
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

// lockHeld is the error of a lock at path on host whose owner file's
// first line is raw.
func lockHeld(host, path, raw string) *LockHeldError {
	held := &LockHeldError{Host: host, Path: path, Raw: raw}
	json.Unmarshal([]byte(raw), &held.Owner)
	return held
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
	// factsGen counts the times facts were gathered (hostvars rebuilds
	// when it moved).
	factsGen atomic.Int64
}

// knownFacts returns the facts gathered from host, if any.
func (p *pool) knownFacts(name string) (transport.Facts, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.conns[name]
	if c == nil || !c.greeted {
		return transport.Facts{}, false
	}
	return c.facts, true
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

// retire closes a finished host's connection. Its facts stay known; a
// later use connects again (and takes the lock again). A connection whose
// lock is still held is kept, for the release to be tried again at the end.
func (p *pool) retire(name string) {
	p.mu.Lock()
	c := p.conns[name]
	if c == nil || c.t == nil || c.locked {
		p.mu.Unlock()
		return
	}
	p.conns[name] = &conn{facts: c.facts, greeted: c.greeted}
	p.mu.Unlock()
	c.t.Close()
}

// retires reports whether finished hosts' connections are closed at once,
// so that a large fleet holds only the connections of the hosts at work,
// and closing them is spread over the run rather than piled up at its end.
// They are kept when a later part of the run may use a
// finished host: a delegate_to step (its host may be any host, at any
// time), a fleet verify phase, or on_failure: rollback_all.
func (e *Engine) retires() bool {
	e.retireOnce.Do(func() {
		if e.rb.OnFailure == runbook.RollbackAll {
			return
		}
		lists := [][]*runbook.Step{}
		for _, ph := range e.rb.Phases {
			if ph.Kind == runbook.KindVerify {
				return
			}
			lists = append(lists, ph.Steps.Steps, ph.Verify.Steps)
		}
		if e.rb.Rollback != nil {
			lists = append(lists, e.rb.Rollback.Steps.Steps)
		}
		for _, list := range lists {
			for _, st := range list {
				if st.DelegateTo != "" {
					return
				}
			}
		}
		e.retire = true
	})
	return e.retire
}

// closeAll closes every connection, all at once: closing one waits for its
// reading goroutines to end, and a thousand such waits in a row would
// hold up the end of the run.
func (p *pool) closeAll() {
	p.mu.Lock()
	var open []transport.Transport
	for _, c := range p.conns {
		if c.t != nil {
			open = append(open, c.t)
		}
	}
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, t := range open {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Close()
		}()
	}
	wg.Wait()
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

// factsScript prints the facts as key=value lines. It reads them with shell
// builtins, from /proc/sys/kernel (arch there needs Linux 6.1) and the
// os-release file, and runs uname only for what /proc does not hold: every
// process it would start costs the host a fork and an exec at each connect.
const factsScript = `h= r= m=
{ read -r h < /proc/sys/kernel/hostname; read -r r < /proc/sys/kernel/osrelease; read -r m < /proc/sys/kernel/arch; } 2>/dev/null
if [ -z "$h" ] || [ -z "$r" ] || [ -z "$m" ]; then
  set -- $(uname -n -r -m 2>/dev/null); h=${h:-$1} r=${r:-$2} m=${m:-$3}
fi
echo "hostname=$h"; echo "kernel=$r"; echo "arch=$m"
id= ver= code=
while IFS='=' read -r k v || [ -n "$k" ]; do
  v=${v#[\"\']}; v=${v%[\"\']}
  case $k in ID) id=$v ;; VERSION_ID) ver=$v ;; VERSION_CODENAME) code=$v ;; esac
  k=
done 2>/dev/null < /etc/os-release
echo "os_id=$id"; echo "os_version_id=$ver"; echo "os_codename=$code"
b=; { read -r b < /proc/sys/kernel/random/boot_id; } 2>/dev/null; echo "boot_id=$b"
`

// readOwner sets $o to the owner of the lock $L: the first line of its
// owner file (one line of JSON), empty when there is none. read is a
// builtin: no fork.
const readOwner = `o=; { IFS= read -r o < "$L/owner"; } 2>/dev/null`

// releaseScript removes the lock $L when its owner file names this run
// (%s is the quoted owner pattern), and exits 1 otherwise. rm replaces the
// shell: one program, no fork.
const releaseScript = readOwner + `; case $o in *%s*) exec rm -rf "$L" ;; *) exit 1 ;; esac`

// takeOwner is the shell that makes owner (JSON) the owner of the lock
// $L: it appends owner's line to the owner file and succeeds only when
// that line is the file's first, leaving $o set to the first line. Appends
// of one short line do not mix, so of two runs that race for a lock (one
// that made the directory and stalled, one that took the directory for
// abandoned meanwhile) exactly one comes first and holds the lock; the
// other finds it held. Builtins only: no fork.
func takeOwner(owner string) string {
	q := runbook.ShellQuote(owner)
	return `{ o=; printf '%s\n' ` + q + ` >> "$L/owner" && { ` + readOwner + `; } && [ "$o" = ` + q + ` ]; }`
}

// lockScript takes the lock at path for owner, or says who holds it: it
// prints lock=acquired, lock=held with owner= (and, when the lock has no
// owner, its age= in seconds), or lock=error. The lock's parent
// directories are created only when the lock cannot be made without them.
func lockScript(path, owner string) string {
	return `L=` + runbook.ShellQuote(path) + `
if mkdir "$L" 2>/dev/null || { mkdir -p "$(dirname "$L")" 2>/dev/null; mkdir "$L" 2>/dev/null; }; then
  if ` + takeOwner(owner) + `; then echo "lock=acquired"; elif [ -n "$o" ]; then echo "lock=held"; echo "owner=$o"; else echo "lock=error"; fi
elif [ -d "$L" ]; then echo "lock=held"; ` + readOwner + `; echo "owner=$o"
  [ -n "$o" ] || { m=$(stat -c %Y "$L" 2>/dev/null) && echo "age=$(($(date +%s) - m))"; }
else echo "lock=error"; mkdir "$L"; fi
`
}

// keyValues reads the key=value lines a lock script prints.
func keyValues(text string) map[string]string {
	kv := map[string]string{}
	for line := range strings.Lines(text) { // no Scanner: its 4 KB buffer a host
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if k, v, ok := strings.Cut(line, "="); ok {
			kv[k] = v
		}
	}
	return kv
}

// hello takes the host's lock (lockScript) and gathers its facts in one
// command.
func (e *Engine) hello(ctx context.Context, h *inventory.Host, t transport.Transport) (transport.Facts, bool, error) {
	owner, _ := json.Marshal(LockOwner{RunID: e.runID, Operator: e.operator, Controller: e.controller, Time: e.now()})
	path := lockPath(h)
	script := lockScript(path, string(owner)) + factsScript
	if e.readOnly() {
		script = "echo lock=none\n" + factsScript // plan --check and a dry run take no lock
	}
	var out, errb capture
	res, err := t.Run(ctx, transport.Command{Shell: script, Inline: true, Become: e.become(nil), BecomeUser: e.rb.BecomeUser,
		Stdout: &out, Stderr: &errb, Timeout: time.Minute})
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return transport.Facts{}, false, fmt.Errorf("gathering facts: no answer within a minute: %w", err)
		}
		return transport.Facts{}, false, err
	}
	text, _ := out.Text(nil)
	kv := keyValues(text)
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
		if raw == "" {
			ok, err := e.claimOwnerless(ctx, h, t, path, string(owner), kv["age"])
			return facts, ok, err
		}
		if json.Unmarshal([]byte(raw), &o) == nil && o.RunID == e.runID {
			// Our own lock: a resumed run re-enters, renewing its owner
			// line the way a break replaces one, so that a run breaking
			// the old line at this moment (it may be older than
			// lock_stale_after) and this run cannot both hold the lock,
			// and the lock is not left to look stale while this run works.
			if err := e.breakLock(ctx, h, t, path, raw, string(owner)); err != nil {
				return facts, false, err
			}
			return facts, true, nil
		}
		held := &LockHeldError{Host: h.Name, Path: path, Owner: o, Raw: raw}
		if e.opts.BreakStaleLocks && !o.Time.IsZero() && e.now().Sub(o.Time) > e.lockStaleAfter() {
			if err := e.breakLock(ctx, h, t, path, raw, string(owner)); err != nil {
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

// ownerlessGrace is how long a lock directory may stand without an owner
// before it is taken as abandoned: the run that made it writes its owner
// file right after, in the same command, unless it was killed in between.
const ownerlessGrace = time.Second

// claimScript makes owner the owner of the lock at path when the lock
// still has none, and says whether it did (claim=taken), or who has it
// (claim=refused, owner=).
func claimScript(path, owner string) string {
	return `L=` + runbook.ShellQuote(path) + `; ` + readOwner + `
if [ -d "$L" ] && [ -z "$o" ] && ` + takeOwner(owner) + `; then echo "claim=taken"; else echo "claim=refused"; echo "owner=$o"; fi
`
}

// claimOwnerless takes a lock that has no owner: a run killed between
// making the lock directory and writing its owner file left it, and no
// run holds it. Unless the directory is older than ownerlessGrace (age is
// its age in seconds on the host, "" when the host could not tell), it
// waits that long first, so that a run taking the lock right now has
// written its owner; it takes the lock only if it still has none.
func (e *Engine) claimOwnerless(ctx context.Context, h *inventory.Host, t transport.Transport, path, owner, age string) (bool, error) {
	// The age is in whole seconds, so 1 may be a millisecond: only an age
	// over the grace spares the wait. A stopping run waits too (a second
	// at most): the host's connection is under way.
	if secs, err := strconv.Atoi(age); err != nil || time.Duration(secs)*time.Second <= ownerlessGrace {
		timer := time.NewTimer(ownerlessGrace)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return false, fmt.Errorf("taking the lock %s, which had no owner: %w", path, ctx.Err())
		}
	}
	var out capture
	_, err := t.Run(ctx, transport.Command{Shell: claimScript(path, owner), Inline: true, Become: e.become(nil), BecomeUser: e.rb.BecomeUser,
		Stdout: &out, Timeout: time.Minute})
	if err != nil {
		return false, fmt.Errorf("taking the lock %s, which had no owner: %w", path, err)
	}
	text, _ := out.Text(nil)
	if !strings.HasPrefix(text, "claim=taken\n") {
		_, raw, _ := strings.Cut(text, "owner=")
		return false, lockHeld(h.Name, path, strings.TrimSuffix(raw, "\n"))
	}
	e.emitMessage(h.Name, fmt.Sprintf("took the lock %s, which had no owner (%s): a run was killed while taking it", path, ageText(age)))
	return true, nil
}

// ageText says how old a lock is, from its age in seconds on the host.
func ageText(age string) string {
	secs, err := strconv.Atoi(age)
	if err != nil {
		return "made at a time the host did not tell"
	}
	return "made " + (time.Duration(secs) * time.Second).String() + " before"
}

// ownerPattern is what a lock's owner file holds when this run owns it.
func ownerPattern(runID string) string { return `"run_id":"` + runID + `"` }

func (e *Engine) lockStaleAfter() time.Duration {
	if d := e.rb.LockStaleAfter.D(); d > 0 {
		return d
	}
	return 6 * time.Hour
}

// breakScript replaces the stale owner (the first line of the lock's owner
// file, as read) with owner, and says whether it did (break=done), or who
// has the lock now (break=refused, owner=). It serves a run breaking a
// stale lock and a resumed run re-entering its own (renewing its line).
// Of the runs that replace one stale owner at once, only the one that
// first links its new owner file to broken-ID (ID names the stale owner:
// a hash of its line) replaces it; the replacement is a rename, so the
// owner file is never empty or half written. A replacement begun by a run
// stopped between the two is finished by that run (the link names it,
// mine being its owner pattern) and by no other: for them, break=stuck.
func breakScript(path, stale, owner, mine string) string {
	token := `"$L/` + breakToken(stale) + `"`
	isStale := `[ "$o" = ` + runbook.ShellQuote(stale) + ` ]`
	write := `printf '%s\n' ` + runbook.ShellQuote(owner) + ` > "$n" || { echo "break=error"; exit 0; }`
	return `L=` + runbook.ShellQuote(path) + `; ` + readOwner + `
` + isStale + ` || { echo "break=refused"; echo "owner=$o"; exit 0; }
n="$L/owner.$$"; ` + write + `
if ! ln "$n" ` + token + ` 2>/dev/null; then
  rm -f "$n"; t=; { IFS= read -r t < ` + token + `; } 2>/dev/null; ` + readOwner + `
  ` + isStale + ` || { echo "break=refused"; echo "owner=$o"; exit 0; }
  case $t in *` + runbook.ShellQuote(mine) + `*) ;; *) echo "break=stuck"; exit 0 ;; esac
  ` + write + `
fi
mv -f "$n" "$L/owner" && { echo "break=done"; exit 0; }
rm -f "$n"; echo "break=error"
`
}

// breakToken is the name, in the lock directory, of the link that the run
// replacing the stale owner stale makes first.
func breakToken(stale string) string {
	sum := sha256.Sum256([]byte(stale))
	return "broken-" + hex.EncodeToString(sum[:8])
}

// breakLock takes the lock at path from its stale owner (stale, the line
// the hello read) for owner: another run's, or this run's own before a
// resume. When another run broke it first, the lock is that run's: a
// LockHeldError names it.
func (e *Engine) breakLock(ctx context.Context, h *inventory.Host, t transport.Transport, path, stale, owner string) error {
	var out capture
	_, err := t.Run(ctx, transport.Command{Shell: breakScript(path, stale, owner, ownerPattern(e.runID)), Become: e.become(nil), BecomeUser: e.rb.BecomeUser,
		Stdout: &out, Timeout: time.Minute})
	if err != nil {
		return fmt.Errorf("break stale lock %s: %w", path, err)
	}
	text, _ := out.Text(nil)
	kv := keyValues(text)
	switch kv["break"] {
	case "done":
		return nil
	case "refused":
		return lockHeld(h.Name, path, kv["owner"])
	case "stuck":
		return fmt.Errorf("break stale lock %s: another run is breaking it, or began to and was stopped; if no run is active, remove the lock by hand", path)
	default:
		return fmt.Errorf("break stale lock %s: could not write its new owner: %s", path, strings.TrimSpace(text))
	}
}

// releaseLock removes the host's lock if this run holds it.
func (e *Engine) releaseLock(ctx context.Context, h *inventory.Host) {
	c := e.pool.get(h.Name)
	if e.opts.DryRun && c.t != nil && e.retires() {
		e.pool.retire(h.Name) // a dry run holds no lock: the host is done
		return
	}
	if !c.locked || c.t == nil || e.durableForRelease(h.Name) != nil {
		return
	}
	path := lockPath(h)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	script := "L=" + runbook.ShellQuote(path) + "; " + fmt.Sprintf(releaseScript, runbook.ShellQuote(ownerPattern(e.runID)))
	res, err := c.t.Run(ctx, transport.Command{Shell: script, Inline: true, Become: e.become(nil), BecomeUser: e.rb.BecomeUser})
	if err == nil && res.ExitCode == 0 {
		c.locked = false
		e.emitLazy(recLock(journal.LockReleased, h.Name, path)) // nothing waits on it: the host is done
		if e.retires() {
			e.pool.retire(h.Name)
		}
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
	if c.locked || (e.readOnly() && c.greeted) {
		return c, nil
	}
	if err := e.durableToLock(h.Name); err != nil {
		return c, err
	}
	facts, locked, err := e.hello(ctx, h, t)
	if err != nil {
		return c, err
	}
	e.pool.mu.Lock() // knownFacts reads them from other hosts' flows
	c.facts, c.locked, c.lock, c.greeted = facts, locked, lockPath(h), true
	e.pool.mu.Unlock()
	e.pool.factsGen.Add(1)
	if locked {
		// Lazy: the host's next action comes after a record that is synced
		// (its first step_started), which takes this one to disk first.
		e.emitLazy(recLock(journal.LockAcquired, h.Name, c.lock))
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
