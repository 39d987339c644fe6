package ssh_test

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runbookhq/runbook/internal/sshdtest"
	"github.com/runbookhq/runbook/runbook/transport"
	rbssh "github.com/runbookhq/runbook/runbook/transport/ssh"
)

// processList returns every process's command line on this machine, which
// the test hosts share, once one of them contains running (the command
// under test may not have reached it yet when its marker appears).
func processList(t *testing.T, running string) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		out, err := exec.Command("ps", "-eo", "args").Output()
		if err != nil {
			t.Fatalf("ps: %v", err)
		}
		if strings.Contains(string(out), running) {
			return string(out)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q is not in the process list, so the check proves nothing:\n%s", running, out)
		}
	}
}

// whileRunning starts cmd, waits until marker exists on the host, calls
// check, then cancels the command.
func whileRunning(t *testing.T, tr transport.Transport, cmd transport.Command, marker string, check func()) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	done := make(chan error, 1)
	go func() {
		_, err := tr.Run(ctx, cmd)
		done <- err
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := tr.Stat(context.Background(), marker); err == nil {
			break
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("command ended before %s appeared: %v; stderr %q", marker, err, errOut.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("%s did not appear; stderr %q", marker, errOut.String())
		}
	}
	check()
	cancel()
	<-done
	return out.String(), errOut.String()
}

func TestSudoWithPassword(t *testing.T) {
	t.Parallel()
	pwUser := sshdtest.PasswordSudoUser(t) // skips unless root
	f := sshdtest.Start(t)
	h := f.Hosts[0]
	pw := string(pwUser.Password)
	tg := target(h)
	tg.User = pwUser.Name
	dir := sshdtest.ScratchDir(t, pwUser.Name)

	opts := fleetOptions(f)
	tr := dial(t, rbssh.NewDialer(opts), tg)
	var errOut bytes.Buffer
	r, err := tr.Run(context.Background(), transport.Command{Shell: "id -u", Become: true, Stderr: &errOut})
	if err != nil || r.ExitCode == 0 || !strings.Contains(errOut.String(), "password") {
		t.Errorf("become with no password set: %v, exit %d, stderr %q; want sudo's refusal", err, r.ExitCode, errOut.String())
	}

	opts.BecomePassword = pwUser.Password
	tr = dial(t, rbssh.NewDialer(opts), tg)
	var all bytes.Buffer
	run := func(cmd transport.Command) (string, int) {
		t.Helper()
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &all
		r, err := tr.Run(context.Background(), cmd)
		if err != nil {
			t.Fatalf("Run %q: %v", cmd.Shell, err)
		}
		all.Write(out.Bytes())
		return out.String(), r.ExitCode
	}
	if out, code := run(transport.Command{Shell: "id -u", Become: true}); out != "0\n" || code != 0 {
		t.Errorf("become root with a password: %q, exit %d, output so far %q", out, code, all.String())
	}
	// The password line is sudo's alone: the command reads its own input.
	if out, _ := run(transport.Command{Shell: "cat", Become: true, Stdin: strings.NewReader("payload\n")}); out != "payload\n" {
		t.Errorf("become with stdin: %q", out)
	}
	if out, _ := run(transport.Command{Shell: "cat; echo end", Become: true}); out != "end\n" {
		t.Errorf("become with no stdin: %q", out)
	}
	// The environment follows the password line, and the command's input
	// follows the environment.
	env := map[string]string{"A": "it's\nx"}
	if out, _ := run(transport.Command{Shell: `cat; echo "$A"`, Become: true, Env: env, Stdin: strings.NewReader("payload\n")}); out != "payload\nit's\nx\n" {
		t.Errorf("become with env and stdin: %q", out)
	}
	if out, _ := run(transport.Command{Shell: "echo sens; id -u", Become: true, Sensitive: true}); out != "sens\n0\n" {
		t.Errorf("sensitive become: %q", out)
	}
	if out, _ := run(transport.Command{Argv: []string{"id", "-un"}, Become: true, BecomeUser: "nobody"}); out != "nobody\n" {
		t.Errorf("become nobody: %q", out)
	}

	marker := filepath.Join(dir, "running")
	stdout, stderr := whileRunning(t, tr, transport.Command{
		Shell: "touch " + transport.Quote(marker) + "; sleep 37", Become: true,
	}, marker, func() {
		ps := processList(t, "sleep 37")
		if strings.Contains(ps, pw) {
			t.Errorf("the become password is in the process list")
		}
	})
	all.WriteString(stdout + stderr)
	if strings.Contains(all.String(), pw) {
		t.Errorf("the become password appears in a command's output")
	}

	// A wrong password fails the command, and is not echoed either.
	opts.BecomePassword = []byte("wrong-" + pw)
	tr = dial(t, rbssh.NewDialer(opts), tg)
	errOut.Reset()
	r, err = tr.Run(context.Background(), transport.Command{Shell: "id -u", Become: true, Stderr: &errOut, Stdout: &errOut})
	if err != nil || r.ExitCode == 0 || strings.Contains(errOut.String(), pw) {
		t.Errorf("wrong password: %v, exit %d, output %q", err, r.ExitCode, errOut.String())
	}
}

func TestSensitiveCommandNotInProcessList(t *testing.T) {
	t.Parallel()
	f := sshdtest.Start(t)
	h := f.Hosts[0]
	tr := dial(t, rbssh.NewDialer(fleetOptions(f)), target(h))
	dir := sshdtest.ScratchDir(t, f.User)
	const secret = "S3CRET-token-4711"
	for _, become := range []bool{false, true} {
		if become && f.User != sshdtest.SudoUserName {
			continue
		}
		marker := filepath.Join(dir, fmt.Sprintf("sensitive-running-%v", become))
		stdout, stderr := whileRunning(t, tr, transport.Command{
			Shell:     "token=" + secret + "; echo \"$token\" | wc -c; touch " + transport.Quote(marker) + "; sleep 31",
			Sensitive: true, Become: become,
		}, marker, func() {
			ps := processList(t, "sleep 31")
			if strings.Contains(ps, secret) {
				t.Errorf("become=%v: the sensitive script is in the process list", become)
			}
		})
		if strings.TrimSpace(stdout) != "18" {
			t.Errorf("become=%v: the script did not run as written: %q (stderr %q)", become, stdout, stderr)
		}
	}
}
