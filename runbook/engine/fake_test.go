package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/inventory"
	"github.com/runbookhq/runbook/runbook/journal"
	"github.com/runbookhq/runbook/runbook/transport"
	_ "github.com/runbookhq/runbook/steps"
)

// fakeFleet is a scripted fleet: every command any host runs is logged and
// answered by reply. Locks and facts are simulated like a real host does
// them, from the engine's own scripts.
type fakeFleet struct {
	mu       sync.Mutex
	log      []string          // "host: command"
	locks    map[string]string // host -> owner JSON
	reply    func(host, cmd string) (stdout string, rc int, err error)
	facts    map[string]string // host -> os_id override
	counts   map[string]int
	releases int // locks released
	// readOnlyHellos counts the hellos that took no lock (facts only).
	readOnlyHellos int
	// beforeHello, when set, is called before a host's lock-and-facts hello.
	beforeHello func(host string)
	// ownerlessAge is the age the hello reports of a lock held with no
	// owner (locks[host] == ""); claims counts such locks taken.
	ownerlessAge string
	claims       int
	beforeClaim  func(host string)
	// breaks counts stale locks broken.
	breaks      int
	beforeBreak func(host string)
	// down, while set, makes every host run nothing (what a killed
	// controller would have sent next): a command waits until down is
	// closed, then fails unreachable.
	down chan struct{}
}

func newFakeFleet(reply func(host, cmd string) (string, int, error)) *fakeFleet {
	return &fakeFleet{locks: map[string]string{}, reply: reply, facts: map[string]string{}, counts: map[string]int{}}
}

var (
	ownerRe = regexp.MustCompile(`printf '%s\\n' '(\{[^']*\})'`)
	staleRe = regexp.MustCompile(`\[ "\$o" = '(\{[^']*\})' \]`)
	runIDRe = regexp.MustCompile(`"run_id":"([^"]*)"`)
)

func (f *fakeFleet) Connect(_ context.Context, h *inventory.Host) (transport.Transport, error) {
	return &fakeTransport{f: f, host: h.Name}, nil
}

// ran lists the commands host ran (without the engine's lock scripts).
func (f *fakeFleet) ran(host string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, l := range f.log {
		if h, cmd, _ := strings.Cut(l, ": "); h == host {
			out = append(out, cmd)
		}
	}
	return out
}

// times is how many times host ran cmd so far (a reply may ask).
func (f *fakeFleet) times(host, cmd string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts[host+": "+cmd]
}

func (f *fakeFleet) count(cmd string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, l := range f.log {
		if _, c, _ := strings.Cut(l, ": "); c == cmd {
			n++
		}
	}
	return n
}

type fakeTransport struct {
	f    *fakeFleet
	host string
}

func (t *fakeTransport) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	text := cmd.Shell
	if text == "" {
		text = strings.Join(cmd.Argv, " ")
	}
	f := t.f
	f.mu.Lock()
	down := f.down
	f.mu.Unlock()
	if down != nil {
		<-down
		return transport.Result{}, transport.Unreachable(t.host, errors.New("the controller is gone"))
	}
	switch {
	case strings.Contains(text, `echo "lock=acquired"`):
		// The hello: take the lock, print the facts.
		if f.beforeHello != nil {
			f.beforeHello(t.host)
		}
		owner := ownerRe.FindStringSubmatch(text)[1]
		f.mu.Lock()
		lock := "acquired"
		if cur, held := f.locks[t.host]; held && cur != owner {
			lock = "held\nowner=" + cur
			if cur == "" && f.ownerlessAge != "" {
				lock += "\nage=" + f.ownerlessAge
			}
		} else {
			f.locks[t.host] = owner
		}
		osID := "ubuntu"
		if v, ok := f.facts[t.host]; ok {
			osID = v
		}
		f.mu.Unlock()
		fmt.Fprintf(cmd.Stdout, "lock=%s\nhostname=%s\nos_id=%s\nos_version_id=22.04\nos_codename=jammy\nkernel=5.15.0-91-generic\narch=x86_64\nboot_id=b-%s\n", lock, t.host, osID, t.host)
		return transport.Result{}, nil
	case strings.Contains(text, `echo "claim=taken"`):
		// Taking a lock without an owner.
		if f.beforeClaim != nil {
			f.beforeClaim(t.host)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if cur, held := f.locks[t.host]; held && cur == "" {
			f.locks[t.host] = ownerRe.FindStringSubmatch(text)[1]
			f.claims++
			io.WriteString(cmd.Stdout, "claim=taken\n")
		} else {
			fmt.Fprintf(cmd.Stdout, "claim=refused\nowner=%s\n", cur)
		}
		return transport.Result{}, nil
	case strings.Contains(text, `echo "break=done"`):
		// Breaking a stale lock: its owner is replaced only if it is
		// still the stale one the hello read.
		stale := staleRe.FindStringSubmatch(text)[1]
		if f.beforeBreak != nil {
			f.beforeBreak(t.host)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if cur := f.locks[t.host]; cur != stale {
			fmt.Fprintf(cmd.Stdout, "break=refused\nowner=%s\n", cur)
			return transport.Result{}, nil
		}
		f.locks[t.host] = ownerRe.FindStringSubmatch(text)[1]
		f.breaks++
		io.WriteString(cmd.Stdout, "break=done\n")
		return transport.Result{}, nil
	case strings.HasPrefix(text, "echo lock=none\n"):
		// The read-only hello of plan --check and a dry run: facts only.
		f.mu.Lock()
		f.readOnlyHellos++
		f.mu.Unlock()
		fmt.Fprintf(cmd.Stdout, "lock=none\nhostname=%s\nos_id=ubuntu\nos_version_id=22.04\nos_codename=jammy\nkernel=5.15.0-91-generic\narch=x86_64\nboot_id=b-%s\n", t.host, t.host)
		return transport.Result{}, nil
	case strings.Contains(text, `rm -rf "$L"`):
		f.mu.Lock()
		defer f.mu.Unlock()
		id := runIDRe.FindStringSubmatch(f.locks[t.host])
		if id == nil || !strings.Contains(text, `"run_id":"`+id[1]+`"`) {
			return transport.Result{ExitCode: 1}, nil
		}
		delete(f.locks, t.host)
		f.releases++
		return transport.Result{}, nil
	}
	f.mu.Lock()
	f.log = append(f.log, t.host+": "+text)
	f.counts[t.host+": "+text]++
	f.mu.Unlock()
	out, rc, err := f.reply(t.host, text)
	if err != nil {
		return transport.Result{}, err
	}
	if cmd.Stdout != nil {
		io.WriteString(cmd.Stdout, out)
	}
	return transport.Result{ExitCode: rc}, nil
}

func (t *fakeTransport) Upload(context.Context, string, io.Reader, fs.FileMode) error { return nil }
func (t *fakeTransport) Download(context.Context, string, io.Writer) error            { return nil }
func (t *fakeTransport) Stat(context.Context, string) (transport.FileInfo, error) {
	return transport.FileInfo{}, fs.ErrNotExist
}
func (t *fakeTransport) Facts(context.Context) (transport.Facts, error) {
	return transport.Facts{}, nil
}
func (t *fakeTransport) Close() error { return nil }

// okReply answers every command with rc 0 and no output.
func okReply(string, string) (string, int, error) { return "", 0, nil }

// failOn fails cmd on the hosts given.
func failOn(cmd string, hosts ...string) func(string, string) (string, int, error) {
	return func(host, c string) (string, int, error) {
		if c == cmd {
			for _, h := range hosts {
				if h == host {
					return "boom", 1, nil
				}
			}
		}
		return "", 0, nil
	}
}

const fleetInventory = `all:
  children:
    control_plane:
      hosts:
        cp-1:
    workers:
      hosts:
        worker-[1:6]:
`

func loadRunbook(t *testing.T, src string) *runbook.Runbook {
	t.Helper()
	rb, _, err := runbook.Parse("rb.yaml", []byte(src), nil)
	if err != nil {
		t.Fatalf("runbook: %v", err)
	}
	return rb
}

func loadInventory(t *testing.T, src string) *inventory.Inventory {
	t.Helper()
	inv, err := inventory.Parse("inv.yaml", []byte(src))
	if err != nil {
		t.Fatalf("inventory: %v", err)
	}
	return inv
}

type approver struct {
	answer bool
	err    error
	asked  []string
}

func (a *approver) Approve(_ context.Context, prompt string) (bool, string, error) {
	a.asked = append(a.asked, prompt)
	return a.answer, "test", a.err
}

type runResult struct {
	res     *Result
	err     error
	records []journal.Record
}

func (r runResult) outcomes() map[string]string {
	out := map[string]string{}
	for _, rec := range r.records {
		if rec.Type == journal.HostFinished {
			out[rec.Host] = rec.Outcome
		}
	}
	return out
}

func runFake(t *testing.T, rbSrc string, f *fakeFleet, mod func(*Options)) runResult {
	t.Helper()
	state := t.TempDir()
	opts := Options{Runbook: loadRunbook(t, rbSrc), Inventory: loadInventory(t, fleetInventory), StateDir: state,
		Connector: f, Approver: &approver{answer: true}, Operator: "tester", Now: time.Now}
	if mod != nil {
		mod(&opts)
	}
	e, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	res, err := e.Start(context.Background())
	if res == nil {
		t.Fatalf("Start: %v", err)
	}
	log, rerr := journal.ReadFile(res.Journal)
	if rerr != nil {
		t.Fatal(rerr)
	}
	return runResult{res: res, err: err, records: log.Records}
}

// resumeFake resumes run id of state on the fleet, approving, as tester.
func resumeFake(ctx context.Context, t *testing.T, state string, f *fakeFleet, id string) (*Result, error) {
	t.Helper()
	e, err := Resume(ctx, ResumeOptions{Options: Options{StateDir: state, Connector: f,
		Approver: &approver{answer: true}, Operator: "tester"}, RunID: id})
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	return e.Continue(ctx)
}

// checkResumedJournal checks the journal of a run that was interrupted and
// resumed: every step that finished has one result, and the hosts'
// outcomes are want.
func checkResumedJournal(t *testing.T, path string, want map[string]string) {
	t.Helper()
	log, err := journal.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	finals := map[string]int{}
	outcomes := map[string]string{}
	for _, rec := range log.Records {
		switch {
		case rec.Type == journal.StepFinished && rec.Final:
			finals[rec.Host+" "+rec.StepID]++
		case rec.Type == journal.HostFinished:
			outcomes[rec.Host] = rec.Outcome
		}
	}
	for k, c := range finals {
		if c != 1 {
			t.Errorf("%s finished %d times", k, c)
		}
	}
	if !maps.Equal(outcomes, want) {
		t.Errorf("outcomes %v, want %v", outcomes, want)
	}
}

func wantRunError(t *testing.T, err error, status string) *RunError {
	t.Helper()
	var re *RunError
	if !errors.As(err, &re) || re.Result.Status != status {
		t.Fatalf("want a %s run, got err %v", status, err)
	}
	return re
}
