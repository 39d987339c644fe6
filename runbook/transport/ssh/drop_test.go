package ssh_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runbookhq/runbook/internal/sshdtest"
	"github.com/runbookhq/runbook/runbook/transport"
	rbssh "github.com/runbookhq/runbook/runbook/transport/ssh"
)

// startLong runs a command that marks a file and then sleeps, and returns
// once the file exists; the command's outcome arrives on the channel.
func startLong(t *testing.T, tr transport.Transport, dir string) <-chan error {
	t.Helper()
	marker := filepath.Join(dir, "started")
	done := make(chan error, 1)
	go func() {
		r, err := tr.Run(context.Background(), transport.Command{
			Shell: "touch " + transport.Quote(marker) + "; sleep 30; echo finished",
		})
		if err == nil {
			t.Errorf("a command cut off returned a result: %+v", r)
		}
		done <- err
	}()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := tr.Stat(context.Background(), marker); err == nil {
			return done
		}
	}
	t.Fatal("the command did not start")
	return nil
}

func TestHostKilledDuringCommand(t *testing.T) {
	t.Parallel()
	f := sshdtest.Start(t)
	h := f.Hosts[0]
	tr := dial(t, rbssh.NewDialer(fleetOptions(f)), target(h))
	done := startLong(t, tr, sshdtest.ScratchDir(t, f.User))
	h.Kill()
	select {
	case err := <-done:
		if !errors.Is(err, transport.ErrUnreachable) {
			t.Fatalf("command cut off by a dead host: %v, want ErrUnreachable", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after the host died")
	}
	// While the host is down, every call is unreachable.
	_, err := tr.Run(context.Background(), transport.Command{Shell: "true"})
	if !errors.Is(err, transport.ErrUnreachable) {
		t.Errorf("Run on a dead host: %v, want ErrUnreachable", err)
	}
	if _, err := tr.Stat(context.Background(), "/"); !errors.Is(err, transport.ErrUnreachable) {
		t.Errorf("Stat on a dead host: %v, want ErrUnreachable", err)
	}
	// Once it is back, the next command redials on its own.
	if err := h.Restart(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	r, err := tr.Run(context.Background(), transport.Command{Shell: "echo back", Stdout: &out})
	if err != nil || r.ExitCode != 0 || out.String() != "back\n" {
		t.Fatalf("Run after restart: %v, %+v, %q", err, r, out.String())
	}
	if err := tr.Upload(context.Background(), filepath.Join(sshdtest.ScratchDir(t, f.User), "f"), strings.NewReader("x"), 0o600); err != nil {
		t.Errorf("Upload after restart: %v", err)
	}
}

func TestRedialAfterRestartBetweenCommands(t *testing.T) {
	t.Parallel()
	f := sshdtest.Start(t)
	h := f.Hosts[0]
	tr := dial(t, rbssh.NewDialer(fleetOptions(f)), target(h))
	dir := sshdtest.ScratchDir(t, f.User)
	if err := tr.Upload(context.Background(), filepath.Join(dir, "a"), strings.NewReader("a"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.Kill()
	if err := h.Restart(); err != nil {
		t.Fatal(err)
	}
	// Nothing ran on the dropped connection: the transport redials first.
	if r, err := tr.Run(context.Background(), transport.Command{Shell: "true"}); err != nil || r.ExitCode != 0 {
		t.Fatalf("Run after a restart between commands: %v %+v", err, r)
	}
	h.Kill()
	if err := h.Restart(); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Stat(context.Background(), filepath.Join(dir, "a")); err != nil {
		t.Fatalf("Stat after a restart between calls: %v", err)
	}
}

func TestKeepaliveDetectsHungHost(t *testing.T) {
	t.Parallel()
	f := sshdtest.Start(t)
	h := f.Hosts[0]
	opts := fleetOptions(f)
	opts.KeepaliveInterval = 100 * time.Millisecond
	tr := dial(t, rbssh.NewDialer(opts), target(h))
	done := startLong(t, tr, sshdtest.ScratchDir(t, f.User))
	h.Pause()
	defer h.Resume()
	select {
	case err := <-done:
		if !errors.Is(err, transport.ErrUnreachable) {
			t.Fatalf("command on a hung host: %v, want ErrUnreachable", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return while the host hung; keepalives did not notice")
	}
	h.Resume()
	if r, err := tr.Run(context.Background(), transport.Command{Shell: "true"}); err != nil || r.ExitCode != 0 {
		t.Fatalf("Run once the host answers again: %v %+v", err, r)
	}
}

func TestDialFailuresAreUnreachable(t *testing.T) {
	t.Parallel()
	f := sshdtest.Start(t)
	h := f.Hosts[0]
	d := rbssh.NewDialer(fleetOptions(f))
	h.Pause()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := d.Dial(ctx, target(h))
	if !errors.Is(err, transport.ErrUnreachable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Dial to a hung host: %v, want ErrUnreachable and DeadlineExceeded", err)
	}
	h.Resume()
	h.Kill()
	_, err = d.Dial(context.Background(), target(h))
	if !errors.Is(err, transport.ErrUnreachable) || !strings.Contains(err.Error(), h.Name) {
		t.Errorf("Dial to a stopped host: %v, want ErrUnreachable naming %s", err, h.Name)
	}
	if _, err := d.Dial(context.Background(), rbssh.Target{}); err == nil || errors.Is(err, transport.ErrUnreachable) {
		t.Errorf("Dial to an empty target: %v, want a plain error", err)
	}
}
