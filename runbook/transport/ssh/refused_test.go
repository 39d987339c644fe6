package ssh_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/runbookhq/runbook/internal/sshdtest"
	"github.com/runbookhq/runbook/runbook/transport"
	rbssh "github.com/runbookhq/runbook/runbook/transport/ssh"
)

// On a host that allows one session per connection (sshd MaxSessions 1),
// commands one after another all run, though sshd may still count the
// session just closed when the next one is asked for; a second session
// while one is open is refused as ErrSessionRefused, not as unreachable,
// and nothing of it runs.
func TestOneSessionHost(t *testing.T) {
	t.Parallel()
	f := sshdtest.Start(t, sshdtest.WithMaxSessions(1))
	tr := dial(t, rbssh.NewDialer(fleetOptions(f)), target(f.Hosts[0]))
	ctx := context.Background()
	for i := range 20 {
		if res, err := tr.Run(ctx, transport.Command{Argv: []string{"true"}}); err != nil || res.ExitCode != 0 {
			t.Fatalf("command %d: %+v %v", i+1, res, err)
		}
	}
	hold, cancel := context.WithCancel(ctx)
	defer cancel()
	held := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		_, err := tr.Run(hold, transport.Command{Shell: "echo up; exec sleep 30", Stdout: signalWriter(started)})
		held <- err
	}()
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("the first command did not start")
	}
	_, err := tr.Run(ctx, transport.Command{Argv: []string{"true"}})
	if !errors.Is(err, transport.ErrSessionRefused) || errors.Is(err, transport.ErrUnreachable) {
		t.Fatalf("a second session on a one-session host: %v, want ErrSessionRefused", err)
	}
	cancel()
	<-held
	if res, err := tr.Run(ctx, transport.Command{Argv: []string{"true"}}); err != nil || res.ExitCode != 0 {
		t.Fatalf("after the first command ended: %+v %v", res, err)
	}
}

// signalWriter closes ch at the first write.
type signalWriter chan struct{}

func (s signalWriter) Write(p []byte) (int, error) {
	select {
	case <-s:
	default:
		close(s)
	}
	return len(p), nil
}

// On a host that allows one session at a time, the driver holds the only
// session once a command has run through it; a command that needs a
// session of its own (one with standard input) makes the idle driver end,
// and runs; later commands take sessions of their own.
func TestDriverMakesWayOnOneSessionHost(t *testing.T) {
	t.Parallel()
	f := sshdtest.Start(t, sshdtest.WithMaxSessions(1))
	tr := dial(t, rbssh.NewDialer(fleetOptions(f)), target(f.Hosts[0]))
	ctx := context.Background()
	if res, err := tr.Run(ctx, transport.Command{Argv: []string{"true"}}); err != nil || res.ExitCode != 0 {
		t.Fatalf("first command: %+v %v", res, err)
	}
	var out bytes.Buffer
	res, err := tr.Run(ctx, transport.Command{Shell: "cat", Stdin: strings.NewReader("through its own session\n"), Stdout: &out})
	if err != nil || res.ExitCode != 0 || out.String() != "through its own session\n" {
		t.Fatalf("a command with standard input: %+v %v, output %q", res, err, out.String())
	}
	for i := range 3 {
		if res, err := tr.Run(ctx, transport.Command{Argv: []string{"true"}}); err != nil || res.ExitCode != 0 {
			t.Fatalf("command %d after: %+v %v", i+1, res, err)
		}
	}
}
