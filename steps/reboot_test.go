package steps

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook/transport"
)

// fakeHost reboots: after the reboot command it is unreachable for down
// boot-id reads, then answers with a new boot id.
type fakeHost struct {
	mu       sync.Mutex
	bootID   string
	down     int  // reads left that fail while the host is down
	rebooted bool // the reboot command was seen
	dropOnIt bool // the reboot command itself loses the connection
	ignore   bool // the host never actually reboots
	rebootRC int
}

func (h *fakeHost) reply(_ int, c transport.Command) (string, int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case c.Shell == rebootScript:
		if !c.Become {
			return "", 1, nil
		}
		h.rebooted = true
		if h.dropOnIt {
			return "", 0, transport.Unreachable("host1", errFake)
		}
		return "", h.rebootRC, nil
	case len(c.Argv) == 2 && c.Argv[0] == "cat" && c.Argv[1] == bootIDFile:
		if c.Become {
			return "", 1, nil
		}
		if h.rebooted && !h.ignore {
			if h.down > 0 {
				h.down--
				return "", 0, transport.Unreachable("host1", errFake)
			}
			h.bootID, h.rebooted = "b2-after", false
		}
		return h.bootID + "\n", 0, nil
	}
	return "", 127, nil
}

func TestReboot(t *testing.T) {
	defer func(d time.Duration) { rebootPoll = d }(rebootPoll)
	rebootPoll = time.Millisecond
	for _, tc := range []struct {
		name   string
		step   string
		host   *fakeHost
		status string
		err    string
	}{
		{name: "comes back", step: `reboot:`, host: &fakeHost{bootID: "b1", down: 5}, status: Changed},
		{name: "connection drops on the command", step: `reboot: {}`, host: &fakeHost{bootID: "b1", down: 2, dropOnIt: true}, status: Changed},
		{name: "never goes down", step: `reboot: {timeout: 30ms}`, host: &fakeHost{bootID: "b1", ignore: true}, status: Failed,
			err: "reboot: the boot id is still b1 after"},
		{name: "never comes back", step: `reboot: {timeout: 30ms}`, host: &fakeHost{bootID: "b1", down: 1 << 30}, status: Failed,
			err: "reboot: the host is not back after"},
		{name: "reboot refused", step: `reboot:`, host: &fakeHost{bootID: "b1", rebootRC: 1}, status: Failed,
			err: "reboot: starting the reboot: exit 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeT{reply: tc.host.reply}
			x := newExec(t, f, true)
			r := run(t, mustKind(t, tc.step), x)
			if r.Status != tc.status {
				t.Fatalf("status %s (%v), want %s; ran %q", r.Status, r.Err, tc.status, f.lines())
			}
			if r.Data["boot_id_before"] != "b1" {
				t.Errorf("data %v", r.Data)
			}
			if tc.status == Changed && r.Data["boot_id_after"] != "b2-after" {
				t.Errorf("boot_id_after %v", r.Data["boot_id_after"])
			}
			if tc.err != "" && (r.Err == nil || !strings.Contains(r.Err.Error(), tc.err)) {
				t.Errorf("error %v, want %q", r.Err, tc.err)
			}
		})
	}
}

// TestRebootScript runs the reboot command for real, with a systemctl
// that only leaves a mark: the command returns at once, and the "reboot"
// happens after it, detached from the session.
func TestRebootScript(t *testing.T) {
	bin, mark := t.TempDir(), filepath.Join(t.TempDir(), "rebooted")
	script := "#!/bin/sh\necho \"$@\" > " + mark + "\n"
	if err := os.WriteFile(filepath.Join(bin, "systemctl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	tr := transport.Local()
	defer tr.Close()
	ctx, cancel := contextWithTimeout(30 * time.Second)
	defer cancel()
	start := time.Now()
	res, err := tr.Run(ctx, transport.Command{Shell: rebootScript, Env: map[string]string{"PATH": bin + ":" + os.Getenv("PATH")}})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("reboot command: %v, exit %d", err, res.ExitCode)
	}
	// The command returns before the reboot: no mark yet. (No bound on
	// its duration: on a loaded machine a shell may take seconds.)
	if _, err := os.Stat(mark); err == nil {
		t.Error("rebooted before the command returned")
	}
	for time.Since(start) < time.Minute {
		if b, err := os.ReadFile(mark); err == nil {
			if string(b) != "reboot\n" {
				t.Errorf("systemctl got %q", b)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Error("the background reboot never ran")
}

func TestRebootWaitsAfter(t *testing.T) {
	defer func(d time.Duration) { rebootPoll = d }(rebootPoll)
	rebootPoll = time.Millisecond
	h := &fakeHost{bootID: "b1"}
	x := newExec(t, &fakeT{reply: h.reply}, true)
	start := time.Now()
	wantStatus(t, run(t, mustKind(t, `reboot: {wait: 200ms}`), x), Changed)
	if time.Since(start) < 200*time.Millisecond {
		t.Error("wait: was not waited")
	}
}

// TestRebootEndsWithinStepTimeout checks that when the step's own timeout
// (the context) ends first, reboot still says what it saw.
func TestRebootEndsWithinStepTimeout(t *testing.T) {
	defer func(d time.Duration) { rebootPoll = d }(rebootPoll)
	rebootPoll = 5 * time.Millisecond
	h := &fakeHost{bootID: "b1", down: 1 << 30}
	x := newExec(t, &fakeT{reply: h.reply}, true)
	ctx, cancel := contextWithTimeout(2 * time.Second)
	defer cancel()
	r := mustKind(t, `reboot: {timeout: 1h}`).Run(ctx, x)
	wantErr(t, r, "reboot: the host is not back after", "unreachable")
}
